"""The split path's handlers with in-memory fakes: plan, parts, merge, without the state machine."""

import json
import random
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import csvflow.split_path
from csvflow.bootstrap import bootstrap
from csvflow.commands import MergeParts, PlanParts, ValidatePart
from csvflow.config import Settings
from csvflow.domain.model import SourceObject
from csvflow.exceptions import InvalidContract, PlanFromNewerRelease
from csvflow.split_path import KEYS_IN_MEMORY, key_buckets
from tests.support.fakes import InMemoryObjectStore, pending_report

BUCKET = "data"


@pytest.fixture
def world():
    store = InMemoryObjectStore()
    return bootstrap(settings=Settings(), store=store), store


def _plan(handle, store, data: bytes, part_bytes: int):
    store.put(BUCKET, "incoming/t/file.csv", data)
    source = SourceObject(BUCKET, "incoming/t/file.csv", "v1", "e1", size=len(data))
    payload = {"source": source.to_dict(), "dataset": "t", "ingestion_id": "file-1"}
    plan = handle(PlanParts.from_event(payload | {"split": {"part_bytes": part_bytes}}))
    return payload, plan


def _parts(store, plan) -> list[dict]:
    return json.loads(store.objects[(BUCKET, plan["parts"]["key"])])


def test_a_part_that_finished_answers_from_its_record_without_reading_again(world):
    handle, store = world
    data = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(400))
    payload, plan = _plan(handle, store, data, part_bytes=1000)
    assert plan["path"] == "parts" and plan["count"] >= 4
    first = _parts(store, plan)[1]
    answer = handle(ValidatePart.from_event(payload | {"part": first}))
    del store.objects[(BUCKET, "incoming/t/file.csv")]  # a second reading would fail now
    assert handle(ValidatePart.from_event(payload | {"part": first})) == answer


def test_a_file_the_parts_cannot_read_exactly_takes_the_single_path(world):
    handle, store = world
    data = ("id,name\n" + "".join(f"{i},näme {i}\n" for i in range(400))).encode("utf-16")
    _, plan = _plan(handle, store, data, part_bytes=1000)
    assert plan["path"] == "single" and "utf-16" in plan["reason"]


def test_the_merge_totals_the_parts_and_numbers_rejects_by_the_files_lines(world):
    handle, store = world
    rows = [f"{i},{'x' if i % 100 == 7 else i * 2}" for i in range(300)]
    data = ("id,n\n" + "\n".join(rows) + "\n").encode()
    store.put(
        BUCKET, "contracts/t.yaml", b"columns: [{name: n, type: int}]\nmax_rejected_share: 0.1\n"
    )
    payload, plan = _plan(handle, store, data, part_bytes=500)
    for part in _parts(store, plan):
        handle(ValidatePart.from_event(payload | {"part": part}))
    merged = handle(MergeParts.from_event(payload))
    assert merged["reread"] is None
    validation = merged["validation"]
    # Row i is on line i + 2; its "n" is not a number where i % 100 == 7.
    assert (validation["rows"], validation["rejected_rows"]) == (297, 3)
    report = pending_report(store, validation["rejects_report"])
    assert [int(line.split(",")[0]) for line in report.splitlines()[1:]] == [
        i + 2 for i in range(300) if i % 100 == 7
    ]
    assert merged["summary"]["parts"] == plan["count"] and merged["summary"]["rows"] == 297


def test_a_part_that_cannot_start_records_the_files_failure_for_the_merge(world):
    handle, store = world
    data = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(400))
    payload, plan = _plan(handle, store, data, part_bytes=1000)
    store.put(BUCKET, "contracts/t.yaml", b"columns: [{name: id, type: nonsense}]\n")
    for part in _parts(store, plan):
        answer = handle(ValidatePart.from_event(payload | {"part": part}))
        assert answer["error"] == "InvalidContract"
    with pytest.raises(InvalidContract, match="nonsense"):
        handle(MergeParts.from_event(payload))


def test_a_file_past_one_validates_limit_is_split_not_refused():
    # CSVFLOW_MAX_FILE_BYTES bounds what one validate stages in /tmp; a part stages its own.
    store = InMemoryObjectStore()
    handle = bootstrap(settings=Settings(max_file_bytes=2_000), store=store)
    data = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(400))
    payload, plan = _plan(handle, store, data, part_bytes=1000)
    assert plan["path"] == "parts"
    for part in _parts(store, plan):
        handle(ValidatePart.from_event(payload | {"part": part}))
    assert handle(MergeParts.from_event(payload))["validation"]["rows"] == 400


class _ReadsRecorded(InMemoryObjectStore):
    """The fake, noting how the upload's bytes are read: each call and what it asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[str, int]] = []

    def _note(self, ref, kind: str, figure: int) -> None:
        if ref.key.startswith("incoming/"):
            self.reads.append((kind, figure))

    def read_head(self, ref, size):
        self._note(ref, "head", size)
        return super().read_head(ref, size)

    def read_tail(self, ref, size):
        self._note(ref, "tail", size)
        return super().read_tail(ref, size)

    def open(self, ref, start=0):
        self._note(ref, "stream", start)
        return super().open(ref, start)


def test_the_plan_settles_types_from_a_ranged_read_as_one_pass_settles_them():
    # Blocks of 256 bytes: the date cut at the first block's end would be read as text if
    # that block were taken for the table's last.
    store = _ReadsRecorded()
    settings = Settings(max_line_bytes=256)
    handle = bootstrap(settings=settings, store=store)
    rows = b"".join(b"%d,2020-01-%02d\n" % (i, i % 28 + 1) for i in range(10, 99))
    assert rows[250:256] == b"8\n28,2"  # the first block ends inside a date
    data = b"id,day\n" + rows
    payload, plan = _plan(handle, store, data, part_bytes=500)
    assert plan["path"] == "parts"
    # The detection's head, then the types' head: the header's bytes and two blocks, no GET
    # of the whole object.
    assert store.reads[1:] == [("head", len(b"id,day\n") + 2 * 256)]
    columns = json.loads(store.objects[(BUCKET, "work/file-1/plan.json")])["columns"]
    assert [c["type"] for c in columns] == ["int", "date"]


def test_a_part_reads_its_range_only_with_the_plans_dialect():
    store = _ReadsRecorded()
    handle = bootstrap(settings=Settings(), store=store)
    data = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(400))
    payload, plan = _plan(handle, store, data, part_bytes=1000)
    part = _parts(store, plan)[2]
    store.reads.clear()
    handle(ValidatePart.from_event(payload | {"part": part}))
    assert store.reads == [("stream", part["start"])]


def _split_outcome(handle, store, data: bytes) -> tuple[dict, list[list[int]]]:
    """Plan, parts and merges until the merge has no part to read again: its validation,
    and which parts each merge asked to read again."""
    payload, plan = _plan(handle, store, data, part_bytes=400)
    items, asked = _parts(store, plan), []
    while True:
        for item in items:
            handle(ValidatePart.from_event(payload | {"part": item}))
        merged = handle(MergeParts.from_event(payload))
        if merged["reread"] is None:
            return merged["validation"], asked
        items = json.loads(store.objects[(BUCKET, merged["reread"]["parts"]["key"])])
        asked.append([item["index"] for item in items])


@pytest.mark.parametrize("keys_in_memory", [5, 1_000_000])
def test_unique_keys_repeated_across_parts_are_found_however_many_buckets_they_take(
    monkeypatch, keys_in_memory
):
    # 5 keys in memory: 300 rows' keys in 60 hash buckets, compared one bucket at a time.
    monkeypatch.setattr(csvflow.split_path, "KEYS_IN_MEMORY", keys_in_memory)
    store = InMemoryObjectStore()
    handle = bootstrap(settings=Settings(), store=store)
    store.put(
        BUCKET,
        "contracts/t.yaml",
        b"columns: [{name: id, type: int, unique: true}, {name: code, type: string, unique: true}]"
        b"\nmax_rejected_share: 0.5\n",
    )
    ids = list(range(300))
    ids[250] = 7  # a late part repeats the first part's id 7
    codes = [f"c{i}" for i in range(300)]
    codes[180] = "c40"  # and a middle part an earlier code
    data = ("id,code\n" + "".join(f"{i},{c}\n" for i, c in zip(ids, codes, strict=True))).encode()
    validation, asked = _split_outcome(handle, store, data)
    assert len(asked) == 1 and len(asked[0]) == 2  # the two parts, read again once
    assert (validation["rows"], validation["rejected_rows"]) == (298, 2)
    report = pending_report(store, validation["rejects_report"])
    assert [int(line.split(",")[0]) for line in report.splitlines()[1:]] == [182, 252]


def test_the_merge_spreads_keys_over_buckets_by_how_many_parts_kept():
    assert key_buckets(0) == key_buckets(KEYS_IN_MEMORY) == 1
    assert key_buckets(KEYS_IN_MEMORY + 1) == 2
    assert key_buckets(1_400_000_000) == 175  # 100 GB of 70-byte rows, each with its key


def test_a_part_of_a_plan_without_its_exact_dialect_detects_it_again(world):
    # A redrive after an upgrade: the plan was written by the release before plans kept the
    # dialect exactly; the part reads as it did then, and answers as a new plan's part does.
    handle, store = world
    data = b"id;name\n" + b"".join(b"%d;name %d\n" % (i, i) for i in range(400))
    payload, plan = _plan(handle, store, data, part_bytes=1000)
    part = _parts(store, plan)[2]
    answer = handle(ValidatePart.from_event(payload | {"part": part}))
    plan_key = (BUCKET, "work/file-1/plan.json")
    older = json.loads(store.objects[plan_key])
    del older["dialect_fields"]
    store.objects[plan_key] = json.dumps(older).encode()
    del store.objects[(BUCKET, "work/file-1/parts/00002/result.json")]
    assert handle(ValidatePart.from_event(payload | {"part": part})) == answer


def _plan_from_a_newer_release(store, **new_fields) -> None:
    """The plan as a newer release would write it: its dialect with fields this one lacks."""
    plan_key = (BUCKET, "work/file-1/plan.json")
    newer = json.loads(store.objects[plan_key])
    newer["dialect_fields"] |= new_fields
    store.objects[plan_key] = json.dumps(newer).encode()
    store.objects.pop((BUCKET, "work/file-1/parts/00002/result.json"), None)


def test_a_part_and_the_merge_read_a_newer_plan_whose_new_fields_change_nothing(world):
    # A rollback while the execution runs: the newer release's fields at their neutral values
    # read the file as this release does, so the parts and the merge carry on.
    handle, store = world
    data = b"id;name\n" + b"".join(b"%d;name %d\n" % (i, i) for i in range(400))
    payload, plan = _plan(handle, store, data, part_bytes=1000)
    parts = _parts(store, plan)
    answer = handle(ValidatePart.from_event(payload | {"part": parts[2]}))
    _plan_from_a_newer_release(store, comment_prefix="", strip_bom_twice=False, max_nesting=None)
    assert handle(ValidatePart.from_event(payload | {"part": parts[2]})) == answer
    for part in parts:
        handle(ValidatePart.from_event(payload | {"part": part}))
    assert handle(MergeParts.from_event(payload))["validation"]["rows"] == 400


def test_a_newer_plan_that_reads_the_file_otherwise_stops_the_part_for_a_redrive(world):
    # Ignoring a setting the newer release applies would misread the file: the part raises a
    # named error the ASL neither retries nor catches (the map fails, to be redriven once that
    # release is back), and records nothing as the file's failure.
    handle, store = world
    data = b"id;name\n" + b"".join(b"%d;name %d\n" % (i, i) for i in range(400))
    payload, plan = _plan(handle, store, data, part_bytes=1000)
    part = _parts(store, plan)[2]
    _plan_from_a_newer_release(store, comment_prefix="#")
    with pytest.raises(PlanFromNewerRelease, match=r"comment_prefix='#'"):
        handle(ValidatePart.from_event(payload | {"part": part}))
    assert (BUCKET, "work/file-1/parts/00002/result.json") not in store.objects


class _ParquetBytesServed(InMemoryObjectStore):
    """The fake, counting the bytes of the parts' Parquet it serves, however asked."""

    def __init__(self) -> None:
        super().__init__()
        self.served = 0

    def _count(self, ref, data: bytes) -> bytes:
        if ref.key.endswith("/validated.parquet"):
            self.served += len(data)
        return data

    def read_tail(self, ref, size):
        data, total = super().read_tail(ref, size)
        return self._count(ref, data), total

    def read_range(self, ref, start, end):
        return self._count(ref, super().read_range(ref, start, end))

    def download_file(self, ref, path):
        super().download_file(ref, path)
        self._count(ref, path.read_bytes())


def _whole_parquet_downloaded(store, ref, columns):
    """How the merge read the keys before: the whole part downloaded, then its columns."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "validated.parquet")
        store.download_file(ref, path)
        return pq.read_table(path, columns=columns)


def test_the_merge_reads_only_the_unique_columns_of_the_parts_and_finds_the_same_repeats(
    monkeypatch,
):
    # Parts whose Parquet is well past the footer's first read (64 KiB): notes of random hex.
    rng = random.Random(5)
    rows = [f"{i},{i % 13},{rng.getrandbits(160):040x},{i * 0.25}" for i in range(24_000)]
    rows[21_000] = "7,1,a late repeat of id 7,1.0"
    data = ("id,shop,note,amount\n" + "\n".join(rows) + "\n").encode()
    outcomes, served = [], []
    for read in (csvflow.split_path.read_parquet_columns, _whole_parquet_downloaded):
        monkeypatch.setattr(csvflow.split_path, "read_parquet_columns", read)
        store = _ParquetBytesServed()
        handle = bootstrap(settings=Settings(), store=store)
        store.put(
            BUCKET,
            "contracts/t.yaml",
            b"columns: [{name: id, type: int, unique: true}]\nmax_rejected_share: 0.5\n",
        )
        payload, plan = _plan(handle, store, data, part_bytes=300_000)
        for part in _parts(store, plan):
            handle(ValidatePart.from_event(payload | {"part": part}))
        store.served = 0
        merged = handle(MergeParts.from_event(payload))
        served.append(store.served)
        outcomes.append((merged["reread"], plan["count"]))
    (reread, count), whole = outcomes
    assert count >= 4 and reread is not None and reread["why"] == "unique keys"
    assert (reread, count) == whole  # the same part named, with the same keys' object
    assert 0 < served[0] < served[1] / 2, served
