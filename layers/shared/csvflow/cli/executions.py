"""Executions as the Step Functions console shows them: `executions`, `execution`, `redrive`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from csvflow.cli.format import table
from csvflow.cli.since import SINCE_HELP, parse_since
from csvflow.cli.target import add_target_options, client
from csvflow.operations.execution_graph import state_machine_png, state_machine_svg
from csvflow.operations.execution_text import format_execution
from csvflow.operations.executions import (
    FAILED_STATUSES,
    describe_execution,
    execution_error,
    find_state_machine,
    list_executions,
    redrive,
)


def register(
    command: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    executions = command("executions", help="list executions, as the Step Functions console does")
    executions.add_argument(
        "--status", choices=["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
    )
    executions.add_argument("--since", type=parse_since, help=SINCE_HELP)
    executions.add_argument("--json", action="store_true")
    add_target_options(executions)
    executions.set_defaults(func=cmd_executions)

    execution = command(
        "execution", help="one execution: states, durations, retries, errors, links"
    )
    execution.add_argument("arn")
    execution.add_argument("--json", action="store_true")
    execution.add_argument(
        "--graph",
        type=_graph_file,
        metavar="FILE.svg|FILE.png",
        help="draw the state machine and the path taken, as the console's graph view does",
    )
    add_target_options(execution)
    execution.set_defaults(func=cmd_execution)

    redrive = command("redrive", help="redrive failed executions from their failed state")
    redrive.add_argument("arns", nargs="*", metavar="ARN")
    redrive.add_argument(
        "--all-failed", action="store_true", help="every FAILED/TIMED_OUT/ABORTED one"
    )
    redrive.add_argument("--since", type=parse_since, help=SINCE_HELP)
    add_target_options(redrive)
    redrive.set_defaults(func=cmd_redrive)


def cmd_executions(args: argparse.Namespace) -> int:
    sfn = client(args, "stepfunctions")
    machine = find_state_machine(sfn, f"{args.name}-ingest")
    found = list_executions(sfn, machine, status=args.status, since=args.since)
    for execution in found:
        if execution["status"] in FAILED_STATUSES:
            execution["error"] = execution_error(sfn, execution["arn"])
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if not found:
        print("no executions", file=sys.stderr)
        return 0
    print(
        table(
            ["status", "started", "seconds", "name", "error"],
            [
                [
                    e["status"],
                    e["started"][:19],
                    "-" if e["seconds"] is None else f"{e['seconds']:.1f}",
                    e["name"],
                    _clip(e.get("error") or "", 60),
                ]
                for e in found
            ],
        )
    )
    return 0


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_execution(args: argparse.Namespace) -> int:
    sfn = client(args, "stepfunctions")
    view = describe_execution(sfn, args.arn, client(args, "s3"))
    if args.graph:
        definition = json.loads(
            sfn.describe_state_machine_for_execution(executionArn=args.arn)["definition"]
        )
        if args.graph.suffix.lower() == ".png":
            args.graph.write_bytes(state_machine_png(definition, view.steps, view.map_runs))
        else:
            svg = state_machine_svg(definition, view.steps, view.map_runs)
            args.graph.write_text(svg, encoding="utf-8")
    print(
        json.dumps(view.to_dict(), indent=2, default=str) if args.json else format_execution(view)
    )
    return 0 if view.status in ("SUCCEEDED", "RUNNING") else 1


def _graph_file(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in (".svg", ".png"):
        raise argparse.ArgumentTypeError(f"{text}: the graph is written as .svg or .png")
    return path


def cmd_redrive(args: argparse.Namespace) -> int:
    sfn = client(args, "stepfunctions")
    arns = list(args.arns)
    if args.all_failed:
        machine = find_state_machine(sfn, f"{args.name}-ingest")
        for status in FAILED_STATUSES:
            arns += [
                e["arn"] for e in list_executions(sfn, machine, status=status, since=args.since)
            ]
    if not arns:
        print("nothing to redrive: give ARNs or --all-failed", file=sys.stderr)
        return 2
    outcomes = redrive(sfn, arns)
    for outcome in outcomes:
        print(f"{outcome['arn']}: {outcome['outcome']}")
    return 0 if all(o["outcome"] == "redriven" for o in outcomes) else 1
