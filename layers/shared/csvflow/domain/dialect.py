"""Decide how to read a file from its first (and last) bytes, and say what was assumed.

Encoding, delimiter, quoting, escapes, where the table starts (after titles and metadata
lines), whether its first row is a header, what its columns are called, and where it ends
(before notes and totals). Where two readings fit about equally well, the file is refused
with both named rather than read one way by chance (docs/adr/0013).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from dataclasses import fields as dataclass_fields
from typing import Any

from csvflow.domain.encoding import detect_encoding
from csvflow.domain.model import ReadingRules
from csvflow.domain.sniffing import (
    OTHER_QUOTES,
    SAMPLE_CHARS,
    SAMPLE_LINES,
    TEXT_DIFFERS,
    Reading,
    Record,
    Table,
    all_shorter_than_the_header,
    below_a_count_line,
    candidate_readings,
    delimiter_name,
    doubled_carriage_returns,
    find_table,
    header_evidence,
    header_one_name_long,
    is_footer,
    is_separator,
    is_totals,
    labelled_columns,
    leading_preamble,
    next_section,
    padded_header,
    page_footer,
    parse,
    physical_lines,
    quoted_names_above_row_names,
    rank,
    repeats_header,
    rival,
    second_table,
    starting_at_top,
    stopping_early,
    tabs_inside,
    unlabelled_totals,
)
from csvflow.exceptions import InvalidCsv, PlanFromNewerRelease

HEAD_BYTES = 1 << 20
TAIL_BYTES = 64 << 10
_SHOWN_CHARS = 80  # of a skipped line, in the record of what was skipped
_SHOWN_LINES = 5
_LISTED = 10  # renames and assumptions listed in the dialect's JSON
_MAX_NOTES = 20  # lines of notes below a table; more is a ragged end, rows to reject

# Lines that may set a second table apart from the first: no letter or digit (blank, bare
# delimiters, a rule), or a comment after them. Searched from the line end before them, a
# literal, so that a file without one is passed over at the regex engine's speed.
_GAP_LINES = {
    end: re.compile(rf"{end}(?:(?![^\W_])[^\r\n])*(?:#[^\r\n]*)?(?:\r?{end}|\Z)") for end in "\n\r"
}

LINE_ENDING_NAMES = {"\n": "LF", "\r\n": "CRLF", "\r": "CR", "\r\r\n": "CR CR LF"}

# Signatures of formats people upload by mistake, checked before anything is parsed.
_MAGIC = (
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"PK\x03\x04", "a ZIP archive (or an .xlsx/.docx workbook)"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"(\xb5/\xfd", "zstd-compressed data"),
    (b"PAR1", "a Parquet file"),
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office document (.xls)"),
)


@dataclass(frozen=True)
class SkippedLines:
    """Lines outside the table: a preamble above it or a footer below it."""

    where: str  # "preamble" or "footer"
    count: int
    first_line: int | None  # None: counted from the end of a file not read whole
    text: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "count": self.count,
            "first_line": self.first_line,
            "last_line": self.first_line + self.count - 1 if self.first_line else None,
            "text": list(self.text),
        }


@dataclass(frozen=True)
class Dialect:
    """How to read one file, and what was assumed to read it so."""

    encoding: str
    delimiter: str
    header: tuple[str, ...]  # the columns' names as csvflow uses them
    quote: str = '"'  # "" for none
    escape: str = ""  # "" when quotes are doubled, "\\" for backslash escapes
    skip_initial_space: bool = False
    line_ending: str = "\n"
    has_header: bool = True
    header_line: int | None = 1
    data_line: int = 2  # the physical line of the first row after the header
    data_byte: int = 0  # where that row starts in the file
    end_byte: int | None = None  # where a footer starts; None: the table runs to the end
    skipped: tuple[SkippedLines, ...] = ()
    renamed: tuple[tuple[int, str, str], ...] = ()  # (position, name in the file, name used)
    assumptions: tuple[str, ...] = ()
    # Quote characters inside unquoted text ('5" pipe', 'said "no" twice'): their count's
    # parity cannot tell a quoted field left open, so validation does not check it.
    literal_quotes: bool = False
    # Rows that stop early lack their last values: read as empty, not rejected.
    short_rows_filled: bool = False
    # Lines inside the table equal to its header (files joined, an export appended to): set
    # aside, not rows. How many, and the first lines; detection counts the head's, a pass
    # over the file all of them (``with_header_repeats``).
    header_repeats: int = 0
    header_repeat_lines: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The dialect as JSON: small, for a step's result and the ``ingestions`` row (a file
        of 2,000 blank names lists the first of its renames, and how many there are)."""
        assumptions = [_shown(a, 120) for a in self.assumptions[:_LISTED]]
        if len(self.assumptions) > _LISTED:
            assumptions.append(f"and {len(self.assumptions) - _LISTED} more assumptions")
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "quote": self.quote or None,
            "escape": "backslash" if self.escape else "double",
            "skip_initial_space": self.skip_initial_space,
            "short_rows_filled": self.short_rows_filled,
            "line_ending": LINE_ENDING_NAMES[self.line_ending],
            "header": self.has_header,
            "header_line": self.header_line,
            "data_line": self.data_line,
            "columns": len(self.header),
            "skipped": [s.to_dict() for s in self.skipped],
            "renamed": [
                {"position": p, "name_in_file": _shown(old), "name": _shown(new)}
                for p, old, new in self.renamed[:_LISTED]
            ],
            "renamed_count": len(self.renamed),
            "header_repeats": {
                "count": self.header_repeats,
                "lines": list(self.header_repeat_lines),
            },
            "assumptions": assumptions,
        }

    @property
    def names_in_file(self) -> tuple[str, ...]:
        """The header's names as the file writes them (before blank or repeated ones were
        renamed); () for a file without a header."""
        if not self.has_header:
            return ()
        names = list(self.header)
        for position, name_in_file, _ in self.renamed:
            names[position - 1] = name_in_file
        return tuple(names)

    def with_header_repeats(self, count: int, lines: list[int] | tuple[int, ...]) -> Dialect:
        """This dialect with the header's repeats a pass over the whole table found (detection
        sees only its head's): their count, their first lines, and the assumption saying so."""
        assumptions = [a for a in self.assumptions if a != _repeats_assumption(self)]
        shown = tuple(lines[:_SHOWN_LINES])
        repeated = replace(self, header_repeats=count, header_repeat_lines=shown)
        if count:
            assumptions.append(_repeats_assumption(repeated))
        return replace(repeated, assumptions=tuple(assumptions))

    def to_exact_dict(self) -> dict[str, Any]:
        """Every field as JSON, nothing shortened: a split file's plan hands its parts the
        dialect it detected once (``from_exact_dict`` reads it back equal)."""
        return asdict(self)

    @classmethod
    def from_exact_dict(cls, fields: dict[str, Any]) -> Dialect:
        """The dialect ``to_exact_dict`` stored, possibly by another release of csvflow.

        A field this release does not know (a plan written by a newer one, read after a
        rollback) is ignored when it holds its neutral value (None, False, 0, "" or empty):
        a field added to Dialect reads files as before at such a default, as every optional
        field here does (a test holds them to it). Set to anything else, the newer release
        reads the file in a way this one cannot, and it is refused, not misread.
        """
        fields = _known_fields(cls, fields)
        return cls(
            **fields
            | {
                "header": tuple(fields["header"]),
                "skipped": tuple(
                    SkippedLines(**_known_fields(SkippedLines, s) | {"text": tuple(s["text"])})
                    for s in fields["skipped"]
                ),
                "renamed": tuple(tuple(r) for r in fields["renamed"]),
                "header_repeat_lines": tuple(fields.get("header_repeat_lines", ())),
                "assumptions": tuple(fields["assumptions"]),
            }
        )


def _known_fields(kind: type, stored: dict[str, Any]) -> dict[str, Any]:
    """``stored`` without the fields ``kind`` lacks, which must hold their neutral value."""
    known = {f.name for f in dataclass_fields(kind)}
    unknown = {name: value for name, value in stored.items() if name not in known}
    applied = {name: value for name, value in unknown.items() if value not in _NEUTRAL}
    if applied:
        shown = ", ".join(f"{name}={value!r}" for name, value in sorted(applied.items()))
        raise PlanFromNewerRelease(
            f"the split file's plan reads it with settings this release of csvflow does not "
            f"know ({kind.__name__}: {shown}): redrive once the release that planned it is "
            "deployed again, or upload the file again"
        )
    return {name: value for name, value in stored.items() if name in known}


# What a field unknown to this release may hold and still read the file as this release does.
_NEUTRAL: tuple[Any, ...] = (None, False, 0, "", [], {})


def _repeats_assumption(dialect: Dialect) -> str:
    count, lines = dialect.header_repeats, dialect.header_repeat_lines
    where = ", ".join(map(str, lines)) + (", ..." if count > len(lines) else "")
    which = f"line {where} repeats" if count == 1 else f"{count} lines repeat"
    shown = f" (lines {where})" if count > 1 else ""
    rows = "not a row" if count == 1 else "not rows"
    return f"{which} the header{shown}: set aside, {rows} (files joined, or an export appended to)"


def detect_dialect(
    head: bytes,
    *,
    file: str,
    tail: bytes | None = None,
    size: int | None = None,
    rules: ReadingRules | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_columns: int | None = None,
    columns: tuple[str, ...] = (),
) -> Dialect:
    """Decide how to read ``file`` from its ``head`` (and ``tail``, the last bytes of a file
    larger than the head), or say why it cannot be read. ``size`` is the file's size;
    ``columns`` the names a contract declares, which mark the header where they stand."""
    rules = rules or ReadingRules(encoding=encoding, delimiter=delimiter)
    if not head.strip(b" \t\r\n"):
        raise InvalidCsv("the file is empty", file=file)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise InvalidCsv(f"this is {what}, not CSV text", file=file)
    found = detect_encoding(head, file=file, declared=rules.encoding)
    whole = len(head) >= size if size is not None else len(head) < HEAD_BYTES
    text = _decode(head[found.bom :], found.name, file=file, final=whole)
    if not whole:
        text = _complete_lines(text)
    if not text.strip(" \t\r\n\ufeff"):
        raise InvalidCsv("the file is empty", file=file)
    start = text.lstrip()
    if rules.delimiter is None and (start.startswith("{") or start.startswith("[{")):
        raise InvalidCsv("this looks like JSON, not CSV text", file=file)
    reader = _Detection(file, rules, found.name, found.bom, columns)
    if found.assumed:
        reader.assume(found.assumed)
    return reader.detect(text, whole=whole, tail=tail, size=size, max_columns=max_columns)


def check_size(size: int, *, file: str, max_bytes: int) -> None:
    """Refuse a file over the size limit before a byte of it is read."""
    if size > max_bytes:
        raise InvalidCsv(
            f"the file is {size:,} bytes, more than the limit of {max_bytes:,} "
            "(CSVFLOW_MAX_FILE_BYTES)",
            file=file,
        )


def _decode(data: bytes, encoding: str, *, file: str, final: bool) -> str:
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError as e:
        raise InvalidCsv(f"unknown encoding {encoding!r}", file=file) from e
    try:
        # The head may end inside a multi-byte character: decode what is complete.
        text: str = decoder.decode(data, final=final)
    except UnicodeDecodeError as e:
        raise InvalidCsv(f"not valid {encoding} text (byte offset {e.start})", file=file) from e
    return text.removeprefix("\ufeff")


def _complete_lines(text: str) -> str:
    cut = max(text.rfind("\n"), text.rfind("\r"))
    return text if cut < 0 else text[: cut + 1]


def _shown(line: str, chars: int = _SHOWN_CHARS) -> str:
    line = line.rstrip("\r\n")
    return line if len(line) <= chars else line[: chars - 1] + "…"


@dataclass
class _Detection:
    """One detection's inputs and the assumptions it records on the way."""

    file: str
    rules: ReadingRules
    encoding: str
    bom: int
    declared: tuple[str, ...]
    assumptions: list[str] = field(default_factory=list)
    skipped: list[SkippedLines] = field(default_factory=list)
    renamed: list[tuple[int, str, str]] = field(default_factory=list)
    # Lines above the sample: the contract's skip_lines, or a preamble of a recognised kind.
    offset: int = 0
    preamble_kind: str = ""
    # Lines end CR CR LF: the blank line after each row is no part of the layout.
    doubled_cr: bool = False
    short_rows_filled: bool = False
    # Rows stop early as a pattern of the file (filled, or rejected where a contract says so):
    # below the table, a note is then one filled field, not a short row.
    stops_early: bool = False
    # The sample's lines the table was chosen from, as written (quotes and all).
    lines: list[str] = field(default_factory=list)

    def assume(self, sentence: str) -> None:
        self.assumptions.append(sentence)

    def detect(
        self,
        text: str,
        *,
        whole: bool,
        tail: bytes | None,
        size: int | None,
        max_columns: int | None,
    ) -> Dialect:
        lines = physical_lines(text)
        skip = self.rules.skip_lines or 0
        if skip >= len(lines):
            raise InvalidCsv(
                f"skip_lines is {skip}, but the file's first part has {len(lines)} lines",
                file=self.file,
            )
        if self.rules.skip_lines is None:
            recognised, self.preamble_kind = leading_preamble(lines)
            skip = recognised if recognised < len(lines) else 0
        self.offset = skip
        sample = _sample(lines[skip:])
        self._look_for_doubled_cr(sample)
        section = next_section(sample) if self.rules.footer != "none" else None
        self.lines = sample[:section] if section is not None else sample
        table = self._choose(self.lines)
        has_header, header_record, names = self._header(table)
        start = table.records[table.start]
        if header_record is not None and header_record is not start:
            start = header_record  # a header one field short, just above the rows
        start_line = skip + start.first_line
        if start_line > 1:
            self._skipped_above(lines[: start_line - 1], start_line)
        data_line = self._data_line(lines, skip + start.first_line, header_record)
        data_byte = self.bom + len("".join(lines[: data_line - 1]).encode(self.encoding))
        reading = table.reading
        second = None
        if section is not None:
            second = self._set_aside(lines, skip + section + 1, 1, whole=whole)
        elif self.rules.footer != "none":
            second = self._second_table(lines, table, data_line - skip, names, whole=whole)
        if second is not None:
            lines = lines[: second[0] - 1]  # the first table's footer is above it
            whole = True
        footer = self._footer(lines, reading, table.width, whole=whole, tail=tail, size=size)
        end_byte = None
        if second is not None:
            end_byte = self.bom + len("".join(lines).encode(self.encoding))
        if footer is not None:
            end_byte, skipped = footer
            self.skipped.append(skipped)
            where = (
                f"lines {skipped.first_line}-{skipped.first_line + skipped.count - 1}"
                if skipped.first_line
                else f"the last {skipped.count} line(s)"
            )
            self.assume(
                f"{where} below the table are a footer (notes, totals or a page's footer), not rows"
            )
        if second is not None:
            first_line, rest = second
            self.skipped.append(rest)
            self.assume(
                f"lines {first_line}-{first_line + rest.count - 1} hold a second table (its "
                f"header: {rest.text[0]}): set aside, only the first table is read"
            )
        header = self._names(names, has_header, start_line, max_columns)
        repeats = []
        if has_header and self.rules.header != "required":  # required: rows to reject
            end_line = second[0] if second is not None else None
            repeats = [
                skip + r.first_line
                for r in table.records
                if skip + r.first_line >= data_line
                and (end_line is None or skip + r.first_line < end_line)
                and repeats_header(r.fields, names)
            ]
        dialect = Dialect(
            encoding=self.encoding,
            delimiter=reading.delimiter,
            header=header,
            quote=reading.quote,
            escape=reading.escape,
            skip_initial_space=reading.skip_initial_space,
            line_ending="\r\r\n" if self.doubled_cr else _line_ending(sample),
            literal_quotes=_literal_quotes("".join(sample), reading),
            short_rows_filled=self.short_rows_filled,
            has_header=has_header,
            header_line=start_line if has_header else None,
            data_line=data_line,
            data_byte=data_byte,
            end_byte=end_byte,
            skipped=tuple(self.skipped),
            renamed=tuple(self.renamed),
            assumptions=tuple(self.assumptions),
        )
        return dialect.with_header_repeats(len(repeats), repeats) if repeats else dialect

    def _choose(self, sample: list[str]) -> Table:
        rules = self.rules
        joined = "".join(sample)
        readings = candidate_readings(
            joined, delimiter=rules.delimiter, quote=rules.quote, escape=rules.escape
        )
        forced = 0 if rules.skip_lines is not None else None
        tables = [find_table(self._records(sample, r), r, start=forced) for r in readings]
        if self.preamble_kind:
            tables = [starting_at_top(t) for t in tables]
        if self.declared and forced is None:
            # The contract's column names mark the header: the table starts there, and
            # a reading in which no line holds them all is not the one meant.
            named = [t for t in map(self._from_declared_header, tables) if t is not None]
            tables = named or tables
        ranked = rank(tables)
        best = ranked[0]
        headed = self._all_shorter_than_the_header(ranked) if best.width <= 1 else None
        if headed is not None:
            return self._stopping_early(headed, "below the header")
        if best.width <= 1:
            # No delimiter splits the lines into a table: one column of values.
            reading = Reading(rules.delimiter or ",", rules.quote or '"', rules.escape or "")
            best = find_table(self._records(sample, reading), reading, start=forced)
            if rules.delimiter is None:
                self.assume("no delimiter splits the lines: the file is one column")
            return best
        best = self._unambiguous(best, ranked)
        headed = header_one_name_long(best) if not self.declared else None
        if headed is not None:
            return self._stopping_early(headed, "below the header")
        if best.reading.skip_initial_space:
            self.assume("spaces after each delimiter are padding, not part of the values")
        if best.reading.quote in OTHER_QUOTES:
            self.assume(
                f"{best.reading.quote!r} wraps whole fields that hold the delimiter: "
                "it is the quote character"
            )
        labels = labelled_columns(best.rows, best.width)
        if all(labels):
            shown = ", ".join(repr(label) for label in labels[:3])
            more = ", ..." if len(labels) > 3 else ""
            self.assume(
                f"every cell starts with its column's label ({shown}{more}): LTSV's "
                "label:value, the labels kept in the values"
            )
        whole = stopping_early(best)
        if whole is not None and self._widens_its_header(whole):
            names = len(whole.records[whole.start].fields)
            self.assume(
                f"rows wider than the header's {names} names are rows too long: the table "
                "keeps the header's width, and rows of another width are rejected"
            )
            return find_table(whole.records, whole.reading, start=whole.start, width=names)
        if whole is not None:
            return self._stopping_early(whole, "")
        return best

    def _unambiguous(self, best: Table, ranked: list[Table]) -> Table:
        """The table to read: the best, or the tab reading where the best leaves tabs inside
        its fields; refused where a reading of another shape is about as likely."""
        tabbed = self._tabs_inside(best, ranked)
        other = rival(ranked) if tabbed is None else None
        best = tabbed or best
        if other is not None and best.reading.delimiter == "\t":
            # A rival that leaves tabs inside its fields is no rival: the tab rule chooses
            # between them as it would with the rival ahead (GFF's ";" attributes).
            other = None if self._tabs_inside(other, ranked) is best else other
        if other is not None:
            raise InvalidCsv(
                "two readings fit about equally well: "
                f"{best.reading.describe()} ({best.width} columns), or "
                f"{other.reading.describe()} ({other.width} columns); declare the one meant "
                "in the dataset contract (its delimiter, quote and escape keys)",
                file=self.file,
            )
        return best

    def _tabs_inside(self, best: Table, ranked: list[Table]) -> Table | None:
        """The tab reading's table, where the best reading leaves tabs inside its fields and tab
        splits every line alike (recorded); None otherwise, or where the contract names a
        delimiter."""
        tabbed = tabs_inside(best, ranked) if self.rules.delimiter is None else None
        if tabbed is not None:
            other = delimiter_name(best.reading.delimiter)
            self.assume(
                f"every row that {other} splits holds a tab inside a field, and tab splits "
                f"those lines into {tabbed.width} fields each: tab is the delimiter, {other} "
                "part of the values"
            )
        return tabbed

    def _all_shorter_than_the_header(self, ranked: list[Table]) -> Table | None:
        """The one reading whose rows all stop short of its header, where no delimiter
        splits the lines into a table of one width; two such readings: no evidence for either."""
        if self.rules.delimiter is not None:
            return None
        headed = [t for t in map(all_shorter_than_the_header, ranked) if t is not None]
        return headed[0] if len(headed) == 1 else None

    def _stopping_early(self, whole: Table, where: str) -> Table:
        """The table whose short rows stop early: filled, or rejected as the contract says."""
        short = sum(1 for r in whole.rows if len(r.fields) < whole.width)
        lines = f"{short} of the table's first {len(whole.rows)} lines stop"
        if where:
            lines = f"every line {where} stops"
        stopping = f"{lines} early (fewer than {whole.width} fields)"
        self.stops_early = True
        if self.rules.short_rows == "reject":
            # The table is still the header's width; its short rows are rows to reject.
            self.assume(f"{stopping}: rejected, as the contract's short_rows: reject says")
            return whole
        self.short_rows_filled = True
        self.assume(f"{stopping}: the values they lack, the last ones, are read as empty")
        return whole

    def _look_for_doubled_cr(self, sample: list[str]) -> None:
        self.doubled_cr = doubled_carriage_returns("".join(sample))
        if self.doubled_cr:
            self.assume(
                "lines end CR CR LF (CRLF written twice): a row ends at its first CR, "
                "the blank line after it is left out"
            )

    def _data_line(self, lines: list[str], start_line: int, header: Record | None) -> int:
        """The physical line of the first row: after the header, or the table's first line."""
        if header is None:
            return start_line
        line = self.offset + header.last_line + 1
        if self.doubled_cr and line <= len(lines) and lines[line - 1] == "\r\n":
            line += 1  # the header's own CR LF: the rows start on the line after it
        return line

    def _records(self, lines: list[str], reading: Reading) -> tuple[Record, ...]:
        return parse(lines, reading, doubled_cr=self.doubled_cr)

    def _widens_its_header(self, whole: Table) -> bool:
        """Whether reading rows as stopping early would make the table wider than its header.
        Rows stop early against the header: rows wider than it are rows too long, not a column
        it leaves unnamed (a header one name short is the table's most common width's, found
        above its first row). A first row of data may be short itself (an optional last
        column most rows leave out, as in tzdata's zone.tab)."""
        rows = whole.rows
        first = rows[0]
        if len(first.fields) >= whole.width:
            return False
        if self.rules.header == "absent":
            return False
        if self.declared and set(self.declared) <= set(first.fields):
            return True
        return header_evidence(rows, whole.width)[0]

    def _from_declared_header(self, table: Table) -> Table | None:
        wanted = set(self.declared)
        for i, record in enumerate(table.records):
            if wanted <= set(record.fields):
                return find_table(table.records, table.reading, start=i, width=len(record.fields))
        return None

    def _header(self, table: Table) -> tuple[bool, Record | None, tuple[str, ...]]:
        """Whether the table has a header, the record it is, and the names it gives."""
        mode = self.rules.header
        rows = table.rows
        if not rows:
            raise InvalidCsv("no rows found", file=self.file)
        if mode == "absent":
            self.assume("the contract says the file has no header: the first row is data")
            return False, None, ("",) * table.width
        has_header, why = header_evidence(rows, table.width)
        if set(self.declared) <= set(rows[0].fields) and self.declared:
            has_header = True
        if not has_header and below_a_count_line(rows, table.width):
            fields = rows[1].fields[: table.width]
            return True, rows[1], fields + ("",) * (table.width - len(fields))
        short, missing_at = padded_header(table) if not has_header else (None, "")
        if has_header and why == TEXT_DIFFERS:
            short = quoted_names_above_row_names(table, self.lines)
            missing_at = "start"
        if short is not None:
            names = short.fields + ("",) if missing_at == "end" else ("", *short.fields)
            line = short.first_line + self.offset
            unnamed = "last" if missing_at == "end" else "first"
            self.assume(
                f"line {line} is the header, one name short of the rows: "
                f"the unnamed column is the {unnamed}"
            )
            return True, short, names
        if not has_header and mode == "required":
            raise InvalidCsv(
                f"the contract requires a header, but {why}",
                file=self.file,
                line=rows[0].first_line + self.offset,
            )
        if not has_header:
            self.assume(f"no header: {why}; the columns are named column_1 to column_{table.width}")
            return False, None, ("",) * table.width
        fields = rows[0].fields[: table.width]
        return True, rows[0], fields + ("",) * (table.width - len(fields))

    def _second_table(
        self,
        lines: list[str],
        table: Table,
        first_data_line: int,
        header: tuple[str, ...],
        *,
        whole: bool,
    ) -> tuple[int, SkippedLines] | None:
        """The line where a second table is set apart from the first, and the lines from there
        to the end of the file (shown from the second table's header); None without a second
        table. Where the file runs on past its head, where the second table ends is unknown:
        refused, saying where it starts."""
        below = lines[self.offset + len(self.lines) :]
        if whole and below and _may_set_apart(below):
            # The whole file is in hand: a second table below the sample's lines is still one
            # (a plate reader's next plate, 300 lines down). Only a line that could set it
            # apart (blank, a comment or a rule) makes the rest worth parsing again.
            records = self._records(lines[self.offset :], table.reading)
            table = replace(table, records=records, end=len(records))
        found = second_table(table, first_data_line, header)
        if found is None:
            return None
        gap, heading = found
        first_line = self.offset + gap.first_line
        return self._set_aside(lines, first_line, heading.first_line - gap.first_line, whole=whole)

    def _set_aside(
        self, lines: list[str], first_line: int, at: int, *, whole: bool
    ) -> tuple[int, SkippedLines]:
        """The lines from ``first_line`` to the end, set aside as a second table whose header is
        ``at`` lines below; refused where the file runs on past what was read."""
        rest = lines[first_line - 1 :]
        if not whole:
            raise InvalidCsv(
                f"a second table starts below the first, at line {first_line} "
                f"({_shown(rest[at])!r}), and the file runs on past what was read to find it: "
                "split the tables into files, or declare footer: none in the dataset contract to "
                "read every line as a row",
                file=self.file,
                line=first_line,
            )
        shown = tuple(_shown(line) for line in rest[at:] if line.strip())
        return first_line, SkippedLines("footer", len(rest), first_line, shown[:_SHOWN_LINES])

    def _skipped_above(self, above: list[str], start_line: int) -> None:
        shown = tuple(_shown(line) for line in above if line.strip())[:_SHOWN_LINES]
        self.skipped.append(SkippedLines("preamble", start_line - 1, 1, shown))
        what = "a preamble (titles, notes or metadata)" if shown else "blank"
        if self.preamble_kind == "comments":
            what = "comment lines (starting with #) and a preamble"
        elif self.preamble_kind == "front matter":
            what = 'YAML front matter (between "---" lines) and a preamble'
        if self.preamble_kind and self.offset == start_line - 1:
            what = what.removesuffix(" and a preamble")
        self.assume(f"lines 1-{start_line - 1} above the table are {what}, not rows")

    def _footer(
        self,
        lines: list[str],
        reading: Reading,
        width: int,
        *,
        whole: bool,
        tail: bytes | None,
        size: int | None,
    ) -> tuple[int, SkippedLines] | None:
        """Where a footer starts (a byte offset), and its lines; None without one."""
        if self.rules.footer == "none":
            return None
        if whole:
            last = lines[-200:]
            first_line = len(lines) - len(last) + 1
            total = self.bom + len("".join(lines).encode(self.encoding))
        elif tail is not None and size is not None:
            last = self._tail_lines(tail)
            first_line = None
            total = size
        else:
            return None
        records = self._records(last, reading)
        at = _footer_start(records, width, short_rows=self.stops_early)
        if at is None:
            return None
        footer_lines = last[records[at].first_line - 1 :]
        footer_bytes = len("".join(footer_lines).encode(self.encoding))
        shown = tuple(_shown(line) for line in footer_lines if line.strip())[:_SHOWN_LINES]
        line = first_line + records[at].first_line - 1 if first_line else None
        return total - footer_bytes, SkippedLines("footer", len(footer_lines), line, shown)

    def _tail_lines(self, tail: bytes) -> list[str]:
        """The complete lines of the file's last bytes (the first, likely partial, dropped)."""
        newline = "\n".encode(self.encoding)
        cut = tail.find(newline)
        while cut >= 0 and cut % len(newline):
            cut = tail.find(newline, cut + 1)  # UTF-16: a newline starts on a code unit
        if cut < 0:
            return []
        try:
            text = tail[cut + len(newline) :].decode(self.encoding)
        except UnicodeDecodeError:
            return []  # the validation reports the bytes the encoding refuses, with a line
        return physical_lines(text)

    def _names(
        self, found: tuple[str, ...], has_header: bool, header_line: int, max_columns: int | None
    ) -> tuple[str, ...]:
        if max_columns is not None and len(found) > max_columns:
            raise InvalidCsv(
                f"the header has {len(found):,} columns, more than the limit of {max_columns:,} "
                "(CSVFLOW_MAX_COLUMNS)",
                file=self.file,
                line=header_line,
            )
        if has_header:
            _refuse_look_alikes(found, file=self.file, line=header_line)
        if not has_header:
            return tuple(f"column_{i}" for i in range(1, len(found) + 1))
        exact = self.rules.names == "exact"
        taken = set(found)
        names: list[str] = []
        for position, name in enumerate(found, start=1):
            why = ""
            if not name.strip():
                if exact:
                    raise InvalidCsv(
                        "the column name is blank",
                        file=self.file,
                        line=header_line,
                        column=position,
                    )
                new, why = _free(f"column_{position}", taken), "blank"
            elif name in names:
                if exact:
                    raise InvalidCsv(
                        f"the column name {name!r} repeats column {names.index(name) + 1}",
                        file=self.file,
                        line=header_line,
                        column=position,
                    )
                new, why = (
                    _free(name, taken),
                    f"a repeat of column {names.index(name) + 1}'s",
                )
            else:
                new = name
            if why:
                self.renamed.append((position, name, new))
                self.assume(f"column {position}'s name is {why}: named {new}")
                taken.add(new)
            names.append(new)
        return tuple(names)


def _sample(lines: list[str]) -> list[str]:
    sample, chars = [], 0
    for line in lines[:SAMPLE_LINES]:
        chars += len(line)
        sample.append(line)
        if chars >= SAMPLE_CHARS:
            break
    return sample


def _may_set_apart(lines: list[str]) -> bool:
    """Whether a line of ``lines`` could set a second table apart: blank, a rule or a comment."""
    text = "".join(lines).rstrip("\r\n")
    end = "\n" if "\n" in text else "\r"
    return _GAP_LINES[end].search(end + text) is not None


def _literal_quotes(sample: str, reading: Reading) -> bool:
    """Whether a quote character stands inside text: neither next to a delimiter, a line's
    end or another quote (where quoted fields open, close and double their quotes)."""
    if not reading.quote:
        return False
    edges = (
        re.escape(reading.delimiter + reading.quote)
        + r"\r\n"
        + (" " if reading.skip_initial_space else "")
    )
    quote = re.escape(reading.quote)
    # The sample's first and last characters stand at a line's start and (cut) end: a quoted
    # header's opening quote is no quote inside text.
    framed = f"\n{sample}\n"
    return re.search(rf"(?<![{edges}]){quote}(?![{edges}])", framed) is not None


def _line_ending(lines: list[str]) -> str:
    endings = [
        "\r\n" if line.endswith("\r\n") else line[-1] for line in lines if line[-1:] in "\r\n"
    ]
    return max(("\n", "\r\n", "\r"), key=endings.count) if endings else "\n"


def _footer_start(records: tuple[Record, ...], width: int, *, short_rows: bool) -> int | None:
    """The index of the first footer record: notes, separator lines and totals rows below the
    last row. Not a second table below the first: taken for a footer, it read more files
    wrong than right (docs/adr/0013); its rows stay rows to reject."""
    at, notes = _notes_above(records, width, len(records), short_rows=short_rows)
    if not notes:
        at, notes = _padded_notes_above(records, width)
    if notes > _MAX_NOTES:
        return None  # a long ragged end is rows to reject, not a footer
    if at > 0 and page_footer(records[at - 1], records[: at - 1], width):
        at -= 1
        notes += 1
        while at > 0 and records[at - 1].blank:
            at -= 1
    totals = 0
    while (
        at > 0
        and totals < 5
        and (
            is_totals(records[at - 1], width)
            or unlabelled_totals(records[at - 1], records[: at - 1], width)
        )
    ):
        at -= 1
        notes += 1
        totals += 1
        while at > 0 and records[at - 1].blank:
            at -= 1
    if not notes or at == 0 or len(records[at - 1].fields) != width:
        return None
    rows_above = sum(1 for r in records[:at] if len(r.fields) == width)
    return at if rows_above >= 2 else None  # a header alone is no table to end


def _notes_above(
    records: tuple[Record, ...], width: int, end: int, *, short_rows: bool
) -> tuple[int, int]:
    """Where the notes (and blank and separator lines) just above ``end`` start, and how
    many lines of notes there are (counting stops past the most a footer may have). Where
    ``short_rows`` (rows that stop early) are read, a note is one filled field, not a row."""
    at, notes = end, 0
    while at > 0 and notes <= _MAX_NOTES:
        record = records[at - 1]
        note = is_footer(record, width) and not (
            short_rows and sum(1 for f in record.fields if f.strip()) > 1
        )
        if not (record.blank or is_separator(record) or note):
            break
        at -= 1
        notes += not record.blank
    return at, notes


def _padded_notes_above(records: tuple[Record, ...], width: int) -> tuple[int, int]:
    """Where a disclaimer exported below a table starts, and its lines: to the end of the
    file, lines padded to the table's width that fill only their first cell, with words, one
    at least a sentence (six words or more), blank lines among them, and a blank line between
    them and the last row (a broker's "The data and information in this spreadsheet ..." down
    to "Date downloaded 01/24/2023 10:28 am"). A line filling its first cell alone right below
    the rows may be a row; a disclaimer is set apart. (len(records), 0) otherwise."""
    end = len(records)
    at, notes, sentence = end, 0, False
    while at > 0 and notes <= _MAX_NOTES:
        record = records[at - 1]
        if not record.blank:
            cell = record.fields[0].strip()
            filled = sum(1 for f in record.fields if f.strip())
            if len(record.fields) != width or filled != 1 or not any(c.isalpha() for c in cell):
                break
            sentence = sentence or len(cell.split()) >= 6
            notes += 1
        at -= 1
    while at < end and records[at].blank:
        at += 1  # blank lines above the disclaimer belong to the table's end, as counted
    gap = at - 1
    while gap > 0 and records[gap - 1].blank:
        gap -= 1
    if not notes or not sentence or gap in (at, 0):
        return end, 0
    return gap, notes


def _free(name: str, taken: set[str]) -> str:
    """``name``, or ``name`` with the first free ``_2``, ``_3``... suffix."""
    if name not in taken:
        return name
    n = 2
    while f"{name}_{n}" in taken:
        n += 1
    return f"{name}_{n}"


_CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def _refuse_look_alikes(names: tuple[str, ...], *, file: str, line: int) -> None:
    """Names that only look alike are no intent csvflow can read: refuse, do not rename."""
    normalised: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        canonical = unicodedata.normalize("NFKC", name)
        if canonical in normalised and name != names[normalised[canonical] - 1]:
            raise InvalidCsv(
                f"the column name {name!r} is column {normalised[canonical]}'s name in another "
                "Unicode form (a look-alike)",
                file=file,
                line=line,
                column=position,
            )
        scripts = _letter_scripts(canonical)
        if len(scripts) > 1:
            raise InvalidCsv(
                f"the column name {name!r} mixes {' and '.join(sorted(scripts))} letters "
                "(a look-alike of a plain name?)",
                file=file,
                line=line,
                column=position,
            )
        normalised.setdefault(canonical, position)


def _letter_scripts(name: str) -> set[str]:
    """The scripts among Latin, Cyrillic and Greek whose letters the name uses."""
    scripts = set()
    for char in name:
        if char.isalpha():
            script = unicodedata.name(char, "").split(" ", 1)[0]
            if script in _CONFUSABLE_SCRIPTS:
                scripts.add(script.title())
    return scripts
