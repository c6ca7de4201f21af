"""Local RedriveExecution on moto's Step Functions: the second hook into moto's internals."""

import json
import time

import boto3
import pytest
from moto import mock_aws

from csvflow.local.lambda_runner import InProcessLambdaRunner
from csvflow.local.redrive import NotRedrivable, redrive_execution
from tests.support.emulated_lambda import create_function, emulated_role

FLAKY = """
calls = []

def lambda_handler(event, context):
    calls.append(event)
    if len(calls) == 1:
        raise ConnectionError("first call fails")
    return {"seen": event["n"]}
"""
DEFINITION = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": 7, "ResultPath": "$.n", "Next": "Call"},
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "flaky",
                "Payload": {"n.$": "$.n", "execution.$": "$$.Execution.Id"},
            },
            "ResultSelector": {"result.$": "$.Payload"},
            "ResultPath": "$.called",
            "Next": "Finish",
        },
        "Finish": {"Type": "Pass", "End": True},
    },
}


def _finished(sfn, arn):
    for _ in range(400):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.025)
    raise AssertionError("execution did not finish")


@pytest.fixture
def machine():
    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        InProcessLambdaRunner().installed() as runner,
    ):
        role = emulated_role()
        create_function("flaky", FLAKY, role)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(name="m", definition=json.dumps(DEFINITION), roleArn=role)[
            "stateMachineArn"
        ]
        yield sfn, arn, runner


def test_a_failed_execution_resumes_at_the_failed_state_with_its_arn_and_history(machine):
    sfn, machine_arn, runner = machine
    execution = sfn.start_execution(stateMachineArn=machine_arn, input="{}")["executionArn"]
    failed = _finished(sfn, execution)
    assert failed["status"] == "FAILED"

    redriven = redrive_execution(execution)
    assert (redriven.state, redriven.redrive_count) == ("Call", 1)
    succeeded = _finished(sfn, execution)
    assert succeeded["status"] == "SUCCEEDED"
    assert json.loads(succeeded["output"])["called"]["result"] == {"seen": 7}

    events = sfn.get_execution_history(executionArn=execution)["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    assert entered == ["Prepare", "Call", "Call", "Finish"]  # Prepare is not run again
    kinds = [e["type"] for e in events]
    assert (
        kinds.index("ExecutionFailed")
        < kinds.index("ExecutionRedriven")
        < kinds.index("ExecutionSucceeded")
    )
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [name for name, _ in runner.invocations] == ["flaky", "flaky"]
    assert [
        e["executionArn"] for e in sfn.list_executions(stateMachineArn=machine_arn)["executions"]
    ] == [execution]


def test_a_succeeded_execution_is_not_redrivable(machine):
    sfn, machine_arn, _ = machine
    execution = sfn.start_execution(stateMachineArn=machine_arn, input="{}")["executionArn"]
    _finished(sfn, execution)
    redrive_execution(execution)
    _finished(sfn, execution)
    with pytest.raises(NotRedrivable, match="SUCCEEDED"):
        redrive_execution(execution)
