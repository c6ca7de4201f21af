"""A Distributed Map fails past its tolerated failures locally, as in AWS: the third hook into
moto's internals (local/map_runs.py), and the check that moto still needs it."""

import boto3
import pytest
from moto import mock_aws

from csvflow.local.lambda_runner import InProcessLambdaRunner
from csvflow.local.map_runs import exceeds_tolerance, map_runs_fail_past_their_tolerance
from tests.support.distributed_map import run_map
from tests.support.emulated_lambda import create_function, emulated_role

ITEM_TWO_FAILS = """
def lambda_handler(event, context):
    if event["n"] == 2:
        raise RuntimeError("item 2 fails")
    return {"n": event["n"]}
"""


def _run(tolerance: dict) -> dict:
    role = emulated_role()
    create_function("f", ITEM_TWO_FAILS, role)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="items-bucket")
    items = [{"n": n} for n in range(5)]
    return run_map(
        boto3.client("stepfunctions", region_name="us-east-1"),
        s3,
        role,
        items,
        bucket="items-bucket",
        concurrency=2,
        tolerance=tolerance,
    )


@pytest.fixture
def emulated():
    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        InProcessLambdaRunner().installed(),
    ):
        yield


def test_moto_alone_still_lets_a_map_with_a_failed_item_succeed(emulated):
    # When this fails, moto has learnt tolerated failures: drop local/map_runs.py.
    assert _run({})["status"] == "SUCCEEDED"


def test_a_failed_item_fails_the_map_as_in_aws(emulated):
    with map_runs_fail_past_their_tolerance():
        failed = _run({})
    assert (failed["status"], failed["error"]) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
    )
    assert "1 of 5 items failed" in failed["cause"]


def test_a_map_tolerating_the_failure_succeeds(emulated):
    with map_runs_fail_past_their_tolerance():
        assert _run({"ToleratedFailureCount": 1})["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("failed", "total", "count", "percentage", "fails"),
    [
        (0, 5, 0, 0, False),
        (1, 5, 0, 0, True),
        (1, 5, 1, 0, False),
        (2, 5, 1, 0, True),
        (1, 5, 0, 20, False),
        (2, 5, 0, 20, True),
    ],
)
def test_the_tolerance_rule(failed, total, count, percentage, fails):
    assert exceeds_tolerance(failed, total, count=count, percentage=percentage) is fails
