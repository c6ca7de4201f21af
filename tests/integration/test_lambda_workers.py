"""Concurrent invocations run side by side: in this process and in worker processes that reach
the emulated account over HTTP (lambda_runner.py, worker_pool.py; docs/adr/0019)."""

import base64
import datetime as dt
import json
import logging
import os
import threading
import time
from contextlib import contextmanager
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from csvflow.local import worker_pool
from csvflow.local.lambda_runner import InProcessLambdaRunner
from csvflow.local.lambda_worker import record_fields
from tests.support.distributed_map import run_map
from tests.support.emulated_lambda import app_zip, create_function, emulated_role

HANDLER = """
import json
import logging
import os
import sys
import time

import boto3

COLD_STARTS = []
COLD_STARTS.append(os.getpid())
progress = logging.getLogger("csvflow.progress")
progress.setLevel(logging.INFO)  # as the functions' Logger sets the package's


class Refused(Exception):
    pass


def lambda_handler(event, context):
    if event.get("hold"):  # tell the test it runs here, then wait for its word
        open(event["hold"] + ".running", "w").close()
        while not os.path.exists(event["hold"]):
            time.sleep(0.01)
    if event.get("meet"):
        return meet(event)
    if event.get("spin"):
        while True:  # Python work, which the Timeout stops
            time.sleep(0.01)
    if event.get("block"):
        time.sleep(event["block"])  # in C: no exception reaches it before it returns
    if event.get("exit"):
        sys.stdout.flush()
        os._exit(event["exit"])
    if event.get("log"):
        logging.getLogger("app").warning("said %s", event["log"])
        progress.info("%(rows)d rows", {"rows": 7, "object_key": "incoming/a.csv"})
        print(json.dumps({"printed": event["log"]}))
    if event.get("fail"):
        raise Refused("no, " + event["fail"])
    return {"pid": os.getpid(), "cold_starts": COLD_STARTS, "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
            "database": os.environ.get("DATABASE_URL"), "greeting": os.environ.get("GREETING")}


def meet(event):
    # Each iteration says it started, in the emulated S3, then waits until every other has:
    # met only when they run at the same time.
    s3 = boto3.client("s3", region_name="us-east-1")
    started = time.time()
    s3.put_object(Bucket=event["bucket"], Key=f"started/{event['i']}", Body=b"")
    deadline = time.monotonic() + event["wait"]
    met = False
    while time.monotonic() < deadline and not met:
        listed = s3.list_objects_v2(Bucket=event["bucket"], Prefix="started/")
        met = listed.get("KeyCount", 0) >= event["of"]
        time.sleep(0.05)
    work_until = time.process_time() + event.get("cpu", 0)
    while time.process_time() < work_until:
        pass
    record = {"i": event["i"], "pid": os.getpid(), "start": started, "end": time.time(), "met": met}
    s3.put_object(Bucket=event["bucket"], Key=f"records/{event['i']}.json", Body=json.dumps(record))
    return record
"""


def _account(**config):
    role = emulated_role()
    lam = create_function("f", HANDLER, role, **({"Timeout": 60} | config))
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="data")
    return lam, role


def _run_map(role, items, concurrency):
    s3 = boto3.client("s3", region_name="us-east-1")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    described = run_map(sfn, s3, role, items, bucket="data", concurrency=concurrency)
    records = [
        json.loads(s3.get_object(Bucket="data", Key=f"records/{item['i']}.json")["Body"].read())
        for item in items
    ]
    return described, records


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def test_distributed_map_iterations_run_at_the_same_time_in_two_processes():
    _, role = _account()
    items = [{"meet": True, "bucket": "data", "i": i, "of": 2, "wait": 20} for i in range(2)]
    with InProcessLambdaRunner(side_by_side=2).installed() as runner:
        described, records = _run_map(role, items, concurrency=2)

        assert described["status"] == "SUCCEEDED", described
        assert [record["met"] for record in records] == [True, True]
        pids = {record["pid"] for record in records}
        assert len(pids) == 2 and os.getpid() in pids
        first, second = sorted(records, key=lambda record: record["start"])
        assert second["start"] < first["end"]  # they overlapped
        assert runner.worker_processes_started == 1
        assert runner.invocations == [("f", "ok"), ("f", "ok")]


@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
def test_with_one_place_the_map_iterations_take_turns_in_this_process():
    # What the test above proves fails without workers: the iterations never meet.
    _, role = _account()
    items = [{"meet": True, "bucket": "data", "i": i, "of": 2, "wait": 2} for i in range(2)]
    with InProcessLambdaRunner(side_by_side=1).installed() as runner:
        described, records = _run_map(role, items, concurrency=2)

        assert described["status"] == "SUCCEEDED"
        first, second = sorted(records, key=lambda record: record["start"])
        assert (first["met"], second["met"]) == (False, True)
        assert second["start"] >= first["end"]
        assert {record["pid"] for record in records} == {os.getpid()}
        assert runner.worker_processes_started == 0


@contextmanager
def _busy_here(lam, tmp_path):
    """Function "f" held running in this process: meanwhile its invocations go to a worker."""
    hold = tmp_path / "hold"
    holding = threading.Thread(
        target=lam.invoke,
        kwargs={"FunctionName": "f", "Payload": json.dumps({"hold": str(hold)})},
    )
    holding.start()
    _until((tmp_path / "hold.running").exists)
    try:
        yield
    finally:
        hold.touch()
        holding.join(timeout=30)


def _until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def _invoke(lam, event, **extra):
    answer = lam.invoke(FunctionName="f", Payload=json.dumps(event), **extra)
    return answer, json.loads(answer["Payload"].read())


@mock_aws
def test_a_workers_answers_errors_and_logs_arrive_as_from_this_process(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://caller-only/db")
    lam, _ = _account(Environment={"Variables": {"GREETING": "hi"}})
    with InProcessLambdaRunner(side_by_side=2).installed() as runner:
        kept, heard = [], []
        runner.log_sinks.append(kept.append)
        runner.record_listeners.append(lambda name, record: heard.append((name, record)))
        with _busy_here(lam, tmp_path):
            _, first = _invoke(lam, {})
            _, warm = _invoke(lam, {})
            said, _ = _invoke(lam, {"log": "hello"}, LogType="Tail")
            failed, error = _invoke(lam, {"fail": "thanks"})

        assert first["pid"] != os.getpid()
        assert warm["pid"] == first["pid"] and warm["cold_starts"] == [first["pid"]]
        assert first["greeting"] == "hi" and first["database"] == ""  # the caller's is hidden
        assert first["endpoint"].startswith("http://127.0.0.1:")  # the account, over HTTP
        assert runner.worker_processes_started == 1

        assert failed["FunctionError"]
        assert (error["errorType"], error["errorMessage"]) == ("Refused", "no, thanks")
        assert any("raise Refused" in line for line in error["stackTrace"])

        tail = base64.b64decode(said["LogResult"]).decode().splitlines()
        start, logged, told, printed, end, report = tail
        request_id = start.split()[2]
        assert start == f"START RequestId: {request_id} Version: $LATEST"
        assert {k: v for k, v in json.loads(logged).items() if k != "timestamp"} == {
            "level": "WARNING",
            "logger": "app",
            "message": "said hello",
        }
        assert json.loads(told)["rows"] == 7  # the figures are fields of the line
        assert json.loads(printed) == {"printed": "hello"}
        assert (end, report.split("\t")[0]) == (
            f"END RequestId: {request_id}",
            f"REPORT RequestId: {request_id}",
        )
        by_request = {log.request_id: log for log in kept}
        assert by_request[request_id].lines == tail
        assert json.loads(kept[-2].lines[-3])["errorType"] == "Refused"  # logged, as Lambda does

        progress = [record for name, record in heard if record.name == "csvflow.progress"]
        (record,) = progress
        assert (heard[0][0], record.getMessage()) == ("f", "7 rows")
        assert record.args == {"rows": 7, "object_key": "incoming/a.csv"}

        # The holder finished last; each invocation is recorded where it started.
        assert runner.invocations == [("f", "ok")] * 4 + [("f", "Refused")]
    assert os.environ["DATABASE_URL"] == "postgresql://caller-only/db"


@mock_aws
def test_a_worker_stops_a_handler_at_its_timeout_and_starts_anew(tmp_path):
    lam, _ = _account()
    with InProcessLambdaRunner(side_by_side=2).installed() as runner:
        with _busy_here(lam, tmp_path):
            # (the holder keeps the Timeout it started with)
            lam.update_function_configuration(FunctionName="f", Timeout=1)
            timed_out, error = _invoke(lam, {"spin": True})
            _, after = _invoke(lam, {})

        assert timed_out["FunctionError"]
        assert error == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": "Task timed out after 1.00 seconds",
        }
        assert after["pid"] != os.getpid()
        # Lambda discards a timed-out environment: a new process, a new cold start.
        assert runner.worker_processes_started == 2
        assert after["cold_starts"] == [after["pid"]]


@mock_aws
def test_a_worker_blocked_past_its_timeout_is_stopped_and_one_that_exits_is_reported(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(worker_pool, "STOP_GRACE_SECONDS", 1.0)
    lam, _ = _account()
    with InProcessLambdaRunner(side_by_side=2).installed() as runner:
        with _busy_here(lam, tmp_path):
            lam.update_function_configuration(FunctionName="f", Timeout=1)
            _invoke(lam, {})  # started and warm, so the grace is the block's only
            started = time.monotonic()
            _, blocked = _invoke(lam, {"block": 30})
            stopped_after = time.monotonic() - started
            # A new worker starts for the next call: under load its start alone can pass 1 s.
            lam.update_function_configuration(FunctionName="f", Timeout=60)
            _, exited = _invoke(lam, {"exit": 3})

        assert blocked["errorType"] == "Sandbox.Timedout"
        assert stopped_after < 10
        assert exited["errorType"] == "Runtime.ExitError"
        assert exited["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")
        assert runner.invocations[-2:] == [("f", "Sandbox.Timedout"), ("f", "Runtime.ExitError")]


@mock_aws
def test_a_worker_reports_a_module_that_cannot_be_imported_as_lambda_does(tmp_path):
    lam, _ = _account()
    with InProcessLambdaRunner(side_by_side=2).installed():
        with _busy_here(lam, tmp_path):
            lam.update_function_code(
                FunctionName="f", ZipFile=app_zip("import csvflow_no_such_module\n" + HANDLER)
            )
            _, error = _invoke(lam, {})

    assert error == {
        "errorType": "Runtime.ImportModuleError",
        "errorMessage": "Unable to import module 'app': No module named 'csvflow_no_such_module'",
    }


@mock_aws
def test_other_functions_wait_for_this_process_rather_than_start_a_worker(tmp_path):
    lam, role = _account()
    create_function("g", HANDLER, role)
    with InProcessLambdaRunner(side_by_side=2).installed() as runner:
        with _busy_here(lam, tmp_path):
            other = threading.Thread(target=lam.invoke, kwargs={"FunctionName": "g"})
            other.start()
            time.sleep(0.5)
            assert runner.invocations == [("f", "start")]  # "g" waits: not started anywhere
        other.join(timeout=30)
        assert runner.invocations == [("f", "ok"), ("g", "ok")]
        assert runner.worker_processes_started == 0


def test_a_runner_needs_a_place_to_run():
    with pytest.raises(ValueError, match="at least 1"):
        InProcessLambdaRunner(side_by_side=0)


def test_a_record_crosses_to_the_runner_with_its_figures_as_a_mapping():
    told = logging.LogRecord(
        "csvflow.progress", logging.INFO, "v.py", 7, "%(rows)d rows", None, None
    )
    told.args = {"rows": 7, "share": Decimal("0.5"), "at": dt.date(2026, 11, 29)}
    plain = logging.LogRecord("app", logging.WARNING, "v.py", 8, "said %s", ("hi",), None)
    odd = logging.LogRecord("app", logging.WARNING, "v.py", 9, "%d rows", ("many",), None)

    crossed = [logging.makeLogRecord(record_fields(r)) for r in (told, plain, odd)]

    assert crossed[0].args == {"rows": 7, "share": "0.5", "at": "2026-11-29"}
    assert [r.getMessage() for r in crossed] == ["7 rows", "said hi", "%d rows"]
    assert [(r.name, r.levelno) for r in crossed] == [
        ("csvflow.progress", logging.INFO),
        ("app", logging.WARNING),
        ("app", logging.WARNING),
    ]
