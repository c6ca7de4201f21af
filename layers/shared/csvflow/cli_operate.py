"""The operator's commands: `local serve`, `executions`, `execution`, `redrive`, `dlq`.

They talk to AWS (`--aws`, the standard profile and region resolution) or to the endpoint of
`csvflow local serve` (`--endpoint-url`, the default), through the same boto3 calls.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from csvflow import operations
from csvflow.cli_format import table

LOCAL_ENDPOINT = "http://127.0.0.1:4566"
FUNCTIONS = ("starter", "validate", "summarize", "persist", "migrate")


def add_commands(
    command: Callable[..., argparse.ArgumentParser],
    database_option: Callable[[argparse.ArgumentParser], None],
    common: argparse.ArgumentParser,
) -> None:
    local = command("local", help="the emulated AWS account")
    local_sub = local.add_subparsers(required=True, metavar="COMMAND")
    serve = local_sub.add_parser(
        "serve", parents=[common], help="serve the emulated stack on an HTTP endpoint"
    )
    serve.add_argument("--port", type=int, default=4566)
    database_option(serve)
    serve.set_defaults(func=cmd_serve)

    executions = command("executions", help="list executions, as the Step Functions console does")
    executions.add_argument(
        "--status", choices=["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
    )
    executions.add_argument("--since", type=_since, help=_SINCE_HELP)
    executions.add_argument("--json", action="store_true")
    _target(executions)
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
    _target(execution)
    execution.set_defaults(func=cmd_execution)

    redrive = command("redrive", help="redrive failed executions from their failed state")
    redrive.add_argument("arns", nargs="*", metavar="ARN")
    redrive.add_argument(
        "--all-failed", action="store_true", help="every FAILED/TIMED_OUT/ABORTED one"
    )
    redrive.add_argument("--since", type=_since, help=_SINCE_HELP)
    _target(redrive)
    redrive.set_defaults(func=cmd_redrive)

    logs = command("logs", help="a function's log lines, as CloudWatch Logs keeps them")
    logs.add_argument("function", choices=FUNCTIONS)
    logs.add_argument("--since", type=_since, help=_SINCE_HELP)
    where = logs.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint-url", help="CloudWatch Logs of an emulated account (`csvflow local serve`)"
    )
    where.add_argument("--aws", action="store_true", help="CloudWatch Logs of AWS itself")
    logs.add_argument("--region", help="AWS region (default: the profile's)")
    logs.add_argument("--name", default="csvflow", help="the stack's name prefix")
    logs.set_defaults(func=cmd_logs)

    dlq = command("dlq", help="the starter queue's dead letters")
    dlq.add_argument("action", choices=["list", "redrive"])
    dlq.add_argument("--json", action="store_true")
    _target(dlq)
    dlq.set_defaults(func=cmd_dlq)


def _target(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint-url",
        default=LOCAL_ENDPOINT,
        help=f"an emulated account (default: `csvflow local serve` at {LOCAL_ENDPOINT})",
    )
    where.add_argument(
        "--aws", action="store_true", help="AWS itself (standard profile/region resolution)"
    )
    parser.add_argument("--region", help="AWS region (default: the profile's)")
    parser.add_argument(
        "--name", default="csvflow", help="the stack's name prefix (default: csvflow)"
    )


def _client(args: argparse.Namespace, service: str) -> Any:
    import boto3

    if args.aws:
        return boto3.client(service, region_name=args.region)  # type: ignore[call-overload,unused-ignore]
    return boto3.client(  # type: ignore[call-overload,unused-ignore]
        service,
        endpoint_url=args.endpoint_url,
        region_name=args.region or "us-east-1",
        aws_access_key_id="local",
        # (bandit: the emulated account accepts any key; no real credential)
        aws_secret_access_key="local",  # nosec B106
    )


def _graph_file(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in (".svg", ".png"):
        raise argparse.ArgumentTypeError(f"{text}: the graph is written as .svg or .png")
    return path


_SINCE_HELP = "a duration back from now (30m, 2h, 3d, 1w), today, yesterday, or an ISO date/time"
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _since(text: str) -> dt.datetime:
    now = dt.datetime.now(tz=dt.UTC)
    word = text.strip().lower()
    if word[:-1].isdigit() and word[-1] in _UNITS:
        return now - dt.timedelta(**{_UNITS[word[-1]]: int(word[:-1])})
    midnight = dt.datetime.combine(dt.datetime.now().date(), dt.time()).astimezone()
    if word == "today":
        return midnight
    if word == "yesterday":
        return midnight - dt.timedelta(days=1)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {_SINCE_HELP}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def cmd_serve(args: argparse.Namespace) -> int:
    from csvflow.cli import _database
    from csvflow.local.account_folder import local_data_dir
    from csvflow.local.runtime import LocalRuntime
    from csvflow.local.server import LocalServer

    data_dir = local_data_dir()
    with _database(args) as url:
        with (
            LocalRuntime(database_url=url, data_dir=data_dir) as runtime,
            LocalServer(runtime, port=args.port) as server,
        ):
            endpoint = server.endpoint_url
            names = runtime.names
            print(
                f"csvflow's emulated account is serving on {endpoint} (Ctrl-C stops it)\n"
                f"  bucket         {names.bucket} (uploads under incoming/ start the workflow)\n"
                f"  state machine  {runtime.state_machine_arn}\n"
                f"  queue / DLQ    {names.queue} / {names.dead_letter_queue}\n"
                f"  functions      {', '.join(names.prefix + f for f in runtime.function_arns)}\n"
                f"  database       {url.split('@')[-1]}\n"
                "Try:\n"
                f"  aws --endpoint-url {endpoint} s3 cp examples/sales.csv s3://{names.bucket}/incoming/sales/sales.csv\n"
                f"  csvflow executions --endpoint-url {endpoint}\n",
                flush=True,
            )
            stop = threading.Event()
            # Ctrl-C, or a SIGTERM from a supervisor (a background job ignores SIGINT).
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signal_number, lambda *_: stop.set())
            stop.wait()
            print(
                f"stopping: reports, Parquet and contracts are kept in {data_dir / 's3'}",
                file=sys.stderr,
            )
    return 0


def cmd_executions(args: argparse.Namespace) -> int:
    sfn = _client(args, "stepfunctions")
    machine = operations.find_state_machine(sfn, f"{args.name}-ingest")
    found = operations.list_executions(sfn, machine, status=args.status, since=args.since)
    for execution in found:
        if execution["status"] in operations.FAILED_STATUSES:
            execution["error"] = operations.execution_error(sfn, execution["arn"])
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
    sfn = _client(args, "stepfunctions")
    view = operations.describe_execution(sfn, args.arn)
    if args.graph:
        definition = json.loads(
            sfn.describe_state_machine_for_execution(executionArn=args.arn)["definition"]
        )
        if args.graph.suffix.lower() == ".png":
            args.graph.write_bytes(operations.state_machine_png(definition, view.steps))
        else:
            args.graph.write_text(
                operations.state_machine_svg(definition, view.steps), encoding="utf-8"
            )
    print(
        json.dumps(view.to_dict(), indent=2, default=str)
        if args.json
        else operations.format_execution(view)
    )
    return 0 if view.status in ("SUCCEEDED", "RUNNING") else 1


def cmd_redrive(args: argparse.Namespace) -> int:
    sfn = _client(args, "stepfunctions")
    arns = list(args.arns)
    if args.all_failed:
        machine = operations.find_state_machine(sfn, f"{args.name}-ingest")
        for status in operations.FAILED_STATUSES:
            arns += [
                e["arn"]
                for e in operations.list_executions(sfn, machine, status=status, since=args.since)
            ]
    if not arns:
        print("nothing to redrive: give ARNs or --all-failed", file=sys.stderr)
        return 2
    outcomes = operations.redrive(sfn, arns)
    for outcome in outcomes:
        print(f"{outcome['arn']}: {outcome['outcome']}")
    return 0 if all(o["outcome"] == "redriven" for o in outcomes) else 1


def cmd_logs(args: argparse.Namespace) -> int:
    """Without --aws or --endpoint-url: the lines the local account kept on disk."""
    function = f"{args.name}-{args.function}"
    if args.aws or args.endpoint_url:
        lines = operations.log_lines(_client(args, "logs"), f"/aws/lambda/{function}", args.since)
    else:
        from csvflow.local.account_folder import AccountFolder, local_data_dir

        path = AccountFolder(local_data_dir()).log_path(function)
        if not path.is_file():
            print(f"csvflow: no log of {function} kept yet ({path})", file=sys.stderr)
            return 0
        lines = _kept_lines(path, args.since)
    for stamp, message in lines:
        print(f"{stamp}  {message}")
    return 0


def _kept_lines(path: Path, since: dt.datetime | None) -> list[tuple[str, str]]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stamp, _, message = line.partition("\t")
        if since is None or dt.datetime.fromisoformat(stamp) >= since:
            lines.append((stamp, message))
    return lines


def cmd_dlq(args: argparse.Namespace) -> int:
    sqs = _client(args, "sqs")
    dlq_url = sqs.get_queue_url(QueueName=f"{args.name}-starter-dlq")["QueueUrl"]
    if args.action == "list":
        messages = operations.dead_letters(sqs, dlq_url)
        if args.json:
            print(json.dumps(messages, indent=2))
            return 0
        if not messages:
            print("no dead letters", file=sys.stderr)
        for message in messages:
            print(f"{message['id']}  receives={message['receives']}  {message['body'][:120]}")
        return 0
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    task = sqs.start_message_move_task(SourceArn=dlq_arn)
    print(f"moving the dead letters back to their queue: task {task['TaskHandle']}")
    return 0
