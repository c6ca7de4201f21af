"""The dialect corpus (tests/data/dialects, issue 13) and how a tool's reading of a file is judged.

Each file has a careful person's reading in ``expected.toml``. A tool's reading of a file is:

- RIGHT: a table of the expected width whose first data row (or, where the tool shows no rows,
  whose column names) agree with the annotation, and whose number of data rows is the table's:
  no more (a footer or a header counted as data, the header again where files were joined), no
  fewer than its ragged records and its records of nothing but empty cells allow (a reader may set
  those aside);
- MISREAD: a table, but not that one;
- REFUSED: an error instead of a table. A crash (an error the tool did not expect, a traceback)
  is a refusal flagged as such.

bench/dialects.py runs csvflow and its peers over the corpus; tests/unit/test_dialect_corpus.py
holds csvflow to the issue's goal. Both import this module: one definition of right.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import math
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "dialects"
MANIFEST = "expected.toml"
# Beside the files: where they come from, and what was measured on them.
NOTES = ("SOURCES.md", "RESULTS.md")


@dataclass(frozen=True)
class Expected:
    """A careful person's reading of one corpus file (the fields are described in expected.toml)."""

    name: str
    path: Path
    encoding: str
    bom: bool
    delimiter: str
    quotechar: str
    escapechar: str
    doublequote: bool
    skipinitialspace: bool
    line_terminator: str
    has_header: bool
    header_line: int
    rows: int
    ragged: int
    width: int
    first_row: tuple[str, ...]
    kinds: tuple[str, ...]
    empty_rows: int = 0
    header_repeats: int = 0
    header: tuple[str, ...] | None = None  # None when the file has no header
    note: str = ""


def load_expected(corpus: Path = CORPUS) -> list[Expected]:
    """Every annotated file of the corpus, by name; a file without an annotation is an error."""
    manifest = tomllib.loads((corpus / MANIFEST).read_text(encoding="utf-8"))
    on_disk = {p.name for p in corpus.iterdir() if p.name not in (MANIFEST, *NOTES)}
    if on_disk != set(manifest):
        raise ValueError(
            f"{corpus}: files and annotations differ: {sorted(on_disk ^ set(manifest))}"
        )
    return [
        Expected(
            name=name,
            path=corpus / name,
            **{
                key: tuple(value) if isinstance(value, list) else value
                for key, value in fields.items()
            },
        )
        for name, fields in sorted(manifest.items())
    ]


@dataclass(frozen=True)
class Reading:
    """What a tool made of a file: a table, described as far as the tool shows it, or an error."""

    width: int | None = None
    names: tuple[str, ...] | None = None  # the column names, where the tool reports them
    first_row: tuple[Any, ...] | None = None  # the first data row, where the tool shows rows
    rows: int | None = None  # the data rows it kept
    error: str | None = None
    crashed: bool = False  # the error was one the tool did not expect (a traceback)


class Outcome(Enum):
    RIGHT = "right"
    MISREAD = "misread"
    REFUSED = "refused"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""
    crashed: bool = False


def classify(expected: Expected, reading: Reading) -> Verdict:
    """RIGHT, MISREAD or REFUSED, with the first reason a reading is not right."""
    if reading.error is not None or reading.width is None:
        return Verdict(Outcome.REFUSED, reading.error or "no table", crashed=reading.crashed)
    reason = _difference(expected, reading)
    return Verdict(Outcome.MISREAD, reason) if reason else Verdict(Outcome.RIGHT)


def _difference(expected: Expected, reading: Reading) -> str:
    if reading.width != expected.width:
        return f"{reading.width} columns, expected {expected.width}"
    if reading.first_row is not None:
        got = [_text(v) for v in reading.first_row]
        if not all(map(same_value, got, expected.first_row)):
            return f"first row {_short(got)}, expected {_short(expected.first_row)}"
    if reading.names is not None:
        reason = _names_difference(expected, reading.names)
        if reason:
            return reason
    if reading.rows is not None:
        # The header again (files joined) is no row: a reader keeping it misreads the table.
        most = expected.rows - expected.header_repeats
        fewest = most - expected.ragged - expected.empty_rows
        if not fewest <= reading.rows <= most:
            wanted = f"{most}" if fewest == most else f"{fewest} to {most}"
            return f"{reading.rows} data rows, expected {wanted}"
    return ""


def _names_difference(expected: Expected, names: Sequence[str]) -> str:
    """The header's names must be the column names, except blank or repeated ones (renamed)."""
    if expected.header is None:
        if len(names) == len(expected.first_row) and all(
            map(same_value, [n.strip() for n in names], expected.first_row)
        ):
            return "the first data row became the column names (the file has no header)"
        return ""
    seen = set()
    for position, (name, wanted) in enumerate(zip(names, expected.header, strict=True), 1):
        if wanted and wanted not in seen and name.strip() != wanted:
            return f"column {position} is named {name.strip()!r}, expected {wanted!r}"
        seen.add(wanted)
    return ""


def same_value(got: str, wanted: str) -> bool:
    """Equal after stripping; or the same number, or the same boolean, however written."""
    got, wanted = got.strip(), wanted.strip()
    if got == wanted:
        return True
    if got.lower() in ("true", "false") and got.lower() == wanted.lower():
        return True
    try:
        a, b = float(got), float(wanted)
    except ValueError:
        return False
    return a == b or (math.isnan(a) and math.isnan(b))


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _short(values: Iterable[str], limit: int = 4) -> str:
    values = list(values)
    shown = ", ".join(repr(v[:30]) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


# ---------------------------------------------------------------- the annotation, checked on the bytes

_BOMS = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
}
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass(frozen=True)
class AnnotatedTable:
    """A file cut and parsed as its annotation says, by Python's csv module."""

    header: list[str] | None
    records: list[list[str]]  # the table's data records, blank lines left out
    after: list[list[str]]  # the records below the table (a footer)


def read_as_annotated(expected: Expected) -> AnnotatedTable:
    """The table the annotation describes, read from the file's bytes with the annotated dialect.

    It lets a test hold every annotation to its file: the header, first row, width and ragged
    count it states must be what the stated encoding, delimiter, quoting and lines give.
    """
    data = expected.path.read_bytes()
    bom = _BOMS[expected.encoding] if expected.bom else b""
    if not data.startswith(bom) or (not expected.bom and data.startswith(codecs.BOM_UTF8)):
        raise ValueError(f"{expected.name}: the byte order mark is not as annotated")
    text = data[len(bom) :].decode(expected.encoding)
    lines = _PHYSICAL_LINE.findall(text)
    options: dict[str, Any] = {
        "delimiter": expected.delimiter,
        "skipinitialspace": expected.skipinitialspace,
        "strict": True,
    }
    if expected.quotechar:
        options |= {"quotechar": expected.quotechar, "doublequote": expected.doublequote}
    else:
        options["quoting"] = csv.QUOTE_NONE
    if expected.escapechar:
        options["escapechar"] = expected.escapechar
    records = [r for r in csv.reader(lines[expected.header_line - 1 :], **options) if r]
    header = None
    if expected.has_header:
        header, *records = records
        if expected.header and len(header) == expected.width - 1 and expected.header[0] == "":
            header = ["", *header]  # R's write.table(): no name above the row names
    return AnnotatedTable(header, records[: expected.rows], records[expected.rows :])


def _repeats(record: list[str], header: list[str]) -> bool:
    """A record that is the header again: the same names, around each a space, tab or byte
    order mark aside (the second of two files joined starts with its own)."""
    trimmed = " \t\ufeff"
    return [v.strip(trimmed) for v in record] == [n.strip(trimmed) for n in header]


def annotation_mismatch(expected: Expected) -> str:
    """How the annotation differs from its file read with the annotated dialect ("" if it does not).

    Rows, first row, ragged and empty counts, header and width must be what the bytes give; records
    below the table are allowed only in a file whose kinds say it has a footer.
    """
    table = read_as_annotated(expected)
    records = table.records
    checks = [
        ("rows", len(records), expected.rows),
        (
            "first row",
            [v.strip() for v in records[0]] if records else None,
            list(expected.first_row),
        ),
        ("ragged", sum(len(r) != expected.width for r in records), expected.ragged),
        ("empty rows", sum(not any(v.strip() for v in r) for r in records), expected.empty_rows),
        (
            "header repeats",
            sum(_repeats(r, table.header) for r in records) if table.header else 0,
            expected.header_repeats,
        ),
        (
            "header",
            [n.strip() for n in table.header] if table.header is not None else None,
            list(expected.header) if expected.header is not None else None,
        ),
    ]
    if table.header is not None:
        checks.append(("header width", len(table.header), expected.width))
    for what, got, wanted in checks:
        if got != wanted:
            return f"{expected.name}: {what} {got!r} in the file, {wanted!r} annotated"
    if table.after and "footer" not in expected.kinds:
        return f"{expected.name}: records below the table but no footer kind: {table.after[:2]}"
    return ""


# ---------------------------------------------------------------- csvflow, through `csvflow profile`


def read_with_csvflow(path: Path) -> Reading:
    """`csvflow profile FILE --json`, run in this process: its table, or its one-line error."""
    from csvflow.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(["profile", str(path), "--json"])
    except BaseException as error:  # anything escaping the CLI is a crash
        return Reading(error=f"{type(error).__name__}: {error}", crashed=True)
    if not out.getvalue().strip():
        # The CLI turns an exception profile did not expect into "unexpected ...".
        message = err.getvalue().strip().removeprefix("csvflow: ").replace(str(path), path.name)
        return Reading(error=message or "no output", crashed=message.startswith("unexpected"))
    return csvflow_reading(json.loads(out.getvalue()))


def csvflow_reading(result: dict[str, Any]) -> Reading:
    """The table (or the error) of one `csvflow profile --json` result."""
    if result["status"] != "SUCCEEDED":
        error = result["error"]
        cause = str(error["cause"]).replace(result["key"], Path(result["key"]).name)
        return Reading(error=f"{error['type']}: {cause}")
    columns = result["columns"]
    return Reading(
        width=len(columns),
        names=tuple(column["name"] for column in columns),
        rows=result["rows"],
    )


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Shares:
    files: int
    right: int
    misread: int
    refused: int
    crashed: int

    @property
    def right_share(self) -> float:
        return self.right / self.files if self.files else 0.0

    @property
    def misread_share(self) -> float:
        return self.misread / self.files if self.files else 0.0

    @property
    def refused_share(self) -> float:
        return self.refused / self.files if self.files else 0.0


def shares(verdicts: Iterable[Verdict]) -> Shares:
    verdicts = list(verdicts)
    count = {o: sum(v.outcome is o for v in verdicts) for o in Outcome}
    return Shares(
        files=len(verdicts),
        right=count[Outcome.RIGHT],
        misread=count[Outcome.MISREAD],
        refused=count[Outcome.REFUSED],
        crashed=sum(v.crashed for v in verdicts),
    )
