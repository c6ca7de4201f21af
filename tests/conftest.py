"""Shared fixtures: a real PostgreSQL for every test that needs one, and the layer's pyarrow.

DATABASE_URL names a server to use (CI and our machines have one); without it an
embedded PostgreSQL is started, so the README's test command works anywhere.
Each test session gets its own database, dropped at the end.

From configuration to the end of the run, pyarrow refuses the codecs that the managed pandas
layer's build lacks (tests/support/managed_layer.py), so every test, the workflow run by the
local runtime included, fails where the deployed functions would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

from tests.support.managed_layer import refusing_codecs_the_layer_lacks

_layer_pyarrow = ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    _layer_pyarrow.enter_context(refusing_codecs_the_layer_lacks())


def pytest_unconfigure(config: pytest.Config) -> None:
    _layer_pyarrow.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Figures a test measured (``record_property("figures", text)``), printed after the run
    even when pytest captured the test's output or ran it in another worker (xdist)."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, text in getattr(report, "user_properties", []):
                if name == "figures":
                    terminalreporter.write_line(f"{report.nodeid}:\n{text}")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _admin(url: str, sql: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from csvflow.local.embedded_postgres import embedded_database

    with embedded_database(_embedded_dir()) as embedded:
        yield embedded


def _embedded_dir():  # type: ignore[no-untyped-def]
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="csvflow-test-pg-"))


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    name = f"csvflow_test_{uuid.uuid4().hex[:10]}"
    _admin(server_url, f"CREATE DATABASE {name}")
    url = _with_database(server_url, name)
    from csvflow.adapters.postgres.connection import connector
    from csvflow.adapters.postgres.migrations import migrate

    migrate(connector(url))
    yield url
    _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


ADMIN_PASSWORD = "owner-pw-7Q2"  # noqa: S105 (a throwaway test server's)


def _binaries() -> Path | None:
    from csvflow.local.embedded_postgres import system_binaries

    found = system_binaries()
    if found is not None:
        return found
    try:
        import pgserver
    except ImportError:
        return None
    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin"
    return bundled if (bundled / "initdb").is_file() else None


@pytest.fixture(scope="session")
def password_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private server that checks passwords; the trusting shared one would accept any."""
    binaries = _binaries()
    if binaries is None:
        pytest.skip("no initdb/pg_ctl to start a PostgreSQL that asks for passwords")
    import shutil

    from csvflow.local.embedded_postgres import server_folder, system_server

    pgdata = tmp_path_factory.mktemp("password-pg") / "data"
    with system_server(pgdata, binaries, password=ADMIN_PASSWORD) as url:
        yield url
    shutil.rmtree(server_folder(pgdata), ignore_errors=True)


@pytest.fixture
def clean_database(database_url: str) -> str:
    _admin(
        database_url,
        "TRUNCATE csvflow.ingestions, csvflow.column_profiles, csvflow.aggregates",
    )
    return database_url
