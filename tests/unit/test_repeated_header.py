"""A file made of two CSVs joined (``cat a.csv b.csv``, an export appended to) has its header
again inside the table: read as one table whose header repeats, each repeat set aside, counted
and recorded, in the head and anywhere past it, on the single and the split path alike
(docs/adr/0013)."""

import json

import pytest

from csvflow.bootstrap import bootstrap
from csvflow.commands import MergeParts, PlanParts, ValidateCsv, ValidatePart
from csvflow.config import Settings
from csvflow.domain.dialect import HEAD_BYTES, detect_dialect
from csvflow.domain.model import SourceObject
from tests.support.csv_helpers import contract, report_rows, validate_bytes
from tests.support.dialect_corpus import corpus
from tests.support.fakes import InMemoryObjectStore, pending_report

HEADER = b"id,name,amount,day\n"
FIRST = b"1,alice,10.5,2024-01-01\n2,bob,11.5,2024-01-02\n3,carol,9.25,2024-01-03\n"
SECOND = b"4,dave,1.5,2024-02-01\n5,erin,2.5,2024-02-02\n6,frank,3.5,2024-02-03\n"


def detect(data: bytes, **kwargs):
    return detect_dialect(data, file="joined.csv", **kwargs)


@pytest.mark.parametrize(
    ("between", "line"), [(b"", 5), (b"\n", 6), (b"\n\n", 7)], ids=["joined", "blank", "blanks"]
)
def test_two_files_joined_are_one_table_whose_header_repeats(between, line):
    data = HEADER + FIRST + between + HEADER + SECOND

    dialect = detect(data)
    result = validate_bytes(data)

    assert (dialect.has_header, dialect.header) == (True, ("id", "name", "amount", "day"))
    assert (dialect.header_repeats, dialect.header_repeat_lines) == (1, (line,))
    assert f"line {line} repeats the header: set aside, not a row" in dialect.assumptions[-1]
    assert dialect.end_byte is None  # not a second table: the rows below it are read
    assert result.table.column("id").to_pylist() == [1, 2, 3, 4, 5, 6]  # ints: no "id" among them
    assert (result.outcome.rejected_rows, result.outcome.header_repeats) == (0, 1)
    assert result.outcome.header_repeat_lines == [line]


def test_the_repeat_may_open_with_its_own_byte_order_mark_and_spaces():
    data = b"\xef\xbb\xbf" + HEADER + FIRST + b"\xef\xbb\xbfid, name ,amount,day\r\n" + SECOND

    result = validate_bytes(data)

    assert result.validator.dialect.header == ("id", "name", "amount", "day")
    assert (result.outcome.rows, result.outcome.rejected_rows) == (6, 0)
    assert result.outcome.header_repeat_lines == [5]


def test_a_repeat_past_the_head_is_set_aside_in_the_pass_and_recorded():
    lines = [b"%d,name %d,%d.5,2024-01-%02d\n" % (i, i, i, i % 28 + 1) for i in range(60_000)]
    rows = b"".join(lines)
    assert len(HEADER + rows) > HEAD_BYTES
    data = HEADER + rows + b"\n" + HEADER + b"".join(lines[:10]) + HEADER  # the last line too
    last = 1 + 60_000 + 1 + 1 + 10 + 1

    result = validate_bytes(data)
    dialect = result.validator.dialect

    assert dialect.header_repeats == 0  # detection saw only the head
    assert (result.outcome.rejected_rows, result.outcome.header_repeats) == (0, 2)
    assert result.outcome.header_repeat_lines == [60_003, last]
    read = result.validator.dialect_read
    assert (read.header_repeats, read.header_repeat_lines) == (2, (60_003, last))
    assert f"2 lines repeat the header (lines 60003, {last})" in read.assumptions[-1]
    assert read.to_dict()["header_repeats"] == {"count": 2, "lines": [60_003, last]}


def test_the_recorded_lines_are_the_first_five_and_the_count_all_of_them():
    data = HEADER + (FIRST + HEADER) * 7 + SECOND

    dialect = validate_bytes(data).validator.dialect_read

    assert dialect.header_repeats == 7
    assert dialect.header_repeat_lines == (5, 9, 13, 17, 21)
    assert "7 lines repeat the header (lines 5, 9, 13, 17, 21, ...)" in dialect.assumptions[-1]


def test_a_contract_requiring_the_header_rejects_each_repeat_with_one_reason():
    required = contract("header: required\nmax_rejected_share: 0.5\n")
    data = HEADER + FIRST + b"\n" + HEADER + SECOND

    result = validate_bytes(data, required)

    assert (result.outcome.rows, result.outcome.rejected_rows) == (6, 1)
    assert result.outcome.header_repeats == 0
    (reject,) = report_rows(result.report_csv)
    assert (reject["line"], reject["value"]) == ("6", "id")
    assert reject["reason"].startswith("the header again")
    assert result.table.column("id").to_pylist() == [1, 2, 3, 4, 5, 6]
    assert "repeats the header" not in " ".join(result.validator.dialect_read.assumptions)


def test_a_repeated_name_renamed_is_still_the_header_as_the_file_writes_it():
    header = b"id,,amount,amount\n"
    rows = b"1,x,1.5,2\n2,y,2.5,3\n3,z,3.5,4\n"
    data = header + rows + header + rows

    result = validate_bytes(data)

    assert result.validator.dialect.header == ("id", "column_2", "amount", "amount_2")
    assert (result.outcome.rows, result.outcome.header_repeats) == (6, 1)


# --- guards: a first row standing again below is not always a header --------------------


def test_a_data_rows_duplicate_keeps_a_headerless_file_headerless():
    data = b"1,alice,10.5\n2,bob,11.5\n1,alice,10.5\n3,carol,9.25\n"

    dialect = detect(data)

    assert not dialect.has_header and dialect.header_repeats == 0
    assert validate_bytes(data, default_rejected_rows=0).outcome.rows == 4


def test_text_rows_duplicated_stay_data_without_typed_columns_to_tell():
    # No column of values to stand the first row out as names: its repeat is a duplicate row.
    data = b"red,apple\nred,apple\ngreen,pear\nyellow,banana\n"

    assert not detect(data).has_header


def test_a_header_absent_contract_reads_the_repeated_line_as_a_row():
    data = HEADER + FIRST + HEADER + SECOND
    absent = contract("header: absent\n")

    result = validate_bytes(data, absent, default_rejected_rows=5)

    assert result.outcome.header_repeats == 0
    assert result.table.num_rows == 8


# --- the judge of the dialect corpus --------------------------------------------------------


def test_a_reading_that_keeps_the_repeated_header_as_a_row_is_a_misread():
    (joined,) = [e for e in corpus.load_expected() if "header-repeated" in e.kinds][:1]
    width, rows = joined.width, joined.rows - joined.header_repeats

    def outcome(kept):
        return corpus.classify(joined, corpus.Reading(width=width, rows=kept)).outcome

    assert outcome(rows) is corpus.Outcome.RIGHT
    assert outcome(rows + 1) is corpus.Outcome.MISREAD


# --- the split path: parts meet repeats too, and merge to one pass's answer -----------------

BUCKET = "data"


def _joined_file() -> bytes:
    rows = [f"{i},name {i},{i}.25,2024-03-{i % 28 + 1:02d}\n" for i in range(1, 401)]
    out = [HEADER.decode()]
    for i, row in enumerate(rows, start=1):
        out.append(row)
        if i % 90 == 0:  # an export appended to, now and then after a blank line
            out.append("\n" if i % 180 == 0 else "")
            out.append(HEADER.decode())
    out.append("x,bad,1,2024-01-01\n")  # one row to reject, for the report's lines
    return "".join(out).encode()


@pytest.mark.parametrize("required", [False, True], ids=["auto", "header-required"])
def test_split_parts_set_repeats_aside_as_one_pass_does(required):
    declared = b"columns: [{name: id, type: int}]\nmax_rejected_share: 0.1\n"
    contract_yaml = declared + (b"header: required\n" if required else b"")
    store, one, plan, merged = _one_pass_and_parts(_joined_file(), 700, contract_yaml)
    assert plan["count"] >= 10

    _same_as_one_pass(store, one, merged)
    repeats = one["dialect"]["header_repeats"]
    if required:
        assert repeats["count"] == 0 and (one["rows"], one["rejected_rows"]) == (400, 5)
    else:
        assert repeats == {"count": 4, "lines": [92, 184, 275, 367]}
        assert (one["rows"], one["rejected_rows"]) == (400, 1)


def test_split_parts_count_repeats_past_the_head_the_plan_never_saw():
    lines = [b"%d,name %d,%d.5,2024-01-%02d\n" % (i, i, i, i % 28 + 1) for i in range(70_000)]
    data = HEADER + b"".join(lines[:50_000]) + HEADER + b"".join(lines[50_000:]) + HEADER
    assert data.index(HEADER, 1) > HEAD_BYTES
    store, one, plan, merged = _one_pass_and_parts(data, 400_000)
    assert plan["count"] >= 4
    assert json.loads(store.objects[(BUCKET, "work/parts/plan.json")])["dialect"][
        "header_repeats"
    ] == {"count": 0, "lines": []}

    assert one["dialect"]["header_repeats"] == {"count": 2, "lines": [50_002, 70_003]}
    assert (one["rows"], one["rejected_rows"]) == (70_000, 0)
    _same_as_one_pass(store, one, merged)


def _one_pass_and_parts(
    data: bytes, part_bytes: int, contract_yaml: bytes | None = None
) -> tuple[InMemoryObjectStore, dict, dict, dict]:
    """The file validated in one pass, and planned, split and merged: the store, one pass's
    validation, the plan and the merged validation."""
    store = InMemoryObjectStore()
    handle = bootstrap(settings=Settings(), store=store)
    if contract_yaml is not None:
        store.put(BUCKET, "contracts/t.yaml", contract_yaml)
    store.put(BUCKET, "incoming/t/file.csv", data)
    source = SourceObject(BUCKET, "incoming/t/file.csv", "v1", "e1", size=len(data))
    payload = {"source": source.to_dict(), "dataset": "t", "ingestion_id": "one"}
    one = handle(ValidateCsv.from_event(payload))
    payload = payload | {"ingestion_id": "parts"}
    plan = handle(PlanParts.from_event(payload | {"split": {"part_bytes": part_bytes}}))
    assert plan["path"] == "parts", plan
    for part in json.loads(store.objects[(BUCKET, plan["parts"]["key"])]):
        handle(ValidatePart.from_event(payload | {"part": part}))
    merged = handle(MergeParts.from_event(payload))["validation"]
    return store, one, plan, merged


def _same_as_one_pass(store, one: dict, merged: dict) -> None:
    assert (merged["rows"], merged["rejected_rows"]) == (one["rows"], one["rejected_rows"])
    assert {k: v for k, v in merged["dialect"].items() if k != "split"} == one["dialect"]

    def report(result):
        if result["rejects_report"] is None:
            return []
        return pending_report(store, result["rejects_report"]).splitlines()

    assert sorted(report(merged)[1:]) == sorted(report(one)[1:])
