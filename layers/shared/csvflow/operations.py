"""Operating the workflow: executions as the Step Functions console shows them, redrive, DLQ.

Everything here takes boto3 clients, so the same code serves AWS and `csvflow local serve`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

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


def describe_execution(sfn: Any, arn: str) -> ExecutionView:
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
    )


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
            links["upload"] = _s3(source)
        validation = (document.get("validation") or {}).get("result") or {}
        for name, ref in (
            ("validated", validation.get("validated")),
            ("rejects", validation.get("rejects_report")),
        ):
            if ref:
                links[name] = _s3(ref)
        summary = (document.get("summary") or {}).get("result") or {}
        if summary.get("columns"):
            links["summary"] = _s3(summary["columns"])
    return links


def format_execution(view: ExecutionView) -> str:
    lines = [
        view.arn,
        f"status {view.status}   started {view.started}   stopped {view.stopped or '-'}"
        + (f"   redriven {view.redrives}x" if view.redrives else ""),
    ]
    if view.error:
        lines.append(f"error  {view.error}: {view.cause or ''}")
    width = max([len(s.name) for s in view.steps] + [5])
    lines.append(f"  {'state'.ljust(width)}  {'seconds':>8}  attempts  result")
    for step in view.steps:
        seconds = f"{step.seconds:.3f}" if step.seconds is not None else "-"
        result = _step_result(step)
        lines.append(
            f"  {step.name.ljust(width)}  {seconds:>8}  {step.attempts or '-':>8}  {result}"
        )
    lines.extend(f"{name:<10} {uri}" for name, uri in view.links.items())
    for name, value in (("input", view.input), ("output", view.output)):
        if value is not None:
            text = json.dumps(value)
            lines.append(f"{name:<10} {text if len(text) <= 300 else text[:297] + '...'}")
    return "\n".join(lines)


def _step_result(step: StepView) -> str:
    if step.result == "caught" and step.errors:
        *retried, caught = step.errors
        text = f"caught {caught}"
    else:
        retried, text = step.errors, step.result
    return text + (f" (after {', '.join(retried)})" if retried else "")


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


def dead_letters(sqs: Any, queue_url: str, limit: int = 100) -> list[dict[str, Any]]:
    """A look at the DLQ's messages; they become visible again a few seconds later."""
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=5, AttributeNames=["All"]
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen[message["MessageId"]] = {
                "id": message["MessageId"],
                "sent": message.get("Attributes", {}).get("SentTimestamp"),
                "receives": message.get("Attributes", {}).get("ApproximateReceiveCount"),
                "body": message["Body"][:500],
            }
    return list(seen.values())


START, END = "Start", "End"
TERMINAL_RX = 40  # half the width of the Start and End ellipses


def state_machine_svg(definition: dict[str, Any], steps: list[StepView]) -> str:
    """The state machine as the console's graph view draws it: Start and End, each state
    coloured by how it ended (green succeeded, orange caught, red failed), the path the
    execution took in bold, catch edges dashed."""
    positions = _layout(definition)
    results = {s.name: s.result for s in steps}
    taken = _taken_edges(definition, steps)
    fill = {
        "succeeded": "#d4edda",
        "caught": "#fde3c2",
        "failed": "#f8d7da",
        "running": "#d6e9f8",
        "timed_out": "#f8d7da",
    }
    box_w, box_h, gap_x, gap_y = 200, 44, 80, 44
    columns = max(c for c, _ in positions.values()) + 1
    # Row 0 holds Start; the states follow; End goes below the last of them.
    end_row = max(r for _, r in positions.values()) + 2
    width = columns * (box_w + gap_x) + gap_x
    height = (end_row + 1) * (box_h + gap_y) + gap_y

    def box(name: str) -> tuple[float, float]:
        column, row = positions[name] if name in positions else (0, end_row - 1)
        if name == START:
            column, row = 0, -1
        return gap_x + column * (box_w + gap_x), gap_y + (row + 1) * (box_h + gap_y)

    def edge(source: str, target: str, *, dashed: bool) -> str:
        (sx, sy), (tx, ty) = box(source), box(target)
        if sx == tx:  # same column: bottom to top
            x1, y1, x2, y2 = sx + box_w / 2, sy + box_h, tx + box_w / 2, ty
        else:  # across columns: side to side, so the arrow is not hidden behind a box
            x1 = sx + box_w if tx > sx else sx
            x2 = tx if tx > sx else tx + box_w
            if target in (START, END):  # an ellipse, narrower than a state's box
                x2 += (1 if tx > sx else -1) * (box_w / 2 - TERMINAL_RX)
            y1, y2 = sy + box_h / 2, ty + box_h / 2
        on_path = (source, target) in taken
        colour, weight, marker = ("#1f3b73", 2.5, "taken") if on_path else ("#999", 1.2, "arrow")
        style = ' stroke-dasharray="6,4"' if dashed else ""
        return (
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" '
            f'stroke-width="{weight}"{style} marker-end="url(#{marker})"/>'
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        "<defs>"
        '<marker id="arrow" markerWidth="10" markerHeight="8" refX="10" refY="4" '
        'orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L10,4 L0,8 z" fill="#999"/>'
        "</marker>"
        '<marker id="taken" markerWidth="12" markerHeight="10" refX="12" refY="5" '
        'orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L12,5 L0,10 z" '
        'fill="#1f3b73"/></marker>'
        "</defs>",
    ]
    parts.append(edge(START, definition["StartAt"], dashed=False))
    for name, state in definition["States"].items():
        for target, dashed in _edges(state):
            parts.append(edge(name, target, dashed=dashed))
        if _is_terminal(state):
            parts.append(edge(name, END, dashed=False))
    for name in definition["States"]:
        x, y = box(name)
        result = results.get(name)
        stroke = "#c0392b" if result == "failed" else "#555"
        parts.append(
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" '
            f'fill="{fill.get(result or "", "#f2f2f2")}" stroke="{stroke}" '
            f'stroke-width="{2 if result else 1}">'
            f"<title>{html.escape(name)}: {html.escape(result or 'not run')}</title></rect>"
        )
        parts.append(
            f'<text x="{x + box_w / 2}" y="{y + box_h / 2 + 5}" text-anchor="middle">'
            f"{html.escape(name)}</text>"
        )
    for name in (START, END):
        x, y = box(name)
        parts.append(
            f'<ellipse cx="{x + box_w / 2}" cy="{y + box_h / 2}" rx="{TERMINAL_RX}" '
            f'ry="{box_h / 2 - 4}" '
            f'fill="#fff" stroke="#555"><title>{name}</title></ellipse>'
            f'<text x="{x + box_w / 2}" y="{y + box_h / 2 + 5}" text-anchor="middle">{name}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def state_machine_png(definition: dict[str, Any], steps: list[StepView]) -> bytes:
    """The same picture as PNG (cairosvg, with the cairo library, draws it)."""
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: the cairo library itself is missing
        raise RuntimeError(
            "PNG output needs cairosvg and the cairo library (`pip install cairosvg`; on "
            f"macOS `brew install cairo`); .svg needs nothing ({error})"
        ) from error
    png: bytes = cairosvg.svg2png(bytestring=state_machine_svg(definition, steps).encode(), scale=2)
    return png


def _is_terminal(state: dict[str, Any]) -> bool:
    return bool(state.get("End")) or state.get("Type") in ("Succeed", "Fail")


def _taken_edges(definition: dict[str, Any], steps: list[StepView]) -> set[tuple[str, str]]:
    """Start to the first state, each state to the next one entered, the last to End."""
    names = [s.name for s in steps]
    taken = set(zip(names, names[1:], strict=False))
    if names:
        taken.add((START, names[0]))
        last = steps[-1]
        if last.result != "running" and _is_terminal(definition["States"].get(last.name, {})):
            taken.add((last.name, END))
    return taken


def _edges(state: dict[str, Any]) -> list[tuple[str, bool]]:
    edges = [(state["Next"], False)] if "Next" in state else []
    edges += [(c["Next"], True) for c in state.get("Catch", [])]
    edges += [(c["Next"], False) for c in state.get("Choices", [])]
    if "Default" in state:
        edges.append((state["Default"], False))
    return edges


def _layout(definition: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Rows by distance from StartAt; a Catch moves its target one column right."""
    positions: dict[str, tuple[int, int]] = {definition["StartAt"]: (0, 0)}
    queue = deque([definition["StartAt"]])
    while queue:
        name = queue.popleft()
        column, row = positions[name]
        for target, caught in _edges(definition["States"][name]):
            if target not in positions:
                positions[target] = (column + (1 if caught else 0), row + 1)
                queue.append(target)
    unreachable = [n for n in definition["States"] if n not in positions]
    for index, name in enumerate(unreachable):
        positions[name] = (max(c for c, _ in positions.values()) + 1, index)
    return positions


def _s3(ref: dict[str, Any]) -> str:
    return f"s3://{ref['bucket']}/{ref['key']}"


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None
