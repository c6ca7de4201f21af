"""PostgreSQL: schema migrations, the ingestion repository (commands) and queries."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import itertools
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

import psycopg2
import psycopg2.errors
import psycopg2.extras
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from csvflow.exceptions import ConfigurationError, DatabaseNotReady, DatabaseUnavailable
from csvflow.ports import ApplicationLogin

if TYPE_CHECKING:  # the summary types bring pyarrow, which the migration function lacks
    from csvflow.domain.summary import Failure, IngestionRecord, Summary

logger = logging.getLogger(__name__)

_MIGRATION_LOCK = 0x63737666  # "csvf": one migrator at a time
_PROFILE_COLUMNS = (
    "position",
    "name",
    "type",
    "value_count",
    "null_count",
    "distinct_count",
    "distinct_exact",
    "min_value",
    "max_value",
    "mean",
    "std",
    "p25",
    "p50",
    "p75",
    "quantiles_exact",
    "min_length",
    "max_length",
    "top_values",
    "top_values_exact",
    "true_count",
    "false_count",
)
_PROFILE_KEYS = {
    "value_count": "count",
    "null_count": "nulls",
    "distinct_count": "distinct",
    "min_value": "min",
    "max_value": "max",
}
_JSONB = {"min_value", "max_value", "top_values"}


def _identifiers(names: Iterable[str]) -> sql.Composed:
    """Column names as quoted identifiers: SQL text is never built from strings."""
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def connector(url: str) -> Callable[[], Connection]:
    """A function that opens a connection, turning "cannot connect" into DatabaseUnavailable."""
    return lambda: _open({"dsn": url})


class RefreshingConnector:
    """Opens connections with a login read from a secret; a failed connect re-reads it once.

    The secret may have changed since it was read (a rotation, a password reset by the
    migration step): one more read and one more attempt, with no need to tell a wrong
    password from an unreachable server (libpq reports both alike). When the secret is
    unchanged, the first failure stands: trying the same login again would only double
    the wait on a database that is down.
    """

    def __init__(self, read_login: Callable[[], dict[str, str]]) -> None:
        self._read_login = read_login
        self._login: dict[str, str] | None = None

    def __call__(self) -> Connection:
        if self._login is None:
            self._login = self._read_login()
        try:
            return _open(self._login)
        except DatabaseUnavailable:
            stale, self._login = self._login, self._read_login()
            if self._login == stale:
                raise
            logger.info("database secret changed; connecting with the new login")
            return _open(self._login)


def _open(parameters: dict[str, str]) -> Connection:
    try:
        return psycopg2.connect(**parameters, connect_timeout=10, application_name="csvflow")
    except psycopg2.OperationalError as e:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {_first_line(e)}") from e


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@contextmanager
def _transaction(conn: Connection) -> Iterator[Any]:
    try:
        with conn, conn.cursor() as cur:
            yield cur
    except (psycopg2.errors.QueryCanceled, psycopg2.errors.LockNotAvailable) as e:
        raise DatabaseUnavailable(
            f"PostgreSQL was too slow, the transaction was rolled back: {_first_line(e)}"
        ) from e
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
        raise DatabaseUnavailable(f"PostgreSQL dropped the transaction: {_first_line(e)}") from e
    except _SCHEMA_NOT_AS_EXPECTED as e:
        raise DatabaseNotReady(
            f"the database is not ready for this version of csvflow ({_first_line(e)}): "
            "run the migration (the deploy's DatabaseMigration, or invoke the migrate "
            "function), then redrive"
        ) from e


# SQLSTATE classes 42 and 3F that mean a missing migration or grant, not a bad file.
_SCHEMA_NOT_AS_EXPECTED = (
    psycopg2.errors.UndefinedTable,
    psycopg2.errors.UndefinedColumn,
    psycopg2.errors.UndefinedFunction,
    psycopg2.errors.InvalidSchemaName,
    psycopg2.errors.InsufficientPrivilege,
)


def migrations() -> list[tuple[int, str, str]]:
    """The packaged migrations, in order: (version, name, SQL)."""
    found = []
    for item in resources.files("csvflow.migrations").iterdir():
        if item.name.endswith(".sql"):
            version = int(item.name.split("_", 1)[0])
            found.append((version, item.name, item.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(connect: Callable[[], Connection]) -> list[str]:
    """Bring the schema up to date; returns the migrations it applied."""
    conn = connect()
    applied: list[str] = []
    try:
        with _transaction(conn) as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            cur.execute("CREATE SCHEMA IF NOT EXISTS csvflow")
            cur.execute(
                "CREATE TABLE IF NOT EXISTS csvflow.schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur.execute("SELECT version FROM csvflow.schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for version, name, sql in migrations():
                if version in done:
                    continue
                cur.execute(sql)
                cur.execute(
                    "INSERT INTO csvflow.schema_migrations (version, name) VALUES (%s, %s)",
                    (version, name),
                )
                applied.append(name)
    finally:
        conn.close()
    if applied:
        logger.info("migrated", extra={"applied": applied})
    return applied


# What the application's role may do: read and write the rows of csvflow's tables.
_APPLICATION_PRIVILEGES = sql.SQL("SELECT, INSERT, UPDATE, DELETE")


class PostgresSchemaMigrator:
    """The deploy step: the schema, and the application's role with only what it needs.

    It connects as the database's owner (the master user); the application connects as
    its own role, which can read and write csvflow's rows and change nothing else.
    """

    def __init__(
        self, connect_admin: Callable[[], Connection], application: ApplicationLogin | None
    ) -> None:
        self._connect = connect_admin
        self._application = application

    def migrate(self) -> list[str]:
        return migrate(self._connect)

    def grant_application_role(self) -> str | None:
        if self._application is None:
            return None
        role, password = self._application.user_and_password()
        conn = self._connect()
        try:
            endpoint = {
                key: value
                for key, value in conn.get_dsn_parameters().items()
                if key in ("host", "port", "dbname", "sslmode")
            }
            with _transaction(conn) as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                _grant(cur, role, endpoint["dbname"])
        finally:
            conn.close()
        login = {**endpoint, "user": role, "password": password}
        # Set the password only when it does not already work: a role is shared by every
        # database of the server, and two migrators altering it at once would collide.
        if not _can_write_as(login):
            self._set_password(role, password)
            if not _can_write_as(login):
                raise ConfigurationError(
                    f"the application role {role} cannot connect with its secret's password"
                    " even after the migration set it (is it allowed in pg_hba.conf?)"
                )
        self._application.record_endpoint(endpoint["host"], endpoint["port"], endpoint["dbname"])
        return role

    def _set_password(self, role: str, password: str) -> None:
        conn = self._connect()
        try:
            with _transaction(conn) as cur:
                cur.execute(
                    sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD %s").format(sql.Identifier(role)),
                    # A SCRAM verifier, not the password, crosses to the server and its logs.
                    (scram_sha256_verifier(password),),
                )
        finally:
            conn.close()
        logger.info("application role password set", extra={"role": role})


def _grant(cur: Any, role: str, dbname: str) -> None:
    ident = sql.Identifier(role)
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    if cur.fetchone() is None:
        # Another database's migrator may create it at the same moment (roles are per server).
        cur.execute("SAVEPOINT create_role")
        try:
            cur.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(ident)
            )
        except (psycopg2.errors.DuplicateObject, psycopg2.errors.UniqueViolation):
            cur.execute("ROLLBACK TO SAVEPOINT create_role")
    grants = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), ident),
        sql.SQL("GRANT USAGE ON SCHEMA csvflow TO {}").format(ident),
        sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA csvflow TO {}").format(
            _APPLICATION_PRIVILEGES, ident
        ),
        sql.SQL("REVOKE ALL ON csvflow.schema_migrations FROM {}").format(ident),
        sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA csvflow TO {}").format(ident),
        # Tables a later `csvflow migrate` adds are the application's too.
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA csvflow GRANT {} ON TABLES TO {}").format(
            _APPLICATION_PRIVILEGES, ident
        ),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA csvflow GRANT USAGE ON SEQUENCES TO {}").format(
            ident
        ),
    ]
    for statement in grants:
        cur.execute(statement)


def _can_write_as(login: dict[str, str]) -> bool:
    try:
        conn = _open(login)
    except DatabaseUnavailable:
        return False
    try:
        with _transaction(conn) as cur:
            cur.execute("SELECT 1 FROM csvflow.ingestions LIMIT 0")
        return True
    finally:
        conn.close()


def scram_sha256_verifier(password: str, *, iterations: int = 4096) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5803), computed here."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
        f"${b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


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
            )
            psycopg2.extras.execute_values(
                cur,
                sql.SQL("INSERT INTO csvflow.column_profiles (ingestion, {}) VALUES %s").format(
                    _identifiers(_PROFILE_COLUMNS)
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
            with _transaction(self._conn) as cur:
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
                _identifiers(names), sql.SQL(", ").join([sql.Placeholder()] * len(names)), updates
            ),
            [values[n] for n in names],
        )
        ingestion: int = cur.fetchone()[0]
        # A replay replaces what an earlier run of the same version wrote.
        cur.execute("DELETE FROM csvflow.column_profiles WHERE ingestion = %s", (ingestion,))
        cur.execute("DELETE FROM csvflow.aggregates WHERE ingestion = %s", (ingestion,))
        return ingestion


def _profile_row(profile: dict[str, Any]) -> tuple[Any, ...]:
    row = []
    for column in _PROFILE_COLUMNS:
        value = profile.get(_PROFILE_KEYS.get(column, column))
        if column in _JSONB:
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
            writer.writerow((ingestion, name, json.dumps(row["group"]), json.dumps(row["metrics"])))
        if not buffer.tell():
            return
        buffer.seek(0)
        cur.copy_expert(
            "COPY csvflow.aggregates (ingestion, aggregate, group_key, metrics)"
            " FROM STDIN WITH (FORMAT csv)",
            buffer,
        )


class PostgresSummaryQueries:
    """The read side: what was ingested, and the newest summary of a key."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect

    def ingestions(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql = (
            "SELECT ingestion_id, bucket, object_key, object_version, dataset, status,"
            " row_count, rejected_rows, execution_arn, failed_step, error_type, error_cause,"
            " rejects_report, updated_at FROM csvflow.ingestions"
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
            " rejects_report, updated_at FROM csvflow.ingestions WHERE object_key = %s"
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
            ).format(_identifiers(_PROFILE_COLUMNS)),
            (ingestion_pk,),
        )
        result["columns"] = [_column(dict(zip(_PROFILE_COLUMNS, c, strict=True))) for c in columns]
        aggregates: dict[str, list[dict[str, Any]]] = {}
        for name, key_values, metrics in self._fetch(
            "SELECT aggregate, group_key, metrics FROM csvflow.aggregates"
            " WHERE ingestion = %s ORDER BY aggregate, group_key",
            (ingestion_pk,),
        ):
            aggregates.setdefault(name, []).append({"group": key_values, "metrics": metrics})
        result["aggregates"] = [{"name": n, "groups": g} for n, g in aggregates.items()]
        return result

    def _fetch(self, query: str | sql.Composable, params: Any) -> list[tuple[Any, ...]]:
        conn = self._connect()
        try:
            with _transaction(conn) as cur:
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
    }


def _column(row: dict[str, Any]) -> dict[str, Any]:
    column = {
        "name": row["name"],
        "type": row["type"],
        "count": row["value_count"],
        "nulls": row["null_count"],
        "distinct": row["distinct_count"],
        "distinct_exact": row["distinct_exact"],
        "min": row["min_value"],
        "max": row["max_value"],
    }
    optional = (
        "mean",
        "std",
        "p25",
        "p50",
        "p75",
        "quantiles_exact",
        "min_length",
        "max_length",
        "top_values",
        "top_values_exact",
        "true_count",
        "false_count",
    )
    column |= {name: row[name] for name in optional if row[name] is not None}
    return column
