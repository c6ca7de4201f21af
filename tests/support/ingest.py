"""One upload through the local runtime, to its end: what most end-to-end tests start with."""

from __future__ import annotations

from typing import Any

from csvflow.local.executions import ExecutionResult
from csvflow.local.runtime import LocalRuntime


def ingest(
    runtime: LocalRuntime, data: bytes, key: str, *, timeout: float
) -> tuple[ExecutionResult, list[dict[str, Any]]]:
    """Upload ``data`` at ``key``, deliver the event, wait: the outcome and its history."""
    upload = runtime.upload_bytes(data, key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=timeout)
    assert upload.execution_arn is not None
    return result, runtime.history(upload.execution_arn)
