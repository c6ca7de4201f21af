"""`csvflow logs`: a function's log lines, from CloudWatch Logs or the local account's folder."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

from csvflow.cli.since import SINCE_HELP, parse_since
from csvflow.cli.target import client
from csvflow.local.stack import FUNCTIONS
from csvflow.operations.function_logs import log_lines


def register(
    command: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    logs = command("logs", help="a function's log lines, as CloudWatch Logs keeps them")
    logs.add_argument("function", choices=FUNCTIONS)
    logs.add_argument("--since", type=parse_since, help=SINCE_HELP)
    where = logs.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint-url", help="CloudWatch Logs of an emulated account (`csvflow local serve`)"
    )
    where.add_argument("--aws", action="store_true", help="CloudWatch Logs of AWS itself")
    logs.add_argument("--region", help="AWS region (default: the profile's)")
    logs.add_argument("--name", default="csvflow", help="the stack's name prefix")
    logs.set_defaults(func=cmd_logs)


def cmd_logs(args: argparse.Namespace) -> int:
    """Without --aws or --endpoint-url: the lines the local account kept on disk."""
    function = f"{args.name}-{args.function}"
    if args.aws or args.endpoint_url:
        lines = log_lines(client(args, "logs"), f"/aws/lambda/{function}", args.since)
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
