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
