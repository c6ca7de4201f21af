"""The local stack with its functions running at a Lambda endpoint (`sam local start-lambda`).

What the functions in containers need, set up beside the in-process account: their
invocations sent to the endpoint (lambda_endpoint.py), the emulated AWS APIs and the database
reachable from Docker's bridge network (container_network.py), and the persist function's
secret naming the database as the containers reach it. The migration step stays in-process:
it is a deploy step, run before any upload, and SAM's environment file does not give it the
owner's login.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from csvflow.exceptions import ConfigurationError
from csvflow.local.aws_endpoint import account_served
from csvflow.local.container_network import Relay, database, docker_bridge_gateway
from csvflow.local.lambda_endpoint import LambdaEndpointRunner
from csvflow.local.stack import StackNames

# The functions the endpoint runs: the workflow's, the starter included (the SQS delivery
# invokes it there too). env.json gives them their variables.
SERVED = ("starter", "validate", "validate-part", "summarize", "persist")
# Where env.json's AWS_ENDPOINT_URL points (host.docker.internal:4566).
CONTAINER_AWS_PORT = 4566


@contextmanager
def functions_in_containers(
    *,
    endpoint_url: str,
    names: StackNames,
    session: Any,
    database_url: str,
    application_secret_arn: str,
    log_sinks: list[Any],
    aws_port: int = CONTAINER_AWS_PORT,
) -> Iterator[LambdaEndpointRunner]:
    """Send the workflow's functions to ``endpoint_url`` for the block; the runner."""
    runner = LambdaEndpointRunner(endpoint_url, [names.prefix + name for name in SERVED])
    runner.check()
    runner.log_sinks = log_sinks
    gateway = docker_bridge_gateway()
    with ExitStack() as stack:
        # moto's account lives in this process: a second server of it, on the bridge.
        _check_free(gateway, aws_port)  # (werkzeug would print its own words and exit)
        stack.enter_context(account_served(gateway, aws_port, name="csvflow-for-containers"))
        relay = stack.enter_context(Relay(gateway, 0, database(database_url)))
        _point_secret_at(session, application_secret_arn, *relay.address)
        stack.enter_context(runner.installed())
        yield runner


def _check_free(host: str, port: int) -> None:
    try:
        socket.create_server((host, port)).close()
    except OSError as error:
        raise ConfigurationError(
            f"cannot serve the emulated AWS to the containers on {host}:{port} ({error.strerror}):"
            " is another `--lambda-endpoint` run or `local serve` using it?"
        ) from error


def _point_secret_at(session: Any, secret_arn: str, host: str, port: int) -> None:
    """The persist function's login, with the database where the containers reach it."""
    secrets = session.client("secretsmanager")
    login = json.loads(secrets.get_secret_value(SecretId=secret_arn)["SecretString"])
    login.update(host=host, port=port)
    secrets.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(login))
