"""Stream a CSV once: parse, type and check every row, and keep the good ones.

Parsing is Arrow's streaming CSV reader over the raw byte stream (nothing is read
whole into memory); every column is read as text and converted here, so that one
bad value rejects one row with its line and column instead of failing the file.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from csvflow.domain.dialect import Dialect
from csvflow.domain.model import ColumnSpec, ColumnType, Contract
from csvflow.domain.read_ahead import read_ahead
from csvflow.domain.rejects import Reject, RejectReport
from csvflow.domain.sniffing import HEADER_KEY_TRIMMED, csv_module_options, header_key
from csvflow.domain.types import arrow_type, contains_byte, convert, infer_spec, parse_bound
from csvflow.domain.unique import UNIQUE_KEYS_MEMORY, UniqueKeys, duplicates, key_array
from csvflow.exceptions import InvalidCsv, RejectedRowsExceeded, StorageUnavailable

logger = logging.getLogger(__name__)

BLOCK_SIZE = 4 << 20
# Blocks Arrow's reader may read past the batches asked for: a batch's parse needs its block
# and the next one (where its last row may end), and one to spare so the disk keeps ahead.
BLOCKS_AHEAD = 3
# How long a paced read may be held while a batch is being read. Only a batch asked for lets
# the next block be read, and while Arrow's reader reads one nothing else asks: if it needs
# the held read, neither moves again and the step would hang until the function's Timeout.
# A block's parse takes well under a second; past this the pass fails, to be retried.
PACED_READ_WAIT_SECONDS = 60.0
# Blocks after the first are joined until they hold this many rows or bytes before they are
# checked (_joined_blocks): a wide file's 4 MB block is a few thousand rows.
CHECKED_ROWS = 16_384
CHECKED_BYTES = 8 << 20
# Rows per batch where Python's csv module parses (dialects Arrow's reader lacks).
_PYTHON_BATCH_ROWS = 65536
# Lines of a repeated header listed in the outcome (all are counted).
_REPEAT_LINES_LISTED = 5
_SINGLE_BYTE_QUOTE_SAFE = {
    "utf-8",
    "utf8",
    "cp1252",
    "latin-1",
    "latin1",
    "iso-8859-1",
    "iso8859-1",
    "ascii",
}


@dataclass
class ValidationOutcome:
    """What one pass over a file found."""

    rows: int = 0
    rejected_rows: int = 0
    empty_rows: int = 0
    columns: list[ColumnSpec] = field(default_factory=list)
    # Lines equal to the header, set aside (not rows): how many, and the first lines.
    header_repeats: int = 0
    header_repeat_lines: list[int] = field(default_factory=list)

    @property
    def seen_rows(self) -> int:
        return self.rows + self.rejected_rows


def _no_block() -> None:
    return None


@dataclass
class _ReadBuffer:
    """A buffer blocks are read into, and the last block read into it while one is alive."""

    buffer: np.ndarray
    block: Callable[[], np.ndarray | None] = _no_block


class _TableBytes(io.RawIOBase):
    """The bytes of the table's rows: from ``start`` (past a preamble and the header) to
    ``end`` (before a footer), counting quote characters on the way.

    Once ``pace`` is called, reads keep at most a few blocks ahead of the batches asked
    for. Arrow's reader reads on an I/O thread of its own, up to 32 blocks ahead of its parse
    (128 MB at the 4 MB block), whenever the checks and the profile take longer than the
    disk; those blocks are Python bytes, outside Arrow's pool, and they were the biggest
    part of a profile's peak memory."""

    def __init__(
        self,
        inner: BinaryIO,
        *,
        start: int,
        end: int | None,
        quote: str,
        held_at_most: float = PACED_READ_WAIT_SECONDS,
    ) -> None:
        self._inner = inner
        self._to_skip = start
        self._left = None if end is None else max(end - start, 0)
        self._quote = ord(quote) if quote else -1
        self._scratch = np.empty(_COUNTED_BYTES if quote else 0, dtype=bool)
        self.quotes = 0
        self.bytes_read = 0
        self._peeked = b""
        self._paced = threading.Condition()
        self._reads_allowed: int | None = None  # None: not paced
        self._reads_per_batch = 1
        self._batch_being_read = False
        self._held_at_most = held_at_most
        self.reads = 0
        self._read_buffers: list[_ReadBuffer] = []

    def pace(self, blocks_ahead: int, reads_per_block: int) -> None:
        """From now on, read at most ``blocks_ahead`` blocks past the batches asked for
        (``asked``), a block being ``reads_per_block`` reads."""
        with self._paced:
            self._reads_per_batch = reads_per_block
            self._reads_allowed = self.reads + blocks_ahead * reads_per_block

    def asked(self) -> None:
        """A batch is asked for: one more block may be read."""
        with self._paced:
            self._batch_being_read = True
            if self._reads_allowed is not None:
                self._reads_allowed += self._reads_per_batch
                self._paced.notify_all()

    def answered(self) -> None:
        """The batch asked for is read (or its read failed)."""
        with self._paced:
            self._batch_being_read = False
            self._paced.notify_all()

    def unpace(self) -> None:
        """No more pacing (the pass is over, or abandoned): a waiting read goes on."""
        with self._paced:
            self._reads_allowed = None
            self._paced.notify_all()

    def readable(self) -> bool:
        return True

    def read_buffer(self, size: int) -> np.ndarray:
        """The next ``size`` bytes at most (none at the end), for Arrow's reader.

        Arrow asks for each block this way when the stream offers it, instead of ``read``:
        that one reads into a fresh buffer and copies it into a fresh ``bytes``, two new
        mappings of every block that the system zeroes page by page. This is one, and no copy.
        (A buffer of Arrow's pool, tried while the reader still read 32 blocks ahead, kept
        25 MB more at the peak.)
        """
        size = max(size, 0)
        kept = self._free_read_buffer(size)
        if kept is None:
            kept = _ReadBuffer(np.empty(size, np.uint8))
            if len(self._read_buffers) < _READ_BUFFERS_KEPT:
                self._read_buffers.append(kept)
        block = kept.buffer[: self.readinto(kept.buffer[:size])]
        kept.block = weakref.ref(block)
        return block

    def _free_read_buffer(self, size: int) -> _ReadBuffer | None:
        """A kept buffer of at least ``size`` bytes whose block Arrow has let go of (a view
        of the buffer, alive while Arrow holds it), if any. A new block's mapping is pages the
        system zeroes on first touch: reused, 20 of text's 26 blocks (100 MB) were read into
        again, and the run had 10,000 page faults fewer of 50,000."""
        for kept in self._read_buffers:
            if len(kept.buffer) >= size and kept.block() is None:
                return kept
        return None

    def at_end(self) -> bool:
        """Whether no byte of the table is left (a file with a header and no rows)."""
        if not self._peeked:
            self._peeked = self.read(1) or b""
            if self._peeked:  # counted again when read for real
                self.bytes_read -= 1
                self.quotes -= self._peeked[0] == self._quote
                if self._left is not None:
                    self._left += 1
        return not self._peeked

    def readinto(self, buffer: Any) -> int:
        with self._paced:
            self._wait_for_a_read()
            self.reads += 1
        # Every ObjectStore's stream reads into a buffer (the S3 adapter's body does it for
        # a botocore whose StreamingBody has only read()).
        while self._to_skip:
            skipped = self._inner.read(min(self._to_skip, 1 << 16))
            if not skipped:
                return 0
            self._to_skip -= len(skipped)
            self.bytes_read += len(skipped)  # of the file, as progress reports it
        view = memoryview(buffer).cast("B")
        served = 0
        if self._peeked and len(view):
            view[0] = self._peeked[0]
            self._peeked = b""
            served = self._count(view, 1)
            # Filled on: Arrow parses each read as a block, and a block of one line break
            # is a batch of one empty row, from which no column's type can be inferred.
            view = view[1:]
        if self._left is not None:
            view = view[: self._left]
        n = self._inner.readinto(view) if len(view) else 0  # type: ignore[attr-defined]
        return served + self._count(view, n or 0)

    def _wait_for_a_read(self) -> None:
        """Wait (holding the lock) until pacing lets one more read through. A wait while
        the pass waits for nothing but a batch is its consumers' pace; one as long as
        ``held_at_most`` while a batch is being read is a stall."""
        held_since = None
        while self._reads_allowed is not None and self.reads >= self._reads_allowed:
            if not self._batch_being_read:
                held_since = None
                self._paced.wait()
                continue
            now = time.monotonic()
            held_since = now if held_since is None else held_since
            if now - held_since >= self._held_at_most:
                raise StorageUnavailable(
                    f"the read after byte {self.bytes_read:,} of the file was held"
                    f" {self._held_at_most:g} s while a batch was being read, which"
                    " asks for no more: the pass stalled"
                )
            self._paced.wait(self._held_at_most - (now - held_since))

    def _count(self, view: memoryview, n: int) -> int:
        if n:
            if self._quote >= 0:
                self.quotes += _count_byte(
                    np.frombuffer(view, np.uint8, n), self._quote, self._scratch
                )
            self.bytes_read += n
            if self._left is not None:
                self._left -= n
        return n


def _reads_per_block(encoding: str) -> int:
    """Reads of a block's size that a block of UTF-8 takes: Arrow transcodes other encodings
    a block's worth of bytes at a time, and UTF-16 or UTF-32 text shrinks by up to 2 or 4."""
    name = encoding.lower().replace("_", "-")
    return 4 if name.startswith("utf-32") else 2 if name.startswith("utf-16") else 1


_COUNTED_BYTES = 1 << 18
# Read buffers kept for reuse: those read ahead, the one parsed, the one whose end is
# joined to the next. Kept idle they count at the peak: wide300's rose 20 MB (to 440 MB),
# text's 5 MB; bounded by this number of blocks, whatever the file's size.
_READ_BUFFERS_KEPT = BLOCKS_AHEAD + 2


def _count_byte(data: np.ndarray, byte: int, scratch: np.ndarray) -> int:
    """How many of ``data`` equal ``byte``, a slice at a time through ``scratch``: a
    temporary as long as a block would be fresh pages the system zeroes, every block."""
    found = 0
    for start in range(0, len(data), len(scratch)):
        part = data[start : start + len(scratch)]
        flags = scratch[: len(part)]
        np.equal(part, byte, out=flags)
        found += int(np.count_nonzero(flags))
    return found


@dataclass(order=True)
class _InvalidRow:
    number: int
    actual: int = field(compare=False)
    text: str = field(compare=False)


class CsvValidator:
    """Validates one file against its contract while streaming it."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        file: str,
        dialect: Dialect,
        contract: Contract,
        report: RejectReport,
        block_size: int = BLOCK_SIZE,
        unique_keys_memory: int = UNIQUE_KEYS_MEMORY,
        default_rejected_share: float = 0.0,
        default_rejected_rows: int = 0,
        specs: list[ColumnSpec] | None = None,
        earlier_keys: dict[str, pa.Array] | None = None,
        check_quotes_closed: bool = True,
    ) -> None:
        """``specs`` are the columns' types when they were settled before (for all the parts
        of a split file, by its plan); ``earlier_keys`` the unique columns' keys that rows
        before this stream kept (earlier parts of a split file): a row repeating one is a
        duplicate, as in one pass over the whole file. ``check_quotes_closed`` False: the
        stream's quotes are not counted, because another check covers them (a split file's
        merge, from the quote parities its parts' streams counted already)."""
        self.file = file
        self.dialect = dialect
        self.contract = contract
        self.report = report
        self.outcome = ValidationOutcome()
        self._stream = _TableBytes(
            stream,
            start=dialect.data_byte,
            end=dialect.end_byte,
            quote=dialect.quote if check_quotes_closed else "",
        )
        self._check_quotes = check_quotes_closed
        self._default_rejected_share = default_rejected_share
        self._default_rejected_rows = default_rejected_rows
        self._block_size = block_size
        self._null_values = pa.array(contract.null_values, pa.string())
        self._invalid: list[_InvalidRow] = []
        self._invalid_in_block: list[_InvalidRow] = []
        # Arrow numbers records from 1: the first row after the header, on dialect.data_line.
        self._next_record = 1
        self._extra_lines = dialect.data_line - 1
        self._last_line = dialect.data_line - 1
        self._specs: list[ColumnSpec] | None = list(specs) if specs is not None else None
        self._earlier_keys = earlier_keys or {}
        self._unique_keys_memory = unique_keys_memory
        self._unique_keys: dict[str, UniqueKeys] = {}
        # A line equal to the header inside the table is the header again (files joined):
        # set aside, or with a contract's header: required a rejected row. Told first by one
        # column holding its name (the first named), so other rows cost one scan of it.
        self._header_keys = tuple(header_key(n) for n in dialect.names_in_file)
        self._header_probe = next((j for j, k in enumerate(self._header_keys) if k), None)
        self._reject_header_repeats = contract.reading.header == "required"
        self._check_header()

    @property
    def bytes_read(self) -> int:
        """How much of the file the pass has read so far (all of it, once it is over)."""
        return self._stream.bytes_read

    @property
    def dialect_read(self) -> Dialect:
        """The dialect with what the pass found so far that detection could only sample: the
        header's repeats (the head's, counted again, and those past it)."""
        outcome = self.outcome
        return self.dialect.with_header_repeats(outcome.header_repeats, outcome.header_repeat_lines)

    @property
    def column_specs(self) -> list[ColumnSpec] | None:
        """The columns' types, once settled (by the first batch, or given)."""
        return self._specs

    @property
    def schema(self) -> pa.Schema:
        specs = self._specs or [ColumnSpec(n, ColumnType.STRING) for n in self.dialect.header]
        return pa.schema([pa.field(s.name, arrow_type(s)) for s in specs])

    def progress(self) -> dict[str, int]:
        """How far the pass has got; safe to ask from another thread while it runs."""
        return {
            "rows": self.outcome.rows,
            "rejected_rows": self.outcome.rejected_rows,
            "bytes_read": self._stream.bytes_read,  # a block or two ahead of the rows
        }

    def batches(self) -> Generator[pa.RecordBatch]:
        """The good rows, typed, batch by batch; rejects go to the report.

        The next block is parsed on a read-ahead thread while this one checks the current
        block: parsing releases the GIL, so the two overlap on two cores.
        """
        source = self._python_blocks() if self._needs_python() else self._arrow_blocks()
        joined = _joined_blocks(read_ahead(source), CHECKED_ROWS, CHECKED_BYTES)
        with closing(joined) as blocks:
            try:
                while True:
                    try:
                        batch, invalid = next(blocks)
                    except pa.ArrowInvalid as e:
                        raise self._parse_error(e) from e
                    self._invalid.extend(invalid)
                    if batch is None:
                        break
                    lines = self._assign_lines(batch)
                    good = self._check(batch, lines)
                    if good.num_rows:
                        yield good
            finally:
                self._stream.unpace()
                for keys in self._unique_keys.values():
                    keys.close()
        self._flush_invalid(up_to=None)
        self._check_quotes_closed()
        self.outcome.columns = list(self._specs or [])

    def raise_if_too_many_rejected(self, report_uri: str | None) -> None:
        """Fail the file when its rejects exceed the contract's (or the default) share."""
        raise_if_too_many_rejected(
            file=self.file,
            outcome=self.outcome,
            contract=self.contract,
            first=self.report.first,
            report_uri=report_uri,
            default_share=self._default_rejected_share,
            default_rows=self._default_rejected_rows,
        )

    def _check_header(self) -> None:
        missing = [s.name for s in self.contract.columns if s.name not in self.dialect.header]
        if missing:
            raise InvalidCsv(
                "the contract declares column(s) the header lacks: " + ", ".join(missing),
                file=self.file,
                line=1,
            )

    def _open(self) -> pcsv.CSVStreamingReader:
        header = list(self.dialect.header)
        dialect = self.dialect
        try:
            return pcsv.open_csv(
                self._stream,
                read_options=pcsv.ReadOptions(
                    # Serial parsing is what makes Arrow number the rows it rejects.
                    use_threads=False,
                    block_size=self._block_size,
                    encoding=dialect.encoding,
                    # The stream starts after the header: the names are the dialect's own
                    # (repaired or generated), never read again from the file.
                    column_names=header,
                ),
                parse_options=pcsv.ParseOptions(
                    delimiter=dialect.delimiter,
                    quote_char=dialect.quote or False,
                    double_quote=not dialect.escape,
                    escape_char=dialect.escape or False,
                    newlines_in_values=True,
                    ignore_empty_lines=False,
                    invalid_row_handler=self._on_invalid_row,
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as e:
            raise self._parse_error(e) from e

    def _arrow_blocks(self) -> Iterator[tuple[pa.RecordBatch | None, list[_InvalidRow]]]:
        if self._stream.at_end():
            return iter([(None, [])])  # a header without rows: Arrow would call it no CSV
        self._stream.pace(BLOCKS_AHEAD, _reads_per_block(self.dialect.encoding))
        self._stream.asked()  # opening parses the first block, reading the second
        try:
            reader = self._open()
        except BaseException:
            self._stream.unpace()  # Arrow's I/O thread may wait on a read
            raise
        finally:
            self._stream.answered()
        return self._blocks(reader)

    def _needs_python(self) -> bool:
        """Arrow's reader has no skip-initial-space, and rejects the rows a dialect reads
        as stopping early: Python's csv module parses those."""
        return self.dialect.skip_initial_space or self.dialect.short_rows_filled

    def _python_blocks(self) -> Iterator[tuple[pa.RecordBatch | None, list[_InvalidRow]]]:
        """As ``_blocks``, parsed by Python's csv module (slower; for the rarer dialects)."""
        dialect = self.dialect
        names = list(dialect.header)
        text = io.TextIOWrapper(
            io.BufferedReader(self._stream), encoding=dialect.encoding, newline=""
        )
        reader = csv.reader(
            text,
            **csv_module_options(
                delimiter=dialect.delimiter,
                quote=dialect.quote,
                escape=dialect.escape,
                skip_initial_space=dialect.skip_initial_space,
            ),
        )
        columns: list[list[str]] = [[] for _ in names]
        invalid: list[_InvalidRow] = []
        number = 0
        try:
            for parsed in reader:
                number += 1
                # A blank line is an empty row, as Arrow reads it.
                fields = parsed or [""] * len(names)
                if dialect.short_rows_filled and 2 <= len(fields) < len(names):
                    fields += [""] * (len(names) - len(fields))
                if len(fields) != len(names):
                    text_of_row = dialect.delimiter.join(fields)
                    invalid.append(_InvalidRow(number, len(fields), text_of_row))
                    continue
                for column, value in zip(columns, fields, strict=True):
                    column.append(value)
                if len(columns[0]) >= _PYTHON_BATCH_ROWS:
                    yield _string_batch(names, columns), invalid
                    columns, invalid = [[] for _ in names], []
        except UnicodeDecodeError as e:
            raise self._parse_error(pa.ArrowInvalid(f"decode: {e}")) from e
        except csv.Error as e:
            raise self._parse_error(pa.ArrowInvalid(str(e))) from e
        if columns[0]:
            yield _string_batch(names, columns), invalid
            invalid = []
        yield None, invalid

    def _parse_error(self, error: pa.ArrowInvalid) -> InvalidCsv:
        message = str(error)
        if "UTF8" in message or "decode" in message.lower():
            return InvalidCsv(
                f"text is not valid {self.dialect.encoding} after line {self._last_line}"
                " (declare the encoding in the dataset contract)",
                file=self.file,
            )
        if "straddling object" in message:
            return InvalidCsv(
                f"a line after line {self._last_line} is longer than {self._block_size:,} bytes, "
                "the longest line csvflow reads (CSVFLOW_MAX_LINE_BYTES)",
                file=self.file,
            )
        return InvalidCsv(f"cannot parse after line {self._last_line}: {message}", file=self.file)

    def _blocks(
        self, reader: pcsv.CSVStreamingReader
    ) -> Iterator[tuple[pa.RecordBatch | None, list[_InvalidRow]]]:
        """Each block with the rows of wrong width Arrow skipped in it; last, ``None`` with
        those it skipped at the end. Runs on the read-ahead thread."""
        while True:
            self._stream.asked()
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                batch = None
            finally:
                self._stream.answered()
            invalid, self._invalid_in_block = self._invalid_in_block, []
            yield batch, invalid
            if batch is None:
                return

    def _on_invalid_row(self, row: Any) -> str:
        # Called on the read-ahead thread, while it parses a block.
        self._invalid_in_block.append(_InvalidRow(row.number, row.actual_columns, row.text))
        return "skip"

    def _assign_lines(self, batch: pa.RecordBatch) -> np.ndarray:
        """Physical line of each row: record number plus newlines inside earlier values."""
        n = batch.num_rows
        pending = sorted(r.number for r in self._invalid)
        window = np.arange(self._next_record, self._next_record + n + len(pending))
        numbers = window[~np.isin(window, pending)][:n] if pending else window
        last = int(numbers[-1]) if n else self._next_record - 1
        invalid_here = self._flush_invalid(up_to=last, emit=False)
        newlines = np.zeros(n, dtype=np.int64)
        for column in batch.columns:
            # Counting in the column's bytes first spares the per-value count in the
            # usual case, a batch without a line break inside any value.
            if contains_byte(column, b"\n"):
                newlines += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
        if not invalid_here:
            # The usual batch: its rows in order, none skipped; no sort to interleave.
            breaks = int(newlines.sum())
            lines = numbers + self._extra_lines
            if breaks:
                lines += np.cumsum(newlines) - newlines
            self._extra_lines += breaks
            self._next_record = last + 1
            if n:
                self._last_line = int(lines[-1])
            return lines
        all_numbers = np.concatenate([numbers, [r.number for r in invalid_here]]).astype(np.int64)
        all_newlines = np.concatenate([newlines, [r.text.count("\n") for r in invalid_here]])
        order = np.argsort(all_numbers, kind="stable")
        before = np.zeros(len(order), dtype=np.int64)
        before[order] = np.cumsum(all_newlines[order]) - all_newlines[order]
        lines = all_numbers + self._extra_lines + before
        for row, line in zip(invalid_here, lines[n:], strict=True):
            self._reject_invalid(row, int(line))
        self._extra_lines += int(all_newlines.sum())
        self._next_record = last + 1
        if len(lines):
            self._last_line = int(lines.max())
        return lines[:n]

    def _flush_invalid(self, *, up_to: int | None, emit: bool = True) -> list[_InvalidRow]:
        here = [r for r in self._invalid if up_to is None or r.number <= up_to]
        self._invalid = [r for r in self._invalid if up_to is not None and r.number > up_to]
        if emit:
            for row in sorted(here):
                line = row.number + self._extra_lines
                self._reject_invalid(row, line)
                self._extra_lines += row.text.count("\n")
                self._last_line = line
        return sorted(here)

    def _reject_invalid(self, row: _InvalidRow, line: int) -> None:
        expected = len(self.dialect.header)
        self.outcome.rejected_rows += 1
        self.report.add(
            Reject(
                line=line,
                column=None,
                value=row.text,
                reason=f"expected {expected} fields, found {row.actual}",
            )
        )

    def _check_quotes_closed(self) -> None:
        encoding = self.dialect.encoding.lower()
        # A backslash-escaped quote is one quote character: the count's parity says nothing.
        counted = (
            self._check_quotes
            and self.dialect.quote
            and not self.dialect.escape
            and not self.dialect.literal_quotes
        )
        if counted and encoding in _SINGLE_BYTE_QUOTE_SAFE and self._stream.quotes % 2:
            raise InvalidCsv(
                "a quoted field is opened and never closed", file=self.file, line=self._last_line
            )

    def _check(self, batch: pa.RecordBatch, lines: np.ndarray) -> pa.RecordBatch:
        empty = _all_empty(batch)
        bad = np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool).copy()
        repeats = self._header_repeats(batch)
        if self._specs is None:
            # The header's names are no values of its columns, set aside or rejected.
            self._specs = self._decide_specs(batch.filter(pa.array(~(bad | repeats))))
        empty_count = int(bad.sum())
        self.outcome.empty_rows += empty_count
        problems: list[tuple[np.ndarray, str, pa.Array, str]] = []
        if repeats.any() and not self._reject_header_repeats:
            self._set_aside_header_repeats(repeats, lines)
            bad |= repeats
        columns = []
        unique: list[tuple[int, ColumnSpec, pa.Array, pa.Array]] = []
        if batch.num_rows:
            # A byte order mark at the start of a row: another file was appended to this one.
            joined = pc.starts_with(batch.column(0), "\ufeff")
            problems.append(
                (
                    _mask(joined),
                    self._specs[0].name,
                    batch.column(0),
                    "a byte order mark (U+FEFF) starts this row: files joined together?",
                )
            )
        for spec, raw in zip(self._specs, batch.columns, strict=True):
            converted = convert(raw, spec, self._null_values)
            for mask, reason in self._column_problems(spec, converted, raw):
                problems.append((mask, spec.name, raw, reason))
            if spec.unique:
                unique.append((len(problems), spec, converted.values, raw))
            columns.append(converted.values)
        if repeats.any() and self._reject_header_repeats:
            # One reason per row: the header's, not its names' failing the columns' types.
            problems = [(m & ~repeats, c, r, why) for m, c, r, why in problems]
            problems.append(
                (
                    repeats,
                    self._specs[0].name,
                    batch.column(0),
                    "the header again (files joined?); the contract's header: required "
                    "allows it only on the first line",
                )
            )
        rejected = np.zeros(batch.num_rows, dtype=bool)
        for mask, _, _, _ in problems:
            rejected |= mask & ~bad
        if unique:
            # After the other checks: only the rows they keep may record a key.
            repeated = self._duplicates(unique, candidates=~(bad | rejected))
            for (at, spec, _, raw), mask in reversed(list(zip(unique, repeated, strict=True))):
                problems.insert(at, (mask & ~bad, spec.name, raw, "duplicate of an earlier row"))
                rejected |= mask & ~bad
        self._report_problems(problems, rejected, lines)
        self.outcome.rejected_rows += int(rejected.sum())
        keep = ~(bad | rejected)
        self.outcome.rows += int(keep.sum())
        typed = pa.RecordBatch.from_arrays(columns, schema=self.schema)
        # Usually every row is kept: a filter would copy every column (the text ones value
        # by value) for nothing.
        return typed if keep.all() else typed.filter(pa.array(keep))

    def _header_repeats(self, batch: pa.RecordBatch) -> np.ndarray:
        """The rows equal to the header, each field as ``header_key`` compares it."""
        found = np.zeros(batch.num_rows, dtype=bool)
        probe = self._header_probe
        if probe is None or not batch.num_rows:
            return found
        named = _mask(pc.match_substring(batch.column(probe), self._header_keys[probe]))
        if not named.any():  # the usual answer, after one scan of one column
            return found
        at = np.flatnonzero(named)
        candidates = batch.take(pa.array(at))
        same = np.ones(len(at), dtype=bool)
        for key, column in zip(self._header_keys, candidates.columns, strict=True):
            same &= _mask(pc.equal(pc.utf8_trim(column, HEADER_KEY_TRIMMED), key))
        found[at[same]] = True
        return found

    def _set_aside_header_repeats(self, repeats: np.ndarray, lines: np.ndarray) -> None:
        outcome = self.outcome
        outcome.header_repeats += int(repeats.sum())
        room = _REPEAT_LINES_LISTED - len(outcome.header_repeat_lines)
        if room > 0:
            outcome.header_repeat_lines += [int(line) for line in lines[repeats][:room]]

    def _decide_specs(self, sample: pa.RecordBatch) -> list[ColumnSpec]:
        specs = []
        for name, raw in zip(self.dialect.header, sample.columns, strict=True):
            declared = self.contract.column(name)
            specs.append(
                declared
                or infer_spec(
                    name,
                    raw,
                    self._null_values,
                    decimal=self.contract.decimal_separator,
                    thousands=self.contract.thousands_separator,
                )
            )
        logger.info(
            "column types",
            extra={"columns": {s.name: s.type.value for s in specs}, "file": self.file},
        )
        return specs

    def _column_problems(
        self,
        spec: ColumnSpec,
        converted: Any,
        raw: pa.Array,
    ) -> Iterator[tuple[np.ndarray, str]]:
        values = converted.values
        yield _mask(converted.invalid), f"not a valid {spec.type.value}"
        if spec.required:
            yield _mask(converted.is_null), "a value is required"
        if spec.allowed is not None:
            allowed = pa.array([str(v) for v in spec.allowed], pa.string())
            outside = pc.invert(pc.is_in(pc.cast(values, pa.string()), value_set=allowed))
            yield _mask(pc.and_(outside, pc.is_valid(values))), "not one of the allowed values"
        low, high = parse_bound(spec.min, spec), parse_bound(spec.max, spec)
        if low is not None:
            yield _mask(pc.less(values, low)), f"less than the minimum {spec.min}"
        if high is not None:
            yield _mask(pc.greater(values, high)), f"greater than the maximum {spec.max}"
        if spec.pattern is not None and spec.type is ColumnType.STRING:
            unmatched = pc.invert(pc.match_substring_regex(values, spec.pattern))
            yield _mask(unmatched), f"does not match the pattern {spec.pattern}"

    def _duplicates(
        self, unique: list[tuple[int, ColumnSpec, pa.Array, pa.Array]], candidates: np.ndarray
    ) -> list[np.ndarray]:
        columns = []
        for _, spec, values, _ in unique:
            keys = key_array(values)
            if spec.name not in self._unique_keys:
                store = UniqueKeys(keys.type, memory_limit=self._unique_keys_memory)
                earlier = self._earlier_keys.get(spec.name)
                if earlier is not None and len(earlier):
                    # Recorded as kept before any row of this stream is looked at.
                    duplicates([(store, key_array(earlier))], np.ones(len(earlier), dtype=bool))
                self._unique_keys[spec.name] = store
            columns.append((self._unique_keys[spec.name], keys))
        return duplicates(columns, candidates)

    def _report_problems(
        self,
        problems: list[tuple[np.ndarray, str, pa.Array, str]],
        rejected: np.ndarray,
        lines: np.ndarray,
    ) -> None:
        if not rejected.any():
            return
        found: list[Reject] = []
        for mask, column, raw, reason in problems:
            for i in np.flatnonzero(mask & rejected):
                found.append(Reject(int(lines[i]), column, raw[int(i)].as_py(), reason))
        for reject in sorted(found, key=lambda r: r.line):
            self.report.add(reject)


def raise_if_too_many_rejected(
    *,
    file: str,
    outcome: ValidationOutcome,
    contract: Contract,
    first: Reject | None,
    report_uri: str | None,
    default_share: float,
    default_rows: int,
) -> None:
    """Fail a file whose rejects exceed the contract's share, or for a file without a
    contract the deployment's default; the whole file's counts, however it was read."""
    if not outcome.rejected_rows:
        return
    share = outcome.rejected_rows / outcome.seen_rows
    declared = contract.max_rejected_share
    limit = default_share if declared is None else declared
    if share <= limit:
        return
    if declared is None and (
        outcome.rejected_rows <= default_rows and 2 * outcome.rejected_rows < outcome.seen_rows
    ):
        return  # a few ragged lines in a small file without a contract
    where = f"; all rejected rows are in {report_uri}" if report_uri else ""
    allows = (
        "the contract allows"
        if declared is not None
        else (
            f"a file without a contract may have (CSVFLOW_MAX_REJECTED_SHARE; or up to "
            f"{default_rows} rows, CSVFLOW_MAX_REJECTED_ROWS, if fewer than half)"
        )
    )
    raise RejectedRowsExceeded(
        f"{file}: {outcome.rejected_rows} of {outcome.seen_rows} rows rejected "
        f"({share:.2%}), more than the {limit:.2%} {allows}. "
        f"First: {first.describe(file) if first else ''}{where}"
    )


def _joined_blocks(
    blocks: Generator[tuple[pa.RecordBatch | None, list[_InvalidRow]], None, None],
    rows: int,
    max_bytes: int,
) -> Generator[tuple[pa.RecordBatch | None, list[_InvalidRow]], None, None]:
    """The same blocks, the short ones after the first joined until they hold ``rows`` rows
    or ``max_bytes`` bytes, each with the rows of wrong width skipped in it.

    The checks cost a few Arrow calls per column per block whatever its length: a 4 MB block
    of 300 columns is about 1,600 rows, and their overhead was most of the checks' CPU. The
    first block stays alone: the columns' types are inferred from it, as before. A parse
    error is raised after the blocks before it have been passed on. Joined here, on the
    checking thread, not by the parsing one: a joined batch waiting in the read-ahead's
    queue would be one more in memory."""
    with closing(blocks):
        yield from _joining(blocks, rows, max_bytes)


def _joining(
    blocks: Iterator[tuple[pa.RecordBatch | None, list[_InvalidRow]]], rows: int, max_bytes: int
) -> Iterator[tuple[pa.RecordBatch | None, list[_InvalidRow]]]:
    waiting: list[pa.RecordBatch] = []
    invalid: list[_InvalidRow] = []
    waiting_rows = waiting_bytes = 0
    first = True
    try:
        for batch, found in blocks:
            invalid += found
            if batch is None:
                break
            waiting.append(batch)
            waiting_rows += batch.num_rows
            waiting_bytes += batch.nbytes
            if first or waiting_rows >= rows or waiting_bytes >= max_bytes:
                yield _joined(waiting), invalid
                waiting, invalid, waiting_rows, waiting_bytes, first = [], [], 0, 0, False
    except pa.ArrowInvalid:
        if waiting:
            yield _joined(waiting), invalid
        raise
    if waiting:  # with the rows skipped at the end: lines are given up to its last record
        yield _joined(waiting), invalid
        invalid = []
    yield None, invalid


def _joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    combined = pa.Table.from_batches(batches).combine_chunks().to_batches()
    return combined[0] if combined else batches[0]  # no rows: no batch from the table


def _string_batch(names: list[str], columns: list[list[str]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in columns], names=names)


def _mask(array: pa.Array) -> np.ndarray:
    if not pc.any(array).as_py():  # the usual answer, found without converting the array
        return np.zeros(len(array), dtype=bool)
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _all_empty(batch: pa.RecordBatch) -> pa.Array:
    """Rows whose every field is empty: blank lines, or lines of bare delimiters."""
    empty = pa.array(np.ones(batch.num_rows, dtype=bool))
    for column in batch.columns:
        empty = pc.and_(empty, pc.equal(pc.binary_length(column), 0))
        if not pc.any(empty).as_py():
            break  # usually after the first column: no row left that could be empty
    return empty
