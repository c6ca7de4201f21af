"""How a state ended, read from its history events as the Step Functions console reads them."""

from __future__ import annotations

import datetime as dt

from csvflow.operations.execution_text import _step_result
from csvflow.operations.executions import StepView, steps_of

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _event(kind: str, second: int, **details):
    return {"type": kind, "timestamp": T0 + dt.timedelta(seconds=second), **details}


def _state(name: str, *task_events: tuple[str, str | None], leaves: bool = True):
    events = [_event("TaskStateEntered", 0, stateEnteredEventDetails={"name": name})]
    for second, (kind, error) in enumerate(task_events, start=1):
        details = {"taskFailedEventDetails": {"error": error}} if error else {}
        events.append(_event(kind, second, **details))
    if leaves:
        events.append(_event("TaskStateExited", 9, stateExitedEventDetails={"name": name}))
    return events


def test_a_retried_task_that_then_succeeds_is_succeeded_with_its_errors():
    (step,) = steps_of(
        _state(
            "Persist summary",
            ("TaskScheduled", None),
            ("TaskFailed", "DatabaseUnavailable"),
            ("TaskScheduled", None),
            ("TaskSucceeded", None),
        )
    )
    assert (step.result, step.attempts, step.errors) == ("succeeded", 2, ["DatabaseUnavailable"])
    assert _step_result(step) == "succeeded (after DatabaseUnavailable)"


def test_a_state_left_through_its_catch_is_caught_not_succeeded():
    (step,) = steps_of(
        _state(
            "Validate CSV",
            ("TaskScheduled", None),
            ("TaskFailed", "StorageUnavailable"),
            ("TaskScheduled", None),
            ("TaskFailed", "InvalidCsv"),
        )
    )
    assert step.result == "caught"
    assert _step_result(step) == "caught InvalidCsv (after StorageUnavailable)"


def test_a_plain_success_reads_succeeded():
    assert _step_result(StepView(name="x", entered="", result="succeeded")) == "succeeded"
