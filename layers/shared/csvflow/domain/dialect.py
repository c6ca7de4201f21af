"""Recognise a file's encoding, delimiter and header from its first bytes."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass

from csvflow.exceptions import InvalidCsv

HEAD_BYTES = 1 << 20
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")

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

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Dialect:
    """How to read one file."""

    encoding: str
    delimiter: str
    header: tuple[str, ...]


def detect_dialect(
    head: bytes,
    *,
    file: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_columns: int | None = None,
) -> Dialect:
    """Check the first bytes of ``file`` and decide how to read it (or say why not)."""
    if not head.strip(b" \t\r\n"):
        raise InvalidCsv("the file is empty", file=file)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise InvalidCsv(f"this is {what}, not CSV text", file=file)
    encoding = encoding or _detect_encoding(head, file=file)
    text = _decode_head(head, encoding, file=file)
    if text.lstrip().startswith(("{", "[")) and delimiter is None:
        first = text.lstrip()[:1]
        if first == "{" or text.lstrip().startswith("[{"):
            raise InvalidCsv("this looks like JSON, not CSV text", file=file)
    delimiter = delimiter or _sniff_delimiter(text)
    header = _header(text, delimiter, file=file)
    if max_columns is not None and len(header) > max_columns:
        raise InvalidCsv(
            f"the header has {len(header):,} columns, more than the limit of {max_columns:,} "
            "(CSVFLOW_MAX_COLUMNS)",
            file=file,
            line=1,
        )
    return Dialect(encoding=encoding, delimiter=delimiter, header=header)


def check_size(size: int, *, file: str, max_bytes: int) -> None:
    """Refuse a file over the size limit before a byte of it is read."""
    if size > max_bytes:
        raise InvalidCsv(
            f"the file is {size:,} bytes, more than the limit of {max_bytes:,} "
            "(CSVFLOW_MAX_FILE_BYTES)",
            file=file,
        )


def _detect_encoding(head: bytes, *, file: str) -> str:
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    nul = head.find(b"\x00")
    if nul >= 0:
        raise InvalidCsv(
            f"binary data: a NUL byte at offset {nul}; UTF-16 needs a byte order mark",
            file=file,
        )
    try:
        # The head may end inside a multi-byte character: decode what is complete.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError as e:
        # UTF-8 sequences beside bytes UTF-8 rejects: two files (or two editors) joined.
        # Read as either encoding, part of it would silently turn into mojibake.
        utf8 = _UTF8_SEQUENCE.search(head)
        if utf8:
            raise InvalidCsv(
                f"mixed encodings: UTF-8 text (at byte offset {utf8.start()}) and a byte that is "
                f"not UTF-8 (0x{head[e.start]:02X} at byte offset {e.start}); convert the file to "
                "one encoding",
                file=file,
            ) from e
        # Legacy single-byte files are nearly always Windows-1252 (a superset of
        # Latin-1's printable range); bytes it leaves undefined fall to Latin-1.
        try:
            head.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            return "latin-1"


# A complete multi-byte UTF-8 character (2, 3 or 4 bytes).
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _decode_head(head: bytes, encoding: str, *, file: str) -> str:
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError as e:
        raise InvalidCsv(f"unknown encoding {encoding!r}", file=file) from e
    try:
        text: str = decoder.decode(head, final=False)
    except UnicodeDecodeError as e:
        raise InvalidCsv(f"not valid {encoding} text (byte offset {e.start})", file=file) from e
    return text.removeprefix("\ufeff")


def _complete_lines(text: str) -> str:
    cut = max(text.rfind("\n"), text.rfind("\r"))
    return text if cut < 0 else text[: cut + 1]


def _sniff_delimiter(text: str) -> str:
    """Pick the candidate that splits the sample into the most, most consistent fields."""
    sample = _complete_lines(text)[:65536] or text[:65536]
    best, best_score = ",", (0, 0)
    for candidate in CANDIDATE_DELIMITERS:
        try:
            rows = list(_first_rows(sample, candidate, limit=50))
        except csv.Error:
            continue
        if not rows:
            continue
        widths = [len(row) for row in rows if row]
        header_width = widths[0]
        consistent = sum(1 for w in widths if w == header_width)
        score = (consistent if header_width > 1 else 0, header_width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _first_rows(text: str, delimiter: str, *, limit: int) -> list[list[str]]:
    # newline="": \r, \n and \r\n all end a line (old Mac files end lines with \r alone).
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows = []
    for row in reader:
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows


def _header(text: str, delimiter: str, *, file: str) -> tuple[str, ...]:
    try:
        rows = _first_rows(text, delimiter, limit=1)
    except csv.Error as e:
        raise InvalidCsv(f"the header row cannot be parsed: {e}", file=file, line=1) from e
    if not rows or not any(field.strip() for field in rows[0]):
        raise InvalidCsv("a header row is required, but the first line is blank", file=file, line=1)
    header = tuple(rows[0])
    seen: dict[str, int] = {}
    normalised: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name.strip():
            raise InvalidCsv("the column name is blank", file=file, line=1, column=position)
        if name in seen:
            raise InvalidCsv(
                f"the column name {name!r} repeats column {seen[name]}",
                file=file,
                line=1,
                column=position,
            )
        canonical = unicodedata.normalize("NFKC", name)
        if canonical in normalised:
            raise InvalidCsv(
                f"the column name {name!r} is column {normalised[canonical]}'s name in another "
                "Unicode form (a look-alike)",
                file=file,
                line=1,
                column=position,
            )
        scripts = _letter_scripts(canonical)
        if len(scripts) > 1:
            raise InvalidCsv(
                f"the column name {name!r} mixes {' and '.join(sorted(scripts))} letters "
                "(a look-alike of a plain name?)",
                file=file,
                line=1,
                column=position,
            )
        seen[name] = position
        normalised[canonical] = position
    return header


_CONFUSABLE_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def _letter_scripts(name: str) -> set[str]:
    """The scripts among Latin, Cyrillic and Greek whose letters the name uses."""
    scripts = set()
    for char in name:
        if char.isalpha():
            script = unicodedata.name(char, "").split(" ", 1)[0]
            if script in _CONFUSABLE_SCRIPTS:
                scripts.add(script.title())
    return scripts
