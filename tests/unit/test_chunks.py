"""Byte ranges of a table read apart: each emits exactly its records, and together the table."""

import codecs
import csv
import io
import re
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csvflow.domain.chunks import (
    _LOWEST_BYTE_IN_A_WIDE_CHARACTER,
    _SINGLE_BYTE,
    ChunkBytes,
    ChunkReading,
    ChunksNotContiguous,
    check_contiguous,
    misread_ranges,
    open_quote_at_end,
    plan_ranges,
    true_states,
    unsplittable_reason,
)
from csvflow.domain.dialect import Dialect
from csvflow.exceptions import InvalidCsv

HEADER = b"name,note\n"
FOOTER = b'Total,"unclosed\n'  # read by no range: it would open a quote that never closes


@dataclass
class Table:
    """A file whose table is ``records`` (each with its line ending), between a header and
    an optional footer; ``starts`` are where its records start in the file."""

    records: list[bytes]
    footer: bytes = b""

    @property
    def file(self) -> bytes:
        return HEADER + b"".join(self.records) + self.footer

    @property
    def data_byte(self) -> int:
        return len(HEADER)

    @property
    def table_end(self) -> int:
        return len(HEADER) + sum(map(len, self.records))

    @property
    def table(self) -> bytes:
        return self.file[self.data_byte : self.table_end]

    @property
    def starts(self) -> list[int]:
        at, starts = self.data_byte, []
        for record in self.records:
            starts.append(at)
            at += len(record)
        return starts


@dataclass
class Read:
    chunks: list[bytes]
    readings: list[ChunkReading]
    first_pass: list[ChunkReading]
    bytes_read: list[int]


def read_range(
    file: bytes,
    start: int,
    end: int,
    table_end: int,
    *,
    index: int = 0,
    inside: bool | None = False,
    quote: str = '"',
    read_bytes: int = 1 << 20,
    max_record_bytes: int | None = None,
    at_record_start: bool | None = None,
) -> tuple[bytes, ChunkReading, int]:
    inner = io.BytesIO(file)
    inner.seek(start)
    stream = ChunkBytes(
        inner,
        start=start,
        end=end,
        table_end=table_end,
        quote=quote,
        line_ending="\n",
        at_record_start=index == 0 if at_record_start is None else at_record_start,
        inside_quotes=inside,
        delimiter=",",
        max_record_bytes=max_record_bytes,
        read_bytes=read_bytes,
    )
    emitted = stream.read()
    return emitted, stream.reading(index), stream.bytes_read


def read_split(
    file: bytes,
    data_byte: int,
    table_end: int,
    chunk_bytes: int,
    *,
    quote: str = '"',
    read_bytes: int = 1 << 20,
    guess: bool = False,
) -> Read:
    """What the distributed path does: every range guessed outside quotes (or from its
    quotes), the misread ones read again in their true state, the whole checked."""
    ranges = plan_ranges(data_byte, table_end, chunk_bytes)
    runs = [
        read_range(
            file,
            s,
            e,
            table_end,
            index=i,
            inside=None if guess else False,
            quote=quote,
            read_bytes=read_bytes,
        )
        for i, (s, e) in enumerate(ranges)
    ]
    first_pass = [reading for _, reading, _ in runs]
    states = true_states(first_pass)
    for i in misread_ranges(first_pass):
        s, e = ranges[i]
        runs[i] = read_range(
            file, s, e, table_end, index=i, inside=states[i], quote=quote, read_bytes=read_bytes
        )
    readings = [reading for _, reading, _ in runs]
    assert misread_ranges(readings) == []
    check_contiguous(readings, data_byte, table_end, file="upload.csv")
    return Read([c for c, _, _ in runs], readings, first_pass, [n for _, _, n in runs])


def csv_rows(data: bytes, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def line_breaks(data: bytes) -> int:
    return len(re.findall(rb"\r\n|\r|\n", data))


def assert_owned_records(read: Read, table: Table) -> None:
    """Each range emitted the records whose line break before them it holds (the first range
    also the record at its start): from the first record start after its start to the first
    after its end."""
    boundaries = [*table.starts, table.table_end]
    for reading, chunk in zip(read.readings, read.chunks, strict=True):
        owned_from = reading.start if reading.index == 0 else reading.start + 1
        assert reading.first_byte == min(b for b in boundaries if b >= owned_from)
        assert reading.end_byte == min(
            [b for b in boundaries if b > reading.end] or [table.table_end]
        )
        assert chunk == table.file[reading.first_byte : reading.end_byte]
        assert reading.lines == line_breaks(chunk)


# Values with everything that moves a record's start: delimiters, quotes, line breaks.
_VALUE_CHARACTERS = st.sampled_from(["a", "b", " ", ",", '"', "\n", "\r\n", "\r", "é", "中", "😀"])
_PLAIN_CHARACTERS = st.sampled_from(["a", "b", " ", "é", "中", "😀"])


@st.composite
def fields(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        plain: str = "".join(draw(st.lists(_PLAIN_CHARACTERS, max_size=4)))
        return plain
    value = "".join(draw(st.lists(_VALUE_CHARACTERS, max_size=6)))
    return '"' + value.replace('"', '""') + '"'


@st.composite
def tables(draw: st.DrawFn, *, width: int | None = None) -> Table:
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    count = draw(st.integers(1, 12))
    records = []
    for _ in range(count):
        n = width or draw(st.integers(1, 4))
        records.append(",".join(draw(st.lists(fields(), min_size=n, max_size=n))) + ending)
    final_newline = draw(st.booleans())
    if not final_newline:
        records[-1] = records[-1].removesuffix(ending)
    footer = FOOTER if final_newline and draw(st.booleans()) else b""
    return Table([r.encode() for r in records], footer)


@settings(max_examples=200, deadline=None)
@given(tables(), st.data())
def test_ranges_read_apart_give_the_table_exactly(table: Table, data: st.DataObject) -> None:
    chunk_bytes = data.draw(st.integers(1, len(table.table) + 2), label="chunk_bytes")
    read_bytes = data.draw(st.sampled_from([1, 2, 3, 5, 8, 13, 1 << 20]), label="read_bytes")
    guess = data.draw(st.booleans(), label="guess")
    read = read_split(
        table.file,
        table.data_byte,
        table.table_end,
        chunk_bytes,
        read_bytes=read_bytes,
        guess=guess,
    )

    assert b"".join(read.chunks) == table.table
    assert [row for chunk in read.chunks for row in csv_rows(chunk)] == csv_rows(table.table)
    assert sum(r.lines for r in read.readings) == line_breaks(table.table)
    assert_owned_records(read, table)
    assert not open_quote_at_end(read.readings)
    # No range reads the footer, nor (all ranges but the last) to the table's end for nothing.
    assert all(r.end_byte <= table.table_end for r in read.readings)


@settings(max_examples=150, deadline=None)
@given(tables(width=3), st.data())
def test_arrow_parses_the_ranges_into_the_table_it_parses_whole(
    table: Table, data: st.DataObject
) -> None:
    chunk_bytes = data.draw(st.integers(1, len(table.table) + 2), label="chunk_bytes")
    read = read_split(table.file, table.data_byte, table.table_end, chunk_bytes, read_bytes=7)
    parts = [arrow_rows(chunk) for chunk in read.chunks if chunk]
    assert pa.concat_tables(parts) == arrow_rows(table.table)


def arrow_rows(data: bytes) -> pa.Table:
    names = ["a", "b", "c"]
    return pcsv.read_csv(
        io.BytesIO(data),
        read_options=pcsv.ReadOptions(use_threads=False, column_names=names),
        parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )


def test_arrow_reads_each_range_of_a_file_with_quoted_line_breaks_and_wide_characters():
    rows = [f'{i},"line one\r\nline 二, ""quoted""\nend",😀{i}\r\n' for i in range(40)]
    table = Table([r.encode() for r in rows])
    read = read_split(table.file, table.data_byte, table.table_end, chunk_bytes=37, read_bytes=5)
    assert read.readings != read.first_pass  # some ranges started inside quotes
    parts = [arrow_rows(chunk) for chunk in read.chunks if chunk]
    whole = arrow_rows(table.table)
    assert whole.num_rows == 40
    assert pa.concat_tables(parts) == whole
    assert whole.column("b")[3].as_py() == 'line one\r\nline 二, "quoted"\nend'


def test_quotes_after_a_cut_tell_the_state_at_it_in_a_file_quoted_throughout():
    rows = [f'"{i}","name, {i}","say ""{i}""","","{i * 7}"\n'.encode() for i in range(300)]
    table = Table(rows)
    guessed = read_split(table.file, table.data_byte, table.table_end, 101, guess=True)
    outside = read_split(table.file, table.data_byte, table.table_end, 101)
    assert b"".join(guessed.chunks) == table.table
    assert misread_ranges(guessed.first_pass) == []
    assert len(misread_ranges(outside.first_pass)) > len(outside.readings) / 2


@pytest.mark.parametrize(
    ("after_cut", "inside"),
    [
        (b'abc","x"\n', True),  # a quote before a delimiter closes: the cut was inside
        (b'c,"x"\n', False),  # a quote after a delimiter opens: the cut was outside
        (b"abc\n", False),  # no quote: no evidence, the default
        (b'","",""\n', False),  # only empty quoted fields: both fit, the default
        (b'a"b"c\n', False),  # quotes inside text: neither fits, the default
    ],
)
def test_the_guess_at_a_cut(after_cut, inside):
    file = b"x,y\n" + after_cut
    _, reading, _ = read_range(file, 4, len(file), len(file), index=1, inside=None)
    assert reading.inside_quotes is inside


def test_without_a_quote_character_the_guess_is_outside():
    file = b'x,y\nabc",x\n'
    _, reading, _ = read_range(file, 4, len(file), len(file), index=1, inside=None, quote="")
    assert reading.inside_quotes is False


def test_guessing_takes_the_delimiter():
    with pytest.raises(ValueError, match="delimiter"):
        ChunkBytes(
            io.BytesIO(b"a\n"),
            start=0,
            end=1,
            table_end=2,
            quote='"',
            line_ending="\n",
            at_record_start=False,
            inside_quotes=None,
        )


def test_arrow_reads_the_range_stream_in_its_own_blocks():
    long_value = "x" * 300
    rows = [f'{i},"{long_value}\n{i}",z\n'.encode() for i in range(20)]
    table = Table(rows)
    inner = io.BytesIO(table.file)
    inner.seek(table.data_byte)
    stream = ChunkBytes(
        inner,
        start=table.data_byte,
        end=table.table_end,
        table_end=table.table_end,
        quote='"',
        line_ending="\n",
        at_record_start=True,
        read_bytes=16,
    )
    names = ["a", "b", "c"]
    # Records of 300 bytes in 1 KiB blocks: Arrow fails if a read returns only 16 bytes.
    parsed = pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(use_threads=False, block_size=1024, column_names=names),
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
    ).read_all()
    assert parsed.column("b").to_pylist() == [f"{long_value}\n{i}" for i in range(20)]


def test_spaces_before_a_quoted_field_split_as_they_parse():
    rows = [f'{i},  "a,\n b",   "c ""{i}"""\r\n'.encode() for i in range(30)]
    table = Table(rows)
    read = read_split(table.file, table.data_byte, table.table_end, 11, read_bytes=8, guess=True)
    assert b"".join(read.chunks) == table.table

    def padded_rows(data: bytes) -> list[list[str]]:
        text = io.StringIO(data.decode(), newline="")
        return list(csv.reader(text, skipinitialspace=True))

    assert [row for chunk in read.chunks for row in padded_rows(chunk)] == padded_rows(table.table)
    assert padded_rows(table.table)[3] == ["3", "a,\n b", 'c "3"']


def test_a_range_starting_inside_quotes_is_named_and_read_again_right():
    table = Table([b'1,"a\n2,b\n3,c"\n', b"4,d\n", b"5,e\n"])
    # The cut falls inside the quoted value, before a line that looks like a record.
    cut = table.file.index(b"2,b")
    ranges = [(table.data_byte, cut), (cut, table.table_end)]
    first = [
        read_range(table.file, s, e, table.table_end, index=i)[1] for i, (s, e) in enumerate(ranges)
    ]
    assert first[1].first_byte == cut + len(
        b"2,b\n"
    )  # the guess took a quoted break for a record's end
    assert true_states(first) == [False, True]
    assert misread_ranges(first) == [1]
    with pytest.raises(ChunksNotContiguous, match="range 1 was read in the wrong quote state"):
        check_contiguous(first, table.data_byte, table.table_end, file="upload.csv")
    emitted, again, _ = read_range(
        table.file, cut, table.table_end, table.table_end, index=1, inside=True
    )
    assert again.first_byte == table.starts[1]
    assert emitted == b"4,d\n5,e\n"
    assert again.quote_parity == first[1].quote_parity == 1
    check_contiguous([first[0], again], table.data_byte, table.table_end, file="upload.csv")


@pytest.mark.parametrize("read_bytes", [1, 2, 3, 4, 5, 6, 7, 64])
def test_crlf_split_across_reads_is_one_line_break(read_bytes):
    table = Table([b"ab\r\n", b"\r\n", b'"x\r\ny"\r\n', b"cd\r\n"])
    read = read_split(table.file, table.data_byte, table.table_end, 3, read_bytes=read_bytes)
    assert b"".join(read.chunks) == table.table
    assert_owned_records(read, table)
    assert sum(r.lines for r in read.readings) == 5


def test_a_range_starting_between_cr_and_lf_starts_after_the_lf():
    table = Table([b"ab\r\n", b"cd\r\n"])
    lf = table.data_byte + 3
    emitted, reading, _ = read_range(table.file, lf, table.table_end, table.table_end, index=1)
    assert (reading.first_byte, emitted) == (table.starts[1], b"cd\r\n")
    before, previous, _ = read_range(table.file, table.data_byte, lf, table.table_end)
    assert (previous.end_byte, before) == (table.starts[1], b"ab\r\n")


def test_a_record_starting_at_a_cut_belongs_to_the_range_before_it():
    table = Table([b"ab\n", b"cd\n", b"ef\n"])
    cut = table.starts[1]
    before, first, _ = read_range(table.file, table.data_byte, cut, table.table_end)
    after, second, _ = read_range(table.file, cut, table.table_end, table.table_end, index=1)
    assert before == b"ab\ncd\n"
    assert after == b"ef\n"
    assert first.end_byte == second.first_byte == table.starts[2]


def test_a_range_no_record_starts_in_emits_nothing_at_the_next_boundary():
    table = Table([b'1,"a long\nquoted value"\n', b"2,b\n"])
    start = table.data_byte + 5
    emitted, reading, _ = read_range(
        table.file, start, start + 3, table.table_end, index=1, inside=True
    )
    assert emitted == b""
    assert reading.first_byte == reading.end_byte == table.starts[1]
    assert reading.lines == 0


@pytest.mark.parametrize("read_bytes", [1, 2, 3, 4, 5])
def test_a_quote_last_in_a_read_carries_its_state_into_the_next(read_bytes):
    table = Table([b'"a\nb","\n"\n', b'"",x\n', b"c,d\n"])
    read = read_split(table.file, table.data_byte, table.table_end, 4, read_bytes=read_bytes)
    assert b"".join(read.chunks) == table.table
    assert_owned_records(read, table)


def test_a_range_starting_inside_a_wide_character_starts_at_the_next_record():
    table = Table(["é中😀,x\n".encode(), "😀,y\n".encode()])
    for start in range(table.data_byte + 1, table.starts[1] - 1):
        emitted, reading, _ = read_range(table.file, start, start + 1, table.table_end, index=1)
        assert (reading.first_byte, reading.end_byte) == (table.starts[1],) * 2
    emitted, _, _ = read_range(
        table.file, table.data_byte + 2, table.table_end, table.table_end, index=1
    )
    assert emitted.decode() == "😀,y\n"


def test_an_empty_last_line_is_a_record_of_its_own():
    table = Table([b"a,b\n", b"\n"])
    read = read_split(table.file, table.data_byte, table.table_end, 1)
    assert read.chunks == [b"a,b\n", b"", b"", b"\n", b""]
    assert csv_rows(b"".join(read.chunks)) == [["a", "b"], []]


def test_a_table_without_a_last_line_break_ends_at_the_table_end():
    table = Table([b"a,b\n", b'c,"d\n"'])
    read = read_split(table.file, table.data_byte, table.table_end, 2)
    assert b"".join(read.chunks) == table.table
    assert read.readings[-1].end_byte == table.table_end
    assert sum(r.lines for r in read.readings) == 2


def test_a_lone_cr_is_a_line_break_even_last_in_a_range_or_the_table():
    table = Table([b"a,b\r", b'"c\rd",e\r', b"f\r"])
    for chunk_bytes in range(1, len(table.table) + 1):
        read = read_split(table.file, table.data_byte, table.table_end, chunk_bytes, read_bytes=2)
        assert_owned_records(read, table)
        assert sum(r.lines for r in read.readings) == 4


def test_lines_ending_cr_cr_lf_are_read_as_a_cr_and_a_crlf_each_as_the_parsers_read_them():
    data = b"a,b\r\r\nc,d\r\r\n"
    stream = ChunkBytes(
        io.BytesIO(data),
        start=0,
        end=len(data),
        table_end=len(data),
        quote='"',
        line_ending="\r\r\n",
        at_record_start=True,
    )
    assert stream.read() == data
    assert stream.reading(0).lines == 4


@pytest.mark.parametrize("read_bytes", [1, 2, 64])
def test_a_cr_last_in_a_range_waits_for_the_byte_after_it(read_bytes):
    table = Table([b"a\r\n", b"b\r", b"c\n"])
    crlf = table.data_byte + 1
    emitted, reading, _ = read_range(
        table.file, table.data_byte, crlf + 1, table.table_end, read_bytes=read_bytes
    )
    assert (emitted, reading.end_byte) == (b"a\r\n", table.starts[1])
    lone_cr = table.starts[1] + 1
    emitted, reading, _ = read_range(
        table.file, table.data_byte, lone_cr, table.table_end, read_bytes=read_bytes
    )
    assert (emitted, reading.end_byte) == (b"a\r\nb\r", table.starts[2])
    emitted, reading, _ = read_range(
        table.file, table.data_byte, lone_cr + 1, table.table_end, read_bytes=read_bytes
    )
    assert (emitted, reading.end_byte) == (b"a\r\nb\rc\n", table.table_end)


def test_without_a_quote_character_every_line_break_ends_a_record():
    table = Table([b'5" pipe,x\n', b'"a\n', b'b"\n'])
    read = read_split(table.file, table.data_byte, table.table_end, 2, quote="")
    assert_owned_records(read, table)
    assert all(r.quote_parity == 0 for r in read.readings)


def test_no_range_reads_past_the_table_end():
    table = Table([b"a,b\n", b"c,d\n"], footer=FOOTER)
    read = read_split(table.file, table.data_byte, table.table_end, 3)
    for reading, bytes_read in zip(read.readings, read.bytes_read, strict=True):
        assert reading.start + bytes_read <= table.table_end


def test_a_misread_worker_stops_max_record_bytes_past_its_end():
    rows = [b'"x","y"\n'] * 1000
    table = Table([rows[0], b'"in a quote","z"\n', *rows])
    start = table.data_byte + len(rows[0]) + 3  # inside "in a quote"
    _, reading, bytes_read = read_range(
        table.file, start, start + 10, table.table_end, index=1, max_record_bytes=100, read_bytes=16
    )
    # Guessed outside, every line break after looks quoted: no boundary until the table's end.
    assert not reading.complete
    assert bytes_read == 10 + 100
    _, right, _ = read_range(
        table.file, start, start + 10, table.table_end, index=1, inside=True, max_record_bytes=100
    )
    assert right.complete
    assert right.end_byte == table.starts[2]


def test_a_record_longer_than_max_record_bytes_in_the_true_state_fails_the_file():
    table = Table([b"a,b\n", b'c,"' + b"x" * 500 + b'"\n', b"e,f\n"])
    cut = table.starts[1] + 2
    readings = [
        read_range(table.file, table.data_byte, cut, table.table_end, max_record_bytes=100)[1],
        read_range(
            table.file, cut, table.table_end, table.table_end, index=1, max_record_bytes=100
        )[1],
    ]
    assert not readings[0].complete
    assert misread_ranges(readings) == []
    with pytest.raises(InvalidCsv, match="upload.csv: a record goes on past byte"):
        check_contiguous(readings, table.data_byte, table.table_end, file="upload.csv")


def test_a_gap_between_ranges_is_named():
    table = Table([b"a,b\n", b"c,d\n", b"e,f\n"])
    read = read_split(table.file, table.data_byte, table.table_end, 4)
    broken = list(read.readings)
    broken[2] = replace(broken[2], first_byte=broken[2].first_byte + 1)
    with pytest.raises(
        ChunksNotContiguous,
        match=r"range 1's records end at byte \d+, but range 2's start at byte \d+",
    ):
        check_contiguous(broken, table.data_byte, table.table_end, file="upload.csv")
    with pytest.raises(ChunksNotContiguous, match="not the table's"):
        check_contiguous(read.readings, table.data_byte, table.table_end + 1, file="upload.csv")
    with pytest.raises(ValueError, match="give them in order"):
        true_states(list(reversed(read.readings)))


def test_an_unclosed_quote_runs_to_the_table_end_and_is_reported():
    table = Table([b"a,b\n", b'c,"d\n', b"e,f\n"])
    read = read_split(table.file, table.data_byte, table.table_end, 3)
    assert b"".join(read.chunks) == table.table
    assert open_quote_at_end(read.readings)


def test_an_empty_table_has_no_range_and_no_record():
    assert plan_ranges(10, 10, 4) == []
    check_contiguous([], 10, 10, file="upload.csv")
    with pytest.raises(ChunksNotContiguous, match="cover"):
        check_contiguous([], 10, 11, file="upload.csv")


def test_readings_travel_as_json():
    reading = ChunkReading(3, 10, 20, 12, 25, 1, 2, True, complete=False)
    assert ChunkReading.from_dict(reading.to_dict()) == reading


def test_plan_ranges_cuts_near_equal_ranges_that_tile():
    assert plan_ranges(10, 20, 4) == [(10, 13), (13, 16), (16, 20)]
    assert plan_ranges(10, 11, 4) == [(10, 11)]
    assert plan_ranges(10, 10, 4) == []
    assert plan_ranges(0, 7, 1) == [(i, i + 1) for i in range(7)]
    with pytest.raises(ValueError, match="at least 1"):
        plan_ranges(0, 7, 0)


def test_reading_figures_wait_for_the_end_of_the_stream():
    table = Table([b"a,b\n", b"c,d\n"])
    stream = ChunkBytes(
        io.BytesIO(table.table),
        start=0,
        end=3,
        table_end=8,
        quote='"',
        line_ending="\n",
        at_record_start=True,
    )
    with pytest.raises(RuntimeError, match="not read to its end"):
        _ = stream.end_byte
    assert stream.read() == b"a,b\n"
    assert stream.end_byte == 4


def dialect(**changes) -> Dialect:
    return replace(Dialect(encoding="utf-8", delimiter=",", header=("a", "b")), **changes)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"encoding": "utf-16-le"}, "two or four bytes in every character"),
        ({"encoding": "utf-16-be"}, "two or four bytes in every character"),
        ({"encoding": "utf-16"}, "two or four bytes in every character"),
        ({"encoding": "utf-32"}, "two or four bytes in every character"),
        ({"encoding": "iso2022_jp"}, "not one known to keep"),
        ({"encoding": "utf-7"}, "not one known to keep"),
        ({"encoding": "hz"}, "not one known to keep"),
        ({"encoding": "no-such-encoding"}, "is unknown"),
        ({"escape": "\\"}, "escaped with"),
        ({"literal_quotes": True}, "inside unquoted text"),
        ({"quote": "«", "encoding": "latin-1"}, "not ASCII"),
        ({"quote": "\\", "encoding": "shift_jis"}, "can be a byte of another character"),
    ],
)
def test_unsplittable_files_say_why(changes, reason):
    assert reason in (unsplittable_reason(dialect(**changes)) or "")


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"quote": ""},
        {"quote": "'"},
        {"line_ending": "\r"},
        {"line_ending": "\r\n"},
        {"skip_initial_space": True},
        *({"encoding": name} for name in ["latin-1", "iso-8859-15", "cp1251", "cp1252", "ascii"]),
        *(
            {"encoding": name}
            for name in [
                "shift_jis",
                "cp932",
                "gb18030",
                "gbk",
                "gb2312",
                "big5",
                "euc-jp",
                "euc-kr",
            ]
        ),
    ],
)
def test_splittable_files(changes):
    assert unsplittable_reason(dialect(**changes)) is None


@pytest.mark.slow  # every character of 16 encodings: several seconds
def test_no_wide_character_holds_a_byte_below_the_stated_lowest():
    code_points = [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    found = {}
    for encoding in _LOWEST_BYTE_IN_A_WIDE_CHARACTER:
        # UTF-8 with a mark: UTF-8's characters, after a mark no range ever holds.
        encode = codecs.getencoder("utf-8" if encoding == "utf-8-sig" else encoding)
        lowest = 0x100
        for code_point in code_points:
            try:
                encoded = encode(chr(code_point))[0]
            except UnicodeEncodeError:
                continue
            if len(encoded) > 1:
                lowest = min(lowest, *encoded)
        found[encoding] = lowest
        for character in "\n\r\"'":
            assert character.encode(encoding).removeprefix(codecs.BOM_UTF8) == character.encode()
    assert found == _LOWEST_BYTE_IN_A_WIDE_CHARACTER


@pytest.mark.parametrize("encoding", sorted(_SINGLE_BYTE))
def test_single_byte_encodings_are_single_byte(encoding):
    decoded = bytes(range(256)).decode(encoding, errors="ignore")
    assert all(len(c.encode(encoding)) == 1 for c in decoded)
    assert "\n\r\"'".encode(encoding) == b"\n\r\"'"
