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

class Refused(Exception):
    pass

def lambda_handler(event, context):
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
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name="us-east-1")
    lam.create_function(
        FunctionName="f",
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": code()},
        Environment={"Variables": {"GREETING": "hi"}},
    )
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
