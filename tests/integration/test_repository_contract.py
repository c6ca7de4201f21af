"""One behaviour suite for the IngestionRepository port, run on PostgreSQL and on the fake.

The unit tests trust tests/support/fakes.py's InMemoryRepository to record what PostgreSQL
would: each test here runs on both, and reads back what was recorded through a view of each
(the tables; the fake's dict) that shows the same fields the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pyarrow as pa
import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.repository import PostgresIngestionRepository
from csvflow.domain.model import SourceObject
from csvflow.domain.summary import Failure, IngestionRecord, Summary
from tests.support.fakes import InMemoryRepository

KEY = "incoming/d/a.csv"
DIALECT = {"encoding": "cp1252", "delimiter": ";", "header_line": 3, "assumptions": ["…"]}
Recorded = Callable[[], dict[tuple[str, str, str], dict[str, Any]]]


def _record(version: str = "v1") -> IngestionRecord:
    source = SourceObject(
        "bucket", KEY, version, f"etag-{version}", 10, "2026-11-28T10:00:00Z", None
    )
    return IngestionRecord(source, "d", source.ingestion_id, f"arn:aws:states:x:{version}")


def _summary(rows: int = 2, columns: tuple[str, ...] = ("n", "s")) -> Summary:
    return Summary(
        rows=rows,
        rejected_rows=1,
        empty_rows=0,
        columns=[
            {"name": name, "position": position, "type": "string", "count": rows, "nulls": 0}
            for position, name in enumerate(columns, start=1)
        ],
        aggregates={"by_s": pa.table({"s": ["a", "b"], "rows": [1, 1]})},
        group_by={"by_s": ["s"]},
        rejects_report="s3://bucket/reports/x/rejects.csv",
    )


def _from_postgres(url: str) -> Recorded:
    def recorded() -> dict[tuple[str, str, str], dict[str, Any]]:
        conn = psycopg2.connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT i.bucket, i.object_key, i.object_version, i.status, i.dataset,"
                    " i.ingestion_id, i.execution_arn, i.row_count, i.rejected_rows,"
                    " i.empty_rows, i.rejects_report, i.failed_step, i.error_type, i.error_cause,"
                    " i.dialect,"
                    " ARRAY(SELECT name FROM csvflow.column_profiles c"
                    "       WHERE c.ingestion = i.id ORDER BY position),"
                    " ARRAY(SELECT aggregate || ':' || count(*) FROM csvflow.aggregates a"
                    "       WHERE a.ingestion = i.id GROUP BY aggregate ORDER BY aggregate)"
                    " FROM csvflow.ingestions i"
                )
                rows = cur.fetchall()
        finally:
            conn.close()
        return {
            (bucket, key, version): dict(
                zip(
                    _FIELDS,
                    (*outcome, list(columns), dict(_counted(a) for a in aggregates)),
                    strict=True,
                )
            )
            for bucket, key, version, *outcome, columns, aggregates in rows
        }

    return recorded


def _counted(text: str) -> tuple[str, int]:
    name, _, count = text.rpartition(":")
    return name, int(count)


def _from_fake(fake: InMemoryRepository) -> Recorded:
    def recorded() -> dict[tuple[str, str, str], dict[str, Any]]:
        view = {}
        for address, entry in fake.ingestions.items():
            record: IngestionRecord = entry["record"]
            summary: Summary | None = entry.get("summary")
            failure: Failure | None = entry.get("failure")
            view[address] = dict(
                zip(
                    _FIELDS,
                    (
                        entry["status"],
                        record.dataset,
                        record.ingestion_id,
                        record.execution_arn,
                        summary.rows if summary else None,
                        summary.rejected_rows if summary else None,
                        summary.empty_rows if summary else None,
                        (summary or failure).rejects_report if (summary or failure) else None,
                        failure.step if failure else None,
                        failure.error if failure else None,
                        failure.cause if failure else None,
                        (summary or failure).dialect if (summary or failure) else None,
                        [c["name"] for c in summary.columns] if summary else [],
                        {n: t.num_rows for n, t in summary.aggregates.items()} if summary else {},
                    ),
                    strict=True,
                )
            )
        return view

    return recorded


_FIELDS = (
    "status",
    "dataset",
    "ingestion_id",
    "execution_arn",
    "rows",
    "rejected_rows",
    "empty_rows",
    "rejects_report",
    "failed_step",
    "error",
    "cause",
    "dialect",
    "columns",
    "aggregates",
)


@pytest.fixture(params=["postgres", "fake"])
def repository(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Recorded]]:
    if request.param == "fake":
        fake = InMemoryRepository()
        yield fake, _from_fake(fake)
        return
    url = request.getfixturevalue("clean_database")
    postgres = PostgresIngestionRepository(connector(url))
    yield postgres, _from_postgres(url)
    postgres.close()


class TestIngestionRepositoryContract:
    def test_a_summary_is_recorded_as_a_succeeded_ingestion(self, repository):
        store, recorded = repository
        store.save_summary(_record(), _summary())
        assert recorded() == {
            ("bucket", KEY, "v1"): {
                "status": "SUCCEEDED",
                "dataset": "d",
                "ingestion_id": _record().ingestion_id,
                "execution_arn": "arn:aws:states:x:v1",
                "rows": 2,
                "rejected_rows": 1,
                "empty_rows": 0,
                "rejects_report": "s3://bucket/reports/x/rejects.csv",
                "failed_step": None,
                "error": None,
                "cause": None,
                "dialect": None,
                "columns": ["n", "s"],
                "aggregates": {"by_s": 2},
            }
        }

    def test_a_failure_is_recorded_with_its_step_error_cause_and_dialect(self, repository):
        store, recorded = repository
        store.record_failure(
            _record(),
            Failure(
                "validate", "RejectedRowsExceeded", "a.csv: 2 of 3", "s3://bucket/r.csv", DIALECT
            ),
        )
        (only,) = recorded().values()
        assert only == {
            "status": "FAILED",
            "dataset": "d",
            "ingestion_id": _record().ingestion_id,
            "execution_arn": "arn:aws:states:x:v1",
            "rows": None,
            "rejected_rows": None,
            "empty_rows": None,
            "rejects_report": "s3://bucket/r.csv",
            "failed_step": "validate",
            "error": "RejectedRowsExceeded",
            "cause": "a.csv: 2 of 3",
            "dialect": DIALECT,
            "columns": [],
            "aggregates": {},
        }

    def test_saving_the_same_version_again_replaces_it_whole(self, repository):
        store, recorded = repository
        store.save_summary(_record(), _summary(rows=2, columns=("n", "s")))
        store.save_summary(_record(), _summary(rows=3, columns=("x",)))
        (only,) = recorded().values()
        assert (only["rows"], only["columns"]) == (3, ["x"])

    def test_a_failure_after_a_success_of_the_same_version_leaves_no_summary(self, repository):
        # A redriven execution that fails this time: its earlier summary must not linger.
        store, recorded = repository
        store.save_summary(_record(), _summary())
        store.record_failure(_record(), Failure("persist", "DatabaseUnavailable", "down"))
        (only,) = recorded().values()
        assert (only["status"], only["rows"], only["columns"], only["aggregates"]) == (
            "FAILED",
            None,
            [],
            {},
        )
        assert (only["failed_step"], only["rejects_report"]) == ("persist", None)

    def test_a_success_after_a_failure_clears_the_failure(self, repository):
        store, recorded = repository
        store.record_failure(_record(), Failure("validate", "InvalidCsv", "bad"))
        store.save_summary(_record(), _summary())
        (only,) = recorded().values()
        assert (only["status"], only["failed_step"], only["error"], only["cause"]) == (
            "SUCCEEDED",
            None,
            None,
            None,
        )

    def test_each_version_of_a_key_is_its_own_ingestion(self, repository):
        store, recorded = repository
        store.save_summary(_record("v1"), _summary(rows=1))
        store.record_failure(_record("v2"), Failure("validate", "InvalidCsv", "bad"))
        view = recorded()
        assert {address: entry["status"] for address, entry in view.items()} == {
            ("bucket", KEY, "v1"): "SUCCEEDED",
            ("bucket", KEY, "v2"): "FAILED",
        }
