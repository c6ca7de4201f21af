"""Test functions in the emulated account: a handler's source as a deployment package, and a
function made of it, as the tests that run the Lambda runner, the map and redrive need them."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import boto3

REGION = "us-east-1"


def app_zip(source: str) -> bytes:
    """A deployment package holding ``source`` as app.py (handler ``app.lambda_handler``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def emulated_role() -> str:
    """The ARN of a role for the emulated account's functions and state machines."""
    iam = boto3.client("iam", region_name=REGION)
    return str(iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"])


def create_function(name: str, source: str, role: str, **config: Any) -> Any:
    """Create function ``name`` running ``source``; the account's Lambda client."""
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": app_zip(source)},
        **config,
    )
    return lam
