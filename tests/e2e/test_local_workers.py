"""Two uploads at once: the workflow's functions overlap, and the second of a function's
invocations runs in a worker process, with the same answer, logs and progress (ADR 0019)."""

from __future__ import annotations

import json

import boto3
import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.config import Settings
from csvflow.exceptions import ConfigurationError
from csvflow.local.runtime import LocalRuntime, invocations_side_by_side
from csvflow.local.stack import REGION
from tests.support.function_settings import told_after_every_block

pytestmark = pytest.mark.e2e


def test_overlapping_validations_run_in_two_processes_with_their_logs_and_progress(
    database_url, tmp_path
):
    paths = []
    for name, rows in (("left", 40_000), ("right", 30_000)):
        path = tmp_path / f"{name}.csv"
        path.write_text("id,amount\n" + "".join(f"{i},{i * 0.5}\n" for i in range(rows)))
        paths.append(path)
    alone = tmp_path / "alone.csv"
    alone.write_text("id,amount\n1,2.5\n2,3\n")
    with LocalRuntime(database_url=database_url, side_by_side=2) as runtime:
        # One file: each step after the other, all in this process; no worker is started.
        (result,) = runtime.run([alone])
        assert result.status == "SUCCEEDED"
        assert runtime.runner.worker_processes_started == 0
        before = len(runtime.runner.invocations)

        told_after_every_block(runtime)
        heard: list[tuple[str, dict]] = []

        results = runtime.run(
            paths,
            on_validation_progress=lambda upload, figures: heard.append((upload.file, figures)),
        )

        assert [result.status for result in results] == ["SUCCEEDED", "SUCCEEDED"]
        assert runtime.runner.worker_processes_started == 1
        validations = [
            ended for name, ended in runtime.runner.invocations[before:] if "validate" in name
        ]
        assert validations == ["ok", "ok"]
        # Each validation's progress reached `csvflow run`, the worker's among them.
        for path in paths:
            rows = [figures["rows"] for file, figures in heard if file == str(path)]
            assert len(rows) > 2 and rows == sorted(rows)
        # Each validation's log reached CloudWatch Logs, framed as Lambda frames it.
        group = f"/aws/lambda/{runtime.names.prefix}validate"
        logs = boto3.client("logs", region_name=REGION)
        events = logs.filter_log_events(logGroupName=group)["events"]
        streams = {event["logStreamName"] for event in events}
        validated = []
        for stream in streams:
            lines = [event["message"] for event in events if event["logStreamName"] == stream]
            assert lines[0].startswith("START RequestId: ") and lines[-1].startswith("REPORT")
            said = [json.loads(line) for line in lines[1:-2]]
            validated += [line["rows"] for line in said if line.get("message") == "validated"]
        assert sorted(validated) == [2, 30_000, 40_000]

    queries = PostgresSummaryQueries(connector(database_url))
    for path, rows in zip(paths, (40_000, 30_000), strict=True):
        summary = queries.summary(f"incoming/{path.name}")
        assert (summary["status"], summary["rows"]) == ("SUCCEEDED", rows)


def test_how_many_invocations_run_at_once_is_a_setting_with_a_default_per_core():
    assert invocations_side_by_side(Settings.from_environ({"CSVFLOW_LOCAL_WORKERS": "3"})) == 3
    assert 1 <= invocations_side_by_side(Settings.from_environ({})) <= 4
    with pytest.raises(ConfigurationError, match="CSVFLOW_LOCAL_WORKERS must be 1 or more"):
        invocations_side_by_side(Settings.from_environ({"CSVFLOW_LOCAL_WORKERS": "-1"}))
