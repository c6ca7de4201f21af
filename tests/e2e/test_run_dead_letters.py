"""A run whose upload the starter cannot start ends at once, saying where the event went."""

from __future__ import annotations

import pytest

from csvflow.events import start_commands
from csvflow.local.executions import NOT_STARTED
from csvflow.local.runtime import LocalRuntime

pytestmark = pytest.mark.e2e


def test_an_upload_the_starter_cannot_start_ends_as_not_started(database_url, tmp_path):
    good, stranded = tmp_path / "good.csv", tmp_path / "stranded.csv"
    good.write_bytes(b"id,amount\n1,2.5\n")
    stranded.write_bytes(b"id,amount\n2,3.5\n")
    with LocalRuntime(database_url=database_url) as runtime:
        (first,) = runtime.run([good])
        # Every start now fails: the starter names a state machine that does not exist.
        starter = runtime.function_arns["starter"]
        variables = runtime.lam.get_function_configuration(FunctionName=starter)["Environment"]
        missing = runtime.state_machine_arn + "-gone"
        runtime.lam.update_function_configuration(
            FunctionName=starter,
            Environment={
                "Variables": variables["Variables"] | {"CSVFLOW_STATE_MACHINE_ARN": missing}
            },
        )

        (result,) = runtime.run([stranded])  # before: waited an hour for an execution

        dead = runtime.dead_letters()
    assert first.status == "SUCCEEDED"
    assert result.status == NOT_STARTED and result.error == "DeadLettered"
    assert "incoming/stranded.csv" in (result.cause or "")
    assert len(dead) == 1
    (command,) = start_commands(dead[0]["Body"], incoming_prefix="incoming/")
    assert command.source.key == "incoming/stranded.csv"
