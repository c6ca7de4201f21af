"""Waiting for executions (local/executions.py): a step's end makes the wait look again at
once, so the run sees an execution end without sitting out its pause."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
from moto import mock_aws

from csvflow.domain.model import SourceObject
from csvflow.local import executions
from csvflow.local.executions import ExecutionResult, ExecutionTracker, Upload

PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


class LookedAt:
    """The Step Functions client, telling when a wait has looked at the executions."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.looked = threading.Event()

    def get_paginator(self, name: str) -> Any:
        self.looked.set()
        return self._client.get_paginator(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_step_that_ends_cuts_the_waits_pause_short(monkeypatch):
    # Pauses of an hour: the wait below ends only if step_ended() wakes it.
    monkeypatch.setattr(executions, "POLL_FIRST", 3600)
    monkeypatch.setattr(executions, "POLL_LONGEST", 3600)
    with mock_aws():  # executions stay RUNNING until stopped
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="waited-for",
            definition=json.dumps(PASS),
            roleArn="arn:aws:iam::123456789012:role/states",
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        client = LookedAt(sfn)
        tracker = ExecutionTracker(client, machine)
        source = SourceObject("bucket", "incoming/f.csv", None, "etag")
        upload = Upload(file="f.csv", source=source, execution_arn=arn)
        results: list[ExecutionResult] = []
        waiting = threading.Thread(
            target=lambda: results.extend(tracker.wait([upload], timeout=7200)), daemon=True
        )
        waiting.start()
        assert client.looked.wait(30)  # it has seen the execution RUNNING

        sfn.stop_execution(executionArn=arn)
        tracker.step_ended()
        waiting.join(30)

    assert not waiting.is_alive()
    assert [result.status for result in results] == ["ABORTED"]
