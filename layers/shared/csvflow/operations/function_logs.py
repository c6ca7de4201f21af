"""A function's CloudWatch log group, read back as (time, message) lines."""

from __future__ import annotations

import datetime as dt
from typing import Any


def log_lines(logs: Any, group: str, since: dt.datetime | None = None) -> list[tuple[str, str]]:
    """(ISO time, message) of every event in a log group, oldest first, across its streams."""
    arguments: dict[str, Any] = {"logGroupName": group}
    if since is not None:
        arguments["startTime"] = int(since.timestamp() * 1000)
    try:
        pages = list(logs.get_paginator("filter_log_events").paginate(**arguments))
    except logs.exceptions.ResourceNotFoundException:
        return []
    events = sorted(
        (e for page in pages for e in page["events"]),
        key=lambda e: (e["timestamp"], e.get("ingestionTime", 0)),
    )
    return [
        (
            dt.datetime.fromtimestamp(e["timestamp"] / 1000, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            e["message"],
        )
        for e in events
    ]
