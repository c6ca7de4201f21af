"""One behaviour suite for the WorkflowStarter port, run on Step Functions (moto) and the fake.

The port's promise: an execution's ARN when one starts, None when one of that name already
exists, whether it is still running or has finished (a repeated SQS delivery, a second S3
notification of the same upload). Step Functions answers a repeat of a *running* execution
with the same name and input by returning its ARN, as if it had started it; the adapter must
still say None, or a repeated delivery would be logged and counted as a start.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from csvflow.adapters.stepfunctions import StepFunctionsStarter
from tests.support.fakes import InMemoryStarter

# A state machine that waits, so its executions stay RUNNING until stopped.
DEFINITION = json.dumps(
    {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}
)
PAYLOAD = {"source": {"bucket": "b", "key": "incoming/a.csv"}, "dataset": "d"}


class Started:
    """What a starter has started, seen the same way for each implementation."""

    def __init__(
        self,
        executions: Callable[[], dict[str, dict[str, Any]]],
        finish: Callable[[str], None],
    ) -> None:
        self.executions = executions  # name -> the payload it was started with
        self.finish = finish  # end a running execution (Step Functions: stop it)


def _step_functions() -> Iterator[tuple[StepFunctionsStarter, Started]]:
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="m", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]

        def executions() -> dict[str, dict[str, Any]]:
            found = {}
            for listed in sfn.list_executions(stateMachineArn=machine)["executions"]:
                described = sfn.describe_execution(executionArn=listed["executionArn"])
                execution_input = json.loads(described["input"])
                execution_input.pop("start_request", None)  # the adapter's own (see the adapter)
                found[listed["name"]] = execution_input
            return found

        def finish(arn: str) -> None:
            sfn.stop_execution(executionArn=arn)
            assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"

        yield StepFunctionsStarter(sfn, machine), Started(executions, finish)


@pytest.fixture(params=["stepfunctions", "fake"])
def starter(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Started]]:
    if request.param == "fake":
        fake = InMemoryStarter()
        yield fake, Started(lambda: dict(fake.executions), lambda arn: None)
        return
    yield from _step_functions()


class TestWorkflowStarterContract:
    def test_a_start_returns_the_executions_arn_and_starts_it_with_the_payload(self, starter):
        start, started = starter
        arn = start.start("upload-1", PAYLOAD)
        assert arn is not None
        assert arn.startswith("arn:aws:states:") and ":execution:" in arn
        assert arn.endswith(":upload-1")
        assert started.executions() == {"upload-1": PAYLOAD}

    def test_a_repeat_while_the_first_runs_starts_nothing_and_says_so(self, starter):
        start, started = starter
        assert start.start("upload-1", PAYLOAD)
        assert start.start("upload-1", PAYLOAD) is None
        assert started.executions() == {"upload-1": PAYLOAD}

    def test_a_repeat_after_the_first_finished_starts_nothing_and_says_so(self, starter):
        start, started = starter
        arn = start.start("upload-1", PAYLOAD)
        started.finish(arn)
        assert start.start("upload-1", PAYLOAD) is None
        assert list(started.executions()) == ["upload-1"]

    def test_another_name_starts_its_own_execution(self, starter):
        start, started = starter
        first = start.start("upload-1", PAYLOAD)
        second = start.start("upload-2", {**PAYLOAD, "dataset": "e"})
        assert second and second != first
        assert started.executions() == {
            "upload-1": PAYLOAD,
            "upload-2": {**PAYLOAD, "dataset": "e"},
        }
