"""Handlers through bootstrap() with in-memory fakes: the workflow's steps, no AWS."""

import json

import pyarrow.parquet as pq
import pytest

from csvflow.bootstrap import bootstrap
from csvflow.commands import (
    PersistSummary,
    RecordFailure,
    StartIngestion,
    SummarizeDataset,
    ValidateCsv,
)
from csvflow.config import Settings
from csvflow.domain.model import ObjectRef, SourceObject
from csvflow.exceptions import (
    ConfigurationError,
    InvalidCsv,
    RejectedRowsExceeded,
    SourceObjectMissing,
)
from tests.support.fakes import InMemoryObjectStore, InMemoryRepository, InMemoryStarter

BUCKET = "data"
CONTRACT = b"""
max_rejected_share: 0.5
columns:
  - {name: id, type: int, unique: true}
  - {name: amount, type: float}
aggregates:
  - {name: by_region, group_by: [region], metrics: [{column: amount, op: sum}]}
"""


@pytest.fixture
def world():
    store, repository, starter = InMemoryObjectStore(), InMemoryRepository(), InMemoryStarter()
    handle = bootstrap(settings=Settings(), store=store, repository=repository, starter=starter)
    return handle, store, repository, starter


def upload(store, key: str, data: bytes) -> SourceObject:
    store.put(BUCKET, key, data)
    return SourceObject(bucket=BUCKET, key=key, version_id="v1", etag="e1")


def run_steps(handle, source: SourceObject, dataset: str):
    payload = {"source": source.to_dict(), "dataset": dataset, "ingestion_id": source.ingestion_id}
    validation = handle(ValidateCsv.from_event(payload))
    summary = handle(SummarizeDataset.from_event(payload | {"validation": validation}))
    persisted = handle(
        PersistSummary.from_event(
            payload | {"validation": validation, "summary": summary, "execution_arn": "arn:x"}
        )
    )
    return validation, summary, persisted


def test_validate_summarize_persist(world):
    handle, store, repository, _ = world
    store.put(BUCKET, "contracts/sales.yaml", CONTRACT)
    source = upload(
        store,
        "incoming/sales/a.csv",
        b"id,region,amount\n1,north,1.5\n2,north,2\n3,south,x\n4,south,4\n",
    )
    validation, summary, persisted = run_steps(handle, source, "sales")
    assert (validation["rows"], validation["rejected_rows"]) == (3, 1)
    report = store.objects[(BUCKET, validation["rejects_report"]["key"])].decode()
    assert "4,amount,x,not a valid float" in report
    assert persisted["status"] == "SUCCEEDED"
    saved = repository.ingestions[(BUCKET, "incoming/sales/a.csv", "v1")]
    assert saved["status"] == "SUCCEEDED"
    assert saved["summary"].rows == 3
    assert [c["name"] for c in saved["summary"].columns] == ["id", "region", "amount"]
    groups = saved["summary"].aggregates["by_region"].to_pylist()
    assert groups == [
        {"region": "north", "sum_amount": 3.5},
        {"region": "south", "sum_amount": 4.0},
    ]


def test_intermediates_are_parquet_in_the_work_prefix(world, tmp_path):
    handle, store, _, _ = world
    source = upload(store, "incoming/a.csv", b"id,when\n1,2024-01-01\n")
    validation, summary, _ = run_steps(handle, source, "default")
    assert validation["validated"]["key"] == f"work/{source.ingestion_id}/validated.parquet"
    path = tmp_path / "v.parquet"
    path.write_bytes(store.objects[(BUCKET, validation["validated"]["key"])])
    assert str(pq.read_schema(path).field("when").type) == "date32[day]"
    assert summary["columns"]["key"].startswith(f"work/{source.ingestion_id}/summary/")


def test_invalid_file_raises_the_class_the_asl_catches(world):
    handle, store, _, _ = world
    source = upload(store, "incoming/a.csv", b"")
    with pytest.raises(InvalidCsv, match="incoming/a.csv: the file is empty"):
        handle(ValidateCsv(source=source, dataset="default", ingestion_id="x"))


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(world):
    handle, _, _, _ = world  # the object is not in the store: reading it would fail otherwise
    source = SourceObject(
        bucket=BUCKET, key="incoming/big.csv", version_id="v", etag=None, size=11 << 30
    )
    with pytest.raises(
        InvalidCsv,
        match=r"big.csv: the file is 11,811,160,064 bytes, more than the limit of 10,737,418,240 \(CSVFLOW_MAX_FILE_BYTES\)",
    ):
        handle(ValidateCsv(source=source, dataset="default", ingestion_id="x"))


def test_missing_object_is_permanent(world):
    handle, _, _, _ = world
    source = SourceObject(bucket=BUCKET, key="incoming/gone.csv", version_id="v", etag=None)
    with pytest.raises(SourceObjectMissing):
        handle(ValidateCsv(source=source, dataset="default", ingestion_id="x"))


def test_record_failure_keeps_step_error_and_message(world):
    handle, store, repository, _ = world
    source = upload(store, "incoming/a.csv", b"")
    command = RecordFailure.from_event(
        {
            "source": source.to_dict(),
            "dataset": "default",
            "ingestion_id": source.ingestion_id,
            "failure": {
                "validate": {
                    "Error": "InvalidCsv",
                    "Cause": '{"errorType": "InvalidCsv", "errorMessage": "a.csv: the file is empty"}',
                }
            },
        }
    )
    result = handle(command)
    assert result == {
        "ingestion_id": source.ingestion_id,
        "status": "FAILED",
        "error": "InvalidCsv",
        "cause": "a.csv: the file is empty",
    }
    failure = repository.ingestions[(BUCKET, "incoming/a.csv", "v1")]["failure"]
    assert (failure.step, failure.error) == ("validate", "InvalidCsv")
    assert failure.rejects_report is None
    assert failure.dialect is None  # the validate step never detected one


def test_a_file_with_too_many_rejects_is_recorded_with_its_report(world):
    handle, store, repository, _ = world
    # One row of two rejected: far more than the 1 % a file without a contract may have.
    source = upload(store, "incoming/ragged.csv", b"a,b\n1,2\n3\n")
    with pytest.raises(RejectedRowsExceeded) as raised:
        handle(ValidateCsv(source=source, dataset="default", ingestion_id=source.ingestion_id))
    command = RecordFailure.from_event(
        {
            "source": source.to_dict(),
            "dataset": "default",
            "ingestion_id": source.ingestion_id,
            "failure": {
                "validate": {
                    "Error": "RejectedRowsExceeded",
                    "Cause": json.dumps(
                        {"errorType": "RejectedRowsExceeded", "errorMessage": str(raised.value)}
                    ),
                }
            },
        }
    )

    report_key = f"reports/{source.ingestion_id}/rejects.csv"
    assert (BUCKET, report_key) not in store.objects  # not before the failure is recorded
    handle(command)

    failure = repository.ingestions[(BUCKET, "incoming/ragged.csv", "v1")]["failure"]
    report = f"s3://{BUCKET}/{report_key}"
    assert failure.rejects_report == report
    assert report in str(raised.value)  # the report validate wrote, not a guess
    assert store.objects[(BUCKET, report_key)].decode().splitlines()[1].startswith("3,")
    assert (failure.dialect["delimiter"], failure.dialect["columns"]) == (",", 2)


def test_a_repeated_event_starts_one_execution(world):
    handle, _, _, starter = world
    source = SourceObject(bucket=BUCKET, key="incoming/a.csv", version_id="v1", etag="e")
    first = handle(StartIngestion(source=source, dataset="default"))
    second = handle(StartIngestion(source=source, dataset="default"))
    assert first["started"] and not second["started"]
    assert list(starter.executions) == [source.ingestion_id]
    newer = SourceObject(bucket=BUCKET, key="incoming/a.csv", version_id="v2", etag="f")
    assert handle(StartIngestion(source=newer, dataset="default"))["started"]
    assert len(starter.executions) == 2


def test_a_handler_without_its_dependency_fails_clearly():
    handle = bootstrap(settings=Settings())
    source = SourceObject(bucket=BUCKET, key="k", version_id=None, etag=None)
    with pytest.raises(ConfigurationError, match="start_ingestion needs starter"):
        handle(StartIngestion(source=source, dataset="d"))


def test_validated_refs_round_trip():
    ref = ObjectRef("b", "k", "v")
    assert ObjectRef.from_dict(ref.to_dict()) == ref


def test_the_validate_result_carries_the_dialect_and_persist_records_it(world):
    handle, store, repository, _ = world
    source = upload(store, "incoming/d/export.csv", b"Export of 2024\n\n,x\n0,a\n1,b\n")

    validation, _, _ = run_steps(handle, source, "d")

    dialect = validation["dialect"]
    assert (dialect["header_line"], dialect["data_line"]) == (3, 4)
    assert dialect["assumptions"] == [
        "lines 1-2 above the table are a preamble (titles, notes or metadata), not rows",
        "column 1's name is blank: named column_1",
    ]
    (saved,) = repository.ingestions.values()
    assert saved["summary"].dialect == dialect


def test_a_whole_files_parquet_is_written_a_row_group_per_batch(world, tmp_path):
    """The single pass holds no batches back to gather big row groups (a split file's parts
    do, for the merge's reads: docs/adr/0031): its memory stays one batch in the writer."""
    _, store, repository, starter = world
    # Blocks of 256 KiB: the file's 2.4 MB reach the writer as several batches.
    settings = Settings(max_line_bytes=256 << 10)
    handle = bootstrap(settings=settings, store=store, repository=repository, starter=starter)
    rows = b"".join(b"%d,%d.5\n" % (i, i) for i in range(200_000))
    source = upload(store, "incoming/many.csv", b"id,amount\n" + rows)
    validation, _, _ = run_steps(handle, source, "default")
    path = tmp_path / "v.parquet"
    path.write_bytes(store.objects[(BUCKET, validation["validated"]["key"])])
    metadata = pq.read_metadata(path)
    assert metadata.num_rows == 200_000
    assert metadata.num_row_groups > 1, "the batches were gathered into one row group"
