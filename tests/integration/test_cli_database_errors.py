"""Database commands explain an empty or unreachable database in one line."""

from __future__ import annotations

import socket
import uuid

from csvflow.cli import main
from tests.conftest import _admin, _with_database


def test_an_empty_database_says_to_migrate(server_url, capsys):
    name = f"csvflow_empty_{uuid.uuid4().hex[:10]}"
    _admin(server_url, f"CREATE DATABASE {name}")
    try:
        code = main(["ingestions", "--database-url", _with_database(server_url, name)])
    finally:
        _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith('csvflow: the database has no csvflow tables yet (relation "csvflow.')
    assert err.strip().endswith("`csvflow migrate` creates them (`csvflow run` does too)")


def test_an_unreachable_database_is_one_line_without_the_password(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{port}/nothing?connect_timeout=2"

    code = main(["summary", "incoming/x.csv", "--database-url", url])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("csvflow: cannot connect to PostgreSQL: ")
    assert f"port {port}" in err
    assert len(err.strip().splitlines()) == 1
    assert "s3cret-pw" not in err


def test_a_url_postgresql_cannot_read_is_one_line_without_the_password(capsys):
    url = "postgres//someone:s3cret-pw@127.0.0.1/nothing"  # a typo: no colon after the scheme

    code = main(["summary", "incoming/x.csv", "--database-url", url])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("csvflow: PostgreSQL cannot read the database URL: invalid dsn")
    assert len(err.strip().splitlines()) == 1
    assert "s3cret-pw" not in err
