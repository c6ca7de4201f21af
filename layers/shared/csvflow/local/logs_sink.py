"""Each emulated invocation's log, put where Lambda puts it: CloudWatch Logs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from csvflow.local.lambda_runner import InvocationLog


class CloudWatchLogsSink:
    """Puts each invocation's log where Lambda does: group /aws/lambda/<function>, a
    stream per invocation, so `aws logs` against `csvflow local serve` reads them."""

    def __init__(self, logs: Any) -> None:
        self._logs = logs
        self._groups: set[str] = set()

    def __call__(self, log: InvocationLog) -> None:
        group = f"/aws/lambda/{log.function_name}"
        if group not in self._groups:
            try:
                self._logs.create_log_group(logGroupName=group)
            except self._logs.exceptions.ResourceAlreadyExistsException:
                pass
            self._groups.add(group)
        today = dt.datetime.now(tz=dt.UTC)
        stream = f"{today:%Y/%m/%d}/[$LATEST]{log.request_id.replace('-', '')}"
        self._logs.create_log_stream(logGroupName=group, logStreamName=stream)
        millis = int(today.timestamp() * 1000)
        self._logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": millis, "message": line} for line in log.lines],
        )
