"""Waiting for executions (local/executions.py): a step's end makes the wait look again at
once, so the run sees an execution end without sitting out its pause; while a function runs,
the wait reads no history (its state is read when the function starts)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
        self.listings = 0
        self.histories = 0

    def get_paginator(self, name: str) -> Any:
        self.looked.set()
        if name == "list_executions":
            self.listings += 1
        elif name == "get_execution_history":
            self.histories += 1
        return self._client.get_paginator(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@contextmanager
def running_execution() -> Iterator[tuple[Any, str, LookedAt, ExecutionTracker, Upload]]:
    """An execution in moto that stays RUNNING until stopped, and a tracker to wait for it."""
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="waited-for",
            definition=json.dumps(PASS),
            roleArn="arn:aws:iam::123456789012:role/states",
        )["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        client = LookedAt(sfn)
        source = SourceObject("bucket", "incoming/f.csv", None, "etag")
        upload = Upload(file="f.csv", source=source, execution_arn=arn)
        yield sfn, arn, client, ExecutionTracker(client, machine), upload


def test_a_step_that_ends_cuts_the_waits_pause_short(monkeypatch):
    # Pauses of an hour: the wait below ends only if step_ended() wakes it.
    monkeypatch.setattr(executions, "POLL_FIRST", 3600)
    monkeypatch.setattr(executions, "POLL_LONGEST", 3600)
    with running_execution() as (sfn, arn, client, tracker, upload):
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


def test_while_a_function_runs_the_wait_reads_no_history_until_it_starts_or_returns(monkeypatch):
    # Looks every 10 ms while no function runs: the wait below would read the history
    # dozens of times in the pause unless a running function holds it.
    monkeypatch.setattr(executions, "POLL_FIRST", 0.01)
    monkeypatch.setattr(executions, "POLL_LONGEST", 0.01)
    monkeypatch.setattr(executions, "STATE_READ_INTERVAL", 0.01)
    monkeypatch.setattr(executions, "POLL_WHILE_A_FUNCTION_RUNS", 3600)
    with running_execution() as (sfn, arn, client, tracker, upload):
        tracker.step_started()  # the execution's first function runs
        results: list[ExecutionResult] = []
        waiting = threading.Thread(
            target=lambda: results.extend(
                tracker.wait([upload], timeout=7200, on_state=lambda *_: None)
            ),
            daemon=True,
        )
        waiting.start()
        assert client.looked.wait(30)
        time.sleep(0.3)  # the first look is over
        looks = (client.listings, client.histories)
        time.sleep(0.5)
        assert (client.listings, client.histories) == looks

        tracker.step_started()  # a second function starts: its state is read
        deadline = time.monotonic() + 30
        while client.histories == looks[1] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.histories > looks[1]

        sfn.stop_execution(executionArn=arn)
        tracker.step_ended()
        tracker.step_ended()
        waiting.join(30)

    assert not waiting.is_alive()
    assert [result.status for result in results] == ["ABORTED"]
