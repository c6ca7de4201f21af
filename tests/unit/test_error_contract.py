"""The ASL's Retry and Catch match on Python exception class names: hold them together."""

import json
import math
from pathlib import Path

import pyarrow as pa
import pytest

from csvflow import exceptions
from csvflow.bootstrap import bootstrap
from csvflow.commands import RecordFailure, ValidateCsv
from csvflow.config import Settings
from csvflow.exceptions import (
    ConfigurationError,
    PermanentError,
    PlanFromNewerRelease,
    StorageUnavailable,
    TransientError,
    UnexpectedError,
    leaf_classes,
)

ASL = json.loads((Path(__file__).parents[2] / "statemachine" / "ingest.asl.json").read_text())
AWS_NAMES = ("States.", "Lambda.", "Sandbox.", "Runtime.")
EVENT = {
    "source": {"bucket": "b", "key": "incoming/a.csv"},
    "dataset": "a",
    "ingestion_id": "a-1",
}


def task_states():
    """Every Task, the ones inside a Map's ItemProcessor included."""
    return {name: s for name, s in _all_states(ASL["States"]).items() if s["Type"] == "Task"}


def _all_states(states):
    found = dict(states)
    for state in states.values():
        if "ItemProcessor" in state:
            found |= _all_states(state["ItemProcessor"]["States"])
    return found


def map_tasks():
    """The tasks a Distributed Map runs per part (docs/adr/0018)."""
    return {
        name
        for state in ASL["States"].values()
        if "ItemProcessor" in state
        for name, inner in state["ItemProcessor"]["States"].items()
        if inner["Type"] == "Task"
    }


def retried(state):
    return {e for r in state["Retry"] for e in r["ErrorEquals"]}


def caught(state):
    return {e for c in state.get("Catch", []) for e in c["ErrorEquals"]}


def test_every_task_retries_every_transient_error():
    transient = {c.__name__ for c in leaf_classes(TransientError)}
    assert transient == {"StorageUnavailable", "DatabaseUnavailable"}
    for name, state in task_states().items():
        assert transient <= retried(state), name


def test_every_step_catches_every_permanent_error_and_nothing_else():
    permanent = {c.__name__ for c in leaf_classes(PermanentError)}
    assert "UnexpectedError" in permanent
    for name, state in task_states().items():
        if name == "Record the failure":
            assert "Catch" not in state
            continue
        if name in map_tasks():
            # A part records its permanent errors for the merge (they count only once its
            # reading proves right); any other error fails the map, for a redrive.
            assert "Catch" not in state, name
            continue
        assert caught(state) == permanent, name
        # Transient errors and Lambda's own (throttles, timeouts, runtime errors) must end
        # on the failed task, where a redrive resumes: no catch-all, no AWS error name.
        assert not any(error.startswith(AWS_NAMES) for error in caught(state)), name


def test_every_error_name_in_the_asl_is_a_real_class():
    for state in task_states().values():
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]:
            for error in rule["ErrorEquals"]:
                if not error.startswith(AWS_NAMES):
                    assert isinstance(getattr(exceptions, error, None), type), error


def _raising(error):
    def validate_csv(cmd, settings):
        raise error

    return bootstrap(settings=Settings(), handlers={ValidateCsv: validate_csv})


def _lambda_error(error):
    """What a Python Lambda reports for an exception: its class name and message."""
    return {"Error": type(error).__name__, "Cause": json.dumps({"errorMessage": str(error)})}


def test_a_library_error_reaches_every_step_as_a_name_it_catches_and_is_recorded_as_itself():
    handle = _raising(pa.ArrowNotImplementedError("Support for codec 'zstd' not built"))
    with pytest.raises(UnexpectedError) as raised:
        handle(ValidateCsv.from_event(EVENT))
    assert isinstance(raised.value.__cause__, pa.ArrowNotImplementedError)
    for name, state in task_states().items():
        # (A part of a split file that raises one fails the map: a redrive re-reads it.)
        if name != "Record the failure" and name not in map_tasks():
            assert type(raised.value).__name__ in caught(state), name

    failure = RecordFailure.from_event(
        EVENT | {"failure": {"validate": _lambda_error(raised.value)}}
    )
    assert (failure.step, failure.error, failure.cause) == (
        "validate",
        "ArrowNotImplementedError",
        "Support for codec 'zstd' not built",
    )


@pytest.mark.parametrize(
    "error",
    [
        StorageUnavailable("S3 failed"),  # retried, then FAILED on the step
        ConfigurationError("validate_csv needs store"),  # the deployment's: fix, redrive
        # A plan from a newer release, read after a rollback: redeploy it, redrive.
        PlanFromNewerRelease("Dialect: comment_prefix='#'"),
        MemoryError(),  # the function's memory: raise it, redrive
        ModuleNotFoundError("No module named 'pyarrow'"),  # the layer's: fix, redrive
    ],
)
def test_errors_of_csvflow_and_of_the_functions_environment_leave_as_they_are(error):
    with pytest.raises(type(error)) as raised:
        _raising(error)(ValidateCsv.from_event(EVENT))
    assert raised.value is error
    for name, state in task_states().items():
        assert type(error).__name__ not in caught(state), name


def test_a_lambda_timeout_is_retried_only_where_a_retry_can_cure_it():
    # Persisting is short work that a slow database held up: try again. Validating or
    # summarizing a file that outran 15 minutes would only outrun them again: the
    # execution fails on that step, to be redriven after the function's limits are raised.
    for name, state in task_states().items():
        expected = name in {"Persist summary", "Record the failure"}
        assert ("Sandbox.Timedout" in retried(state)) is expected, name
        assert "Sandbox.Timedout" not in caught(state), name


def test_throttles_are_retried_with_full_jitter_long_enough_to_ride_out_a_burst():
    # docs/adr/0008: a burst drains in (executions x seconds each / concurrency); an execution
    # fails only if its last retry comes before that. FULL jitter waits a uniform share of
    # each capped interval: the last retry comes after mean - 3 sd in 999 executions of 1,000.
    for name, state in task_states().items():
        (rule,) = [
            r for r in state["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]
        ]
        assert rule["JitterStrategy"] == "FULL", name
        caps = [
            min(rule["IntervalSeconds"] * rule["BackoffRate"] ** n, rule["MaxDelaySeconds"])
            for n in range(rule["MaxAttempts"])
        ]
        mean, sd = sum(caps) / 2, math.sqrt(sum(cap**2 / 12 for cap in caps))
        assert mean - 3 * sd >= 4 * 60, name  # bursts that drain within 4 minutes or more
        assert "Lambda.ClientExecutionTimeoutException" in retried(state), name
