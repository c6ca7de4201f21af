"""The ASL's Retry and Catch match on Python exception class names: hold them together."""

import json
from pathlib import Path

from csvflow import exceptions
from csvflow.exceptions import PermanentError, TransientError, leaf_classes

ASL = json.loads((Path(__file__).parents[2] / "statemachine" / "ingest.asl.json").read_text())
AWS_NAMES = ("States.", "Lambda.", "Sandbox.")


def task_states():
    return {name: s for name, s in ASL["States"].items() if s["Type"] == "Task"}


def test_every_task_retries_every_transient_error():
    transient = {c.__name__ for c in leaf_classes(TransientError)}
    assert transient == {"StorageUnavailable", "DatabaseUnavailable"}
    for name, state in task_states().items():
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        assert transient <= retried, name


def test_every_step_catches_every_permanent_error_and_nothing_else():
    permanent = {c.__name__ for c in leaf_classes(PermanentError)}
    for name, state in task_states().items():
        if name == "Record the failure":
            assert "Catch" not in state
            continue
        caught = {e for c in state["Catch"] for e in c["ErrorEquals"]}
        assert caught == permanent, name
        assert "States.ALL" not in caught  # transient errors must end on the failed task


def test_every_error_name_in_the_asl_is_a_real_class():
    for state in task_states().values():
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]:
            for error in rule["ErrorEquals"]:
                if not error.startswith(AWS_NAMES):
                    assert isinstance(getattr(exceptions, error, None), type), error


def test_a_lambda_timeout_is_retried_only_where_a_retry_can_cure_it():
    # Persisting is short work that a slow database held up: try again. Validating or
    # summarizing a file that outran 15 minutes would only outrun them again: the
    # execution fails on that step, to be redriven after the function's limits are raised.
    for name, state in task_states().items():
        retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
        caught = {e for c in state.get("Catch", []) for e in c["ErrorEquals"]}
        expected = name in {"Persist summary", "Record the failure"}
        assert ("Sandbox.Timedout" in retried) is expected, name
        assert "Sandbox.Timedout" not in caught, name
