"""`csvflow profile`: validate and summarize a local file, without AWS."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from csvflow.cli.format import format_aggregate, format_columns, format_dialect
from csvflow.domain import exact_json


def register(
    command: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    profile = command("profile", help="validate and summarize a local file, no AWS")
    profile.add_argument("path", type=Path)
    profile.add_argument(
        "--contract", type=Path, help="check the file against this contract (YAML or JSON)"
    )
    profile.add_argument("--json", action="store_true", help="the whole result as one JSON object")
    profile.add_argument(
        "--rejects",
        type=Path,
        metavar="FILE",
        help="write the reject report (line, column, value, reason) to FILE",
    )
    profile.set_defaults(func=cmd_profile)


def cmd_profile(args: argparse.Namespace) -> int:
    from csvflow.local.profile import profile_file

    result = profile_file(args.path, contract_path=args.contract, rejects_path=args.rejects)
    if args.json:
        print(exact_json.dumps(result, default=str))
    elif result["status"] == "FAILED":
        error = result["error"]
        print(f"csvflow: {error['type']}: {error['cause']}", file=sys.stderr)
        if result.get("dialect"):
            print(format_dialect(result["dialect"]), file=sys.stderr)
        if result.get("rejects_report"):
            print(f"  rejects:    {result['rejects_report']}", file=sys.stderr)
    else:
        print(f"{args.path}: {result['rows']} rows, {result['rejected_rows']} rejected")
        if result.get("dialect"):
            print(format_dialect(result["dialect"]))
        if result.get("rejects_report"):
            print(f"  rejects:    {result['rejects_report']}")
        print(format_columns(result["columns"]))
        for aggregate in result["aggregates"]:
            print(format_aggregate(aggregate))
    return 0 if result["status"] == "SUCCEEDED" else 1
