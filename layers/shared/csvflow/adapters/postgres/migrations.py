"""The schema's migrations, and the application's role with only the privileges it needs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
from collections.abc import Callable
from importlib import resources
from typing import Any

import psycopg2.errors
from psycopg2 import sql
from psycopg2.extensions import connection as Connection

from csvflow.adapters.postgres.connection import open_connection, transaction
from csvflow.exceptions import ConfigurationError, DatabaseUnavailable
from csvflow.ports import ApplicationLogin

logger = logging.getLogger(__name__)

_MIGRATION_LOCK = 0x63737666  # "csvf": one migrator at a time


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
        with transaction(conn) as cur:
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
            with transaction(conn) as cur:
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
            with transaction(conn) as cur:
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
        conn = open_connection(login)
    except DatabaseUnavailable:
        return False
    try:
        with transaction(conn) as cur:
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
