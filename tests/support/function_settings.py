"""Settings the local stack's functions are given for a test, through Lambda's own API."""

from __future__ import annotations

from typing import Any


def told_after_every_block(runtime: Any) -> None:
    """The validate function logs its progress after every block, and its blocks are small:
    a few hundred kilobytes show several steps."""
    validate = runtime.function_arns["validate"]
    variables = runtime.lam.get_function_configuration(FunctionName=validate)["Environment"]
    runtime.lam.update_function_configuration(
        FunctionName=validate,
        Environment={
            "Variables": variables.get("Variables", {})
            | {"CSVFLOW_PROGRESS_LOG_SECONDS": "0", "CSVFLOW_MAX_LINE_BYTES": str(64 << 10)}
        },
    )
