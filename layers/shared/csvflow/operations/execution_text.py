"""An execution as text: its status, each state's time, attempts and result, its links."""

from __future__ import annotations

import json

from csvflow.operations.executions import ExecutionView, StepView


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
    for run in view.map_runs:
        items = ", ".join(f"{count} {kind}" for kind, count in run["items"].items())
        lines.append(
            f"map run   {run['arn'].rsplit(':', 1)[-1]}  {run['status']}  "
            f"{run['seconds'] if run['seconds'] is not None else '-'} s  "
            f"up to {run['max_concurrency']} at a time  items: {items}"
        )
    if view.parts:
        lines.append("  part  bytes                      rows  rejected  quote state  error")
        for part in view.parts:
            first, end = part["bytes"]
            state = part["quote_state"] + (", earlier keys" if part["earlier_keys"] else "")
            lines.append(
                f"  {part['index']:>4}  {f'{first:,}-{end:,}':<22}  {part['rows']:>6}  "
                f"{part['rejected_rows']:>8}  {state:<11}  {part['error'] or '-'}"
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
