"""The one hook into moto's internals: fails loudly if a moto upgrade moves it."""

import base64
import io
import json
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager

import boto3
import moto
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from csvflow.local.lambda_runner import InProcessLambdaRunner
from tests.support.emulated_lambda import app_zip, create_function, emulated_role

HANDLER = """
import logging
import os
import sys
import time

COLD_STARTS = []
COLD_STARTS.append(os.environ.get("GREETING"))

class Refused(Exception):
    pass

def lambda_handler(event, context):
    if event.get("spin"):
        try:
            while True:  # Python work, as validation's loop is
                time.sleep(0.01)
        finally:
            with open(event["spin"], "w") as marker:
                marker.write("unwound")
    if event.get("hold"):
        while not os.path.exists(event["hold"]):
            time.sleep(0.01)
    if event.get("cold_starts"):
        return COLD_STARTS
    if event.get("log"):
        logging.getLogger("app").warning("said %s", event["log"])
    if event.get("fail"):
        raise Refused("no, " + event["fail"])
    return {"got": event, "env": os.environ.get("GREETING"), "name": context.function_name,
            "database": os.environ.get("DATABASE_URL")}
"""


def code() -> bytes:
    return app_zip(HANDLER)


def test_moto_is_the_pinned_version_with_the_seam():
    assert moto.__version__ == "5.2.5"
    assert callable(LambdaFunction._invoke_lambda)


@mock_aws
def test_invocations_run_the_handler_in_process(monkeypatch):
    # The caller's configuration must not leak into a function that does not declare it.
    monkeypatch.setenv("DATABASE_URL", "postgresql://caller-only/db")
    lam = _lambda_with_function(Environment={"Variables": {"GREETING": "hi"}})
    original = LambdaFunction._invoke_lambda
    with InProcessLambdaRunner().installed() as runner:
        ok = lam.invoke(FunctionName="f", Payload=json.dumps({"x": 1}))
        assert "FunctionError" not in ok
        assert json.loads(ok["Payload"].read()) == {
            "got": {"x": 1},
            "env": "hi",
            "name": "f",
            "database": "",  # hidden: empty, which Settings reads as unset
        }
        failed = lam.invoke(FunctionName="f", Payload=json.dumps({"fail": "thanks"}))
        assert failed["FunctionError"]
        error = json.loads(failed["Payload"].read())
        assert (error["errorType"], error["errorMessage"]) == ("Refused", "no, thanks")
        assert runner.invocations == [("f", "ok"), ("f", "Refused")]
    assert LambdaFunction._invoke_lambda is original
    assert os.environ["DATABASE_URL"] == "postgresql://caller-only/db"


@mock_aws
def test_an_invocations_log_reaches_the_sinks_and_the_tail_as_lambda_sends_it():
    lam = _lambda_with_function()
    with InProcessLambdaRunner().installed() as runner:
        kept = []
        runner.log_sinks.append(kept.append)
        logging.getLogger("app").warning("the caller's, not the function's")
        answer = lam.invoke(FunctionName="f", Payload=json.dumps({"log": "hello"}), LogType="Tail")
        lam.invoke(FunctionName="f", Payload=json.dumps({"log": "bye", "fail": "thanks"}))

    said, failed = kept
    assert said.function_name == "f"
    start, logged, end, report = said.lines
    assert start == f"START RequestId: {said.request_id} Version: $LATEST"
    assert {k: v for k, v in json.loads(logged).items() if k != "timestamp"} == {
        "level": "WARNING",
        "logger": "app",
        "message": "said hello",
    }
    assert end == f"END RequestId: {said.request_id}"
    assert report.startswith(f"REPORT RequestId: {said.request_id}\tDuration: ")
    assert "said hello" in base64.b64decode(answer["LogResult"]).decode()
    assert json.loads(failed.lines[-3])["errorType"] == "Refused"
    assert not any("caller's" in line for log in kept for line in log.lines)


def _lambda_with_function(**config):
    """A Lambda client of the emulated account, with function "f" running HANDLER."""
    return create_function("f", HANDLER, emulated_role(), **config)


@mock_aws
def test_a_handler_that_outruns_its_timeout_is_stopped_and_reported_as_lambda_does(tmp_path):
    lam = _lambda_with_function(Timeout=1)
    marker = tmp_path / "unwound"
    with InProcessLambdaRunner().installed() as runner:
        timed_out = lam.invoke(FunctionName="f", Payload=json.dumps({"spin": str(marker)}))
        error = json.loads(timed_out["Payload"].read())
        assert timed_out["FunctionError"]
        assert error == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": "Task timed out after 1.00 seconds",
        }
        assert marker.read_text() == "unwound"  # its finally blocks ran (a transaction rolls back)
        # The next call is a new environment and runs normally; no stray stop reaches it.
        after = lam.invoke(FunctionName="f", Payload=json.dumps({"x": 2}))
        assert "FunctionError" not in after
        assert runner.invocations == [("f", "Sandbox.Timedout"), ("f", "ok")]


@mock_aws
def test_a_configuration_change_means_a_cold_start_with_the_new_environment():
    lam = _lambda_with_function(Environment={"Variables": {"GREETING": "hi"}})
    ask = json.dumps({"cold_starts": True})
    with InProcessLambdaRunner().installed():
        assert json.loads(lam.invoke(FunctionName="f", Payload=ask)["Payload"].read()) == ["hi"]
        lam.update_function_configuration(
            FunctionName="f", Environment={"Variables": {"GREETING": "hello"}}
        )
        assert json.loads(lam.invoke(FunctionName="f", Payload=ask)["Payload"].read()) == ["hello"]


@mock_aws
def test_invocations_beyond_the_reserved_concurrency_are_refused_as_lambda_refuses_them(tmp_path):
    # One unit of concurrency is held by a call running or waiting for the runner's lock:
    # while another function runs, of two calls to "f" (limited to 1) one waits, one is refused.
    lam = _lambda_with_function(Timeout=60)
    lam.create_function(
        FunctionName="other",
        Runtime="python3.12",
        Role=lam.get_function(FunctionName="f")["Configuration"]["Role"],
        Handler="app.lambda_handler",
        Code={"ZipFile": code()},
        Timeout=60,
    )
    lam.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=1)
    once = boto3.client(
        "lambda", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )
    release = tmp_path / "release"
    outcomes = []

    def call(name):
        try:
            once.invoke(FunctionName=name, Payload=json.dumps({"hold": str(release)}))
            outcomes.append((name, "ok"))
        except ClientError as error:
            outcomes.append((name, error.response))

    with InProcessLambdaRunner().installed() as runner:
        callers = [threading.Thread(target=call, args=(name,)) for name in ("other", "f", "f")]
        callers[0].start()
        _until(lambda: runner.invocations == [("other", "start")])
        for caller in callers[1:]:
            caller.start()
        _until(lambda: runner.throttled["f"] == 1)
        release.touch()
        for caller in callers:
            caller.join(timeout=30)

        refused = [response for name, response in outcomes if response != "ok"]
        assert sorted(name for name, response in outcomes if response == "ok") == ["f", "other"]
        (response,) = refused
        assert response["Error"] == {
            "Code": "TooManyRequestsException",
            "Message": "Rate Exceeded.",
        }
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert runner.invocations == [("other", "ok"), ("f", "ok")]  # a refused call never ran

        # With its concurrency given back, "f" runs again; at 0, it is refused every time.
        assert "FunctionError" not in once.invoke(FunctionName="f", Payload=json.dumps({}))
        lam.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=0)
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            once.invoke(FunctionName="f", Payload=json.dumps({}))


def _until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@mock_aws
def test_a_handler_module_that_cannot_be_imported_is_reported_as_lambda_reports_it():
    lam = _lambda_with_function()
    broken = app_zip("import csvflow_no_such_module\n" + HANDLER)
    lam.update_function_code(FunctionName="f", ZipFile=broken)
    with InProcessLambdaRunner().installed() as runner:
        failed = lam.invoke(FunctionName="f", Payload=json.dumps({}))
        assert failed["FunctionError"]
        assert json.loads(failed["Payload"].read()) == {
            "errorType": "Runtime.ImportModuleError",
            "errorMessage": "Unable to import module 'app': "
            "No module named 'csvflow_no_such_module'",
        }
        assert runner.invocations == [("f", "Runtime.ImportModuleError")]


POWERTOOLS_HANDLER = """
import logging
import os
import sys
import time
from aws_lambda_powertools import Logger

logger = Logger()  # the service from POWERTOOLS_SERVICE_NAME
module_logger = logging.getLogger("shop.orders")  # a module of the package the service names

@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event, context):
    if event.get("order"):
        logger.append_keys(order=event["order"])
    if event.get("hold"):  # tell the test it runs, then wait for its word
        open(event["hold"] + ".running", "w").close()
        while not os.path.exists(event["hold"]):
            time.sleep(0.01)
    module_logger.info("took %s", event.get("order") or "nothing")
    print('{"printed": true}')
"""


@mock_aws
def test_each_function_logs_with_its_own_powertools_configuration_and_the_caller_keeps_its():
    role, shop_service = emulated_role(), {"Variables": {"POWERTOOLS_SERVICE_NAME": "shop"}}
    for name in ("a", "b"):
        lam = create_function(name, POWERTOOLS_HANDLER, role, Environment=shop_service)
    shop, root = logging.getLogger("shop"), logging.getLogger()
    callers = (list(shop.handlers), shop.level, [list(h.filters) for h in root.handlers])
    with InProcessLambdaRunner().installed() as runner:
        kept, heard = [], []
        runner.log_sinks.append(kept.append)
        runner.record_listeners.append(lambda name, record: heard.append((name, record.name)))
        lam.invoke(FunctionName="a", Payload=json.dumps({"order": "o-1"}))
        lam.invoke(FunctionName="b", Payload=json.dumps({}))
        lam.invoke(FunctionName="a", Payload=json.dumps({}))  # warm, its keys cleared

    emitted = {}
    for log in kept:
        emitted.setdefault(log.function_name, []).append(
            [json.loads(line) for line in log.lines[1:-2]]
        )
    (first_a, second_a), (only_b,) = emitted["a"], emitted["b"]
    took, printed = first_a
    assert (took["message"], took["service"], took["order"]) == ("took o-1", "shop", "o-1")
    assert took["function_name"] == "a" and printed == {"printed": True}
    assert [line.get("order") for line in only_b + second_a] == [None] * 4  # nothing leaked
    assert heard == [("a", "shop.orders"), ("b", "shop.orders"), ("a", "shop.orders")]
    assert (list(shop.handlers), shop.level, [list(h.filters) for h in root.handlers]) == callers


@contextmanager
def _held_invocation(lam, name, tmp_path):
    """While the block runs, ``name`` runs on a thread of its own, held (POWERTOOLS_HANDLER's
    ``hold``); it finishes as the block ends."""
    hold = tmp_path / "hold"
    invocation = threading.Thread(
        target=lam.invoke,
        kwargs={"FunctionName": name, "Payload": json.dumps({"hold": str(hold)})},
    )
    invocation.start()
    while not (tmp_path / "hold.running").exists():
        time.sleep(0.01)
    try:
        yield
    finally:
        hold.touch()
        invocation.join(timeout=30)


@mock_aws
def test_what_other_threads_log_or_print_while_a_function_runs_stays_the_callers(tmp_path, capsys):
    lam = create_function(
        "a",
        POWERTOOLS_HANDLER,
        emulated_role(),
        Environment={"Variables": {"POWERTOOLS_SERVICE_NAME": "shop"}},
    )
    callers = []

    class Kept(logging.Handler):
        def emit(self, record):
            callers.append(record.getMessage())

    root, kept = logging.getLogger(), Kept(level=logging.WARNING)
    root.addHandler(kept)
    try:
        with InProcessLambdaRunner().installed() as runner:
            logs = []
            runner.log_sinks.append(logs.append)
            lam.invoke(FunctionName="a", Payload=json.dumps({}))  # cold start: its Logger
            with _held_invocation(lam, "a", tmp_path):
                # The caller's thread, while the function runs: its record and its print.
                logging.getLogger("shop.cli").warning("the caller's warning")
                print("the caller's print")
    finally:
        root.removeHandler(kept)

    held = [json.loads(line) for line in logs[-1].lines[1:-2]]
    assert [line.get("message") for line in held] == ["took nothing", None]  # and the print
    assert callers == ["the caller's warning"]
    assert capsys.readouterr().out == "the caller's print\n"


@mock_aws
def test_a_root_handler_added_while_a_function_runs_stays_when_it_ends(tmp_path):
    # The root's handlers are the function's while it runs; what the caller's threads add
    # meanwhile (the CLI configuring its logging, a test's capture) is theirs to keep.
    lam = create_function("a", POWERTOOLS_HANDLER, emulated_role())
    root = logging.getLogger()
    found, added = list(root.handlers), logging.NullHandler()
    try:
        with InProcessLambdaRunner().installed():
            with _held_invocation(lam, "a", tmp_path):
                root.addHandler(added)
            handlers = list(root.handlers)
    finally:
        root.removeHandler(added)
    assert handlers == [*found, added]


@mock_aws
def test_a_stdout_set_while_a_function_runs_stays_when_it_ends(tmp_path, capsys):
    # As pytest sets the next test's capsys while a function the last test set off still runs
    # (the served endpoint's delivery thread), and puts back what it found once that test ends.
    lam = create_function("a", POWERTOOLS_HANDLER, emulated_role())
    theirs, ours = io.StringIO(), sys.stdout
    try:
        with InProcessLambdaRunner().installed():
            with _held_invocation(lam, "a", tmp_path):
                found, sys.stdout = sys.stdout, theirs
            still_theirs = sys.stdout is theirs
            print("the next test's output")
            sys.stdout = found
            print("after the next test")
    finally:
        sys.stdout = ours
    assert still_theirs
    # (the function's own print came after the swap: a stdout set for the process takes it)
    assert theirs.getvalue() == '{"printed": true}\nthe next test\'s output\n'
    assert capsys.readouterr().out == "after the next test\n"


LONG_LIVED = """
KEPT = [[number] for number in range(50_000)]  # what a module's import keeps, as pandas does

def lambda_handler(event, context):
    return len(KEPT)
"""


@mock_aws
def test_what_a_cold_start_imports_is_kept_out_of_the_collectors_full_passes():
    """One process holds several functions' modules and the emulator: each full collection
    would walk them all again (function_host.py)."""
    import gc

    lam = create_function("kept", LONG_LIVED, emulated_role())
    with InProcessLambdaRunner().installed():
        before = gc.get_freeze_count()
        try:
            answer = lam.invoke(FunctionName="kept", Payload=b"{}")
            assert json.loads(answer["Payload"].read()) == 50_000
            assert gc.get_freeze_count() - before > 50_000
        finally:
            gc.unfreeze()
