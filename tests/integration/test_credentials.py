"""Logins: the application's own role, its secret re-read when the password changes, and
the migration step that creates both. Against a real PostgreSQL that asks for passwords
(SCRAM-SHA-256, as RDS does), started here, and Secrets Manager in moto."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

import boto3
import psycopg2
import psycopg2.errors
import pytest
from moto import mock_aws

from csvflow.adapters.postgres.connection import RefreshingConnector, connector
from csvflow.adapters.postgres.migrations import PostgresSchemaMigrator
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.adapters.postgres.repository import PostgresIngestionRepository
from csvflow.adapters.secrets import SecretCredentials
from csvflow.domain.summary import Failure
from csvflow.exceptions import DatabaseNotReady, DatabaseUnavailable
from tests.conftest import _with_database
from tests.integration.test_postgres import record, summary

ROLE = "csvflow_app"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    with mock_aws():
        yield boto3.client("secretsmanager")


def _secret(client, name, **values) -> str:
    return client.create_secret(Name=name, SecretString=json.dumps(values))["ARN"]


def _update(client, arn, **changes) -> None:
    secret = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    client.put_secret_value(SecretId=arn, SecretString=json.dumps(secret | changes))


def _admin(url, statement, params=None):
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
    finally:
        conn.close()


class CountingReads:
    """The secret's reads, counted: a rotation must cost one re-read, not one per connect."""

    def __init__(self, credentials: SecretCredentials) -> None:
        self.credentials = credentials
        self.reads = 0

    def __call__(self) -> dict[str, str]:
        self.reads += 1
        return self.credentials.read()


@pytest.fixture
def deployed(password_server, aws):
    """The migration step run as the owner, and persist's repository as the application."""
    application = _secret(aws, "csvflow/application", username=ROLE, password="first-pw-1")
    credentials = SecretCredentials(aws, application, sslmode="disable")
    migrator = PostgresSchemaMigrator(connector(password_server), credentials)
    migrator.migrate()
    assert migrator.grant_application_role() == ROLE
    reads = CountingReads(credentials)
    repository = PostgresIngestionRepository(RefreshingConnector(reads))
    yield {
        "secret": application,
        "reads": reads,
        "repository": repository,
        "admin": password_server,
    }
    repository.close()
    _admin(password_server, "DROP SCHEMA csvflow CASCADE")


def _rotate(deployed, aws, password):
    """What a rotation does: the role's password changes, then the secret."""
    _admin(deployed["admin"], f"ALTER ROLE {ROLE} PASSWORD %s", (password,))
    _update(aws, deployed["secret"], password=password)


def _lose_connections(deployed):
    """A warm function keeps its connection, authenticated once: only a new one meets the
    new password. Connections are lost all the time (idle timeouts, failovers; the
    repository closes one that broke, and the ASL retries the attempt)."""
    deployed["repository"].close()


def test_the_migration_step_records_where_the_database_is_in_the_application_secret(deployed, aws):
    secret = json.loads(aws.get_secret_value(SecretId=deployed["secret"])["SecretString"])
    assert secret["username"] == ROLE
    assert secret["dbname"] == "postgres"
    assert secret["host"].startswith("/")  # this server's socket folder
    assert secret["port"] > 0


def test_after_a_password_rotation_persist_reads_the_secret_once_more_and_succeeds(deployed, aws):
    repository, reads = deployed["repository"], deployed["reads"]
    repository.save_summary(record("v1"), summary())
    assert reads.reads == 1

    _rotate(deployed, aws, "second-pw-2")
    _lose_connections(deployed)
    repository.save_summary(record("v2"), summary())
    assert reads.reads == 2  # the stale login failed, the secret was read again, once

    repository.save_summary(record("v3"), summary())  # the new login is kept
    assert reads.reads == 2
    stored = PostgresSummaryQueries(connector(deployed["admin"])).ingestions()
    assert {row["version"] for row in stored} == {"v1", "v2", "v3"}


def test_a_secret_that_does_not_open_the_database_ends_in_database_unavailable(deployed, aws):
    repository, reads = deployed["repository"], deployed["reads"]
    repository.save_summary(record("v1"), summary())
    # The role's password changed, and the secret says something else again.
    _admin(deployed["admin"], f"ALTER ROLE {ROLE} PASSWORD 'changed-pw-4'")
    _update(aws, deployed["secret"], password="not-the-password")
    _lose_connections(deployed)
    failure = Failure("persist", "X", "cause")
    with pytest.raises(DatabaseUnavailable, match="password authentication failed"):
        repository.record_failure(record("v2"), failure)
    assert reads.reads == 2
    # The same wrong secret is not tried twice per attempt: the next attempt reads once.
    with pytest.raises(DatabaseUnavailable):
        repository.record_failure(record("v2"), failure)
    assert reads.reads == 3


def test_a_new_password_in_the_secret_is_set_on_the_role_by_the_next_migration(deployed, aws):
    _update(aws, deployed["secret"], password="reset-pw-3")
    _lose_connections(deployed)
    credentials = SecretCredentials(aws, deployed["secret"], sslmode="disable")
    PostgresSchemaMigrator(connector(deployed["admin"]), credentials).grant_application_role()
    deployed["repository"].save_summary(record("v1"), summary())


def test_the_application_role_can_do_what_persist_needs_and_change_nothing(deployed, aws):
    deployed["repository"].save_summary(record("v1"), summary())
    failed = record("v2", key="incoming/d/b.csv")
    deployed["repository"].record_failure(failed, Failure("persist", "X", "cause"))
    login = SecretCredentials(aws, deployed["secret"], sslmode="disable").read()
    as_application = RefreshingConnector(lambda: login)
    assert PostgresSummaryQueries(as_application).summary("incoming/d/a.csv")["rows"] == 2
    forbidden = [
        "DROP TABLE csvflow.aggregates",
        "CREATE TABLE csvflow.extra (id int)",
        "ALTER TABLE csvflow.ingestions ADD COLUMN extra int",
        "TRUNCATE csvflow.ingestions",
        "CREATE SCHEMA elsewhere",
        "SELECT * FROM csvflow.schema_migrations",
        "CREATE ROLE another",
    ]
    for statement in forbidden:
        conn = as_application()
        try:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()


def test_the_migration_password_never_crosses_as_plain_text(deployed, aws):
    # A server that would hash a plain-text password as md5: a stored SCRAM verifier can
    # then only have come from the client, never the password itself.
    owner = urlsplit(deployed["admin"]).username
    _admin(deployed["admin"], f"ALTER ROLE {owner} SET password_encryption = 'md5'")
    try:
        _update(aws, deployed["secret"], password="second-pw-2")
        migrator = PostgresSchemaMigrator(
            connector(deployed["admin"]),
            SecretCredentials(aws, deployed["secret"], sslmode="disable"),
        )
        assert migrator.grant_application_role() == ROLE  # sets the new password
        conn = psycopg2.connect(deployed["admin"])
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW password_encryption")
                assert cur.fetchone() == ("md5",)
                cur.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (ROLE,))
                (stored,) = cur.fetchone()
        finally:
            conn.close()
    finally:
        _admin(deployed["admin"], f"ALTER ROLE {owner} RESET password_encryption")
    assert stored.startswith("SCRAM-SHA-256$4096:")


def test_persist_does_not_create_the_schema_on_first_use(server_url):
    name = f"csvflow_empty_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f"CREATE DATABASE {name}")
    url = _with_database(server_url, name)
    try:
        repository = PostgresIngestionRepository(connector(url))
        # Not the file's failure: left on its step (redrivable) until the migration runs.
        with pytest.raises(DatabaseNotReady, match="run the migration") as raised:
            repository.record_failure(record("v1"), Failure("persist", "X", "cause"))
        assert isinstance(raised.value.__cause__, psycopg2.errors.UndefinedTable)
        repository.close()
        conn = psycopg2.connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'csvflow'")
                assert cur.fetchone() is None
        finally:
            conn.close()
    finally:
        _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
