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
# How often a wait looks at the executions while no function runs (states that run no function,
# Retry's backoff, a Wait state): every 50 ms at first, slowing to every 0.5 s, and every 50 ms
# again after a function has started or returned. The history, the dearer read, at most every
# STATE_READ_INTERVAL then.
POLL_FIRST, POLL_LONGEST = 0.05, 0.5
STATE_READ_INTERVAL = 0.5
# While a function runs, its execution moves only when it returns (which wakes the wait) or when
# something the wait hears nothing of happens: a state's TimeoutSeconds, a Map's other branch
# moving through states that run no function. Only the statuses are looked at, this often.
POLL_WHILE_A_FUNCTION_RUNS = 2.0


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
        self._stepped = threading.Event()
        self._running = 0  # function invocations started and not yet returned
        self._counting = threading.Lock()

    def step_started(self) -> None:
        """A function invocation has started: its state has been entered, which a wait shows
        now; until it returns, its execution does not move on."""
        with self._counting:
            self._running += 1
        self._stepped.set()

    def step_ended(self) -> None:
        """A function invocation has returned: its execution moves on (to the next state, or
        to its end) in a moment, so a wait looks again now instead of after its pause."""
        with self._counting:
            self._running = max(self._running - 1, 0)
        self._stepped.set()

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
        stepped = True  # the first look reads the state
        while len(results) < len(uploads):
            # Before looking: a step that starts or ends while this round looks cuts its
            # pause short.
            self._stepped.clear()
            self.find_executions(uploads)
            # One listing per round for every status: describing each unfinished execution
            # every 50 ms is, in a burst, hundreds of calls into moto beside the functions.
            statuses = self._statuses()
            # Reading histories is the dearer call (moto makes the whole history each time),
            # and the functions run on this process's other threads: the state shown is read
            # when a function started or returned, when an execution has finished, and while
            # no function runs, at most every STATE_READ_INTERVAL.
            read_states = on_state is not None and (
                stepped
                or any(
                    statuses.get(u.execution_arn) in FINISHED
                    for u in uploads
                    if u.execution_arn and u.execution_arn not in results
                )
                or self._state_read_due(states_read)
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
                # Small files finish in a fraction of a second; a big one needs no look while
                # its step runs, but its end, or the next state, is seen at once.
                stepped, pause = self._paused(pause)
        return [results[u.execution_arn] for u in uploads]

    def _paused(self, pause: float) -> tuple[bool, float]:
        """Wait for a function to start or return, or for the pause to pass: whether one
        did, and the pause after this one (its lengthening stopped while a function runs)."""
        if self._stepped.wait(POLL_WHILE_A_FUNCTION_RUNS if self._running else pause):
            return True, POLL_FIRST
        return False, pause if self._running else min(pause * 1.5, POLL_LONGEST)

    def _state_read_due(self, states_read: float) -> bool:
        """While no function runs, states may move on unheard (a Choice, Retry's backoff)."""
        return not self._running and time.monotonic() - states_read >= STATE_READ_INTERVAL

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
