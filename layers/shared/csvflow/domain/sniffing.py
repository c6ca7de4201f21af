"""Score candidate readings of a file's first lines and find the table in them.

A reading is a delimiter, a quote character, an escape style and whether spaces after a
delimiter are padding. Each reading parses the sample into records; the table is the run
of records of one width (the modal width) from the first line where rows become uniform
(the table-uniformity idea: titles and metadata above a table do not share its width).
A reading scores by how much of the sample its table covers, how uniform the table is,
how many columns it has, and how many of its cells look like values (CleverCSV's type
score). Docs: docs/adr/0013-reading-real-world-csv.md.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from csvflow.domain.cells import EMPTY, NUMBER, TEMPORAL, TYPED, cell_kind, is_known

DELIMITERS = (",", ";", "\t", "|", " ", "#", ":")
QUOTES = ('"', "'", "")  # "": no quoting
# Text qualifiers an export can be set to besides the two usual quotes (SSIS, csvtojson's
# quote option; CleverCSV considers ~ and `): a quote only where it wraps whole fields that
# hold the delimiter, and more of them than '"' or "'" wrap.
OTHER_QUOTES = ("|", "~", "`")
SAMPLE_LINES = 300
SAMPLE_CHARS = 128 << 10
# Two readings of different shape this close in score are both plausible: refuse to guess.
AMBIGUOUS_RATIO = 0.9
# How many rows after a candidate first row must share its width for the table to start there.
_LOOKAHEAD = 4
_UNIFORM_SHARE = 0.7
# Rows that stop early are a pattern of the file, not a few ragged rows, from this share on.
_STOPPING_EARLY_SHARE = 0.1
_MAX_FOOTER_RECORDS = 20
# Rows above an unlabelled last row that all have a label, for that row to be their totals.
_LABELLED_ROWS = 5
# The years a header may name its columns by (a statistics table's 1990, 1991...).
_FIRST_YEAR, _LAST_YEAR = 1800, 2100
# How a note below a table begins, where it is not a sentence of its own.
_NOTE = re.compile(r"(notes?|source|sources|footnotes?|remarks?|quelle|\*)\b\W", re.I)
_TOTALS = re.compile(
    r"(grand\s+)?(total|totals|sum|summe|gesamt|insgesamt|gesamtsumme|zusammen|totaal|totale?"
    r"|totaux|suma|summa|итого|всего|mwst|vat|tax|合计|总计|合計|総計|합계)\b.*",
    re.I,
)
# A spreadsheet formula exported as text instead of its value ("=SUMME(E2:E16)", "=SUM(B2:B9)").
_FORMULA = re.compile(r"=[A-Za-zÄÖÜäöü.]+\(.*\)")
# A line drawn across a report to close a table ("-----", "=====", "*****").
_SEPARATOR = re.compile(r"\s*([-=_*~+])\1{2,}\s*")
# A heading drawn with a rule before its title ("-------- 2 - Sheet2", "=== Orders"): where a
# workbook's sheets are written one below the other, each sheet's table starts under one.
_SECTION_HEADING = re.compile(r"[ \t]*([-=_*~+])\1{2,}[ \t]*[^-=_*~+\s][^\r\n]*[\r\n]*")
# A comment line: "#" then text, not "#" then a delimiter ("#,name,type" names a column "#").
_COMMENT = re.compile(r"#(?![,;\t|])")
# YAML front matter (CSVY, R Markdown exports): a "---" line, the YAML, a "---" or "..." line.
_FRONT_MATTER_OPEN = "---"
_FRONT_MATTER_CLOSE = ("---", "...")
# What header_key leaves out; the validator trims Arrow's cells of the same characters.
HEADER_KEY_TRIMMED = " \t\ufeff"


@dataclass(frozen=True, order=True)
class Reading:
    """How fields are separated and quoted."""

    delimiter: str
    quote: str  # "" for none
    escape: str  # "" when a quote inside a quoted field is doubled; "\\" for backslash
    skip_initial_space: bool = False

    def describe(self) -> str:
        quote = f"quote {self.quote}" if self.quote else "no quoting"
        escape = ", backslash escapes" if self.escape else ""
        space = ", spaces after the delimiter skipped" if self.skip_initial_space else ""
        return f"delimiter {delimiter_name(self.delimiter)}, {quote}{escape}{space}"


def delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", " ": "space"}.get(delimiter, repr(delimiter))


@dataclass(frozen=True)
class Record:
    """One parsed record: the physical lines it spans (1-based) and its fields."""

    first_line: int
    last_line: int
    fields: tuple[str, ...]
    # Quote characters inside tokens of this reading (``1,"note`` split on spaces): the
    # mark of a reading that cuts through quoted fields.
    stray_quotes: int = 0

    @property
    def blank(self) -> bool:
        return not any(field.strip() for field in self.fields)


@dataclass(frozen=True)
class Table:
    """A reading's view of the sample: where its table starts and ends, and its score."""

    reading: Reading
    records: tuple[Record, ...]
    width: int
    start: int  # index of the table's first record (header or first data row)
    end: int  # index past its last record in the sample
    score: float

    @property
    def rows(self) -> list[Record]:
        return [r for r in self.records[self.start : self.end] if not r.blank]

    @property
    def shape(self) -> tuple[str, int]:
        return self.reading.delimiter, self.width


def physical_lines(text: str) -> list[str]:
    """The text's lines with their endings (\\r\\n, \\n or \\r): only those, as CSV knows them."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def doubled_carriage_returns(sample: str) -> bool:
    """Whether every line of the sample ends CR CR LF: text put through a CRLF translation
    twice (each CR LF written as CR CR LF). csv ends a line at the lone CR and reads the
    CR LF after it as a blank line, one after every row; those blank lines are no part of
    the file's layout."""
    # The last line may end short of its LF (a file or a head cut after a CR).
    body = sample.rstrip("\r")
    lf = body.count("\n")
    return lf > 0 and body.count("\r\r\n") == lf and body.count("\r") == 2 * lf


def leading_preamble(lines: Sequence[str]) -> tuple[int, str]:
    """How many of the first lines are a preamble of a recognised kind, and which kind:
    YAML front matter between "---" lines, or "#" comment lines (blank lines among them
    included). (0, "") when the lines start otherwise, or when every line is a comment (a
    file delimited by "#" whose rows start with an empty field)."""
    if lines and lines[0].strip() == _FRONT_MATTER_OPEN:
        for i, line in enumerate(lines[1:SAMPLE_LINES], start=1):
            if line.strip() in _FRONT_MATTER_CLOSE:
                return i + 1, "front matter"
        return 0, ""
    count, comments = 0, 0
    for line in lines[:SAMPLE_LINES]:
        if not line.strip():
            count += 1
        elif _COMMENT.match(line.lstrip(" ")):
            count += 1
            comments += 1
        else:
            break
    else:
        return 0, ""
    while count and not lines[count - 1].strip():
        count -= 1  # blank lines below the comments are left to the table's start
    if count and count < len(lines) and _names_the_row_below(lines[count - 1], lines[count]):
        count -= 1  # VCF's "#CHROM\tPOS..." heads the table: the header, not a comment
        comments -= 1
    return (count, "comments") if comments else (0, "")


def next_section(lines: Sequence[str]) -> int | None:
    """Where a second section of the lines starts, when they open with a section heading
    ("-------- 1 - Sheet1", as xlsx2csv writes every sheet of a workbook): the index of the
    next heading below two or more lines of the first section; None otherwise. The first
    section's table is the file's table, as with any second table below the first."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    if not content or not _SECTION_HEADING.fullmatch(lines[content[0]]):
        return None
    below = 0
    for i in content[1:]:
        if _SECTION_HEADING.fullmatch(lines[i]):
            return i if below >= 2 else None
        below += 1
    return None


def _names_the_row_below(comment: str, row: str) -> bool:
    """Whether a "#" line just above the table is its header written after a "#": a name
    right after the "#" (a comment's text follows a space: "# exported, see notes"), and
    split as the row below it is (the same number of tab, ",", ";" or "|" delimiters)."""
    text = comment.lstrip(" ")
    if text[1:2].isspace() or not text[1:2]:
        return False
    for delimiter in ("\t", ",", ";", "|"):
        fields = comment.count(delimiter)
        if fields and fields == row.count(delimiter):
            return True
    return False


def csv_module_options(
    *, delimiter: str, quote: str, escape: str, skip_initial_space: bool
) -> dict[str, Any]:
    """Python's csv module's options for a reading ("" quote: none; "" escape: doubled)."""
    return {
        "delimiter": delimiter,
        "quotechar": quote or None,
        "quoting": csv.QUOTE_MINIMAL if quote else csv.QUOTE_NONE,
        "escapechar": escape or None,
        "doublequote": not escape,
        "skipinitialspace": skip_initial_space,
        "strict": False,
    }


def parse(
    lines: Sequence[str], reading: Reading, *, doubled_cr: bool = False
) -> tuple[Record, ...]:
    """The records ``reading`` makes of ``lines`` (Python's csv module, one line at a time).
    With ``doubled_cr`` (lines ending CR CR LF), the blank line each CR LF makes after a
    row is left out, so that a row is not taken for a title set apart by a blank line."""
    reader = csv.reader(
        iter(lines),
        **csv_module_options(
            delimiter=reading.delimiter,
            quote=reading.quote,
            escape=reading.escape,
            skip_initial_space=reading.skip_initial_space,
        ),
    )
    records = []
    line = 0
    stray = _stray_quote(reading)
    try:
        for fields in reader:
            raw = "".join(lines[line : reader.line_num]) if stray else ""
            stray_quotes = len(stray.findall(raw)) if stray else 0
            if doubled_cr and not fields and lines[line] == "\r\n":
                line = reader.line_num
                continue
            records.append(Record(line + 1, reader.line_num, tuple(fields), stray_quotes))
            line = reader.line_num
    except csv.Error:
        pass  # a field past csv's size limit: this reading swallowed the rest of the sample
    return tuple(records)


def _stray_quote(reading: Reading) -> re.Pattern[str] | None:
    """A quote with something other than a field boundary (the delimiter, a line end, a
    doubled quote, an escape) on both sides: a quote this reading finds inside a token."""
    if not reading.quote:
        return None
    boundary = re.escape(reading.delimiter + reading.quote + "\\\r\n")
    if reading.skip_initial_space:
        boundary += " "
    return re.compile(rf"(?<=[^{boundary}]){re.escape(reading.quote)}(?=[^{boundary}])")


def candidate_readings(
    sample: str,
    *,
    delimiter: str | None = None,
    quote: str | None = None,
    escape: str | None = None,
) -> list[Reading]:
    """The readings worth scoring: only delimiters the sample contains (and the comma,
    which reads a file with none of them as one column)."""
    delimiters = [delimiter] if delimiter else [d for d in DELIMITERS if d in sample or d == ","]
    readings = []
    for d in delimiters:
        if d == quote:
            continue  # a contract's quote character is no delimiter
        q = quote if quote is not None else _quote_of(sample, d)
        padded = sample.count(d + " ") >= 0.5 * sample.count(d) > 0
        escapes = [escape] if escape is not None else [""]
        # Backslash escapes: before a quote, or (MySQL's exports) before a delimiter or newline.
        if escape is None and any("\\" + c in sample for c in (q, d, "\n", "\r")):
            escapes.append("\\")
        for e in escapes:
            readings.append(Reading(d, q, e, d == " "))
            if padded and d != " ":
                readings.append(Reading(d, q, e, True))
    return readings


def _quote_of(sample: str, delimiter: str) -> str:
    """The quote character that wraps whole fields: '"' unless "'" wraps more of them, or
    one of the other qualifiers wraps more still, some of them holding the delimiter (not
    with spaces as the delimiter: "| a | b |" is a table drawn with pipes).

    Not "no quoting": a quote mid-field is read as text by every reading, and one that
    opens a field and never closes is a broken file to refuse, not to read around.
    """
    wrapped = {q: _wrapped_fields(sample, delimiter, q) for q in QUOTES if q}
    best = "'" if len(wrapped["'"]) > len(wrapped['"']) else '"'
    for q in OTHER_QUOTES:
        if delimiter in (q, " ") or q not in sample:
            continue
        fields = _wrapped_fields(sample, delimiter, q)
        if len(fields) > len(wrapped[best]) and any(delimiter in f for f in fields):
            best, wrapped[q] = q, fields
    return best


def _wrapped_fields(sample: str, delimiter: str, quote: str) -> list[str]:
    """The text of the fields ``quote`` wraps whole: from a field's start to its end."""
    d, q = re.escape(delimiter), re.escape(quote)
    return re.findall(rf"(?:^|{d}) ?{q}([^{q}\r\n]*){q}(?={d}|\r|\n|$)", sample, re.M)


def find_table(
    records: tuple[Record, ...],
    reading: Reading,
    *,
    start: int | None = None,
    width: int | None = None,
) -> Table:
    """The table ``reading`` sees in the sample, and how plausible it is."""
    content = [i for i, r in enumerate(records) if not r.blank]
    if not content:
        return Table(reading, records, 0, 0, 0, 0.0)
    if width is None:
        # Titles padded with delimiters ("Summary,,,,,,,,") are no rows, whatever their
        # width: a payment service's sixteen summary lines padded to 9 fields stand above
        # its table of 11; they decide the width only where nothing else does.
        unpadded = [i for i in content if not _padded_line(records[i], len(records[i].fields))]
        measured = unpadded if len(unpadded) >= 3 else content
        width = _modal_width([len(records[i].fields) for i in measured])
        width = _width_below_key_values(records, content, width)
    first = _table_start(records, content, width) if start is None else start
    end = len(records)
    rows = [r for r in records[first:end] if not r.blank]
    if not rows:
        return Table(reading, records, width, first, end, 0.0)
    uniform = sum(1 for r in rows if len(r.fields) == width) / len(rows)
    coverage = len(rows) / len(content)
    # More columns is likelier the intended reading, with diminishing weight; one column
    # still scores, so that a file with no delimiter is not split on a stray space.
    columns = width / (width + 1)
    known = _known_share(rows, width, reading.delimiter)
    # Fields where this reading finds a quote inside a token are likely fields it cut
    # through; a few are literal quotes in text (csvkit's NRC reports), so per field.
    fields = sum(len(r.fields) for r in rows)
    clean = 1 - min(1.0, sum(r.stray_quotes for r in rows) / fields) if fields else 1.0
    score = uniform * uniform * coverage * columns * known * clean * clean
    return Table(reading, records, width, first, end, score)


def _known_share(rows: list[Record], width: int, delimiter: str = "") -> float:
    """The share of the table's cells that look like a value (CleverCSV's type score). In a
    column whose every cell starts with one label and a colon (LTSV's "date:2024-01-01"),
    a cell is judged by its value after the label: the colon is part of the cell, not a
    delimiter that the other reading cuts through. A colon reading's cells that are the
    pieces of a time it cut ("2022-03-20T11" and "00" of "2022-03-20T11:00:00+01:00") are
    no values."""
    cells = [f for r in rows for f in r.fields[:width]]
    if not cells:
        return 0.0
    known = sum(map(is_known, cells))
    if delimiter == ":":
        known -= sum(_cut_times(r.fields[:width]) for r in rows)
    if known < len(cells):
        for label, column in zip(labelled_columns(rows, width), _columns(rows, width), strict=True):
            if label:
                known += sum(not is_known(c) and is_known(c[len(label) :]) for c in column)
    return known / len(cells)


def _cut_times(fields: tuple[str, ...]) -> int:
    """How many of a colon reading's known cells are pieces of a date-time or time it cut:
    a cell that is no date or time which, joined to the next by the colon, is one; or whose
    last word, joined to the next cell's first, is one (gretl's "1923:06 1924:07" read as
    "1923", "06 1924", "07")."""
    cut: set[int] = set()
    j = 0
    while j + 1 < len(fields):
        here, after = fields[j], fields[j + 1]
        if cell_kind(here) != TEMPORAL and cell_kind(f"{here}:{after}") == TEMPORAL:
            cut.update((j, j + 1))
            j += 2
            continue
        last, first = here.rsplit(None, 1)[-1:], after.split(None, 1)[:1]
        if (
            last
            and first
            and (last[0] != here.strip() or first[0] != after.strip())
            and cell_kind(f"{last[0]}:{first[0]}") == TEMPORAL
        ):
            cut.update((j, j + 1))
        j += 1
    return sum(is_known(fields[k]) for k in cut)


# A label of Labeled Tab-separated Values (LTSV): a name, then a colon.
_LABEL = re.compile(r"[^\W\d][\w.-]*:")


def labelled_columns(rows: list[Record], width: int) -> list[str]:
    """Each column's label, where all its cells start with the same one ("date:", "name:");
    "" for a column without."""
    labels = []
    for j in range(width):
        # The first row's cell first: in most files it has no label, and the column is
        # never gathered.
        first = rows[0].fields[j] if rows and len(rows[0].fields) > j else ""
        found = _LABEL.match(first)
        label = found.group() if found else ""
        if label:
            column = [r.fields[j] for r in rows if len(r.fields) > j]
            if len(column) < 2 or not all(c.startswith(label) for c in column):
                label = ""
        labels.append(label)
    return labels


def _columns(rows: list[Record], width: int) -> list[list[str]]:
    return [[r.fields[j] for r in rows if len(r.fields) > j] for j in range(width)]


def _modal_width(widths: list[int]) -> int:
    """The most common width of more than one field; on a tie, the one met first."""
    counts = Counter(widths)
    first_seen = {w: -i for i, w in reversed(list(enumerate(widths)))}
    return max(counts, key=lambda w: (counts[w] * (w > 1), first_seen[w]))


def _width_below_key_values(records: tuple[Record, ...], content: list[int], width: int) -> int:
    """The width of a table below "key;value" metadata lines (a bank's export: account,
    period, balance, then the statement), where those lines outnumber the table's rows and
    so make the most common width; else ``width``.

    The lines of two fields must all stand above a block of a wider width that runs to the
    end (at least a header and two rows), and their first fields must be distinct labels:
    keys, not a column of values.
    """
    if width != 2:
        return width
    pairs = [i for i in content if len(records[i].fields) == 2]
    # A blank key continues the key above it (an instrument's "\tWavelengths: 450" under
    # "Read\tAbsorbance Endpoint"), as long as most keys are written out.
    keys = [k for k in (records[i].fields[0].strip() for i in pairs) if k]
    if len(set(keys)) != len(keys) or not all(cell_kind(k) not in TYPED for k in keys):
        return width
    if len(keys) * 2 <= len(pairs):
        return width
    wider = Counter(len(records[i].fields) for i in content if len(records[i].fields) > 2)
    for candidate, _ in wider.most_common():
        first = _table_start(records, content, candidate)
        block = [i for i in content if i >= first]
        uniform = sum(len(records[i].fields) == candidate for i in block)
        if (
            len(records[first].fields) == candidate
            and pairs[-1] < first
            and len(block) >= 3
            and uniform >= 0.9 * len(block)
        ):
            return candidate
    return width


def starting_at_top(table: Table) -> Table:
    """The table from its sample's first line, where the lines above its uniform start are
    rows of it (two fields or more, no blank line among them): after a recognised preamble
    (comments, front matter) the next line is the table's, and rows of another width at its
    top are ragged rows (or rows that stop early), not titles."""
    content = [i for i, r in enumerate(table.records) if not r.blank]
    if not content or table.start <= content[0]:
        return table
    above = table.records[content[0] : table.start]
    if not all(len(r.fields) >= 2 and not r.blank for r in above):
        return table
    return find_table(table.records, table.reading, start=content[0], width=table.width)


def stopping_early(table: Table) -> Table | None:
    """The table as its widest rows (and header) have it, where many rows stop early: the
    values they lack are the last ones (a release list's dates not reached yet, a comments
    column most rows leave out). None unless the values the short rows have sit in the
    columns they belong to: numbers under numbers, dates under dates, "+4230+00131" under
    "-0848+01314", for at least 90 % of the cells where a column gives such evidence."""
    records = table.records
    first = table.start
    if first > 0 and len(records[first - 1].fields) > table.width:
        first -= 1  # a header wider than most rows, just above them
    header = _header_above_short_rows(table)
    if header is not None:
        first = header
    # A line of bare delimiters (",,") holds no values: no evidence of a row that stops early.
    region = [r for r in records[first : table.end] if len(r.fields) >= 2 and not r.blank]
    full = max((len(r.fields) for r in region), default=0)
    body = region[1:]
    short = [r for r in body if len(r.fields) < full]
    complete = [r for r in body if len(r.fields) == full]
    if full < 3 or not short or not complete:
        return None
    if len(short) < _STOPPING_EARLY_SHARE * len(body):
        return None  # a few ragged rows in a larger table: rows to reject
    # Two short rows (a small file's) stop early only where what they lack is optional text
    # (a comment, a long name): a row lacking a number or a date is as likely missing one in
    # the middle. A lone short row is a ragged row.
    few = len(short) < 3
    if few and (len(short) < 2 or not _lacks_only_text(short, complete, full)):
        return None
    if not few and len(complete) < 2:
        return None
    signed = matched = 0
    for j in range(full - 1):
        belongs = _signature([r.fields[j] for r in complete])
        if belongs is None:
            continue
        cells = [r.fields[j] for r in short if len(r.fields) > j]
        signed += len(cells)
        matched += sum(map(belongs, cells))
    # Below a header at the file's top, rows whose columns tell nothing (text) stop early where
    # what they lack is text too (a category most rows give).
    unsigned_below_a_header = header is not None and _lacks_only_text(short, complete, full)
    if (not signed and not unsigned_below_a_header) or matched < 0.9 * signed:
        return None
    return find_table(records, table.reading, start=first, width=full)


def _header_above_short_rows(table: Table) -> int | None:
    """The header above the rows where the first of them stop early (a header of four names,
    two rows of three, the rest four: PyPSA's component list): the sample's first line, the
    table's width, distinct names none a value, that the header test takes for names above
    the complete rows, and only lines of two fields or more but fewer than the width between
    it and the table. The rows lack a field, not the header: read as a preamble, the names
    would be lost and a short row taken for the header. None otherwise."""
    records, start, width = table.records, table.start, table.width
    content = [i for i, r in enumerate(records[:start]) if not r.blank]
    if len(content) < 2 or width < 3:
        return None
    top, *between = content
    names = [f.strip() for f in records[top].fields]
    if (
        len(names) != width
        or len(set(names)) != width
        or not all(name and cell_kind(name) not in TYPED for name in names)
        or not all(2 <= len(records[i].fields) < width for i in between)
    ):
        return None
    rows = [r for r in records[top : table.end] if not r.blank and len(r.fields) == width]
    return top if header_evidence(rows, width)[0] else None


_NOT_IN_PROSE = ("\t", ";", "|")


def all_shorter_than_the_header(table: Table) -> Table | None:
    """The table as its header has it, where every row below a header stops early (QIIME 2
    metadata, which may leave any trailing cells out): a first line of three or more distinct
    names, then only shorter lines, two or more of them split by the delimiter. No row is as
    wide as the header, so no row tells the table's width but the header; read as one column
    instead, every line would be a value with delimiters in it. Only with a delimiter prose
    does not hold (tab, ";", "|"): lines of words get shorter too. None otherwise."""
    content = [r for r in table.records if not r.blank]
    if table.reading.delimiter not in _NOT_IN_PROSE or len(content) < 3:
        return None
    names = [f.strip() for f in content[0].fields]
    width = len(names)
    if width < 3 or len(set(names)) != width:
        return None
    if not all(name and cell_kind(name) not in TYPED for name in names):
        return None
    below = content[1:]
    if any(len(r.fields) >= width for r in below) or sum(len(r.fields) >= 2 for r in below) < 2:
        return None
    start = table.records.index(content[0])
    return find_table(table.records, table.reading, start=start, width=width)


def header_one_name_long(table: Table) -> Table | None:
    """The table as its header has it, where the file's first line holds one name more than
    every row below it (a writer that leaves an empty last column off every row, not empty):
    the line just above the table, distinct names none a value, which name the rows' columns
    as a header does (names above typed columns). Read as a preamble above a headerless table,
    the names would be lost and the columns unnamed. None otherwise."""
    start = table.start
    if start < 1 or any(not r.blank for r in table.records[: start - 1]):
        return None
    rows = table.rows
    names = [f.strip() for f in table.records[start - 1].fields]
    if (
        len(names) != table.width + 1
        or len(set(names)) != len(names)
        or not all(name and cell_kind(name) not in TYPED for name in names)
        or len(rows) < 3
        or any(len(r.fields) != table.width for r in rows)
    ):
        return None
    line = table.records[start - 1]
    named = replace(line, fields=line.fields[: table.width])
    has_header, why = header_evidence([named, *rows], table.width)
    if not has_header or why == TEXT_DIFFERS:
        return None
    return find_table(table.records, table.reading, start=start - 1, width=len(names))


def _lacks_only_text(short: list[Record], complete: list[Record], full: int) -> bool:
    """Whether the columns the short rows lack hold only text where rows have them: no cell a
    number, a date or a boolean, and at least one filled."""
    lacking = range(min(len(r.fields) for r in short), full)
    cells = [r.fields[j].strip() for r in complete for j in lacking]
    return any(cells) and all(cell_kind(c) not in TYPED for c in cells if c)


def _signature(column: list[str]) -> Callable[[str], bool] | None:
    """What a cell must look like to belong to ``column``: its typed kind, or the form most
    of its cells are written in when that form has digits or signs; None without either."""
    family = _family(column)
    if family is not None:
        kinds = {family, EMPTY} | ({NUMBER, TEMPORAL} if family in (NUMBER, TEMPORAL) else set())
        return lambda cell: cell_kind(cell) in kinds
    patterns = Counter(p for p in map(_pattern, column) if p and set(p) - set("Aa "))
    if not patterns:
        return None
    common, count = patterns.most_common(1)[0]
    if count * 2 < len(column):
        return None
    return lambda cell: not cell.strip() or _pattern(cell) == common


def _table_start(records: tuple[Record, ...], content: list[int], width: int) -> int:
    """The first record from which rows are uniform: the header, or the first data row.

    A line of the table's width is where it starts when the next line has that width
    too, or most of the few after it do (a ragged row early in the table is a row to
    reject, not a reason to look further down).
    """
    for position, i in enumerate(content):
        if len(records[i].fields) != width or _padded_line(records[i], width):
            continue
        following = content[position + 1 : position + 1 + _LOOKAHEAD]
        if not following:
            return i
        same = [len(records[j].fields) == width for j in following]
        # One odd row right below, then the width for every line after it: a ragged row,
        # however few lines a small file has to show it ("a,b,c" then "1" then "4,5,6").
        ragged_row = len(same) >= 2 and all(same[1:])
        if not same[0] and sum(same) / len(same) < _UNIFORM_SHARE and not ragged_row:
            continue
        # A line of the table's width set apart from it by a blank line is a title or a
        # note above it ("Report,2024" then a blank line), unless the table is just that.
        if (
            i + 1 < len(records)
            and records[i + 1].blank
            and len(following) > 1
            and not _above_an_empty_row(records[i], records[i + 1], width)
        ):
            continue
        below = _header_below_key_values(records, i, width)
        return i if below is None else below
    return content[0]


def _header_below_key_values(records: tuple[Record, ...], first: int, width: int) -> int | None:
    """The header below key-value lines padded to the table's width, where they start at
    ``first`` (a plate reader's "Plate Type   ,PM 1-,," above a line of bare delimiters and
    "Hour,  A01,  A02,  A03"): None where they do not.

    Two lines or more of a key (distinct labels, no values) and at most a value, the other
    cells empty; then blank lines; then a line filling every cell with a name, above a row
    that fills a column the key-value lines leave empty in all of them. The widths agree,
    so only the empty columns and the blank line tell the preamble from rows."""
    i = _past_key_values(records, first, width)
    while i < len(records) and records[i].blank:
        i += 1
    if i == first or i + 1 >= len(records):
        return None
    header, row = records[i].fields, records[i + 1].fields
    if len(header) != width or len(row) != width or not any(f.strip() for f in row[2:]):
        return None
    return i if all(f.strip() and cell_kind(f) not in TYPED for f in header) else None


def _past_key_values(records: tuple[Record, ...], first: int, width: int) -> int:
    """The index past the key-value lines padded to ``width`` (three columns or more) that
    start at ``first`` and end at a blank line; ``first`` where there are none."""
    if width < 3:
        return first
    keys: list[str] = []
    i = first
    while i < len(records) and not records[i].blank:
        fields = records[i].fields
        if len(fields) != width or any(f.strip() for f in fields[2:]) or not fields[0].strip():
            return first
        keys.append(fields[0].strip())
        i += 1
    if len(keys) < 2 or len(set(keys)) < len(keys) or any(cell_kind(k) in TYPED for k in keys):
        return first
    return i if i < len(records) else first


def _above_an_empty_row(record: Record, below: Record, width: int) -> bool:
    """A line of three or more filled cells above a line of bare delimiters of its width: a
    header above an empty row of the table (a spreadsheet's blank first row), not a title
    set apart by a blank line, which has no delimiters or is padded to the width. Two cells
    are as telling where they are distinct names, none a value ("codice_istat;cap" above
    ";"): a title of two cells is padded ("Report;") or holds a value ("Report;2024")."""
    if len(below.fields) != width or not all(f.strip() for f in record.fields[:width]):
        return False
    if width >= 3:
        return True
    names = [f.strip() for f in record.fields[:width]]
    return (
        width == 2 and len(set(names)) == 2 and all(cell_kind(name) not in TYPED for name in names)
    )


def _padded_line(record: Record, width: int) -> bool:
    """A title or note padded with delimiters to the table's width ("Report,,,,,"), as
    spreadsheets export them: one filled cell of three or more."""
    if width < 3:
        return False
    filled = 0
    for field in record.fields:  # stops at a row's second value: it runs on every line
        if field and not field.isspace():
            filled += 1
            if filled > 1:
                return False
    return True


def rank(tables: Iterable[Table]) -> list[Table]:
    """Best first; among equal scores, the usual reading (",", '"', doubled quotes) first."""
    return sorted(tables, key=lambda t: (-t.score, _preference(t.reading)))


def _preference(reading: Reading) -> tuple[int, int, int, int]:
    return (
        DELIMITERS.index(reading.delimiter) if reading.delimiter in DELIMITERS else 0,
        QUOTES.index(reading.quote) if reading.quote in QUOTES else 0,
        int(bool(reading.escape)),
        int(reading.skip_initial_space),
    )


def tabs_inside(best: Table, ranked: list[Table]) -> Table | None:
    """The tab reading's table, where ``best`` (another delimiter's) leaves a tab inside a
    field of every row it splits and tab splits each of those lines alike: into the same
    number of fields, two or more, every line. A value almost never holds a tab, while "|",
    ":" or ";" are common inside one (BLAST's sequence ids, "gi|16080617|ref|NP_391444.1|", in
    tab-separated output, which "|" splits into as many or more fields, each tab then inside
    one): the tabs are the delimiter. Not where a tab pads every one of the other delimiters
    ("a,\tb"), nor where tab splits quoted fields open (a field holding an odd number of
    quotes); quotes inside a value, in pairs, are text (GTF's 'gene_id "SGIP1";'). None
    otherwise."""
    delimiter = best.reading.delimiter
    if delimiter == "\t":
        return None
    split = [r for r in best.rows if len(r.fields) > 1]
    if len(split) < 2 or not all(any("\t" in f for f in r.fields) for r in split):
        return None
    tabbed = next((t for t in ranked if t.reading.delimiter == "\t"), None)
    if tabbed is None or tabbed.width < 2:
        return None
    rows = [r for r in tabbed.rows if len(r.fields) > 1]
    quote = tabbed.reading.quote
    if len(rows) < len(split) or any(
        len(r.fields) != tabbed.width or (r.stray_quotes and _splits_quotes_open(r, quote))
        for r in rows
    ):
        return None
    beside = sum(
        sum(f.startswith("\t") for f in r.fields[1:]) + sum(f.endswith("\t") for f in r.fields[:-1])
        for r in split
    )
    if beside >= sum(len(r.fields) - 1 for r in split):
        return None  # a tab beside every delimiter: padding, as spaces after it are
    return tabbed


def _splits_quotes_open(record: Record, quote: str) -> bool:
    return any(field.count(quote) % 2 for field in record.fields)


def rival(ranked: list[Table]) -> Table | None:
    """The best table of another shape (delimiter or width) as plausible as the best one."""
    best = ranked[0]
    for table in ranked[1:]:
        if table.shape != best.shape and table.width > 1:
            return table if table.score >= AMBIGUOUS_RATIO * best.score > 0 else None
    return None


def padded_header(table: Table) -> tuple[Record | None, str]:
    """A header one field short of the rows above a table that starts on its data.

    Written by tools that end every data row with a delimiter (an empty last field), or
    that name no row-label column (R's ``write.csv``). Returns the record and where the
    missing name goes ("end" or "start").
    """
    if table.start == 0 or table.width < 2:
        return None, ""
    above = table.records[table.start - 1]
    if above.blank or len(above.fields) != table.width - 1:
        return None, ""
    rows = table.rows[:50]
    if _numbers_above_row_names(above.fields, rows, table.width):
        return above, "start"
    # Not numbers or dates; a name may look like a boolean ("T" for a time, "Y" for a target).
    if not all(cell_kind(f) not in (NUMBER, TEMPORAL) and f.strip() for f in above.fields):
        return None, ""
    if all(not r.fields[-1].strip() for r in rows if len(r.fields) == table.width):
        return above, "end"
    return above, "start"


def _numbers_above_row_names(names: tuple[str, ...], rows: list[Record], width: int) -> bool:
    """Distinct numbers one fewer than the rows' fields, above rows whose first cells are
    distinct labels with a letter and whose other cells are numbers: R's ``write.table`` of a
    matrix with row names, its columns named by sample numbers ("39", "40", "42"). A short
    row of numbers above rows of numbers is a ragged row, not names."""
    cells = [f.strip() for f in names]
    if len(cells) < 2 or len(set(cells)) != len(cells):
        return False
    if not all(cell_kind(c) == NUMBER for c in cells):
        return False
    full = [r.fields for r in rows if len(r.fields) == width]
    if len(full) < 2:
        return False
    labels = [f[0].strip() for f in full]
    if len(set(labels)) != len(labels) or not all(
        _has_letter(label) and cell_kind(label) not in TYPED for label in labels
    ):
        return False
    values = [c for f in full for c in f[1:] if c.strip()]
    return sum(cell_kind(c) == NUMBER for c in values) >= 0.9 * len(values)


def quoted_names_above_row_names(table: Table, lines: Sequence[str]) -> Record | None:
    """The line above a table of text, one name short, where it is written as R's
    ``write.table`` writes a header: every name quoted as every text cell of the rows is, and
    names without spaces (R's syntactic names, "labelDescription"), above rows whose first
    cells are distinct (row names, the column left unnamed). A title above a header is written
    bare, or in words. None otherwise."""
    quote, delimiter = table.reading.quote, table.reading.delimiter
    if table.start == 0 or not quote or table.width < 2:
        return None
    above = table.records[table.start - 1]
    if len(above.fields) != table.width - 1 or not all(
        f and not any(ch.isspace() for ch in f) and cell_kind(f) not in TYPED for f in above.fields
    ):
        return None
    if not _written_quoted(above, lines, quote, delimiter):
        return None
    rows = [r for r in table.rows[:50] if len(r.fields) == table.width]
    labels = [r.fields[0] for r in rows]
    if len(rows) < 2 or len(set(labels)) != len(labels):
        return None
    return above if all(_written_quoted(r, lines, quote, delimiter) for r in rows) else None


def _written_quoted(record: Record, lines: Sequence[str], quote: str, delimiter: str) -> bool:
    """Whether each of a record's text cells is quoted in its line (numbers may be bare)."""
    raw = "".join(lines[record.first_line - 1 : record.last_line]).rstrip("\r\n")
    written = [
        f if cell_kind(f) in TYPED or not f else quote + f.replace(quote, quote * 2) + quote
        for f in record.fields
    ]
    return raw == delimiter.join(written)


def header_key(value: str) -> str:
    """A header name or a cell as compared to tell a repeated header: spaces, tabs and a byte
    order mark around it left out (one opens the second of two UTF-8 files joined)."""
    return value.strip(HEADER_KEY_TRIMMED)


def repeats_header(fields: Sequence[str], names_in_file: Sequence[str]) -> bool:
    """Whether a record is the header again: the same fields, each as ``header_key`` has it."""
    return len(fields) == len(names_in_file) and all(
        header_key(f) == header_key(n) for f, n in zip(fields, names_in_file, strict=True)
    )


# The weakest evidence of a header: text above text, no column typed.
TEXT_DIFFERS = "the first row's text differs from the rows below it"
WRITTEN_AS_THE_ROWS = "the first line is written as the rows below it"


def header_evidence(rows: list[Record], width: int) -> tuple[bool, str]:
    """Whether the first row names the columns, and why it looks so."""
    first, body = rows[0].fields, [r.fields for r in rows[1:101] if len(r.fields) == width]
    if not body:
        return _lone_row(first)
    if _counts_columns(first, body):
        return True, "the first row numbers the columns"
    names, values, recurring = _votes(first, _evidence_rows(first, body, width), width)
    if names and names >= values:
        return True, "the first row is text above columns of values"
    if values:
        return False, "the first row holds values like the rows below it"
    return _text_only_evidence(first, body, width, recurring=recurring)


def _text_only_evidence(
    first: tuple[str, ...], body: list[tuple[str, ...]], width: int, *, recurring: bool
) -> tuple[bool, str]:
    """Whether a first row above columns of text only names them: not where its values recur
    below, nor where it is written as the rows below it."""
    if recurring:
        return False, "the first row's values recur in the rows below it"
    if _written_as_the_rows(first, body, width):
        return False, WRITTEN_AS_THE_ROWS
    return True, TEXT_DIFFERS


# An all-text table's first row is judged against the rows below it only with enough of them to
# show how a column is written, and a first cell fits a column where its shape is that of this
# share of the column's filled cells at least (free text spreads over many shapes).
_SHAPE_ROWS = 4
_SHAPE_SHARE = 0.15


def _written_as_the_rows(first: tuple[str, ...], body: list[tuple[str, ...]], width: int) -> bool:
    """Whether a first row above text only is written as the rows below it in every column:
    the same scripts, case, digits, signs and number of words as a common shape of the
    column's cells (or, in a column spread over many shapes, a shape two cells have; or the
    mix of scripts cells below mix too), and a length within theirs (give or take a
    character). A header's names
    differ from their values somewhere ("Country" above "AO", "name" above "Angola"); a
    dictionary's first entry ("가락", "ncn" above "가방", "ncn") or a code list's ("AAA",
    "Avolites Ltd") does not. Two columns at least: one is too little evidence."""
    if width < 2 or len(first) < width or len(body) < _SHAPE_ROWS:
        return False
    columns = [[row[j] for row in body] for j in range(width)]
    if any(_names_a_column(cell) for cell in first[:width]):
        return False
    if not all(_fits_column(first[j], columns[j]) for j in range(width)):
        return False
    # Plain words are no evidence ("Country,Capital" above "France,Paris"): one column at
    # least must be written in a shape no name takes.
    return any(_telling_shape(first[j], columns[j]) for j in range(width))


# Words columns are named with. Where the first row holds one, it names its column, however
# alike the rows are written ("name,city" above "alice,paris").
_COLUMN_WORDS = frozenset(
    """
    id ids key keys name names code codes type kind category class group label title
    description comment comments note notes remark remarks value values city town country
    state region province address email mail phone date time year status language word
    words text first last source target symbol unit iso url link number no count amount
    nom nombre stadt ort land pays ville codigo bezeichnung beschreibung
    """.split()
)


def _names_a_column(cell: str) -> bool:
    return any(word in _COLUMN_WORDS for word in re.split(r"[\W_]+", cell.casefold()))


def _telling_shape(cell: str, column: list[str]) -> bool:
    """Whether a first cell is written in a shape that no column name takes: letters of
    another script than Latin, digits or signs; or a code, capitals (or small letters) of the
    length nearly every cell of its column has in that case (give or take a letter), before
    every cell of a column in order, nine pairs of ten at least ("AAA" above "AAE", "AAM", or
    ISO 639's "aa" above "ab", "ast", "ca@valencia": a sorted list's first entry; "SKU" above
    "ABC", "DEF" is a name out of order)."""
    text = cell.strip()
    if any(ch.isdigit() or not (ch.isalpha() or ch.isspace()) for ch in text):
        return True
    if any(ch.isalpha() and "LATIN" not in unicodedata.name(ch, "") for ch in text):
        return True
    if not text.isalpha() or text.isupper() == text.islower():
        return False
    case = str.isupper if text.isupper() else str.islower
    filled = [c.strip() for c in column if c.strip()]
    same = sum(1 for c in filled if abs(len(c) - len(text)) <= 1 and c.isalpha() and case(c))
    in_order = sum(1 for a, b in itertools.pairwise(filled) if a <= b)
    return (
        same >= 0.9 * len(filled)
        and all(text <= c for c in filled)
        and in_order >= 0.9 * (len(filled) - 1)
    )


def _fits_column(cell: str, column: list[str]) -> bool:
    filled = [c.strip() for c in column if c.strip()]
    if not cell.strip():
        # A blank name above a column that has blanks too tells nothing either way.
        return len(filled) < len(column)
    if len(filled) < _SHAPE_ROWS:
        return False
    lengths = [len(c) for c in filled]
    if not min(lengths) - 1 <= len(cell.strip()) <= max(lengths) + 1:
        return False
    shape = _shape(cell)
    shapes = Counter(map(_shape, filled))
    alike = shapes[shape]
    if alike >= max(2, _SHAPE_SHARE * len(filled)):
        return True
    # A column spread over many shapes (self-names in several scripts, one word or two), none
    # of them half its cells': a shape two of its cells have is as ordinary as the rows.
    if alike >= 2 and shapes.most_common(1)[0][1] * 2 < len(filled):
        return True
    # Letters of two scripts ("FIFA世界杯", "k他": Latin beside Han) where cells below mix the
    # same scripts too: a word of the rows' kind; a name is written in one script.
    scripts, _case, *rest = shape
    return len(scripts) >= 2 and any(s[0] == scripts and list(s[2:]) == rest for s in shapes)


def _shape(value: str) -> tuple[frozenset[str], str, bool, bool, int]:
    """How a cell of text is written: the scripts of its letters, the case of its Latin
    letters, whether it has digits and signs, and its words (one, two, or more)."""
    text = value.strip()
    letters = [ch for ch in text if ch.isalpha()]
    scripts = frozenset(unicodedata.name(ch, "").split(" ", 1)[0] for ch in letters)
    latin = [ch for ch in letters if ch.isascii() or "LATIN" in unicodedata.name(ch, "")]
    if not latin:
        case = ""
    elif len(latin) > 1 and all(ch.isupper() for ch in latin):
        case = "upper"
    elif all(ch.islower() for ch in latin):
        case = "lower"
    elif latin[0].isupper() and text[0].isalpha():
        case = "capitalised"
    else:
        case = "mixed"
    digits = any(ch.isdigit() for ch in text)
    signs = any(not ch.isalnum() and not ch.isspace() for ch in text)
    return scripts, case, digits, signs, min(len(text.split()), 3)


def below_a_count_line(rows: list[Record], width: int) -> bool:
    """Whether the first row gives the table's size above its header ("10,2" above "id","z":
    ten rows of two columns, as spatial-statistics tools write it): two whole numbers, the
    second the table's width, the first no fewer than the rows below the next row, which
    names the columns. A row of values above a header is no row of the table."""
    if len(rows) < 3:
        return False
    cells = [f.strip() for f in rows[0].fields]
    if len(cells) != 2 or not all(c.isascii() and c.isdigit() for c in cells):
        return False
    count, columns = int(cells[0]), int(cells[1])
    return columns == width and count >= len(rows) - 2 and header_evidence(rows[1:], width)[0]


def _evidence_rows(
    first: tuple[str, ...], body: list[tuple[str, ...]], width: int
) -> list[tuple[str, ...]]:
    """The rows that tell whether the first row is a header. Where it stands again below
    (files joined, an export appended to) and the other rows show it names their columns,
    those rows: it is the header, and its repeats no values. Where they do not, all rows: its
    repeats stay evidence, as a data row's duplicates are."""
    others = [row for row in body if not repeats_header(row, first)]
    if not 0 < len(others) < len(body):
        return body
    names, values, _ = _votes(first, others, width)
    return others if names and names >= values else body


def _lone_row(first: tuple[str, ...]) -> tuple[bool, str]:
    if all(cell_kind(f) in TYPED or not f.strip() for f in first) and any(first):
        return False, "the only row holds values"
    # A date or a time names no column: the one record of a log or a query's result.
    if any(cell_kind(f) == TEMPORAL for f in first):
        return False, "the only row holds a date or time, a value"
    return True, "the table has one row, read as its header"


def _votes(
    first: tuple[str, ...], body: list[tuple[str, ...]], width: int
) -> tuple[int, int, bool]:
    """Typed columns whose first cell is a name, those whose first cell is a value, and
    whether most text columns' first cell recurs below it (data, not a name)."""
    names, values, text_columns, repeated = 0, 0, 0, 0
    labels = _whole_numbers_above_decimals(first, body, width)
    years = _years_above_other_numbers(first, body, width) | _axis_above_values(first, body, width)
    for j in range(min(width, len(first))):
        column = [row[j] for row in body]
        family = _family(column)
        name = first[j]
        if j in years:
            names += 1
        elif family is None:
            text_columns += 1
            repeated += bool(name.strip()) and name in column
            if _number_above_words(name, column):
                names += 1
            else:
                values += _written_alike(name, column) or _ending_alike(name, column)
        elif name.strip() and _family([name]) == family and not labels:
            values += 1
        elif name.strip():
            names += 1
    return names, values, bool(text_columns) and repeated * 2 > text_columns


def _written_alike(name: str, column: list[str]) -> bool:
    """Whether a text column's first cell is written as most of its cells are, in a form
    with digits or signs no name has ("+4230+00131" above "-0848+01314", "Europe/Andorra"
    above "Asia/Dubai"): a value, not a name. Plain words are no evidence ("City" above
    "Paris")."""
    pattern = _pattern(name)
    if pattern is None or not set(pattern) - set("Aa "):
        return False
    patterns = Counter(map(_pattern, column))
    common, count = patterns.most_common(1)[0] if patterns else (None, 0)
    if pattern != common or count * 2 < len(column):
        return _phrased_alike(pattern, column)
    if _WORD_AND_NUMBER.fullmatch(pattern):
        # Names are numbered so too ("col1" above "d1", "x2" above "a7"): a value only
        # with the word most cells have ("Week 1" above "Week 2", "Q1" above "Q3").
        word = _word_of(name)
        return sum(_word_of(cell) == word for cell in column) * 2 >= len(column)
    return True


def _number_above_words(name: str, column: list[str]) -> bool:
    """A number above a column of words without a digit among them ("1000" above "b", "b",
    "c"): a column named by a number, as metadata tables name their columns by ids. A row of
    data puts no number where every other row has a word."""
    cells = [c.strip() for c in column if c.strip()]
    return (
        cell_kind(name) == NUMBER
        and len(cells) >= 2
        and all(_has_letter(c) and not any(ch.isdigit() for ch in c) for c in cells)
    )


def _ending_alike(name: str, column: list[str]) -> bool:
    """Whether a first cell of words ends in the word that ends most of its column's cells,
    which have as many words ("Thai language" above "Japanese language", "Russian
    language"): a value in a column of phrases built alike, in any script. Different words
    at the end ("Phone type" above "Work phone") are no evidence."""
    words = name.split()
    if len(words) < 2:
        return False
    alike = sum(
        1
        for cell in column
        if len(cell.split()) == len(words) and cell.split()[-1] == words[-1] and cell != name
    )
    return alike >= 2 and alike * 2 >= len(column)


def _phrased_alike(pattern: str, column: list[str]) -> bool:
    """Whether a first cell is written as most of its column's cells are once any run of
    words counts as one ("+888 // Asia" above "+979 // Central Asia"): a value with digits
    around free text. Signs alone are no evidence ("Sub-Category" above "Book-cases"), and a
    word and a number alone are left to the stricter check."""
    phrase = _phrased(pattern)
    if "9" not in phrase or _WORD_AND_NUMBER.fullmatch(pattern):
        return False
    phrases = Counter(_phrased(p) for p in map(_pattern, column) if p is not None)
    return phrases[phrase] * 2 >= len(column) and phrases.most_common(1)[0][0] == phrase


def _phrased(pattern: str) -> str:
    return re.sub(r"[Aa]+(?: [Aa]+)*", "W", pattern)


# A word and then a number ("col1", "Week 2"): the form of numbered names and of codes alike.
_WORD_AND_NUMBER = re.compile(r"[Aa]+ ?9")


def _word_of(value: str) -> str:
    return re.sub(r"[\d\s]+", "", value).casefold()


def _pattern(value: str) -> str | None:
    """The shape of an ASCII value: runs of capitals, of small letters and of digits each
    one symbol, signs alike; None for a value with other characters."""
    text = value.strip()
    if not text or not text.isascii():
        return None
    text = re.sub(r"[+-]", "±", text)
    text = re.sub(r"\d+", "9", text)
    text = re.sub(r"[A-Z]+", "A", text)
    return re.sub(r"[a-z]+", "a", text)


def _whole_numbers_above_decimals(
    first: tuple[str, ...], body: list[tuple[str, ...]], width: int
) -> bool:
    """A numeric dump's labels: whole numbers ("0,0,0") above columns of decimals."""
    cells = [f.strip() for f in first[:width]]
    if not cells or not all(c.lstrip("-").isdigit() for c in cells if c) or not any(cells):
        return False
    for j, cell in enumerate(cells):
        if not cell:
            continue
        column = [row[j].strip() for row in body if row[j].strip()]
        decimal = sum(1 for v in column if cell_kind(v) == NUMBER and ("." in v or "e" in v))
        if not column or decimal < 0.9 * len(column):
            return False
    return True


def _years_above_other_numbers(
    first: tuple[str, ...], body: list[tuple[str, ...]], width: int
) -> set[int]:
    """The columns a statistics table names by year ("2020;2021;2022" above populations, a
    World Bank export's 2000 to 2023 above rates): two or more distinct whole numbers of a
    year's range, in increasing or decreasing order, above columns of numbers that are not
    years. A row of years above years (a start and an end year) is data."""
    years = {j: year for j, f in enumerate(first[:width]) if (year := _year(f)) is not None}
    order = list(years.values())
    if len(years) < 2 or len(set(order)) != len(order):
        return set()
    if order != sorted(order) and order != sorted(order, reverse=True):
        return set()
    for j in years:
        column = [row[j].strip() for row in body if row[j].strip()]
        numbers = [v for v in column if cell_kind(v) == NUMBER]
        if (
            not column
            or len(numbers) < 0.9 * len(column)
            or sum(1 for v in numbers if _year(v) is not None) > 0.1 * len(numbers)
        ):
            return set()
    return set(years)


def _axis_above_values(first: tuple[str, ...], body: list[tuple[str, ...]], width: int) -> set[int]:
    """The columns a table names by the points of an axis ("200, 250, 300" kelvin, wind
    speeds "0.0, 0.5, 1.0", years 1929 to 2009 above incomes that pass through a year's
    range): three or more numbers, strictly increasing, beside text names that do not recur
    in their columns, above columns of numbers that are not themselves such an axis (most
    rows do not increase along it) or are of another kind (decimals under whole numbers).
    A row of numbers alone is left to the other rules: without a text name it is as likely a
    numeric dump's first row."""
    cells = [f.strip() for f in first[:width]]
    axis = [j for j, cell in enumerate(cells) if cell_kind(cell) == NUMBER]
    # A name holds a letter: "6." beside "1, 1.5, 2" is a number written oddly, not a name.
    texts = [j for j, cell in enumerate(cells) if j not in axis and _has_letter(cell)]
    points = _numbers([cells[j] for j in axis])
    if len(axis) < _AXIS_POINTS or not texts or points is None or not _increasing(points):
        return set()
    if any(first[j] in {row[j] for row in body} for j in texts):
        return set()
    below: list[str] = []
    for j in axis:
        column = [row[j].strip() for row in body if row[j].strip()]
        numbers = [v for v in column if cell_kind(v) == NUMBER]
        if not column or len(numbers) < 0.9 * len(column):
            return set()
        below += numbers
    along, measured = _rows_along_axis(body, axis)
    if along * 2 < measured:
        return set(axis)
    whole_names = all(cells[j].lstrip("-").isdigit() for j in axis)
    decimals = sum(1 for v in below if "." in v or "e" in v.lower())
    return set(axis) if whole_names and decimals >= 0.75 * len(below) else set()


def _has_letter(cell: str) -> bool:
    return any(ch.isalpha() for ch in cell)


# The fewest numbers taken for an axis naming columns: two could be any row's pair of values.
_AXIS_POINTS = 3


def _rows_along_axis(body: list[tuple[str, ...]], columns: list[int]) -> tuple[int, int]:
    """How many rows increase strictly along the axis columns (over their filled cells), of
    how many have two or more numbers there."""
    along = measured = 0
    for row in body:
        values = _numbers([row[j] for j in columns if row[j].strip()])
        if values is None or len(values) < 2:
            continue
        measured += 1
        along += _increasing(values)
    return along, measured


def _increasing(values: list[float]) -> bool:
    return all(later > earlier for earlier, later in itertools.pairwise(values))


def _numbers(cells: list[str]) -> list[float] | None:
    """The cells' values, or None where Python reads one otherwise ("1,5", "nan")."""
    values = []
    for cell in cells:
        try:
            value = float(cell.strip())
        except ValueError:
            return None
        if not math.isfinite(value):
            return None
        values.append(value)
    return values


def _year(cell: str) -> int | None:
    """The year a cell names, or None. ASCII digits only: "¹⁹⁹⁰" passes str.isdigit()
    and int() refuses it."""
    text = cell.strip()
    if len(text) != 4 or not text.isascii() or not text.isdigit():
        return None
    year = int(text)
    return year if _FIRST_YEAR <= year <= _LAST_YEAR else None


def _counts_columns(first: tuple[str, ...], body: list[tuple[str, ...]]) -> bool:
    """0,1,2,... or 1,2,3,... (after an unnamed first column): pandas' numbered columns; or
    ",0" above rows whose first cell is always filled: a pandas Series written with its index,
    its default name 0."""
    named = [f.strip() for f in first]
    index = bool(named) and not named[0]
    if index:
        named = named[1:]
    if index and named == ["0"] and body and all(row[0].strip() for row in body):
        return True
    # Without the unnamed index column, 1,2,3 could as well be a row of data.
    # ASCII digits: int() refuses what else str.isdigit() lets through ("²").
    if not index or len(named) < 2 or not all(f.isascii() and f.isdigit() for f in named):
        return False
    numbers = [int(f) for f in named]
    return numbers in (list(range(len(named))), list(range(1, len(named) + 1)))


def _family(column: list[str]) -> str | None:
    """The typed kind shared by at least 90 % of a column's non-empty cells, if any."""
    kinds = Counter(k for k in map(cell_kind, column) if k != "empty")
    total = sum(kinds.values())
    if not total:
        return None
    kind, count = kinds.most_common(1)[0]
    if kind in TYPED and count >= 0.9 * total:
        return kind
    if kinds[NUMBER] + kinds[TEMPORAL] >= 0.9 * total and kind in (NUMBER, TEMPORAL):
        return kind
    return None


def second_table(
    table: Table, first_data_line: int, header: tuple[str, ...]
) -> tuple[Record, Record] | None:
    """What sets a second table apart from the first (an analytics export's blank and
    "# ----" lines) and the second table's header ("Day Index,Sessions"), or None.

    A second table is a row of the table's width whose cells are all names where the first
    table's columns hold values (text above numbers and dates, none of them a value of its
    column), with a row of its width below it, set apart from the first by a comment or
    separator line, or by a blank line where it repeats a name of the first table's
    ``header`` in its place ("Day Index"), or where it starts with key-value lines above a
    header of its own (a plate reader's next plate, as its first). A row of bad values after
    a blank line ("x,a,bad" under numbers) is a row to reject; a row of text in a table of
    text is no evidence; neither is a row of another width (it is a row to reject, not a
    misread)."""
    records = table.records
    index = next((i for i, r in enumerate(records) if r.first_line >= first_data_line), None)
    if index is None:
        return None
    body: list[tuple[str, ...]] = []
    i = index
    while i < len(records):
        if not _sets_apart(records[i]):
            if len(records[i].fields) == table.width and not repeats_header(
                records[i].fields, header
            ):
                body.append(records[i].fields)
            i += 1
            continue
        gap = i
        while i < len(records) and _sets_apart(records[i]):
            i += 1
        if i + 1 >= len(records) or len(body) < 2:
            continue
        candidate = records[i]
        if repeats_header(candidate.fields, header):
            continue  # the first table's header again: the same table, files joined
        below = _header_below_key_values(records, i, table.width)
        if below is not None:
            return records[gap], records[below]  # another plate, under its own key-value lines
        marked = any(not r.blank for r in records[gap:i])  # a "#" or separator line
        repeats = any(a.strip() and a == b for a, b in zip(candidate.fields, header, strict=False))
        if (marked or repeats) and _heads_a_table(
            candidate, records[i + 1], body[:100], table.width
        ):
            return records[gap], candidate
    return None


def _sets_apart(record: Record) -> bool:
    """A blank, comment ("# ----") or separator line; a row is told at its first value."""
    for field in record.fields:
        text = field.strip()
        if text:
            if text[0] != "#" and not _SEPARATOR.fullmatch(text):
                return False
            break
    filled = [f.strip() for f in record.fields if f.strip()]
    return not filled or is_separator(record) or (len(filled) == 1 and filled[0][:1] == "#")


def _heads_a_table(record: Record, below: Record, body: list[tuple[str, ...]], width: int) -> bool:
    fields = record.fields
    if len(fields) != width or len(below.fields) != width:
        return False
    if not all(f.strip() and cell_kind(f) not in TYPED for f in fields):
        return False
    names, values, _ = _votes(fields, body, width)
    return names >= 1 and values == 0


def is_footer(record: Record, width: int) -> bool:
    """A note below a table: fewer fields than its rows, most of them empty, and words
    among them (a short row of values is a row to reject, not a note); or a sentence
    padded with delimiters to the table's width, as spreadsheets export it."""
    filled = [f for f in record.fields if f.strip()]
    worded = any(cell_kind(f) not in TYPED and any(c.isalpha() for c in f) for f in filled)
    if len(record.fields) < width:
        return len(filled) <= max(1, width // 2) and worded
    return (
        len(record.fields) == width
        and _padded_line(record, width)
        and worded
        and (len(filled[0].split()) >= 6 or bool(_NOTE.match(filled[0].strip())))
    )


def is_separator(record: Record) -> bool:
    """A line drawn across a report ("-----", "=====") where a table ends or a note begins."""
    filled = [f for f in record.fields if f.strip()]
    return bool(filled) and all(_SEPARATOR.fullmatch(f) for f in filled)


def is_totals(record: Record, width: int) -> bool:
    """A row of totals closing a table: a "Total" label (after empty cells, as spreadsheets
    put it under the column it sums up to), then numbers or nothing."""
    fields = [f.strip() for f in record.fields]
    if len(fields) != width:
        return False
    filled = [i for i, f in enumerate(fields) if f]
    if not filled or not _TOTALS.fullmatch(fields[filled[0]]):
        return False
    rest = [f for f in fields[filled[0] + 1 :] if f]
    return all(cell_kind(f) == NUMBER or _FORMULA.fullmatch(f) for f in rest)


def unlabelled_totals(record: Record, above: Sequence[Record], width: int) -> bool:
    """A totals row without a label: numbers under numeric columns and nothing where every
    row above has its label (an analytics export's last row, "","72,413", under dates), or
    numbers that are each the sum of their column above. A numeric first column is no
    label: there, a row without its first value is a row."""
    fields = [f.strip() for f in record.fields]
    rows = [r for r in above if len(r.fields) == width and not r.blank]
    if len(fields) != width or len(rows) < 2 or fields[0]:
        return False
    filled = [j for j, cell in enumerate(fields) if cell]
    totals = [amount(fields[j]) for j in filled]
    if not filled or any(t is None for t in totals):
        return False
    labels = [r.fields[0].strip() for r in rows[-100:]]
    if len(labels) >= _LABELLED_ROWS and all(
        label and cell_kind(label) != NUMBER for label in labels[1:]
    ):
        return True
    for j, total in zip(filled, totals, strict=True):
        column = [amount(r.fields[j]) for r in rows if r.fields[j].strip()]
        values = [v for v in column if v is not None]
        # Every cell a number but one: the column's name, where the header is in view.
        if total is None or len(values) < 2 or len(values) < len(column) - 1:
            return False
        if not math.isclose(total, sum(values), rel_tol=1e-6, abs_tol=0.01 * len(values)):
            return False
    return True


def page_footer(record: Record, above: Sequence[Record], width: int) -> bool:
    """A page's footer read into the table's last line (a table extracted from a PDF:
    "",,,,,ANE,XO I-A-1 Página,a 12 de 14 under names, ids, dates and amounts): empty in two
    columns or more that every row above fills, and words in two columns or more whose cells
    above are all numbers or all dates (but one, their name). A last row that lacks a few
    values, or holds one bad value, is a row: it takes both, several times over."""
    fields = record.fields
    if len(fields) != width or width < 4:
        return False
    empty = [j for j, f in enumerate(fields) if not f.strip()]
    if len(empty) < 2 or len(empty) == width:
        return False  # a row filling all but one cell is a row; a blank line is no footer
    rows = [r.fields for r in above[-100:] if len(r.fields) == width and not r.blank]
    if len(rows) < _LABELLED_ROWS:
        return False
    emptied = sum(all(r[j].strip() for r in rows) for j in empty)
    if emptied < 2:
        return False
    breaks = 0
    for j, cell in enumerate(fields):
        if not cell.strip() or cell_kind(cell) in TYPED or not _has_letter(cell):
            continue
        kinds = Counter(cell_kind(r[j]) for r in rows if r[j].strip())
        kind, count = kinds.most_common(1)[0] if kinds else (EMPTY, 0)
        breaks += kind in (NUMBER, TEMPORAL) and count >= sum(kinds.values()) - 1
    return breaks >= 2


def amount(text: str) -> float | None:
    """A number as spreadsheets and reports write it ("3,118", "1.234,50", "12 800", "-4.5%"),
    or None. A comma followed by exactly three digits groups thousands; otherwise the last of
    "," and "." is the decimal mark."""
    value = text.strip().strip("$€£¥%‰ ").replace("\u00a0", "").replace(" ", "")
    if cell_kind(value) != NUMBER:
        return None
    last = max(value.rfind(","), value.rfind("."))
    if last >= 0 and value[last] == "," and not re.fullmatch(r"-?\d{1,3}(,\d{3})+", value):
        value = value.replace(".", "").replace(",", ".")
    else:
        value = value.replace(",", "")
    try:
        return float(value)
    except ValueError:
        return None
