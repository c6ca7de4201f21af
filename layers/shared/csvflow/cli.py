"""The ``csvflow`` command: run the workflow locally, profile a file, query what was persisted."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from csvflow.cli_errors import explain
from csvflow.cli_format import table
from csvflow.config import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    _configure_logging(verbose)
    try:
        code: int = args.func(args)
        return code
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other command-line tools do;
        # stdout is pointed at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:
        print("csvflow: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except Exception as error:
        if verbose:
            traceback.print_exc()
        sentence, code = explain(error)
        print(f"csvflow: {sentence}", file=sys.stderr)
        return code


def _configure_logging(verbose: bool) -> None:
    """csvflow's own warnings by default; the emulator's and libraries' too with --verbose."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if not verbose:
        # moto logs every failed execution it runs (~10 KB each, even for an expected
        # InvalidCsv); csvflow reports the outcome itself.
        handler.addFilter(lambda record: record.name.partition(".")[0] == "csvflow")
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csvflow", description=__doc__)
    parser.add_argument("--version", action="version", version=f"csvflow {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help=_VERBOSE_HELP)
    # Every command takes --verbose after its name too; SUPPRESS keeps a top-level
    # `csvflow --verbose run` from being reset by the command's own default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=_VERBOSE_HELP
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, parents=[common], **kwargs)
        return parser

    run = command("run", help="run the whole workflow locally on CSV files")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    run.add_argument("--dataset", help="upload under incoming/DATASET/ (picks its contract)")
    run.add_argument("--contract", type=Path, help="the dataset's contract (YAML or JSON)")
    _database_option(run)
    run.add_argument("--json", action="store_true", help="a JSON array, one object per file")
    run.set_defaults(func=cmd_run)

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

    summary = command("summary", help="the persisted summary of an object key")
    summary.add_argument("key", help="the object key, or the uploaded file's name")
    _database_option(summary)
    summary.add_argument("--json", action="store_true")
    summary.set_defaults(func=cmd_summary)

    rejects = command("rejects", help="the reject report of an object key (CSV on stdout)")
    rejects.add_argument("key", help="the object key, or the uploaded file's name")
    _database_option(rejects)
    rejects.add_argument(
        "--aws", action="store_true", help="read the report from S3 (default: the local account)"
    )
    rejects.set_defaults(func=cmd_rejects)

    ingestions = command("ingestions", help="list persisted ingestions")
    ingestions.add_argument("--status", choices=["SUCCEEDED", "FAILED"])
    _database_option(ingestions)
    ingestions.add_argument("--json", action="store_true")
    ingestions.set_defaults(func=cmd_ingestions)

    migrate = command("migrate", help="create or upgrade the database schema")
    _database_option(migrate)
    migrate.set_defaults(func=cmd_migrate)

    from csvflow.cli_operate import add_commands

    add_commands(command, _database_option, common)
    return parser


_VERBOSE_HELP = "also the emulator's and libraries' log lines, and tracebacks"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("csvflow")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


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
    from csvflow.local.account_folder import local_data_dir
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

    upload_progress = _UploadProgress(started, live=sys.stderr.isatty() and not args.json)

    with _database(args) as url:
        # The local stack runs the migration step at creation, as a deploy does.
        with LocalRuntime(database_url=url, data_dir=local_data_dir()) as runtime:
            if args.contract and dataset:
                runtime.put_contract(dataset, args.contract)
            results = runtime.run(
                list(args.paths),
                dataset=dataset,
                on_state=progress,
                on_upload_progress=None if args.json else upload_progress,
            )
        queries = PostgresSummaryQueries(connector(url))
        records = [_run_record(result) for result in results]
        if args.json:
            print(json.dumps(records, indent=2))
        else:
            for record in records:
                _print_run(record, queries.summary(record["key"]))
    return 0 if all(record["status"] == "SUCCEEDED" for record in records) else 1


class _UploadProgress:
    """Bytes uploaded so far: a line redrawn in a terminal, else one line when a file is sent."""

    def __init__(self, started: float, *, live: bool) -> None:
        self._started, self._live = started, live
        self._redrawn = 0.0
        self._sent: set[Path] = set()

    def __call__(self, path: Path, sent: int, total: int) -> None:
        if path in self._sent:
            return  # the reader's last, empty reads
        now = time.monotonic()
        done = sent >= total
        if done:
            self._sent.add(path)
        if self._live and (done or now - self._redrawn >= 0.2):
            self._redrawn = now
            line = f"  {now - self._started:6.1f}s  {path}: uploading {_mb(sent)} of {_mb(total)}"
            print("\r" + line, end="\n" if done else "", file=sys.stderr, flush=True)
        elif done and not self._live:
            print(
                f"  {now - self._started:6.1f}s  {path}: uploaded {_mb(total)}",
                file=sys.stderr,
            )


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


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

    result = profile_file(args.path, contract_path=args.contract, rejects_path=args.rejects)
    if args.json:
        print(json.dumps(result, default=str))
    elif result["status"] == "FAILED":
        error = result["error"]
        print(f"csvflow: {error['type']}: {error['cause']}", file=sys.stderr)
        if result.get("rejects_report"):
            print(f"  rejects:    {result['rejects_report']}", file=sys.stderr)
    else:
        print(f"{args.path}: {result['rows']} rows, {result['rejected_rows']} rejected")
        if result.get("rejects_report"):
            print(f"  rejects:    {result['rejects_report']}")
        print(format_columns(result["columns"]))
        for aggregate in result["aggregates"]:
            print(format_aggregate(aggregate))
    return 0 if result["status"] == "SUCCEEDED" else 1


def cmd_summary(args: argparse.Namespace) -> int:
    from csvflow.adapters.postgres import PostgresSummaryQueries, connector

    with _database(args) as url:
        summary = _find_summary(PostgresSummaryQueries(connector(url)), args.key)
    if summary is None:
        return 1
    if args.json:
        print(json.dumps(summary, default=str))
        return 0
    print(f"{summary['key']} ({summary['version']}): {summary['status']}")
    if summary["status"] == "FAILED":
        print(f"  {summary['failed_step']} failed: {summary['error']}: {summary['cause']}")
        if summary.get("rejects_report"):
            print(f"  rejects:    {summary['rejects_report']}")
        return 0
    print(f"  rows:       {summary['rows']}   rejected: {summary['rejected_rows']}")
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
    from csvflow.adapters.postgres import PostgresSummaryQueries, connector
    from csvflow.local.account_folder import AccountFolder, local_data_dir

    with _database(args) as url:
        summary = _find_summary(PostgresSummaryQueries(connector(url)), args.key)
    if summary is None:
        return 1
    uri = summary.get("rejects_report")
    if not uri:
        print(f"csvflow: no row of {summary['key']} was rejected", file=sys.stderr)
        return 0
    bucket, _, key = uri.removeprefix("s3://").partition("/")
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
    from csvflow.adapters.postgres import PostgresSummaryQueries, connector

    with _database(args) as url:
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
    return table(["column", "type", "count", "nulls", "distinct", "min", "max", ""], rows)


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
    return f"\n  aggregate {aggregate['name']}\n" + table([*keys, *metrics], rows) + more


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _short(value: Any) -> str:
    text = "" if value is None else str(value).replace("\r", "␍").replace("\n", "⏎")
    return text if len(text) <= 20 else text[:19] + "…"


if __name__ == "__main__":
    raise SystemExit(main())
