"""RedriveExecution for moto's Step Functions, which (like LocalStack) does not have it.

AWS's semantics, for the state machines csvflow runs (no Parallel states; a Distributed Map
restarts whole, and its parts that finished answer from their records, docs/adr/0018): a FAILED,
TIMED_OUT or ABORTED standard execution restarts from the state that did not finish, with the
input that state was entered with; the states that succeeded are not run again; the execution
keeps its ARN and its history, which gains an ``ExecutionRedriven`` event.

This is the second place csvflow reaches into moto's internals (after the Lambda hook): the
execution object, its worker and the ASL parser of ``moto.stepfunctions.parser``.
``tests/integration/test_local_redrive.py`` fails loudly if a moto upgrade moves them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moto.stepfunctions.parser.api import (
    ExecutionRedrivenEventDetails,
    ExecutionStatus,
    HistoryEventType,
)
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

REDRIVABLE = {ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED}


class NotRedrivable(Exception):
    """The execution cannot be redriven (AWS answers ExecutionNotRedrivable)."""


@dataclass(frozen=True)
class Redriven:
    execution_arn: str
    state: str
    redrive_count: int


def redrive_execution(execution_arn: str) -> Redriven:
    """Restart a failed execution from its unfinished state, keeping its ARN and history."""
    execution = _find(execution_arn)
    status = execution.exec_status
    if status not in REDRIVABLE:
        raise NotRedrivable(f"{execution_arn} is {getattr(status, 'value', status)}, not failed")
    worker = execution.exec_worker
    if worker is None or worker.env is None:
        raise NotRedrivable(f"{execution_arn} has no history to resume from")
    history = worker.env.event_manager.get_event_history()
    state, state_input = unfinished_state(history)
    redrive_count = getattr(execution, "redrive_count", 0) + 1
    execution.redrive_count = redrive_count
    execution.redrive_date = datetime.datetime.now(tz=datetime.UTC)
    resumed = _ResumingWorker(execution, worker, state, state_input, redrive_count)
    execution.exec_worker = resumed
    execution.exec_status = ExecutionStatus.RUNNING
    execution.stop_date = None
    execution.error = None
    execution.cause = None
    resumed.start()
    return Redriven(execution_arn=execution_arn, state=state, redrive_count=redrive_count)


def unfinished_state(history: Sequence[Mapping[str, Any]]) -> tuple[str, Any]:
    """The last state entered and never exited, and the input it was entered with."""
    entered: dict[str, Any] = {}
    last = ""
    for event in history:
        if details := event.get("stateEnteredEventDetails"):
            entered[details["name"]] = json.loads(details.get("input") or "{}")
            last = details["name"]
        elif details := event.get("stateExitedEventDetails"):
            entered.pop(details["name"], None)
    if last not in entered:
        raise NotRedrivable("every state of the execution finished; there is nothing to resume")
    return last, entered[last]


def _find(execution_arn: str) -> Any:
    parts = execution_arn.split(":")
    region, account = parts[3], parts[4]
    backend = stepfunctions_parser_backends[account][region]
    for machine in backend.state_machines:
        for execution in machine.executions:
            if execution.execution_arn == execution_arn:
                return execution
    raise NotRedrivable(f"no execution {execution_arn}")


class _ResumingWorker(ExecutionWorker):
    """Runs the definition from ``state`` on, appending to the previous worker's history."""

    def __init__(
        self,
        execution: Execution,
        previous: ExecutionWorker,
        state: str,
        state_input: Any,
        redrive_count: int,
    ) -> None:
        super().__init__(
            evaluation_details=previous._evaluation_details,
            exec_comm=execution._get_start_execution_worker_comm(),
            cloud_watch_logging_session=previous._cloud_watch_logging_session,
            activity_store=previous._activity_store,
        )
        self._previous = previous
        self._state = state
        self._state_input = state_input
        self._redrive_count = redrive_count

    def _get_evaluation_entrypoint(self) -> Any:
        definition = json.loads(self._evaluation_details.state_machine_details.definition)
        definition["StartAt"] = self._state
        return AmazonStateLanguageParser.parse(json.dumps(definition))[0]

    def _execution_logic(self) -> None:
        program = self._get_evaluation_entrypoint()
        env = self._get_evaluation_environment()
        previous_events = self._previous.env.event_manager  # type: ignore[union-attr]
        env.event_manager = previous_events
        # moto marks this Final; the resumed run must continue the previous event ids.
        env.event_history_context = EventHistoryContext(  # type: ignore[misc]
            previous_event_id=len(previous_events.get_event_history())
        )
        env.states.reset(input_value=self._state_input)
        self.env = env
        redriven: Any = {
            "executionRedrivenEventDetails": ExecutionRedrivenEventDetails(
                redriveCount=self._redrive_count
            )
        }  # (moto's EventDetails type does not list this AWS event's details yet)
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.ExecutionRedriven,
            event_details=redriven,
            update_source_event_id=False,
        )
        program.eval(env)
        self._execution_communication.terminated()
