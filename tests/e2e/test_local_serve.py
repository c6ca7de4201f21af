"""`csvflow local serve`: the stack behind an HTTP endpoint, used by plain boto3 clients."""

import json
import logging
import sys
import time
from pathlib import Path

import boto3
import pytest

from csvflow.local.runtime import LocalRuntime
from csvflow.local.server import LocalServer

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def endpoint(database_url):
    with LocalRuntime(database_url=database_url) as runtime, LocalServer(runtime, port=0) as server:
        yield server.endpoint_url, runtime


def _client(endpoint_url, service):
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _wait(sfn, arn, status="RUNNING"):
    for _ in range(1200):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != status:
            return described
        time.sleep(0.05)
    raise AssertionError(f"{arn} stayed {status}")


def _execution_of(sfn, machine, key):
    for _ in range(600):
        for execution in sfn.list_executions(stateMachineArn=machine)["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described["input"])["source"]["key"] == key:
                return execution["executionArn"]
        time.sleep(0.05)
    raise AssertionError(f"no execution for {key}")


def test_an_upload_through_the_endpoint_runs_the_workflow(endpoint):
    url, runtime = endpoint
    s3, sfn = _client(url, "s3"), _client(url, "stepfunctions")
    s3.put_object(Bucket=runtime.names.bucket, Key="incoming/served/a.csv", Body=b"x,y\n1,2\n3,4\n")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    arn = _execution_of(sfn, machine["stateMachineArn"], "incoming/served/a.csv")
    described = _wait(sfn, arn)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    events = sfn.get_execution_history(executionArn=arn)["events"]
    assert any(e["type"] == "TaskSucceeded" for e in events)
    result = _client(url, "lambda").invoke(
        FunctionName=runtime.function_arns["validate"],
        Payload=json.dumps(
            {
                "source": json.loads(described["input"])["source"],
                "dataset": "served",
                "ingestion_id": "served-direct",
            }
        ).encode(),
    )
    assert json.loads(result["Payload"].read())["rows"] == 2


def test_redrive_and_message_moves_answer_through_the_endpoint(endpoint):
    url, runtime = endpoint
    s3, sfn, sqs = _client(url, "s3"), _client(url, "stepfunctions"), _client(url, "sqs")
    # An execution of its own, so the test does not lean on one another test left behind.
    s3.put_object(Bucket=runtime.names.bucket, Key="incoming/served/ok.csv", Body=b"x\n1\n")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    succeeded = _execution_of(sfn, machine["stateMachineArn"], "incoming/served/ok.csv")
    assert _wait(sfn, succeeded)["status"] == "SUCCEEDED"
    with pytest.raises(sfn.exceptions.ClientError, match="ExecutionNotRedrivable"):
        sfn.redrive_execution(executionArn=succeeded)
    sqs.send_message(QueueUrl=runtime.queue_url, MessageBody="not an S3 event")
    deadline = time.monotonic() + 30
    while not int(
        sqs.get_queue_attributes(
            QueueUrl=runtime.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    ):
        assert time.monotonic() < deadline, "the poison message never reached the DLQ"
        time.sleep(0.1)
    task = sqs.start_message_move_task(SourceArn=runtime.dead_letter_queue_arn)
    # (the handle ends with the number moved: at least this one; another test's may be there)
    assert int(task["TaskHandle"].rpartition(":")[2]) >= 1


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_requests_to_the_endpoint_are_logged_at_debug_not_printed(endpoint, caplog):
    # Kept on the two loggers themselves, not the root: while an earlier test's function still
    # runs in this process the runtime holds the root's handlers (caplog's among them).
    url, _ = endpoint
    caplog.set_level(logging.DEBUG, logger="csvflow.local.endpoint")
    werkzeug, served = _Kept(), _Kept()
    logging.getLogger("werkzeug").addHandler(werkzeug)
    logging.getLogger("csvflow.local.endpoint").addHandler(served)
    try:
        _client(url, "s3").list_buckets()
    finally:
        logging.getLogger("werkzeug").removeHandler(werkzeug)
        logging.getLogger("csvflow.local.endpoint").removeHandler(served)
    assert werkzeug.records == []
    assert [(r.levelno, '"GET / HTTP/1.1" 200' in r.getMessage()) for r in served.records] == [
        (logging.DEBUG, True)
    ]


def _cli(capsys, *argv):
    from csvflow.cli import main

    code = main(list(argv))
    captured = capsys.readouterr()
    # What the command said on stderr goes back there, so a failing assertion shows it.
    sys.stderr.write(captured.err)
    return code, captured.out


def test_the_operator_commands_inspect_redrive_and_replay_through_the_endpoint(
    endpoint, capsys, tmp_path
):
    url, runtime = endpoint
    s3, sfn = _client(url, "s3"), _client(url, "stepfunctions")
    s3.put_object(
        Bucket=runtime.names.bucket, Key="incoming/served/broken.csv", Body=b'a,b\n1,"open\n'
    )
    (machine,) = sfn.list_state_machines()["stateMachines"]
    failed = _execution_of(sfn, machine["stateMachineArn"], "incoming/served/broken.csv")
    _wait(sfn, failed)

    code, out = _cli(capsys, "executions", "--endpoint-url", url, "--status", "FAILED", "--json")
    assert code == 0, out
    listed = {e["arn"]: e for e in json.loads(out)}
    assert listed[failed]["error"].startswith("InvalidCsv: incoming/served/broken.csv")
    assert listed[failed]["seconds"] >= 0

    code, out = _cli(capsys, "executions", "--endpoint-url", url, "--status", "FAILED")
    header, rule, *rows = out.splitlines()
    assert header.split() == ["status", "started", "seconds", "name", "error"]
    assert any(row.split()[0] == "FAILED" and "InvalidCsv" in row for row in rows)

    graph = tmp_path / "failed.svg"
    code, out = _cli(
        capsys, "execution", failed, "--endpoint-url", url, "--json", "--graph", str(graph)
    )
    view = json.loads(out)
    assert code == 1  # a failed execution
    assert (view["status"], view["error"]) == ("FAILED", "InvalidCsv")
    assert [(s["name"], s["result"]) for s in view["steps"]] == [
        ("Choose the path", "succeeded"),
        ("Validate CSV", "caught"),  # left through its Catch, as the console shows it
        ("Record the failure", "succeeded"),
        ("Ingestion failed", "failed"),
    ]
    assert view["steps"][1]["attempts"] == 1 and view["steps"][1]["seconds"] >= 0
    assert view["links"]["upload"] == f"s3://{runtime.names.bucket}/incoming/served/broken.csv"
    svg = graph.read_text()
    states = json.loads((ROOT / "statemachine" / "ingest.asl.json").read_text())["States"]
    maps = sum(state["Type"] == "Map" for state in states.values())
    # A box per state, and two behind each map (its stack of iterations).
    assert svg.startswith("<svg") and svg.count('rx="6"') == len(states) + 2 * maps
    assert "Ingestion failed: failed" in svg and "Summarize columns: not run" in svg
    assert "Validate CSV: caught" in svg and "<title>Start</title>" in svg
    # The path taken, in bold: Start, Choose the path, Validate, (caught) Record, Ingestion
    # failed, End.
    assert svg.count('marker-end="url(#taken)"') == 5

    picture = tmp_path / "failed.png"
    code, out = _cli(capsys, "execution", failed, "--endpoint-url", url, "--graph", str(picture))
    assert picture.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    code, out = _cli(capsys, "execution", failed, "--endpoint-url", url)
    (validate_line,) = [line for line in out.splitlines() if "Validate CSV" in line]
    assert validate_line.endswith("caught InvalidCsv")

    # AWS redrives even a permanent failure, which fails again at its Fail state; the history
    # shows the redrive.
    code, out = _cli(capsys, "redrive", "--all-failed", "--endpoint-url", url)
    assert f"{failed}: redriven" in out
    assert _wait(sfn, failed)["status"] == "FAILED"
    kinds = [e["type"] for e in sfn.get_execution_history(executionArn=failed)["events"]]
    assert kinds.count("ExecutionRedriven") == 1

    code, out = _cli(capsys, "dlq", "list", "--endpoint-url", url, "--json")
    assert code == 0
    assert isinstance(json.loads(out), list)
    code, out = _cli(capsys, "dlq", "redrive", "--endpoint-url", url)
    assert code == 0 and "moving the dead letters back" in out


@pytest.mark.slow  # a `csvflow local serve` process, started and stopped
def test_the_serve_command_announces_its_endpoint_and_stops_cleanly(database_url):
    import os
    import re
    import signal
    import subprocess
    import sys

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "csvflow",
            "local",
            "serve",
            "--port",
            "0",
            "--database-url",
            database_url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = server.stdout.readline()
        url = re.search(r"serving on (http://\S+)", first).group(1)
        buckets = [b["Name"] for b in _client(url, "s3").list_buckets()["Buckets"]]
        assert buckets == ["csvflow-local"]
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors
    # csvflow's own words only: no access line of werkzeug's for the request above.
    assert errors.startswith("stopping"), errors
    assert "GET / HTTP/1.1" not in errors
