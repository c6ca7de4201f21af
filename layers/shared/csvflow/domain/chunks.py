"""Cut a table's bytes into ranges that separate workers read, each emitting exactly its records.

Issue 17 splits a large upload over a Step Functions Distributed Map: a planner cuts the
table's bytes ``[dialect.data_byte, table_end)`` into ranges, and each worker reads its range
from an S3 ranged GET that starts at the range's first byte. The hard part is where records
start: a quoted field may hold line breaks, so whether a line break ends a record depends on
whether it stands inside quotes, which depends on every byte before it.

How others do it
    Arrow's reader (``cpp/src/arrow/csv/chunker.cc``) finds block boundaries serially: with
    ``newlines_in_values`` its chunker lexes each block from a known record start, carrying the
    quote state, and only the parsing of the blocks runs in parallel. DuckDB's parallel reader
    starts each thread after the first line break past its buffer's start and lets the
    previous thread finish the record that crosses the cut: a cut inside a quoted field that
    holds line breaks is where such a start is wrong, and has to be checked. Hadoop's
    ``LineRecordReader`` fixes whose record is whose: every split but the first skips to after
    its first line break, and each split reads the record that starts at its own end.

    Ge et al., "Speculative Distributed CSV Data Parsing for Big Data Analytics" (SIGMOD 2019)
    make the quote state at a cut a speculation: each chunk guesses it from the bytes after the
    cut, parses, and the guesses are checked in order afterwards; only the chunks that guessed
    wrong are parsed again. In
    RFC 4180 quoting (quotes doubled, never escaped) the state flips at every quote byte, so
    the true state at a cut is the parity of all quote bytes before it: the XOR of the
    parities each earlier chunk reports, whatever it guessed.

What this module does
    - ``plan_ranges`` cuts ``[start, end)`` into near-equal ranges.
    - ``ChunkBytes`` is one worker's stream: it takes the state at ``start`` to be outside
      quotes, or guesses it from the quotes after ``start`` (``inside_quotes=None``: in a file
      quoted throughout, 0 of 115 ranges guessed wrong where "outside" got 90 wrong), or a
      re-run is told the truth. It finds record boundaries with numpy over blocks of
      the stream (line-break and quote positions, and the quote count before each line break:
      no Python loop per byte), and yields the bytes of its records only. It also reports the
      parity of the quote bytes in exactly ``[start, end)``, which its guess cannot change.
    - ``true_states`` and ``misread_ranges`` are the check: the first range starts outside
      quotes, each next one in the state the parities before it give. A misread range is read
      once more with its true state; then ``check_contiguous`` holds the ranges to tiling the
      table with no byte lost or read twice.

Whose record is whose
    A record belongs to the range that holds the last byte of the line break before it (the
    first range also owns the record at its own start). A worker's stream starts at its
    ``start`` and cannot see the byte before it, so it cannot tell whether ``start`` itself is
    a record start; the byte before is in the previous range, whose worker can. So a worker
    emits ``[first_byte, end_byte)``: ``first_byte`` the first record boundary after
    ``start`` (``start`` itself for the first range), ``end_byte`` the first boundary after
    ``end``; the table's end is always a boundary. The previous range's ``end_byte`` is this
    one's ``first_byte`` by construction, once both know the true state.

What a record boundary is
    The position after a line break outside quotes, a line break being ``\\n``, ``\\r\\n`` or a
    ``\\r`` not followed by ``\\n``, as both Arrow's reader and Python's csv module end a record,
    whatever the file's usual line ending. A ``\\r`` whose next byte is not yet read is held
    back until it is; a range that starts between ``\\r`` and ``\\n`` finds its first boundary
    after the ``\\n``. ``lines`` counts the same line breaks, inside quotes or not: physical
    lines, as the dialect numbers them.

When a file cannot be split (``unsplittable_reason``)
    Scanning bytes for ``\\n``, ``\\r`` and the quote is exact only where those bytes cannot be
    part of another character, and the parity only where every quote opens, closes or
    doubles inside a quoted field. UTF-16 and UTF-32 put a line break's byte in other
    characters (and a range may start at an odd byte); a backslash-escaped quote does not flip
    the state; a quote standing inside unquoted text (``5" pipe``, which the parsers keep
    literally, recognising a quote only at a field's start) flips the parity and not the
    parser. Those files take the single path. Spaces after the delimiter are fine: with
    ``skip_initial_space`` a quote after them opens a field, and without it ``, "`` is a
    quote inside text, which ``literal_quotes`` already records. ``unsplittable_reason``
    trusts the dialect's sample for ``literal_quotes``; a stray quote past the sample would
    read differently split and whole, as an unclosed quote already reads whole.

A misread range's worker
    A wrong guess sees every line break through the wrong state: it may find no boundary in
    its range and, in a file without quoted line breaks, none after it either. Reading on to
    the table's end would make one misread worker read the rest of a 60 GB file, so a worker
    given ``max_record_bytes`` (the longest record the parser takes: its block size) reads at
    most that far past its ``end`` and then reports an unfinished reading (``complete``
    False); a range read in its true state that is unfinished holds a record too long for
    the single path too, and ``check_contiguous`` fails the file. Whatever a misread worker
    emitted, and any error its parser raised on it, means nothing until the check says its
    guess was right: a worker's errors wait for the check.
"""

from __future__ import annotations

import codecs
import io
from dataclasses import asdict, dataclass
from typing import Any, BinaryIO

import numpy as np

from csvflow.domain.dialect import Dialect
from csvflow.exceptions import InvalidCsv

# Read from the stream at a time: large enough for numpy, small enough that the few passes
# over a block find it in the CPU's cache (twice the rate of 1 MiB blocks).
READ_BYTES = 128 << 10
_LF = 0x0A
_CR = 0x0D
# CR CR LF: text put through a CRLF translation twice; its lone CR ends a record too.
_LINE_ENDINGS = ("\n", "\r\n", "\r", "\r\r\n")

# Encodings in which every character is one byte: any byte is a whole character.
_SINGLE_BYTE = frozenset(
    {"ascii"}
    | {f"cp125{n}" for n in range(9)}
    | {f"iso8859-{n}" for n in (*range(1, 12), *range(13, 17))}
)
# Byte-oriented multi-byte encodings, with the lowest byte any of their multi-byte characters
# holds (tests/unit/test_chunks.py encodes every character to check each figure). Below it,
# a byte is always the ASCII character itself: \n (0x0A), \r (0x0D), " (0x22) and ' (0x27) are.
_LOWEST_BYTE_IN_A_WIDE_CHARACTER = {
    "utf-8": 0x80,
    "utf-8-sig": 0x80,
    "shift_jis": 0x40,
    "cp932": 0x40,
    "shift_jis_2004": 0x40,
    "shift_jisx0213": 0x40,
    "gb18030": 0x30,  # its four-byte characters hold the digits 0x30-0x39
    "gbk": 0x40,
    "gb2312": 0xA1,
    "big5": 0x40,
    "big5hkscs": 0x40,
    "cp950": 0x40,
    "euc_jp": 0x8E,
    "euc_jis_2004": 0x8E,
    "euc_jisx0213": 0x8E,
    "euc_kr": 0xA1,
}


class ChunksNotContiguous(RuntimeError):
    """The ranges' records do not tile the table: a defect, not a fault of the file."""


def plan_ranges(start: int, end: int, chunk_bytes: int) -> list[tuple[int, int]]:
    """``[start, end)`` cut into ranges of about ``chunk_bytes`` (none longer), in order;
    no range for an empty table."""
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be at least 1, not {chunk_bytes}")
    length = end - start
    if length <= 0:
        return []
    count = -(-length // chunk_bytes)
    # Equal shares rather than chunk_bytes and a remainder: no tiny last range to pay for.
    cuts = [start + length * i // count for i in range(count + 1)]
    return list(zip(cuts, cuts[1:], strict=False))


def unsplittable_reason(dialect: Dialect) -> str | None:
    """Why the file cannot be cut into byte ranges read apart, or None when it can."""
    return _encoding_reason(dialect) or _quoting_reason(dialect)


def _encoding_reason(dialect: Dialect) -> str | None:
    try:
        encoding = codecs.lookup(dialect.encoding).name
    except LookupError:
        return f"the encoding {dialect.encoding!r} is unknown"
    if encoding.startswith(("utf-16", "utf-32")):
        return (
            f"{dialect.encoding} puts two or four bytes in every character: a range can start "
            "inside one, and a line break's or quote's byte can be part of another character"
        )
    if encoding not in _SINGLE_BYTE and encoding not in _LOWEST_BYTE_IN_A_WIDE_CHARACTER:
        return (
            f"the encoding {dialect.encoding} is not one known to keep line breaks' and quotes' "
            "bytes out of its other characters"
        )
    lowest = _LOWEST_BYTE_IN_A_WIDE_CHARACTER.get(encoding)
    if dialect.quote and dialect.quote.isascii() and lowest and ord(dialect.quote) >= lowest:
        return (
            f"the quote character {dialect.quote!r} can be a byte of another character "
            f"in {dialect.encoding}"
        )
    return None


def _quoting_reason(dialect: Dialect) -> str | None:
    if dialect.escape:
        return (
            f"quotes are escaped with {dialect.escape!r}: an escaped quote does not open or "
            "close a field, so the count of quotes before a cut does not tell whether it is "
            "inside one"
        )
    if dialect.literal_quotes:
        return (
            "quote characters stand inside unquoted text: they do not open a field, so the "
            "count of quotes before a cut does not tell whether it is inside one"
        )
    if not dialect.quote.isascii():
        # Its bytes would have to be found in the encoding's: one ASCII byte is found alone.
        return f"the quote character {dialect.quote!r} is not ASCII"
    return None


@dataclass(frozen=True)
class ChunkReading:
    """What one worker reports of its range, for the check and the merge."""

    index: int
    start: int
    end: int
    first_byte: int
    end_byte: int
    quote_parity: int  # of the quote bytes in [start, end): 0 or 1, whatever was guessed
    lines: int  # line breaks in [first_byte, end_byte)
    inside_quotes: bool  # the state the worker assumed at start
    # False: the worker stopped max_record_bytes past end without finding its last boundary.
    complete: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> ChunkReading:
        return cls(**fields)


class ChunkBytes(io.RawIOBase):
    """One range's stream: from ``inner`` (positioned at ``start``), exactly the bytes of the
    records the range owns, ``[first_byte, end_byte)``; see the module's docstring.

    ``at_record_start``: ``start`` is a record's start (the first range). ``inside_quotes``:
    the state at ``start`` to assume, the true one in a re-run; None guesses it from the
    quotes after ``start``, which takes the ``delimiter``. ``max_record_bytes``: how far past
    ``end`` to look for the last boundary before giving up (None: to the table's end).
    Once read to its end: ``first_byte``, ``end_byte``, ``quote_parity``, ``lines``,
    ``complete`` and ``reading(index)``; ``bytes_read`` counts what came from ``inner``.
    """

    def __init__(
        self,
        inner: BinaryIO,
        *,
        start: int,
        end: int,
        table_end: int,
        quote: str,
        line_ending: str,
        at_record_start: bool,
        inside_quotes: bool | None = False,
        delimiter: str | None = None,
        max_record_bytes: int | None = None,
        read_bytes: int = READ_BYTES,
    ) -> None:
        if not 0 <= start < end <= table_end:
            raise ValueError(f"not a range of the table: [{start}, {end}) of {table_end} bytes")
        if len(quote) > 1 or not quote.isascii():
            raise ValueError(f"the quote must be one ASCII character or none, not {quote!r}")
        # Records end at \n, \r\n or \r alike, as the parsers end them: the file's usual
        # ending changes no boundary, it is only checked to be one of the three.
        if line_ending not in _LINE_ENDINGS:
            raise ValueError(f"not a line ending: {line_ending!r}")
        if inside_quotes is None and (delimiter is None or len(delimiter) != 1):
            raise ValueError("guessing the state at start takes the one-character delimiter")
        if max_record_bytes is not None and max_record_bytes < 1:
            raise ValueError(f"max_record_bytes must be at least 1, not {max_record_bytes}")
        self._inner = inner
        self._start = start
        self._end = end
        self._table_end = table_end
        self._quote = ord(quote) if quote else None
        # None: guessed from the first block's quotes, when it is read.
        self._assumed_inside = inside_quotes
        self._inside_quotes = bool(inside_quotes)
        self._quote_neighbours = (
            np.frombuffer(f"{delimiter}{quote} \r\n".encode(), np.uint8) if delimiter else None
        )
        self._read_to = (
            table_end if max_record_bytes is None else min(table_end, end + max_record_bytes)
        )
        self._read_bytes = read_bytes
        # One mask for every comparison of a block: a fresh megabyte per comparison costs more
        # in page faults than the comparison itself.
        self._found = np.empty(read_bytes + 1, dtype=bool)
        self._found_too = np.empty(read_bytes + 1, dtype=bool)
        self._position = start  # of the next byte to read from inner
        self._held_back = b""  # a \r whose next byte decides whether it ends a line
        self._pending = memoryview(b"")
        self._first_byte: int | None = start if at_record_start else None
        self._end_byte: int | None = None
        self._quotes_in_range = 0
        self._lines = 0
        self._complete = True
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # Filled whole, not a block at a time: Arrow takes each read for a block of its own,
        # and a record longer than its block fails the file.
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if not self._pending:
                if self._end_byte is not None:
                    break
                self._read_block()
                continue
            n = min(len(view) - filled, len(self._pending))
            view[filled : filled + n] = self._pending[:n]
            self._pending = self._pending[n:]
            filled += n
        return filled

    @property
    def first_byte(self) -> int:
        return self._finished(self._first_byte)

    @property
    def end_byte(self) -> int:
        return self._finished(self._end_byte)

    @property
    def quote_parity(self) -> int:
        self._finished(self._end_byte)
        return self._quotes_in_range & 1

    @property
    def lines(self) -> int:
        self._finished(self._end_byte)
        return self._lines

    @property
    def complete(self) -> bool:
        self._finished(self._end_byte)
        return self._complete

    def reading(self, index: int) -> ChunkReading:
        """What the worker reports, once the stream is read to its end."""
        return ChunkReading(
            index=index,
            start=self._start,
            end=self._end,
            first_byte=self.first_byte,
            end_byte=self.end_byte,
            quote_parity=self.quote_parity,
            lines=self.lines,
            inside_quotes=self._inside_at_start(),
            complete=self.complete,
        )

    def _inside_at_start(self) -> bool:
        self._finished(self._end_byte)
        return bool(self._assumed_inside)

    def _finished(self, value: int | None) -> int:
        if value is None or self._end_byte is None:
            raise RuntimeError("the range's stream is not read to its end yet")
        return value

    def _read_block(self) -> None:
        wanted = min(self._read_bytes, self._read_to - self._position)
        read = self._inner.read(wanted) if wanted > 0 else b""
        self.bytes_read += len(read)
        self._position += len(read)
        # A stream that ends early ends the table there: the check then finds the bytes missing.
        at_table_end = not read or self._position >= self._table_end
        data: bytes | memoryview = self._held_back + read if self._held_back else read
        self._held_back = b""
        if not at_table_end and data[-1:] == b"\r":
            self._held_back = b"\r"
            data = memoryview(data)[:-1]
        offset = self._position - len(self._held_back) - len(data)
        block = np.frombuffer(data, np.uint8)
        if self._assumed_inside is None:
            self._assumed_inside = self._inside_quotes = self._guess_inside(block)
        self._scan(block, data, offset, at_table_end)
        if self._end_byte is None and (at_table_end or self._position >= self._read_to):
            # The table's end is a boundary; max_record_bytes past end is where a worker gives up.
            self._end_byte = offset + len(data)
            self._complete = at_table_end
            if self._first_byte is None:
                self._first_byte = self._end_byte

    def _guess_inside(self, block: np.ndarray) -> bool:
        """Whether ``start`` is inside quotes, as the block's quotes tell (Ge et al.'s
        speculation from the data): in RFC 4180 text a quote that opens a field follows a
        delimiter, a line break, a space or a quote (of a doubled pair), and one that closes
        a field is followed by one of those. Under one state at ``start`` the quotes after it
        alternate opening and closing; a state one of them contradicts is not the state.
        Both fitting (no quotes, or only empty quoted fields) or neither (quotes the text
        misuses): outside, as Ge et al. guess by default. The check corrects any wrong guess."""
        neighbours = self._quote_neighbours
        if self._quote is None or neighbours is None:
            return False
        at = np.flatnonzero(block == self._quote)
        if not len(at):
            return False
        # The byte before start and the one after the block are unknown, no evidence either
        # way: a quote first or last in the block is compared with itself, a neighbour.
        may_open = np.isin(block[np.maximum(at - 1, 0)], neighbours)
        may_close = np.isin(block[np.minimum(at + 1, len(block) - 1)], neighbours)
        second = (np.arange(len(at)) & 1).astype(bool)  # the 2nd, 4th... quote after start
        outside_fits = bool(np.all(np.where(second, may_close, may_open)))
        inside_fits = bool(np.all(np.where(second, may_open, may_close)))
        return inside_fits and not outside_fits

    def _scan(
        self, block: np.ndarray, data: bytes | memoryview, offset: int, at_table_end: bool
    ) -> None:
        """Settle one block of the stream, ``data`` at file offset ``offset``."""
        size = len(block)
        in_range = min(max(self._end - offset, 0), size)  # of its bytes before end
        if self._first_byte is not None and in_range == size:
            # Inside the range past its first record: no boundary to find, only bytes to count.
            found, found_too = self._found[:size], self._found_too[:size]
            quotes = (
                int(np.count_nonzero(np.equal(block, self._quote, out=found)))
                if self._quote is not None
                else 0
            )
            self._quotes_in_range += quotes
            self._inside_quotes ^= bool(quotes & 1)
            self._lines += _count_line_ends(block, found, found_too)
            self._emit(data, 0, size)
            return
        ends = np.flatnonzero(_line_ends(block, at_table_end))
        quote_at = (
            np.flatnonzero(block == self._quote)
            if self._quote is not None
            else np.empty(0, np.intp)
        )
        # The quotes before each line break, with the state at the block's start, give the
        # state at the line break: only those outside quotes end a record.
        quotes_before = np.searchsorted(quote_at, ends)
        outside = (quotes_before & 1).astype(bool) == self._inside_quotes
        boundaries = offset + ends[outside] + 1
        self._quotes_in_range += int(np.searchsorted(quote_at, in_range))
        self._inside_quotes ^= bool(len(quote_at) & 1)
        if self._first_byte is None and len(boundaries):
            self._first_byte = int(boundaries[0])
        if self._first_byte is None:
            return
        after_end = int(np.searchsorted(boundaries, self._end, side="right"))
        if after_end < len(boundaries):
            self._end_byte = int(boundaries[after_end])
        emit_from = max(self._first_byte - offset, 0)
        emit_to = size if self._end_byte is None else self._end_byte - offset
        if emit_to > emit_from:
            self._lines += int(np.searchsorted(ends, emit_to) - np.searchsorted(ends, emit_from))
            self._emit(data, emit_from, emit_to)

    def _emit(self, data: bytes | memoryview, start: int, stop: int) -> None:
        # readinto empties _pending before another block is read: never two blocks pending.
        self._pending = memoryview(data)[start:stop]


def _count_line_ends(block: np.ndarray, found: np.ndarray, found_too: np.ndarray) -> int:
    """How many line breaks end in the block: \n, and \r not followed by \n (a \r\n never
    straddles two blocks, and a block ends in \r only at the table's end)."""
    line_feeds = np.equal(block, _LF, out=found)
    returns = np.equal(block, _CR, out=found_too)
    feeds, carriage_returns = int(np.count_nonzero(line_feeds)), int(np.count_nonzero(returns))
    if not carriage_returns:
        return feeds
    crlf = np.logical_and(returns[:-1], line_feeds[1:], out=returns[:-1])
    return feeds + carriage_returns - int(np.count_nonzero(crlf))


def _line_ends(block: np.ndarray, at_table_end: bool) -> np.ndarray:
    """Where a line break ends: each \\n, and each \\r not followed by \\n. A block ends in
    \\r only at the table's end (a \\r is held back until its next byte is read)."""
    ends = block == _LF
    returns = np.flatnonzero(block == _CR)
    if len(returns):
        followed = returns + 1 < len(block)
        before_lf = np.zeros(len(returns), dtype=bool)
        before_lf[followed] = block[returns[followed] + 1] == _LF
        ends[returns[~before_lf]] = True
    return ends


def true_states(readings: list[ChunkReading]) -> list[bool]:
    """Whether each range truly starts inside quotes: the first starts at a record, outside;
    each next in the state the quote parities before it leave."""
    _check_tiling(readings)
    states = []
    inside = False
    for reading in readings:
        states.append(inside)
        inside ^= bool(reading.quote_parity)
    return states


def open_quote_at_end(readings: list[ChunkReading]) -> bool:
    """Whether the table ends inside quotes: a quoted field opened and never closed."""
    states = true_states(readings)
    return bool(states) and states[-1] ^ bool(readings[-1].quote_parity)


def misread_ranges(readings: list[ChunkReading]) -> list[int]:
    """The indexes of the ranges read with the wrong state at their start, to read again with
    ``inside_quotes`` as ``true_states`` gives it."""
    return [
        reading.index
        for reading, inside in zip(readings, true_states(readings), strict=True)
        if reading.inside_quotes != inside
    ]


def check_contiguous(
    readings: list[ChunkReading], data_byte: int, table_end: int, *, file: str
) -> None:
    """Raise unless the ranges, all read in their true state, emitted every byte of
    ``[data_byte, table_end)`` once: each range's records end where the next one's start."""
    _check_tiling(readings)
    covered = (readings[0].start, readings[-1].end) if readings else (data_byte, data_byte)
    if covered != (data_byte, table_end):
        raise ChunksNotContiguous(
            f"the ranges cover [{covered[0]}, {covered[1]}), "
            f"not the table's [{data_byte}, {table_end})"
        )
    if not readings:
        return  # an empty table: no range, no record
    misread = misread_ranges(readings)
    if misread:
        raise ChunksNotContiguous(
            f"range {misread[0]} was read in the wrong quote state; read it again first"
        )
    for reading in readings:
        if not reading.complete:
            raise InvalidCsv(
                f"a record goes on past byte {reading.end_byte:,}: longer than the longest "
                f"record csvflow reads (it starts in bytes {reading.start:,}-{reading.end:,})",
                file=file,
            )
    if readings[0].first_byte != data_byte:
        raise ChunksNotContiguous(
            f"range 0's records start at byte {readings[0].first_byte}, "
            f"not at the table's start {data_byte}"
        )
    for before, after in zip(readings, readings[1:], strict=False):
        if before.end_byte != after.first_byte:
            raise ChunksNotContiguous(
                f"range {before.index}'s records end at byte {before.end_byte}, but range "
                f"{after.index}'s start at byte {after.first_byte}"
            )
    if readings[-1].end_byte != table_end:
        raise ChunksNotContiguous(
            f"the last range's records end at byte {readings[-1].end_byte}, "
            f"not at the table's end {table_end}"
        )


def _check_tiling(readings: list[ChunkReading]) -> None:
    """The readings are of ranges 0, 1, 2... in order, each starting where the last ended."""
    for number, reading in enumerate(readings):
        if reading.index != number:
            raise ValueError(f"reading {number} is of range {reading.index}: give them in order")
        if number and reading.start != readings[number - 1].end:
            raise ValueError(
                f"range {number} starts at byte {reading.start}, "
                f"not where range {number - 1} ends ({readings[number - 1].end})"
            )
