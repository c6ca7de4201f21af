"""Following the executions that uploads start: which upload started which, and how it ended."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from csvflow.domain.model import SourceObject
from csvflow.operations.executions import execution_history

FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# An upload whose event the starter never took: no execution exists.
NOT_STARTED = "NOT_STARTED"
# How often a wait looks at the executions: every 50 ms at first, slowing to every 0.5 s, and
# every 50 ms again once a function has returned (step_ended).
POLL_FIRST, POLL_LONGEST = 0.05, 0.5
STATE_READ_INTERVAL = 0.5


@dataclass
class Upload:
    """One file put into the bucket, and (once found) the execution it started."""

    file: str
    source: SourceObject
    execution_arn: str = ""


@dataclass
class ExecutionResult:
    upload: Upload
    status: str
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cause: str | None = None


class ExecutionTracker:
    """The executions of one state machine, matched to the uploads that started them."""

    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self._sfn = sfn
        self._state_machine_arn = state_machine_arn
        self._inputs: dict[str, dict[str, Any]] = {}
        self._step_ended = threading.Event()

    def step_ended(self) -> None:
        """A function invocation has returned: its execution moves on (to the next state, or
        to its end) in a moment, so a wait looks again now instead of after its pause."""
        self._step_ended.set()

    def find_executions(self, uploads: list[Upload]) -> None:
        """Match uploads to the executions the starter started, by key and ETag.

        moto's S3 notifications omit versionId, so the execution name cannot be
        computed ahead as it could be in AWS; the execution's input says which it is.
        """
        wanted = {(u.source.key, u.source.etag): u for u in uploads if not u.execution_arn}
        if not wanted:
            return
        paginator = self._sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self._state_machine_arn):
            for execution in page["executions"]:
                arn = execution["executionArn"]
                if arn in self._inputs:
                    source = self._inputs[arn]
                else:
                    described = self._sfn.describe_execution(executionArn=arn)
                    source = json.loads(described["input"])["source"]
                    self._inputs[arn] = source
                upload = wanted.get((source["key"], source.get("etag")))
                if upload is not None:
                    upload.execution_arn = arn
                    upload.source = SourceObject.from_dict(source)

    def wait(
        self,
        uploads: list[Upload],
        *,
        timeout: float = 3600,
        on_state: Callable[[Upload, str], None] | None = None,
    ) -> list[ExecutionResult]:
        """Wait for each upload's execution to finish, reporting state changes."""
        deadline = time.monotonic() + timeout
        results: dict[str, ExecutionResult] = {}
        shown: dict[str, str] = {}
        pause = POLL_FIRST
        states_read = 0.0
        while len(results) < len(uploads):
            # Before looking: a step that ends while this round looks cuts its pause short.
            self._step_ended.clear()
            self.find_executions(uploads)
            # One listing per round for every status: describing each unfinished execution
            # every 50 ms is, in a burst, hundreds of calls into moto beside the functions.
            statuses = self._statuses()
            # Reading histories is the dearer call, and the functions run on this process's
            # other threads: the state shown is read at most every STATE_READ_INTERVAL.
            read_states = on_state is not None and (
                time.monotonic() - states_read >= STATE_READ_INTERVAL
                or any(
                    statuses.get(u.execution_arn) in FINISHED
                    for u in uploads
                    if u.execution_arn and u.execution_arn not in results
                )
            )
            if read_states:
                states_read = time.monotonic()
            for upload in uploads:
                if not upload.execution_arn or upload.execution_arn in results:
                    continue
                if read_states and on_state is not None and upload.execution_arn in statuses:
                    state = self.current_state(upload.execution_arn)
                    if state and shown.get(upload.execution_arn) != state:
                        shown[upload.execution_arn] = state
                        on_state(upload, state)
                if statuses.get(upload.execution_arn) in FINISHED:
                    described = self._describe(upload.execution_arn)
                    if described is not None and described["status"] in FINISHED:
                        results[upload.execution_arn] = _result(upload, described)
            if time.monotonic() > deadline:
                raise TimeoutError("executions did not finish in time")
            if len(results) < len(uploads):
                # Small files finish in a fraction of a second; a big one needs no 50 ms look
                # while a step runs, but its end, or the next state, is seen at once.
                if self._step_ended.wait(pause):
                    pause = POLL_FIRST
                else:
                    pause = min(pause * 1.5, POLL_LONGEST)
        return [results[u.execution_arn] for u in uploads]

    def redrive(self, execution_arn: str, *, timeout: float = 3600) -> ExecutionResult:
        """RedriveExecution, which moto lacks: resume at the failed state, same ARN."""
        from csvflow.local.redrive import redrive_execution

        redrive_execution(execution_arn)  # the execution is RUNNING again when this returns
        described = self._sfn.describe_execution(executionArn=execution_arn)
        source = SourceObject.from_dict(json.loads(described["input"])["source"])
        upload = Upload(file=source.key, source=source, execution_arn=execution_arn)
        (result,) = self.wait([upload], timeout=timeout)
        return result

    def _statuses(self) -> dict[str, str]:
        pages = self._sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self._state_machine_arn, PaginationConfig={"PageSize": 1000}
        )
        return {e["executionArn"]: e["status"] for page in pages for e in page["executions"]}

    def _describe(self, arn: str) -> dict[str, Any] | None:
        try:
            described: dict[str, Any] = self._sfn.describe_execution(executionArn=arn)
            return described
        except self._sfn.exceptions.ExecutionDoesNotExist:
            return None

    def current_state(self, arn: str) -> str | None:
        events = self.history(arn)
        for event in reversed(events):
            details = event.get("stateEnteredEventDetails")
            if details:
                return str(details["name"])
        return None

    def history(self, arn: str) -> list[dict[str, Any]]:
        return execution_history(self._sfn, arn)


def _result(upload: Upload, described: dict[str, Any]) -> ExecutionResult:
    output = json.loads(described.get("output") or "{}")
    return ExecutionResult(
        upload=upload,
        status=described["status"],
        output=output,
        error=described.get("error"),
        cause=described.get("cause"),
    )


def iter_states(history: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(event type, state name) pairs of an execution history, for display and tests."""
    for event in history:
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            if key in event:
                yield event["type"], event[key]["name"]
