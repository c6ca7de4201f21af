"""The one hook into moto's internals: fails loudly if a moto upgrade moves it."""

import io
import json
import os
import zipfile

import boto3
import moto
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from csvflow.local.lambda_runner import InProcessLambdaRunner

HANDLER = """
import os
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
    if event.get("cold_starts"):
        return COLD_STARTS
    if event.get("fail"):
        raise Refused("no, " + event["fail"])
    return {"got": event, "env": os.environ.get("GREETING"), "name": context.function_name,
            "database": os.environ.get("DATABASE_URL")}
"""


def code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    return buffer.getvalue()


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


def _lambda_with_function(**config):
    """A Lambda client of the emulated account, with function "f" running HANDLER."""
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name="us-east-1")
    lam.create_function(
        FunctionName="f",
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": code()},
        **config,
    )
    return lam


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
