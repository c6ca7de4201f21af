"""A slow (locked) PostgreSQL and a connection cut in the middle of a COPY, in the full workflow:
each ends in a retry that persists the summary once, and nothing half-written in between."""

import threading
import time
from pathlib import Path

import psycopg2
import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.local.runtime import LocalRuntime
from tests.support.flaky_proxy import FlakyProxy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # the ASL's real retry backoff
ROOT = Path(__file__).parents[2]
SALES = ROOT / "examples" / "sales.csv"
WAIT = 180  # the ASL's real backoff runs in these tests


def _without_ssl(url):
    # The proxy reads the protocol, so the test's connections go unencrypted (locally only).
    return url + ("&" if "?" in url else "?") + "sslmode=disable"


@pytest.fixture(scope="module")
def proxy(database_url):
    with FlakyProxy(_without_ssl(database_url), drop_first=0) as running:
        yield running


@pytest.fixture(scope="module")
def runtime(proxy):
    with LocalRuntime(database_url=proxy.url) as running:
        running.put_contract("sales", ROOT / "examples" / "contracts" / "sales.yaml")
        yield running


def _persist_with(runtime, **variables):
    """Give the persist function new configuration (AWS starts new environments for it)."""
    arn = runtime.function_arns["persist"]
    current = runtime.lam.get_function_configuration(FunctionName=arn)["Environment"]["Variables"]
    runtime.lam.update_function_configuration(
        FunctionName=arn, Environment={"Variables": current | variables}
    )


def _task_failures(history):
    return [
        (e["taskFailedEventDetails"]["error"], e["taskFailedEventDetails"].get("cause", ""))
        for e in history
        if e["type"] == "TaskFailed"
    ]


def _ingestion_rows(database_url, key):
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM csvflow.ingestions i"
            " JOIN csvflow.aggregates a ON a.ingestion = i.id WHERE i.object_key = %s",
            (key,),
        )
        return cur.fetchone()[0]


def test_a_locked_database_times_out_rolls_back_and_the_retry_persists_once(runtime, database_url):
    _persist_with(runtime, CSVFLOW_DB_STATEMENT_TIMEOUT_SECONDS="1")
    key = "incoming/sales/slow-database.csv"
    blocker = psycopg2.connect(database_url)
    blocker.cursor().execute("LOCK TABLE csvflow.ingestions IN ACCESS EXCLUSIVE MODE")
    upload = runtime.upload_bytes(SALES.read_bytes(), key)
    runtime.pump()

    def release_after_first_failure():
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            # wait() below finds the execution; from then on, watch its history.
            if upload.execution_arn and _task_failures(runtime.history(upload.execution_arn)):
                break
            time.sleep(0.1)
        blocker.rollback()  # the long report (or migration) holding the lock ends

    releaser = threading.Thread(target=release_after_first_failure)
    releaser.start()
    try:
        (result,) = runtime.wait([upload], timeout=WAIT)
    finally:
        releaser.join()
        blocker.close()

    assert result.status == "SUCCEEDED", result.cause
    failures = _task_failures(runtime.history(upload.execution_arn))
    assert [error for error, _ in failures] == ["DatabaseUnavailable"]
    assert "PostgreSQL was too slow, the transaction was rolled back" in failures[0][1]
    assert "canceling statement due to" in failures[0][1]  # statement or lock timeout
    summary = PostgresSummaryQueries(connector(database_url)).summary(key)
    assert (summary["status"], summary["rows"]) == ("SUCCEEDED", 500)


def test_a_connection_cut_in_the_middle_of_a_copy_leaves_nothing_and_the_retry_persists_once(
    runtime, proxy, database_url
):
    _persist_with(runtime, CSVFLOW_DB_STATEMENT_TIMEOUT_SECONDS="60")
    key = "incoming/sales/cut-mid-copy.csv"
    proxy.cut_during_copy()

    (result,) = _run(runtime, key)

    assert result.status == "SUCCEEDED", result.cause
    assert proxy.copies_cut == 1
    failures = _task_failures(runtime.history(result.upload.execution_arn))
    assert [error for error, _ in failures] == ["DatabaseUnavailable"]
    assert "PostgreSQL dropped the transaction" in failures[0][1]
    queries = PostgresSummaryQueries(connector(database_url))
    summary = queries.summary(key)
    assert (summary["status"], summary["rows"]) == ("SUCCEEDED", 500)
    # Every group once: the cut attempt's rows went with its transaction.
    by_region = {g["group"]["region"] for g in summary["aggregates"][0]["groups"]}
    assert len(by_region) == 5
    per_ingestion = [i for i in queries.ingestions(limit=1000) if i["key"] == key]
    assert len(per_ingestion) == 1
    assert _ingestion_rows(database_url, key) == sum(
        len(a["groups"]) for a in summary["aggregates"]
    )


def _run(runtime, key):
    upload = runtime.upload_bytes(SALES.read_bytes(), key)
    runtime.pump()
    return runtime.wait([upload], timeout=WAIT)
