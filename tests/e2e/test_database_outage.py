"""A real outage: PostgreSQL behind a proxy that refuses connections, in the full workflow."""

import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.local.executions import iter_states
from csvflow.local.runtime import LocalRuntime
from tests.support.flaky_proxy import FlakyProxy
from tests.support.ingest import ingest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]  # the ASL's real retry backoff
CSV = b"id,amount\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(500))
WAIT = 180  # the ASL's real backoff (2 s, 4 s, 8 s) runs in these tests


@pytest.fixture(scope="module")
def proxy(database_url):
    with FlakyProxy(database_url, drop_first=0) as running:
        yield running


@pytest.fixture(scope="module")
def runtime(proxy):
    with LocalRuntime(database_url=proxy.url) as running:
        yield running


def _run(runtime, key):
    return ingest(runtime, CSV, key, timeout=WAIT)


def _task_failures(history):
    return [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]


def test_a_short_outage_is_retried_and_the_summary_persisted_once(runtime, proxy, database_url):
    proxy.outage(connections=1)
    result, history = _run(runtime, "incoming/outage/short.csv")
    assert result.status == "SUCCEEDED", result.cause
    assert _task_failures(history) == ["DatabaseUnavailable"]
    summary = PostgresSummaryQueries(connector(database_url)).summary("incoming/outage/short.csv")
    assert (summary["status"], summary["rows"]) == ("SUCCEEDED", 500)


def test_a_long_outage_fails_on_persist_and_after_it_a_redrive_persists_once(
    runtime, proxy, database_url
):
    proxy.outage(connections=10_000)
    key = "incoming/outage/long.csv"
    failed, history = _run(runtime, key)
    assert (failed.status, failed.error) == ("FAILED", "DatabaseUnavailable")
    assert "cannot connect to PostgreSQL" in failed.cause
    # The first attempt and MaxAttempts (4) retries, then the execution fails *on* the task
    # (so a redrive resumes there) instead of being routed to the failure branch.
    assert _task_failures(history) == ["DatabaseUnavailable"] * 5
    entered = [n for kind, n in iter_states(history) if kind.endswith("StateEntered")]
    assert entered == ["Choose the path", "Validate CSV", "Summarize columns", "Persist summary"]
    queries = PostgresSummaryQueries(connector(database_url))
    assert queries.summary(key) is None  # nothing half-written
    arn = failed.upload.execution_arn

    proxy.outage(connections=0)  # PostgreSQL is back; a newer version of the file arrives first
    newer = runtime.upload_bytes(CSV + b"500,1.5\n", key)
    runtime.pump()
    (newer_result,) = runtime.wait([newer], timeout=WAIT)
    assert newer_result.status == "SUCCEEDED", newer_result.cause

    steps_before = [name for name, _ in runtime.runner.invocations]
    result = runtime.redrive(arn, timeout=WAIT)  # the older version's redrive lands last
    assert result.status == "SUCCEEDED", result.cause
    steps_after = [name for name, _ in runtime.runner.invocations][len(steps_before) :]
    assert steps_after == ["csvflow-persist"]  # validate and summarize are not run again
    history = runtime.history(arn)
    assert [e["type"] for e in history].count("ExecutionRedriven") == 1
    rows = {
        i["execution_arn"]: (i["status"], i["rows"])
        for i in queries.ingestions(limit=1000)
        if i["key"] == key
    }
    # One row per version, each persisted once.
    assert rows == {arn: ("SUCCEEDED", 500), newer.execution_arn: ("SUCCEEDED", 501)}
    # The newest upload (by S3 event time) is the key's summary, whatever finished last.
    summary = queries.summary(key)
    assert (summary["rows"], summary["execution_arn"]) == (501, newer.execution_arn)
