"""What was persisted: `csvflow summary`, `csvflow rejects`, `csvflow ingestions`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from csvflow.cli.database import add_database_option, open_database
from csvflow.cli.format import format_aggregate, format_columns, format_dialect, table
from csvflow.domain import exact_json
from csvflow.domain.model import parse_s3_uri


def register(
    command: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    summary = command("summary", help="the persisted summary of an object key")
    summary.add_argument("key", help="the object key, or the uploaded file's name")
    add_database_option(summary)
    summary.add_argument("--json", action="store_true")
    summary.set_defaults(func=cmd_summary)

    rejects = command("rejects", help="the reject report of an object key (CSV on stdout)")
    rejects.add_argument("key", help="the object key, or the uploaded file's name")
    add_database_option(rejects)
    rejects.add_argument(
        "--aws", action="store_true", help="read the report from S3 (default: the local account)"
    )
    rejects.set_defaults(func=cmd_rejects)

    ingestions = command("ingestions", help="list persisted ingestions")
    ingestions.add_argument("--status", choices=["SUCCEEDED", "FAILED"])
    add_database_option(ingestions)
    ingestions.add_argument("--json", action="store_true")
    ingestions.set_defaults(func=cmd_ingestions)


def cmd_summary(args: argparse.Namespace) -> int:
    from csvflow.adapters.postgres.connection import connector
    from csvflow.adapters.postgres.queries import PostgresSummaryQueries

    with open_database(args) as url:
        summary = _find_summary(PostgresSummaryQueries(connector(url)), args.key)
    if summary is None:
        return 1
    if args.json:
        print(exact_json.dumps(summary, default=str))
        return 0
    print(f"{summary['key']} ({summary['version']}): {summary['status']}")
    if summary["status"] == "FAILED":
        print(f"  {summary['failed_step']} failed: {summary['error']}: {summary['cause']}")
        if summary.get("rejects_report"):
            print(f"  rejects:    {summary['rejects_report']}")
        if summary.get("dialect"):
            print(format_dialect(summary["dialect"]))
        return 0
    print(f"  rows:       {summary['rows']}   rejected: {summary['rejected_rows']}")
    if summary.get("dialect"):
        print(format_dialect(summary["dialect"]))
    print(format_columns(summary["columns"]))
    for aggregate in summary["aggregates"]:
        print(format_aggregate(aggregate))
    return 0


def _find_summary(queries: Any, key: str) -> dict[str, Any] | None:
    """The summary of ``key``, or of the one key ending with that file name; else says why."""
    summary: dict[str, Any] | None = queries.summary(key)
    if summary is not None:
        return summary
    # `csvflow run x.csv` stores incoming/x.csv: a file name finds its key.
    keys = queries.keys_named(key)
    if len(keys) == 1:
        print(f"csvflow: {key} was ingested as {keys[0]}", file=sys.stderr)
        found: dict[str, Any] | None = queries.summary(keys[0])
        return found
    hint = (
        "; it may be one of: " + ", ".join(keys)
        if keys
        else " (keys look like incoming/DATASET/FILE; `csvflow ingestions` lists them)"
    )
    print(f"csvflow: nothing ingested under {key}{hint}", file=sys.stderr)
    return None


def cmd_rejects(args: argparse.Namespace) -> int:
    from csvflow.adapters.postgres.connection import connector
    from csvflow.adapters.postgres.queries import PostgresSummaryQueries
    from csvflow.local.account_folder import AccountFolder, local_data_dir

    with open_database(args) as url:
        summary = _find_summary(PostgresSummaryQueries(connector(url)), args.key)
    if summary is None:
        return 1
    uri = summary.get("rejects_report")
    if not uri:
        print(f"csvflow: no row of {summary['key']} was rejected", file=sys.stderr)
        return 0
    bucket, key = parse_s3_uri(uri)
    if args.aws:
        import boto3

        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        for chunk in body.iter_chunks():
            sys.stdout.buffer.write(chunk)
        return 0
    path = AccountFolder(local_data_dir()).object_path(bucket, key)
    if not path.is_file():
        print(
            f"csvflow: {uri} is not in the local account's folder ({path}); "
            "for the deployed stack, add --aws",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0


def cmd_ingestions(args: argparse.Namespace) -> int:
    from csvflow.adapters.postgres.connection import connector
    from csvflow.adapters.postgres.queries import PostgresSummaryQueries

    with open_database(args) as url:
        rows = PostgresSummaryQueries(connector(url)).ingestions(status=args.status)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("no ingestions", file=sys.stderr)
        return 0
    print(
        table(
            ["updated", "status", "key", "rows", "rejected", "error"],
            [
                [
                    r["updated_at"][:19],
                    r["status"],
                    r["key"],
                    r["rows"],
                    r["rejected_rows"],
                    r["error"] or "",
                ]
                for r in rows
            ],
        )
    )
    return 0
