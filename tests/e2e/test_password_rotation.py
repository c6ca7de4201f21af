"""A password rotation in the full workflow, against a PostgreSQL that checks passwords.

The application role's password changes while the stack runs, and its secret with it:
the next file is persisted after one re-read of the secret. A secret that opens nothing
ends, after the ASL's retries, in DatabaseUnavailable on the persist step (redrivable).
"""

import json
import uuid

import boto3
import psycopg2
import pytest

from csvflow.local.executions import iter_states
from csvflow.local.runtime import LocalRuntime
from csvflow.local.stack import APPLICATION_ROLE, REGION
from tests.conftest import _admin, _with_database
from tests.support.ingest import ingest

pytestmark = pytest.mark.e2e
CSV = b"id,amount\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(100))
WAIT = 180  # the ASL's real backoff (2 s, 4 s, 8 s, 16 s) runs here


@pytest.fixture(scope="module")
def database(password_server):
    name = f"csvflow_rotation_{uuid.uuid4().hex[:8]}"
    _admin(password_server, f"CREATE DATABASE {name}")
    yield _with_database(password_server, name)
    _admin(password_server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def runtime(database):
    with LocalRuntime(database_url=database) as running:
        yield running


def _run(runtime, key):
    return ingest(runtime, CSV, key, timeout=WAIT)


def _change_password(runtime, database, *, role_password, secret_password):
    """The role's password changes and the secret is written; the function's warm
    connection is cut, as an idle timeout or a failover would."""
    _admin(database, f"ALTER ROLE {APPLICATION_ROLE} PASSWORD {_literal(role_password)}")
    secrets = boto3.client("secretsmanager", region_name=REGION)
    arn = runtime.application_secret_arn
    secret = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    secrets.put_secret_value(
        SecretId=arn, SecretString=json.dumps(secret | {"password": secret_password})
    )
    _admin(
        database,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE usename = {_literal(APPLICATION_ROLE)}",
    )


def _literal(text):
    return psycopg2.extensions.QuotedString(text).getquoted().decode()


def test_the_next_file_after_a_rotation_is_persisted(runtime, database):
    before, _ = _run(runtime, "incoming/rotation/before.csv")
    assert before.status == "SUCCEEDED", before.cause

    _change_password(runtime, database, role_password="rotated-1", secret_password="rotated-1")
    after, history = _run(runtime, "incoming/rotation/after.csv")
    assert after.status == "SUCCEEDED", after.cause
    entered = [n for kind, n in iter_states(history) if kind.endswith("StateEntered")]
    assert "Record the failure" not in entered


def test_a_secret_that_opens_nothing_fails_on_persist_after_the_retries(runtime, database):
    _change_password(runtime, database, role_password="rotated-2", secret_password="wrong")
    failed, history = _run(runtime, "incoming/rotation/wrong.csv")
    assert (failed.status, failed.error) == ("FAILED", "DatabaseUnavailable")
    assert "password authentication failed" in failed.cause
    task_failures = [e for e in history if e["type"] == "TaskFailed"]
    assert len(task_failures) == 5  # the first attempt and MaxAttempts (4) retries
    entered = [n for kind, n in iter_states(history) if kind.endswith("StateEntered")]
    assert entered == ["Choose the path", "Validate CSV", "Summarize columns", "Persist summary"]
