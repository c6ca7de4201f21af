"""Executions as the Step Functions console shows them: list, describe, steps, redrive."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from csvflow.domain.model import ObjectRef

FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


@dataclass
class StepView:
    """One entry into a state: how long it ran, how often its task was tried, how it ended."""

    name: str
    entered: str
    exited: str | None = None
    seconds: float | None = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    result: str = "running"


@dataclass
class ExecutionView:
    arn: str
    name: str
    status: str
    started: str
    stopped: str | None
    input: Any
    output: Any
    error: str | None
    cause: str | None
    redrives: int
    steps: list[StepView]
    links: dict[str, str]
    # A split file's Distributed Map: each Map Run (a re-read is a second one), and each part
    # as its record in the bucket says it was read (docs/adr/0018).
    map_runs: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_state_machine(sfn: Any, name: str) -> str:
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                return str(machine["stateMachineArn"])
    raise LookupError(f"no state machine named {name}")


def list_executions(
    sfn: Any, machine_arn: str, *, status: str | None = None, since: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Executions newest first, as the console lists them."""
    arguments = {"stateMachineArn": machine_arn, **({"statusFilter": status} if status else {})}
    found = []
    for page in sfn.get_paginator("list_executions").paginate(**arguments):
        for execution in page["executions"]:
            if since and execution["startDate"] < since:
                continue
            stopped = execution.get("stopDate")
            found.append(
                {
                    "arn": execution["executionArn"],
                    "name": execution["name"],
                    "status": execution["status"],
                    "started": _iso(execution["startDate"]),
                    "stopped": _iso(stopped),
                    "seconds": (
                        round((stopped - execution["startDate"]).total_seconds(), 3)
                        if stopped
                        else None
                    ),
                }
            )
    return found


def execution_error(sfn: Any, arn: str) -> str | None:
    """ "Error: cause" of a finished execution that did not succeed (the console's Details)."""
    described = sfn.describe_execution(executionArn=arn)
    if not described.get("error"):
        return None
    return f"{described['error']}: {described.get('cause') or ''}".rstrip(": ")


def execution_history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """Every event of an execution, oldest first, across the API's pages."""
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def describe_execution(sfn: Any, arn: str, s3: Any = None) -> ExecutionView:
    """The execution as the console shows it; with ``s3``, also its parts' records."""
    described = sfn.describe_execution(executionArn=arn)
    events = execution_history(sfn, arn)
    input_value = _json(described.get("input"))
    output_value = _json(described.get("output"))
    return ExecutionView(
        arn=arn,
        name=described["name"],
        status=described["status"],
        started=_iso(described["startDate"]) or "",
        stopped=_iso(described.get("stopDate")),
        input=input_value,
        output=output_value,
        error=described.get("error"),
        cause=described.get("cause"),
        redrives=sum(1 for e in events if e["type"] == "ExecutionRedriven"),
        steps=steps_of(events),
        links=links_of(input_value, output_value, events),
        map_runs=map_runs_of(sfn, arn),
        parts=parts_of(s3, events) if s3 is not None else [],
    )


def map_runs_of(sfn: Any, arn: str) -> list[dict[str, Any]]:
    """The execution's Map Runs, oldest first: status, concurrency and item counts."""
    runs = []
    for page in sfn.get_paginator("list_map_runs").paginate(executionArn=arn):
        for listed in page["mapRuns"]:
            run = sfn.describe_map_run(mapRunArn=listed["mapRunArn"])
            stopped = run.get("stopDate")
            runs.append(
                {
                    "arn": run["mapRunArn"],
                    "status": run["status"],
                    "started": _iso(run["startDate"]),
                    "seconds": round((stopped - run["startDate"]).total_seconds(), 3)
                    if stopped
                    else None,
                    "max_concurrency": run.get("maxConcurrency"),
                    "items": {k: v for k, v in run["itemCounts"].items() if v},
                }
            )
    return sorted(runs, key=lambda run: run["started"] or "")


def parts_of(s3: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each part of a split file as its record says: its bytes, rows, rejects, error, and
    whether its quote state was guessed or given (a part read again is given it)."""
    plan = next(
        (
            output["plan"]["result"]
            for e in events
            if "stateExitedEventDetails" in e
            and isinstance(output := _json(e["stateExitedEventDetails"].get("output")), dict)
            and isinstance(output.get("plan"), dict)
        ),
        None,
    )
    if not plan or plan.get("path") != "parts":
        return []
    listing = ObjectRef.from_dict(plan["parts"])
    folder = listing.key.rsplit("/", 1)[0] + "/parts/"
    parts = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=listing.bucket, Prefix=folder):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/result.json"):
                continue
            record = json.loads(
                s3.get_object(Bucket=listing.bucket, Key=item["Key"])["Body"].read()
            )
            reading = record["reading"]
            parts.append(
                {
                    "index": reading["index"],
                    "bytes": [reading["first_byte"], reading["end_byte"]],
                    "rows": record["rows"],
                    "rejected_rows": record["rejected_rows"],
                    "quote_state": "given"
                    if record["asked"]["inside_quotes"] is not None
                    else "guessed",
                    "earlier_keys": bool(record["asked"]["earlier_keys"]),
                    "error": record["error"]["type"] if record["error"] else None,
                }
            )
    return sorted(parts, key=lambda part: part["index"])


def steps_of(events: list[dict[str, Any]]) -> list[StepView]:
    """Each state entered, with its attempts and errors; "caught" where a Catch took over."""
    steps: list[StepView] = []
    current: StepView | None = None
    last_attempt_failed = False
    for event in events:
        kind = event["type"]
        if details := event.get("stateEnteredEventDetails"):
            current = StepView(name=details["name"], entered=_iso(event["timestamp"]) or "")
            steps.append(current)
            last_attempt_failed = False
        elif current is None:
            continue
        elif kind == "TaskScheduled":
            current.attempts += 1
        elif kind in ("TaskFailed", "TaskTimedOut"):
            details = (
                event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
            )
            current.errors.append(str(details.get("error", kind)))
            last_attempt_failed = True
        elif kind == "TaskSucceeded":
            last_attempt_failed = False
        elif event.get("stateExitedEventDetails"):
            current.exited = _iso(event["timestamp"])
            # A state left after its last attempt failed was left through a Catch (the
            # console draws it orange, "Caught error"), not by succeeding.
            current.result = "caught" if last_attempt_failed else "succeeded"
        elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            current.exited = _iso(event["timestamp"])
            current.result = (
                "failed" if kind == "ExecutionFailed" else kind.removeprefix("Execution").lower()
            )
        if current.exited and current.seconds is None:
            current.seconds = round(
                (
                    dt.datetime.fromisoformat(current.exited)
                    - dt.datetime.fromisoformat(current.entered)
                ).total_seconds(),
                3,
            )
    return steps


def links_of(input_value: Any, output_value: Any, events: list[dict[str, Any]]) -> dict[str, str]:
    """The S3 objects an execution read and wrote: upload, validated Parquet, report, summary."""
    documents = [input_value, output_value] + [
        _json(e["stateExitedEventDetails"].get("output"))
        for e in events
        if "stateExitedEventDetails" in e
    ]
    links: dict[str, str] = {}
    for document in documents:
        if not isinstance(document, dict):
            continue
        if source := document.get("source"):
            links["upload"] = ObjectRef.from_dict(source).uri
        validation = (document.get("validation") or {}).get("result") or {}
        for name, ref in (
            ("validated", validation.get("validated")),
            ("rejects", validation.get("rejects_report")),
        ):
            if ref:
                links[name] = ObjectRef.from_dict(ref).uri
        summary = (document.get("summary") or {}).get("result") or {}
        if summary.get("columns"):
            links["summary"] = ObjectRef.from_dict(summary["columns"]).uri
    return links


def redrive(sfn: Any, arns: list[str]) -> list[dict[str, str]]:
    """RedriveExecution for each; reports what was redriven or why not."""
    outcomes = []
    for arn in arns:
        try:
            sfn.redrive_execution(executionArn=arn)
            outcomes.append({"arn": arn, "outcome": "redriven"})
        except sfn.exceptions.ClientError as error:
            details = error.response.get("Error", {})
            outcomes.append(
                {
                    "arn": arn,
                    "outcome": f"not redriven: {details.get('Code')}: {details.get('Message')}",
                }
            )
    return outcomes


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None
