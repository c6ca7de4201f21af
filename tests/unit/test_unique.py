"""``unique`` columns: a key counts once its row is kept, in memory or spilled to disk."""

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from csvflow.domain.unique import UniqueKeys, _KeysInMemory, key_array, key_hashes
from tests.support.csv_helpers import contract, report_rows, validate_bytes

DUPLICATE = "duplicate of an earlier row"
TWO_UNIQUE_COLUMNS = contract(
    """
max_rejected_share: 1
columns:
  - {name: id, type: int, unique: true}
  - {name: code, type: string, unique: true}
  - {name: n, type: int}
"""
)

ids = st.sampled_from(["", "x", "0", "1", "2", "3", "007"])  # "": null, "x": not an int
codes = st.sampled_from(["", "a", "b", "c", "NULL"])
ns = st.sampled_from(["1", "1", "1", "bad"])
rows = st.one_of(st.tuples(ids, codes, ns), st.just(("", "", "")))  # the last: an empty row


def reference(records: list[tuple[str, str, str]]) -> tuple[list[tuple[str, str, str]], list]:
    """Row by row with sets: the rejects (line, column, reason) and the ids kept."""
    seen: dict[str, set[object]] = {"id": set(), "code": set()}
    rejects, kept = [], []
    for line, (id_text, code_text, n_text) in enumerate(records, start=2):
        if (id_text, code_text, n_text) == ("", "", ""):
            continue
        key = {
            "id": None if id_text in ("", "x") else int(id_text),
            "code": None if code_text in ("", "NULL") else code_text,
        }
        found = []
        if id_text == "x":
            found.append((str(line), "id", "not a valid int"))
        for column in ("id", "code"):
            if key[column] is not None and key[column] in seen[column]:
                found.append((str(line), column, DUPLICATE))
        if n_text == "bad":
            found.append((str(line), "n", "not a valid int"))
        # the report lists a line's problems column by column
        order = {"id": 0, "code": 1, "n": 2}
        rejects.extend(sorted(found, key=lambda r: order[r[1]]))
        if not found:
            kept.append(key["id"])
            for column in ("id", "code"):
                if key[column] is not None:
                    seen[column].add(key[column])
    return rejects, kept


@settings(max_examples=150, deadline=None)
@given(
    records=st.lists(rows, max_size=40),
    block_size=st.sampled_from([16, 40, 1 << 20]),
    unique_keys_memory=st.sampled_from([0, 64, 1 << 20]),
)
def test_unique_columns_match_a_row_by_row_reference(records, block_size, unique_keys_memory):
    # Tiny blocks put a key and its repeat in different batches; a memory limit of 0 or
    # 64 bytes sends the keys to disk after the first batch or a few.
    data = b"id,code,n\n" + b"".join(",".join(r).encode() + b"\n" for r in records)
    result = validate_bytes(
        data, TWO_UNIQUE_COLUMNS, block_size=block_size, unique_keys_memory=unique_keys_memory
    )
    expected_rejects, expected_ids = reference(records)
    found = [(r["line"], r["column"], r["reason"]) for r in report_rows(result.report_csv)]
    assert found == expected_rejects
    assert result.table.column("id").to_pylist() == expected_ids


def test_a_row_rejected_for_another_column_leaves_its_key_free():
    # Issue 15: line 2 is rejected for n, yet its id was recorded, so line 3 was rejected
    # as its duplicate and both rows were lost.
    result = validate_bytes(
        b"id,n\n1,bad\n1,5\n",
        contract(
            "max_rejected_share: 1\ncolumns:\n  - {name: id, type: int, unique: true}\n"
            "  - {name: n, type: int}"
        ),
    )
    found = [(r["line"], r["column"], r["reason"]) for r in report_rows(result.report_csv)]
    assert found == [("2", "n", "not a valid int")]
    assert result.table.column("id").to_pylist() == [1]
    assert result.table.column("n").to_pylist() == [5]


def test_a_row_that_repeats_one_unique_column_leaves_its_other_keys_free():
    # Line 3 repeats line 2's code, so its id 2 is never recorded and line 4 is kept; in one
    # batch this needs the second look that the row-by-row order implies.
    data = b"id,code,n\n1,a,1\n2,a,1\n2,b,1\n3,b,1\n"
    result = validate_bytes(data, TWO_UNIQUE_COLUMNS)
    found = [(r["line"], r["column"], r["reason"]) for r in report_rows(result.report_csv)]
    assert found == [("3", "code", DUPLICATE), ("5", "code", DUPLICATE)]
    assert result.table.column("id").to_pylist() == [1, 2]


def test_spilled_keys_answer_as_the_ones_in_memory():
    spec = contract("max_rejected_share: 1\ncolumns: [{name: id, type: string, unique: true}]")
    data = b"id\n" + b"".join(b"k%d\n" % (i % 700) for i in range(2_000))
    in_memory = validate_bytes(data, spec, block_size=256)
    spilled = validate_bytes(data, spec, block_size=256, unique_keys_memory=1_000)
    assert spilled.validator._unique_keys["id"].spilled
    assert not in_memory.validator._unique_keys["id"].spilled
    assert spilled.report_csv == in_memory.report_csv
    assert spilled.table.equals(in_memory.table)
    assert spilled.table.num_rows == 700
    lines = [r["line"] for r in report_rows(spilled.report_csv)]
    assert lines == [str(i + 2) for i in range(700, 2_000)]


def test_keys_of_every_type_compare_by_value():
    spec = contract(
        """
max_rejected_share: 1
columns:
  - {name: d, type: date, unique: true}
  - {name: m, type: decimal, scale: 2, unique: true}
  - {name: f, type: float, unique: true}
"""
    )
    data = (
        b"d,m,f\n2024-01-01,1.50,0.0\n2024-01-02,1.5,1\n2024-01-01,2,-0.0\n"
        b"2024-01-03,3,1e0\n2024-01-04,4,1.0\n"
    )
    found = [
        (r["line"], r["column"], r["reason"])
        for r in report_rows(validate_bytes(data, spec, unique_keys_memory=0).report_csv)
    ]
    assert found == [
        ("3", "m", DUPLICATE),
        ("4", "d", DUPLICATE),
        ("4", "f", DUPLICATE),
        ("6", "f", DUPLICATE),  # not line 5: line 3, whose f it repeats, was rejected
    ]


def test_keys_whose_hashes_collide_are_told_apart_by_value():
    store = _KeysInMemory(pa.string())
    same_hash = np.zeros(3, np.uint64)
    store.add(pa.array(["a", "b", "c"]), same_hash)
    probe = pa.array(["c", "d", "a"])
    assert store.contains(probe, np.zeros(3, np.uint64)).tolist() == [True, False, True]


def test_text_hashes_depend_on_every_byte_and_the_length():
    keys = key_array(pa.array(["", "a", "ab", "ba", "a\x00", "abc" * 100, "abc" * 100 + "d"]))
    hashes = key_hashes(keys)
    assert len(set(hashes.tolist())) == len(keys)
    assert key_hashes(keys.slice(2, 2)).tolist() == hashes[2:4].tolist()


def test_unique_keys_spill_past_their_memory_limit_and_stay_exact():
    keys = UniqueKeys(pa.int64(), memory_limit=100)
    first = pa.array(np.arange(10, dtype=np.int64))
    keys.add(first, key_hashes(first))
    assert keys.spilled
    probe = pa.array([3, 10, 9, -1], pa.int64())
    assert keys.contains(probe, key_hashes(probe)).tolist() == [True, False, True, False]
    keys.close()
