"""The command side: ingestions, their column profiles and aggregates, one transaction per file."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg2.extras
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from csvflow.adapters.postgres.connection import transaction
from csvflow.adapters.postgres.profile_columns import JSONB_COLUMNS, PROFILE_COLUMNS, identifiers
from csvflow.domain import exact_json
from csvflow.domain.profile_fields import PROFILE_FIELDS
from csvflow.exceptions import DatabaseUnavailable

if TYPE_CHECKING:  # the summary types bring pyarrow, which the migration function lacks
    from csvflow.domain.summary import Failure, IngestionRecord, Summary


class PostgresIngestionRepository:
    """Records ingestions and summaries; one transaction per file, replays replace."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        *,
        statement_timeout_seconds: int = 60,
    ) -> None:
        # The schema is the migration step's (PostgresSchemaMigrator): the application's
        # role may not create it, and a deploy, not the first file, should find it wrong.
        self._connect = connect
        self._statement_timeout = f"{statement_timeout_seconds}s"
        self._conn: Connection | None = None

    def save_summary(self, record: IngestionRecord, summary: Summary) -> None:
        with self._transaction() as cur:
            ingestion = self._upsert(
                cur,
                record,
                status="SUCCEEDED",
                row_count=summary.rows,
                rejected_rows=summary.rejected_rows,
                empty_rows=summary.empty_rows,
                rejects_report=summary.rejects_report,
                dialect=None if summary.dialect is None else psycopg2.extras.Json(summary.dialect),
            )
            psycopg2.extras.execute_values(
                cur,
                sql.SQL("INSERT INTO csvflow.column_profiles (ingestion, {}) VALUES %s").format(
                    identifiers(PROFILE_COLUMNS)
                ),
                [(ingestion, *_profile_row(p)) for p in summary.columns],
                page_size=1000,
            )
            for name, table in summary.aggregates.items():
                _copy_aggregate(cur, ingestion, name, summary.group_by[name], table)

    def record_failure(self, record: IngestionRecord, failure: Failure) -> None:
        with self._transaction() as cur:
            self._upsert(
                cur,
                record,
                status="FAILED",
                failed_step=failure.step,
                error_type=failure.error,
                error_cause=failure.cause[:10000],
                rejects_report=failure.rejects_report,
                dialect=None if failure.dialect is None else psycopg2.extras.Json(failure.dialect),
            )

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        # A Lambda keeps its connection between invocations; a broken one is replaced.
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        try:
            with transaction(self._conn) as cur:
                # For this transaction only: a slow or locked database ends it in a
                # retriable error, rolled back, instead of holding the function to its end.
                cur.execute(
                    "SELECT set_config('statement_timeout', %(t)s, true),"
                    " set_config('lock_timeout', %(t)s, true)",
                    {"t": self._statement_timeout},
                )
                yield cur
        except DatabaseUnavailable:
            self.close()
            raise

    @staticmethod
    def _upsert(cur: Any, record: IngestionRecord, **outcome: Any) -> int:
        source = record.source
        values = {
            "ingestion_id": record.ingestion_id,
            "bucket": source.bucket,
            "object_key": source.key,
            "object_version": source.version,
            "version_id": source.version_id,
            "etag": source.etag,
            "size_bytes": source.size,
            "event_time": source.event_time,
            "sequencer": source.sequencer,
            "dataset": record.dataset,
            "execution_arn": record.execution_arn,
            "row_count": None,
            "rejected_rows": None,
            "empty_rows": None,
            "rejects_report": None,
            "failed_step": None,
            "error_type": None,
            "error_cause": None,
            "dialect": None,
        } | outcome
        names = list(values)
        updates = sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n))
            for n in names
            if n not in ("bucket", "object_key", "object_version")
        )
        cur.execute(
            sql.SQL(
                "INSERT INTO csvflow.ingestions ({}) VALUES ({})"
                " ON CONFLICT (bucket, object_key, object_version) DO UPDATE SET"
                " {}, updated_at = now() RETURNING id"
            ).format(
                identifiers(names), sql.SQL(", ").join([sql.Placeholder()] * len(names)), updates
            ),
            [values[n] for n in names],
        )
        ingestion: int = cur.fetchone()[0]
        # A replay replaces what an earlier run of the same version wrote.
        cur.execute("DELETE FROM csvflow.column_profiles WHERE ingestion = %s", (ingestion,))
        cur.execute("DELETE FROM csvflow.aggregates WHERE ingestion = %s", (ingestion,))
        return ingestion


def _profile_row(profile: dict[str, Any]) -> tuple[Any, ...]:
    """A profile's values in PROFILE_COLUMNS order, JSON ones wrapped for jsonb."""
    row = []
    for field in PROFILE_FIELDS:
        value = profile.get(field.name)
        if field.column in JSONB_COLUMNS:
            value = None if value is None else psycopg2.extras.Json(value)
        row.append(value)
    return tuple(row)


def _copy_aggregate(cur: Any, ingestion: int, name: str, group_by: list[str], table: Any) -> None:
    """COPY the groups in: an order of magnitude faster than INSERTs for big group-bys."""
    from csvflow.domain.summary import aggregate_groups

    rows = aggregate_groups(table, group_by)
    while True:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in itertools.islice(rows, 50_000):
            writer.writerow(
                (ingestion, name, exact_json.dumps(row["group"]), exact_json.dumps(row["metrics"]))
            )
        if not buffer.tell():
            return
        buffer.seek(0)
        cur.copy_expert(
            "COPY csvflow.aggregates (ingestion, aggregate, group_key, metrics)"
            " FROM STDIN WITH (FORMAT csv)",
            buffer,
        )
