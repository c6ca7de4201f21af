"""The ``csvflow`` command: run the workflow locally, profile a file, query what was persisted."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from csvflow.config import Settings
from csvflow.exceptions import CsvflowError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.func(args)
        return code
    except CsvflowError as e:
        print(f"csvflow: {e}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csvflow", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the whole workflow locally on CSV files")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    run.add_argument("--dataset", help="upload under incoming/DATASET/ (picks its contract)")
    run.add_argument("--contract", type=Path, help="the dataset's contract (YAML or JSON)")
    _database_option(run)
    run.add_argument("--json", action="store_true", help="one JSON object per file")
    run.set_defaults(func=cmd_run)

    profile = sub.add_parser("profile", help="validate and summarize a local file, no AWS")
    profile.add_argument("path", type=Path)
    profile.add_argument("--contract", type=Path)
    profile.add_argument("--json", action="store_true")
    profile.set_defaults(func=cmd_profile)

    summary = sub.add_parser("summary", help="the persisted summary of an object key")
    summary.add_argument("key")
    _database_option(summary)
    summary.add_argument("--json", action="store_true")
    summary.set_defaults(func=cmd_summary)

    ingestions = sub.add_parser("ingestions", help="list persisted ingestions")
    ingestions.add_argument("--status", choices=["SUCCEEDED", "FAILED"])
    _database_option(ingestions)
    ingestions.add_argument("--json", action="store_true")
    ingestions.set_defaults(func=cmd_ingestions)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    _database_option(migrate)
    migrate.set_defaults(func=cmd_migrate)

    from csvflow.cli_operate import add_commands

    add_commands(sub, _database_option)
    return parser


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (default: $DATABASE_URL, else an embedded server)",
    )


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[str]:
    url = args.database_url or Settings.from_environ(os.environ).database_url
    if url:
        yield url
        return
    from csvflow.local.embedded_postgres import embedded_database

    with embedded_database() as embedded_url:
        yield embedded_url


def cmd_migrate(args: argparse.Namespace) -> int:
    from csvflow.adapters.postgres import connector, migrate

    with _database(args) as url:
        applied = migrate(connector(url))
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from csvflow.adapters.postgres import PostgresSummaryQueries, connector
    from csvflow.local.runtime import LocalRuntime

    missing = [str(p) for p in args.paths if not p.is_file()]
    if missing:
        print(f"csvflow: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    dataset = args.dataset or (args.contract.stem if args.contract else None)
    started = time.monotonic()

    def progress(upload: Any, state: str) -> None:
        if not args.json:
            elapsed = time.monotonic() - started
            print(f"  {elapsed:6.1f}s  {upload.file}: {state}", file=sys.stderr)

    with _database(args) as url:
        # The local stack runs the migration step at creation, as a deploy does.
        with LocalRuntime(database_url=url) as runtime:
            if args.contract and dataset:
                runtime.put_contract(dataset, args.contract)
            results = runtime.run(list(args.paths), dataset=dataset, on_state=progress)
        queries = PostgresSummaryQueries(connector(url))
        failed = 0
        for result in results:
            failed += result.status != "SUCCEEDED"
            record = _run_record(result)
            if args.json:
                print(json.dumps(record))
            else:
                _print_run(record, queries.summary(result.upload.source.key))
    return 1 if failed else 0


def _run_record(result: Any) -> dict[str, Any]:
    output = result.output
    validation = output.get("validation", {}).get("result", {})
    error = result.error
    cause = result.cause
    return {
        "file": result.upload.file,
        "key": result.upload.source.key,
        "status": result.status,
        "execution_arn": result.upload.execution_arn,
        "rows": validation.get("rows"),
        "rejected_rows": validation.get("rejected_rows"),
        "rejects_report": _uri(validation.get("rejects_report")),
        "error": None if result.status == "SUCCEEDED" else {"type": error, "cause": cause},
    }


def _uri(ref: dict[str, Any] | None) -> str | None:
    return f"s3://{ref['bucket']}/{ref['key']}" if ref else None


def _print_run(record: dict[str, Any], summary: dict[str, Any] | None) -> None:
    print(f"\n{record['file']}  ->  {record['status']}")
    print(f"  key:        {record['key']}")
    print(f"  execution:  {record['execution_arn']}")
    if record["status"] != "SUCCEEDED":
        error = record["error"] or {}
        print(f"  error:      {error.get('type')}: {error.get('cause')}")
        return
    print(f"  rows:       {record['rows']}   rejected: {record['rejected_rows']}")
    if record["rejects_report"]:
        print(f"  rejects:    {record['rejects_report']}")
    if summary:
        print(format_columns(summary["columns"]))
        for aggregate in summary["aggregates"]:
            print(format_aggregate(aggregate))


def cmd_profile(args: argparse.Namespace) -> int:
    from csvflow.local.profile import profile_file

    result = profile_file(args.path, contract_path=args.contract)
    if args.json:
        print(json.dumps(result, default=str))
    elif result["status"] == "FAILED":
        error = result["error"]
        print(f"csvflow: {error['type']}: {error['cause']}", file=sys.stderr)
    else:
        print(f"{args.path}: {result['rows']} rows, {result['rejected_rows']} rejected")
        print(format_columns(result["columns"]))
        for aggregate in result["aggregates"]:
            print(format_aggregate(aggregate))
    return 0 if result["status"] == "SUCCEEDED" else 1


def cmd_summary(args: argparse.Namespace) -> int:
    from csvflow.adapters.postgres import PostgresSummaryQueries, connector

    with _database(args) as url:
        summary = PostgresSummaryQueries(connector(url)).summary(args.key)
    if summary is None:
        print(f"csvflow: nothing ingested under {args.key}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(summary, default=str))
        return 0
    print(
        f"{summary['key']} ({summary['version']}): {summary['status']}, "
        f"{summary['rows']} rows, {summary['rejected_rows']} rejected"
    )
    if summary["status"] == "FAILED":
        print(f"  {summary['failed_step']} failed: {summary['error']}: {summary['cause']}")
    print(format_columns(summary["columns"]))
    for aggregate in summary["aggregates"]:
        print(format_aggregate(aggregate))
    return 0


def cmd_ingestions(args: argparse.Namespace) -> int:
    from csvflow.adapters.postgres import PostgresSummaryQueries, connector

    with _database(args) as url:
        rows = PostgresSummaryQueries(connector(url)).ingestions(status=args.status)
    if args.json:
        for row in rows:
            print(json.dumps(row, default=str))
        return 0
    print(
        _table(
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


def format_columns(columns: list[dict[str, Any]]) -> str:
    rows = []
    for c in columns:
        detail = ""
        if "mean" in c and c["mean"] is not None:
            detail = f"mean {_num(c['mean'])}  std {_num(c.get('std'))}  p50 {_num(c.get('p50'))}"
        elif c.get("top_values"):
            top = c["top_values"][:3]
            detail = "top " + ", ".join(f"{_short(t['value'])} ({t['count']})" for t in top)
        elif "true_count" in c:
            detail = f"true {c['true_count']}  false {c['false_count']}"
        distinct = f"{c['distinct']}" + ("" if c.get("distinct_exact", True) else "~")
        rows.append(
            [
                c["name"],
                c["type"],
                c["count"],
                c["nulls"],
                distinct,
                _short(c.get("min")),
                _short(c.get("max")),
                detail,
            ]
        )
    return _table(["column", "type", "count", "nulls", "distinct", "min", "max", ""], rows)


def format_aggregate(aggregate: dict[str, Any]) -> str:
    groups = aggregate["groups"]
    if not groups:
        return f"\n  aggregate {aggregate['name']}: no groups"
    keys, metrics = list(groups[0]["group"]), list(groups[0]["metrics"])
    rows = [
        [*(g["group"][k] for k in keys), *(_num(g["metrics"][m]) for m in metrics)]
        for g in groups[:20]
    ]
    more = f"\n  ... {len(groups) - 20} more groups" if len(groups) > 20 else ""
    return f"\n  aggregate {aggregate['name']}\n" + _table([*keys, *metrics], rows) + more


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _short(value: Any) -> str:
    text = "" if value is None else str(value).replace("\r", "␍").replace("\n", "⏎")
    return text if len(text) <= 20 else text[:19] + "…"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(v) for v in header]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
