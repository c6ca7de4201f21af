"""The read side: what was ingested, and the newest summary of a key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from csvflow.adapters.postgres.connection import transaction
from csvflow.adapters.postgres.profile_columns import PROFILE_COLUMNS, identifiers
from csvflow.domain import exact_json
from csvflow.domain.profile_fields import PROFILE_FIELDS, ReadBack


class PostgresSummaryQueries:
    """The read side: what was ingested, and the newest summary of a key."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect

    def ingestions(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql = (
            "SELECT ingestion_id, bucket, object_key, object_version, dataset, status,"
            " row_count, rejected_rows, execution_arn, failed_step, error_type, error_cause,"
            " rejects_report, updated_at, dialect FROM csvflow.ingestions"
            " WHERE (%(status)s IS NULL OR status = %(status)s)"
            " ORDER BY updated_at DESC LIMIT %(limit)s"
        )
        return [_ingestion(row) for row in self._fetch(sql, {"status": status, "limit": limit})]

    def keys_named(self, name: str, limit: int = 20) -> list[str]:
        """Ingested keys that are ``name`` or end with ``/name`` (a file name, a partial key)."""
        name = name.strip("/")
        rows = self._fetch(
            "SELECT DISTINCT object_key FROM csvflow.ingestions"
            " WHERE object_key = %(name)s"
            " OR right(object_key, length(%(name)s) + 1) = '/' || %(name)s"
            " ORDER BY object_key LIMIT %(limit)s",
            {"name": name, "limit": limit},
        )
        return [key for (key,) in rows]

    def summary(self, key: str) -> dict[str, Any] | None:
        """The newest ingested version of ``key``: by S3 event time, then sequencer."""
        rows = self._fetch(
            "SELECT id, ingestion_id, bucket, object_key, object_version, dataset, status,"
            " row_count, rejected_rows, execution_arn, failed_step, error_type, error_cause,"
            " rejects_report, updated_at, dialect FROM csvflow.ingestions WHERE object_key = %s"
            " ORDER BY event_time DESC NULLS LAST, sequencer DESC NULLS LAST, updated_at DESC"
            " LIMIT 1",
            (key,),
        )
        if not rows:
            return None
        ingestion_pk, *rest = rows[0]
        result = _ingestion(tuple(rest))
        columns = self._fetch(
            sql.SQL(
                "SELECT {} FROM csvflow.column_profiles WHERE ingestion = %s ORDER BY position"
            ).format(identifiers(PROFILE_COLUMNS)),
            (ingestion_pk,),
        )
        result["columns"] = [_column(dict(zip(PROFILE_COLUMNS, c, strict=True))) for c in columns]
        aggregates: dict[str, list[dict[str, Any]]] = {}
        # As text, read by exact_json: psycopg2 would read a decimal's jsonb number as a float.
        for name, key_values, metrics in self._fetch(
            "SELECT aggregate, group_key::text AS group_text, metrics::text AS metrics_text"
            " FROM csvflow.aggregates"
            " WHERE ingestion = %s ORDER BY aggregate, group_key",
            (ingestion_pk,),
        ):
            aggregates.setdefault(name, []).append(
                {"group": exact_json.loads(key_values), "metrics": exact_json.loads(metrics)}
            )
        result["aggregates"] = [{"name": n, "groups": g} for n, g in aggregates.items()]
        return result

    def _fetch(self, query: str | sql.Composable, params: Any) -> list[tuple[Any, ...]]:
        conn = self._connect()
        try:
            with transaction(conn) as cur:
                cur.execute(query, params)
                rows: list[tuple[Any, ...]] = cur.fetchall()
                return rows
        finally:
            conn.close()


def _ingestion(row: tuple[Any, ...]) -> dict[str, Any]:
    (
        ingestion_id,
        bucket,
        key,
        version,
        dataset,
        status,
        rows,
        rejected,
        arn,
        step,
        error,
        cause,
        report,
        updated,
        dialect,
    ) = row
    return {
        "ingestion_id": ingestion_id,
        "bucket": bucket,
        "key": key,
        "version": version,
        "dataset": dataset,
        "status": status,
        "rows": rows,
        "rejected_rows": rejected,
        "execution_arn": arn,
        "failed_step": step,
        "error": error,
        "cause": cause,
        "rejects_report": report,
        "updated_at": updated.isoformat(),
        "dialect": dialect,
    }


def _column(row: dict[str, Any]) -> dict[str, Any]:
    """A column_profiles row as the summary shows a profile: the optional fields when set."""
    return {
        field.name: row[field.column]
        for field in PROFILE_FIELDS
        if field.read_back is ReadBack.ALWAYS
        or (field.read_back is ReadBack.WHEN_SET and row[field.column] is not None)
    }
