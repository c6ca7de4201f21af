import codecs
import io
import random
import threading
import time
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from csvflow.domain import validation
from csvflow.domain.dialect import HEAD_BYTES, detect_dialect
from csvflow.domain.model import no_contract
from csvflow.domain.rejects import RejectReport
from csvflow.domain.validation import BLOCKS_AHEAD, CsvValidator, _count_byte, _TableBytes
from csvflow.exceptions import InvalidCsv, RejectedRowsExceeded, StorageUnavailable
from tests.support.csv_helpers import contract, report_rows, validate_bytes


def test_quoted_fields_keep_delimiters_quotes_and_newlines():
    data = b'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n'
    result = validate_bytes(data)
    assert result.table.column("text").to_pylist() == ["a, b", 'say "hi"', "two\nlines"]
    assert result.outcome.rows == 3


def test_wrong_field_count_is_rejected_with_its_physical_line():
    # line 3-4 hold one record (a quoted newline), line 5 is blank, line 6 is short
    data = b'id,text,n\n1,a,1\n2,"x\ny",2\n\n3,b\n4,c,4,extra\n5,d,5\n'
    result = validate_bytes(data, contract("max_rejected_share: 1"))
    rows = report_rows(result.report_csv)
    assert [(r["line"], r["reason"]) for r in rows] == [
        ("6", "expected 3 fields, found 2"),
        ("7", "expected 3 fields, found 4"),
    ]
    assert result.outcome.rows == 3
    assert result.outcome.rejected_rows == 2
    assert result.outcome.empty_rows == 1


def test_line_numbers_stay_right_across_parser_blocks():
    good = b"".join(b'%d,"multi\nline",%d\n' % (i, i) for i in range(200))
    data = b"id,text,n\n" + good + b"oops\n" + good + b"200,x,notanumber\n"
    result = validate_bytes(
        data, contract("max_rejected_share: 1\ncolumns: [{name: n, type: int}]"), block_size=256
    )
    rows = report_rows(result.report_csv)
    assert [(r["line"], r["column"], r["value"]) for r in rows] == [
        ("402", "", "oops"),
        ("803", "n", "notanumber"),
    ]


def test_no_contract_means_rejects_past_the_default_share_fail_the_file_naming_it():
    with pytest.raises(RejectedRowsExceeded) as caught:
        result = validate_bytes(
            b"a,b\n1,2\n3\n", file="incoming/d/f.csv", default_rejected_share=0.01
        )
        result.validator.raise_if_too_many_rejected("s3://bucket/reports/x.csv")
    message = str(caught.value)
    assert "incoming/d/f.csv: 1 of 2 rows rejected (50.00%), more than the 1.00% a file " in message
    assert "without a contract may have (CSVFLOW_MAX_REJECTED_SHARE" in message
    assert "incoming/d/f.csv, line 3: expected 2 fields, found 1" in message
    assert "s3://bucket/reports/x.csv" in message


def test_no_contract_lets_a_few_ragged_rows_pass_while_they_are_under_half():
    data = b"a,b\n1,2\n3\n4,5\n"
    passes = validate_bytes(data, default_rejected_share=0.01, default_rejected_rows=5)
    passes.validator.raise_if_too_many_rejected(None)
    fails = validate_bytes(data, default_rejected_share=0.01, default_rejected_rows=0)
    with pytest.raises(RejectedRowsExceeded, match="up to 0 rows, CSVFLOW_MAX_REJECTED_ROWS"):
        fails.validator.raise_if_too_many_rejected(None)


def test_unclosed_quote_fails_the_file_at_the_line_it_opens():
    with pytest.raises(InvalidCsv) as caught:
        validate_bytes(b'a,b\n1,2\n3,"never closed\n4,5\n')
    assert caught.value.line == 3
    assert "never closed" in str(caught.value)


def test_a_byte_is_counted_in_every_slice_through_the_scratch_array():
    data = np.zeros(1_000_003, np.uint8)
    data[[0, 5, 262_143, 262_144, 700_000, 1_000_002]] = ord('"')
    assert _count_byte(data, ord('"'), np.empty(1 << 18, bool)) == 6
    assert _count_byte(data[:0], ord('"'), np.empty(1 << 18, bool)) == 0


def test_quotes_are_counted_across_blocks():
    rows = b"".join(b'%d,"quoted text, %d"\n' % (i, i) for i in range(60_000))
    assert len(rows) > 1 << 20
    assert validate_bytes(b"a,b\n" + rows).outcome.rows == 60_000
    with pytest.raises(InvalidCsv, match="never closed"):
        validate_bytes(b"a,b\n" + rows + b'60000,"never closed\n60001,x\n')


def test_the_stream_serves_arrow_the_table_bytes_a_buffer_at_a_time():
    data = b'preamble\nx,y\n1,"a"\n2,"b"\nfooter\n'
    start, end = data.index(b"1,"), data.index(b"footer")  # past the header: 1,"a" ... "b"\n
    stream = _TableBytes(io.BytesIO(data), start=start, end=end, quote='"')
    assert not stream.at_end()  # peeks a byte, served again below
    served = [stream.read_buffer(5) for _ in range(4)]
    assert b"".join(buffer.tobytes() for buffer in served) == data[start:end]
    assert [len(buffer) for buffer in served] == [5, 5, 2, 0]
    assert stream.quotes == 4


def _read_on_a_thread(stream):
    """Read a block of ``stream`` on a thread (as Arrow's I/O thread does); what it got."""
    got = {}

    def read():
        try:
            got["bytes"] = stream.read_buffer(4).tobytes()
        except Exception as error:
            got["error"] = error

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader, got


def test_a_read_held_while_a_batch_is_read_fails_the_pass_as_retriable_not_hangs():
    # Only an asked batch lets the next block be read, and the reader asks for none while it
    # reads one: if that read needs the held block, nothing would ever let it through.
    stream = _TableBytes(io.BytesIO(b"1,2\n" * 8), start=0, end=None, quote="", held_at_most=0.2)
    stream.pace(blocks_ahead=1, reads_per_block=1)
    stream.asked()
    assert [stream.read_buffer(4).tobytes() for _ in range(2)] == [b"1,2\n"] * 2
    reader, got = _read_on_a_thread(stream)  # the third: past the batch asked for
    reader.join(timeout=10)
    stream.unpace()  # (lets a read that hangs go, should it)
    assert isinstance(got.get("error"), StorageUnavailable), got
    assert "held 0.2 s" in str(got["error"])


def test_a_read_held_between_batches_waits_for_the_next_batch_however_long():
    # Between batches the wait is the consumers' pace (a slow upload, say), not a stall.
    stream = _TableBytes(io.BytesIO(b"1,2\n" * 8), start=0, end=None, quote="", held_at_most=0.2)
    stream.pace(blocks_ahead=1, reads_per_block=1)
    stream.asked()
    stream.read_buffer(4), stream.read_buffer(4)
    stream.answered()
    reader, got = _read_on_a_thread(stream)
    reader.join(timeout=0.6)
    assert reader.is_alive() and got == {}
    stream.asked()
    reader.join(timeout=10)
    assert got == {"bytes": b"1,2\n"}


def test_a_split_files_part_leaves_the_unclosed_quote_to_the_merge():
    # A part's stream is counted by its ChunkBytes; the merge checks the parities.
    result = validate_bytes(b'a,b\n1,2\n3,"never closed\n4,5\n', check_quotes_closed=False)
    assert result.outcome.rows == 2


def test_header_only_file_succeeds_with_zero_rows():
    result = validate_bytes(b"id,name\n")
    assert result.outcome.rows == 0
    assert result.table.num_rows == 0
    assert result.table.column_names == ["id", "name"]


def test_types_are_inferred_without_a_contract():
    data = (
        b"i,f,b,d,t,s\n"
        b"1,1.5,true,2024-01-02,2024-01-02T03:04:05Z,x\n"
        b"2,,false,2024-01-03,2024-01-02 03:04:05,y\n"
    )
    schema = validate_bytes(data).table.schema
    assert [str(f.type) for f in schema] == [
        "int64",
        "double",
        "bool",
        "date32[day]",
        "timestamp[us, tz=UTC]",
        "string",
    ]


def test_types_are_inferred_from_the_rows_when_a_blank_line_follows_the_header():
    # The table's bytes start with that line break: read apart, it was a first block of one
    # empty row, and every column was inferred from no value, as text.
    result = validate_bytes(b"a,b\n\n1.5,2\n3.5,4\n", contract("skip_lines: 0"))
    assert [str(f.type) for f in result.table.schema] == ["double", "int64"]
    assert (result.outcome.rows, result.outcome.empty_rows) == (2, 1)


def test_contract_checks_reject_rows_with_line_column_value_and_reason():
    spec = contract(
        """
max_rejected_share: 1
columns:
  - {name: id, type: int, required: true, unique: true}
  - {name: region, type: string, allowed: [north, south]}
  - {name: amount, type: decimal, scale: 2, min: 0, max: 100}
  - {name: day, type: date}
  - {name: email, type: string, pattern: "^[^@]+@[^@]+$"}
"""
    )
    data = (
        b"id,region,amount,day,email\n"
        b"1,north,10.00,2024-01-01,a@x\n"
        b",north,1,2024-01-01,a@x\n"
        b"1,south,1,2024-01-01,a@x\n"
        b"3,west,1,2024-01-01,a@x\n"
        b"4,north,-1,2024-01-01,a@x\n"
        b"5,north,1.005,2024-01-01,a@x\n"
        b"6,north,1,2024-02-30,a@x\n"
        b"7,north,1,2024-01-01,nobody\n"
        b"8,south,100,2024-12-31,b@y\n"
    )
    result = validate_bytes(data, spec)
    found = [
        (r["line"], r["column"], r["value"], r["reason"]) for r in report_rows(result.report_csv)
    ]
    assert found == [
        ("3", "id", "", "a value is required"),
        ("4", "id", "1", "duplicate of an earlier row"),
        ("5", "region", "west", "not one of the allowed values"),
        ("6", "amount", "'-1", "less than the minimum 0"),
        ("7", "amount", "1.005", "not a valid decimal"),
        ("8", "day", "2024-02-30", "not a valid date"),
        ("9", "email", "nobody", "does not match the pattern ^[^@]+@[^@]+$"),
    ]
    assert result.outcome.rows == 2
    assert result.table.column("id").to_pylist() == [1, 8]


def test_contract_column_missing_from_header_fails_on_line_1():
    with pytest.raises(InvalidCsv) as caught:
        validate_bytes(b"a,b\n1,2\n", contract("columns: [{name: c, type: int}]"))
    assert caught.value.line == 1
    assert "lacks: c" in str(caught.value)


def test_formula_values_are_neutralised_in_the_report():
    result = validate_bytes(
        b'id,n\n1,"=HYPERLINK(""http://x"")"\n',
        contract("max_rejected_share: 1\ncolumns: [{name: n, type: int}]"),
    )
    assert report_rows(result.report_csv)[0]["value"] == '\'=HYPERLINK("http://x")'


def test_legacy_encodings_are_read():
    data = "name,city\nJosé,Zürich\n€uro,Köln\n".encode("cp1252")
    assert validate_bytes(data).table.column("name").to_pylist() == ["José", "€uro"]
    utf16 = "name,city\nJosé,Zürich\n".encode("utf-16")
    assert validate_bytes(utf16).table.column("city").to_pylist() == ["Zürich"]
    bom = codecs.BOM_UTF8 + b"name\nx\n"
    assert validate_bytes(bom).table.column_names == ["name"]


def test_invalid_utf8_after_the_sample_is_a_clear_error():
    data = b"name\n" + b"abc\n" * 300_000 + b"\xff\xfe\n"
    with pytest.raises(InvalidCsv, match="not valid utf-8"):
        validate_bytes(data)


def test_empty_values_and_null_markers_are_nulls():
    result = validate_bytes(b"n,s\n1,\nNULL,x\n,N/A\n")
    assert result.table.column("n").to_pylist() == [1, None, None]
    assert result.table.column("s").to_pylist() == [None, "x", None]
    assert result.table.column("n").type == pa.int64()


def test_line_numbers_stay_right_when_only_some_blocks_hold_line_breaks_in_values():
    # Blocks without a line break inside a value skip counting them: mix both kinds.
    chooser = random.Random(7)
    lines, expected, body = 2, [], []
    for i in range(600):
        multiline = chooser.random() < 0.05
        bad = chooser.random() < 0.03
        text = '"two\nlines"' if multiline else "plain"
        body.append(b"%d,%s,%s\n" % (i, text.encode(), b"x" if bad else b"%d" % i))
        if bad:
            expected.append(str(lines))
        lines += 2 if multiline else 1
    data = b"id,text,n\n" + b"".join(body)

    result = validate_bytes(
        data, contract("max_rejected_share: 1\ncolumns: [{name: n, type: int}]"), block_size=256
    )

    assert [r["line"] for r in report_rows(result.report_csv)] == expected
    assert len(expected) > 5


class _CountedReads(io.RawIOBase):
    """A file whose reads are counted, as an object store's body would be read."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.reads += 1
        return self._inner.readinto(buffer)


def _validated_slowly(data: bytes, *, block_size: int) -> tuple[list[int], int]:
    """Every batch's rows, read by a consumer slower than the disk; and the most reads the
    file was ahead of the batches handed over."""
    stream = _CountedReads(data)
    validator = CsvValidator(
        stream,
        file="upload.csv",
        dialect=detect_dialect(data[:HEAD_BYTES], file="upload.csv", size=len(data)),
        contract=no_contract("test"),
        report=RejectReport(io.StringIO()),
        block_size=block_size,
    )
    rows, lead = [], 0
    for batch in validator.batches():
        time.sleep(0.002)  # a profile's work on the batch
        rows.append(batch.num_rows)
        lead = max(lead, stream.reads - len(rows))
    return rows, lead


def test_the_reader_stays_a_few_blocks_ahead_of_a_slow_consumer(monkeypatch):
    # Arrow's reader reads up to 32 blocks ahead on its own thread (128 MB at the 4 MB
    # block; 38 reads ahead here without the pacing). Allowed: the peek at the first byte,
    # the blocks ahead of the batches asked for, and the batches the validator's own
    # read-ahead has asked for but not handed over (one waiting, one being made). Each block
    # checked alone, so that a batch handed over is a block taken.
    monkeypatch.setattr(validation, "CHECKED_ROWS", 1)
    data = b"id,text\n" + b"".join(b"%d,row-%d\n" % (i, i * 7) for i in range(40_000))
    rows, lead = _validated_slowly(data, block_size=8192)
    assert sum(rows) == 40_000
    assert len(rows) > 60
    assert lead <= BLOCKS_AHEAD + 6


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252"])
def test_a_transcoded_file_of_many_blocks_is_read_whole(encoding: str):
    # Arrow transcodes a block's worth of bytes at a time: UTF-16 takes two reads a block,
    # which the pacing of the reads has to allow or the pass waits for ever.
    data = ("id,city\n" + "".join(f"{i},Zürich\n" for i in range(20_000))).encode(encoding)
    done: list[list[int]] = []
    worker = threading.Thread(
        target=lambda: done.append(_validated_slowly(data, block_size=4096)[0]), daemon=True
    )
    worker.start()
    worker.join(timeout=60)
    assert done, "the pass did not finish"
    assert sum(done[0]) == 20_000


def _joined_file(rows: int) -> bytes:
    """Rows with a value on two lines, rows of the wrong width and values of the wrong type
    spread over many small blocks."""
    lines = [b"id,text,n"]
    for i in range(rows):
        if i % 997 == 5:
            lines.append(b"%d,short" % i)
        elif i % 1409 == 7:
            lines.append(b'%d,"two\nlines",%d,extra' % (i, i))
        elif i % 1201 == 9:
            lines.append(b"%d,bad,n%d" % (i, i))
        elif i % 13 == 0:
            lines.append(b'%d,"multi\nline",%d' % (i, i))
        else:
            lines.append(b"%d,row-%d,%d" % (i, i, i))
    return b"\n".join(lines) + b"\n"


def test_short_blocks_after_the_first_are_checked_joined_with_the_same_rejects(monkeypatch):
    # A wide file's 4 MB block is a few thousand rows, and the checks cost a few Arrow calls
    # per column per block: blocks after the first are joined before they are checked. The
    # rows, the reject report's lines and the outcome are those of each block checked alone
    # and of one block for the whole file.
    data = _joined_file(60_000)
    terms = contract("max_rejected_share: 1\ncolumns: [{name: n, type: int}]")
    joined = validate_bytes(data, terms, block_size=16_384)
    batches = joined.table.to_batches()
    assert len(batches) >= 3
    assert all(b.num_rows >= validation.CHECKED_ROWS for b in batches[1:-1])
    assert batches[0].num_rows < 2_000  # the first block alone: the types are inferred from it
    whole = validate_bytes(data, terms, block_size=8 << 20)
    monkeypatch.setattr(validation, "CHECKED_ROWS", 1)
    alone = validate_bytes(data, terms, block_size=16_384)
    assert len(alone.table.to_batches()) > 4 * len(batches)
    rejects = report_rows(joined.report_csv)
    assert {r["reason"] for r in rejects} == {
        "expected 3 fields, found 2",
        "expected 3 fields, found 4",
        "not a valid int",
    }
    for other in (alone, whole):  # a batch's rows of the wrong width are reported first
        assert _by_line(rejects) == _by_line(report_rows(other.report_csv))
        assert joined.table.equals(other.table)
        assert joined.outcome == other.outcome


def _by_line(rejects: list[dict[str, str]]) -> list[tuple[int, str, str, str]]:
    return sorted((int(r["line"]), r["column"], r["value"], r["reason"]) for r in rejects)


def test_a_parse_error_after_joined_blocks_names_the_line_it_follows(monkeypatch):
    good = b"".join(b"%d,row-%d\n" % (i, i) for i in range(20_000))
    data = b"id,text\n" + good + b'20000,"never closed\n' + good
    messages = []
    for rows in (validation.CHECKED_ROWS, 1):
        monkeypatch.setattr(validation, "CHECKED_ROWS", rows)
        with pytest.raises(InvalidCsv) as caught:
            validate_bytes(data, block_size=8192)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_a_read_buffer_is_reused_once_arrow_lets_go_of_it_and_never_before():
    # Each block read is a new mapping the system zeroes page by page on first touch: a
    # buffer is read into again once no view of it is left, and only then.
    import weakref

    stream = _TableBytes(io.BytesIO(b"abcdefghij" * 10), start=0, end=None, quote="")
    first, held = stream.read_buffer(10), stream.read_buffer(10)
    assert bytes(first) == b"abcdefghij" and bytes(held) == b"abcdefghij"
    assert not np.shares_memory(first, held)
    let_go = weakref.ref(first.base)
    del first

    again = stream.read_buffer(8)

    assert again.base is let_go()
    assert bytes(again) == b"abcdefgh" and bytes(held) == b"abcdefghij"
    assert not np.shares_memory(again, held)
