"""Connections and transactions, where the driver's errors become csvflow's."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import psycopg2.errors
from psycopg2.extensions import connection as Connection

from csvflow.exceptions import ConfigurationError, DatabaseNotReady, DatabaseUnavailable

logger = logging.getLogger(__name__)


def connector(url: str) -> Callable[[], Connection]:
    """A function that opens a connection, turning "cannot connect" into DatabaseUnavailable."""
    return lambda: open_connection({"dsn": url})


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
            return open_connection(self._login)
        except DatabaseUnavailable:
            stale, self._login = self._login, self._read_login()
            if self._login == stale:
                raise
            logger.info("database secret changed; connecting with the new login")
            return open_connection(self._login)


def open_connection(parameters: dict[str, str]) -> Connection:
    try:
        return psycopg2.connect(**parameters, connect_timeout=10, application_name="csvflow")
    except psycopg2.OperationalError as e:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {first_line(e)}") from e
    except psycopg2.ProgrammingError as e:
        # libpq could not read the URL or login (a typo): no retry can help. Its reason may
        # quote what it could not read, password and all.
        reason = first_line(e)
        for value in parameters.values():
            reason = reason.replace(str(value), "...")
        raise ConfigurationError(f"PostgreSQL cannot read the database URL: {reason}") from e


def first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@contextmanager
def transaction(conn: Connection) -> Iterator[Any]:
    try:
        with conn, conn.cursor() as cur:
            yield cur
    except (psycopg2.errors.QueryCanceled, psycopg2.errors.LockNotAvailable) as e:
        raise DatabaseUnavailable(
            f"PostgreSQL was too slow, the transaction was rolled back: {first_line(e)}"
        ) from e
    except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
        raise DatabaseUnavailable(f"PostgreSQL dropped the transaction: {first_line(e)}") from e
    except _SCHEMA_NOT_AS_EXPECTED as e:
        raise DatabaseNotReady(
            f"the database is not ready for this version of csvflow ({first_line(e)}): "
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
