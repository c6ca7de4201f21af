"""A definition is parsed once for the state machine's creation and its first execution
(local/asl_parses.py): each execution still evaluates a program of its own, an invalid
definition is still refused, and the check that moto still parses twice without it."""

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from csvflow.local.asl_parses import definitions_parsed_once_for_their_first_execution
from tests.support.emulated_lambda import REGION, emulated_role

DEFINITION = json.dumps(
    {
        "StartAt": "Add",
        "States": {
            "Add": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.n, 1)"}, "End": True}
        },
    }
)


@pytest.fixture
def parses(monkeypatch):
    """Every parse moto's parser makes, by definition (counted beneath the seam)."""
    made: list[str] = []
    parse = AmazonStateLanguageParser.__dict__["parse"].__func__

    def counted(definition):
        made.append(definition)
        return parse(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counted))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield made


def _created_and_executed(inputs: list[int], role: str | None = None) -> list[dict]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    role = role or emulated_role()
    arn = sfn.create_state_machine(name="m", definition=DEFINITION, roleArn=role)["stateMachineArn"]
    executions = [
        sfn.start_execution(stateMachineArn=arn, name=f"e{n}", input=json.dumps({"n": n}))[
            "executionArn"
        ]
        for n in inputs
    ]
    finished = []
    for execution in executions:
        deadline = time.monotonic() + 30
        while (described := sfn.describe_execution(executionArn=execution))[
            "status"
        ] == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.02)
        finished.append(described)
    return finished


def test_moto_alone_parses_a_definition_for_its_creation_and_each_execution(parses):
    # When this fails, moto parses less by itself: drop local/asl_parses.py.
    _created_and_executed([1])
    assert parses == [DEFINITION, DEFINITION]


def test_the_first_execution_takes_the_program_its_creation_parsed(parses):
    with definitions_parsed_once_for_their_first_execution():
        finished = _created_and_executed([1, 41])

    # Creation, then the second execution: the first ran the program validated at creation.
    assert parses == [DEFINITION, DEFINITION]
    assert [(e["status"], json.loads(e["output"])) for e in finished] == [
        ("SUCCEEDED", {"sum": 2}),
        ("SUCCEEDED", {"sum": 42}),
    ]


def test_an_invalid_definition_is_still_refused(parses):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    role = emulated_role()
    with (
        definitions_parsed_once_for_their_first_execution(),
        pytest.raises(ClientError) as refused,
    ):
        sfn.create_state_machine(name="m", definition='{"StartAt": 1}', roleArn=role)
    assert "ASLParserException" in refused.value.response["Error"]["Message"]
    # Nothing kept of the refused one; the valid one parsed once for creation and execution.
    with definitions_parsed_once_for_their_first_execution():
        _created_and_executed([1], role)
    assert parses == ['{"StartAt": 1}', DEFINITION]
