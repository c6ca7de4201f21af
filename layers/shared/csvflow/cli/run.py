"""`csvflow run`: the whole workflow on local files, in the emulated account."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csvflow.cli.database import add_database_option, open_database
from csvflow.cli.format import format_aggregate, format_columns, format_dialect
from csvflow.cli.functions import add_lambda_endpoint_option
from csvflow.domain.model import ObjectRef

if TYPE_CHECKING:
    from csvflow.local.spilled_bodies import BodiesAhead


def register(
    command: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    run = command("run", help="run the whole workflow locally on CSV files")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    run.add_argument("--dataset", help="upload under incoming/DATASET/ (picks its contract)")
    run.add_argument("--contract", type=Path, help="the dataset's contract (YAML or JSON)")
    add_database_option(run)
    add_lambda_endpoint_option(run)
    run.add_argument("--json", action="store_true", help="a JSON array, one object per file")
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    # Imports no moto: the files' copies begin before the emulator's imports.
    from csvflow.local.spilled_bodies import BodiesAhead

    # The files named are looked for first: a missing one would otherwise be found only once
    # the stack has started and the database is migrated, many seconds later.
    named = [*args.paths, *([args.contract] if args.contract else [])]
    missing = [str(p) for p in named if not p.is_file()]
    if missing:
        print(f"csvflow: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    # The files' copies for the emulated bucket (each one's MD5, S3's ETag) are made on a
    # thread while the emulator is imported and the database and the stack start: hashing
    # and the kernel's copy leave the GIL to them.
    with BodiesAhead(args.paths) as bodies:
        return _run(args, bodies, started)


def _run(args: argparse.Namespace, bodies: BodiesAhead, started: float) -> int:
    dataset = args.dataset or (args.contract.stem if args.contract else None)
    with open_database(args) as url:
        results = _run_in_local_stack(args, url, dataset, bodies, started)
        records, summaries = _records_and_summaries(url, results)
        if args.json:
            print(json.dumps(records, indent=2))
        else:
            for record, summary in zip(records, summaries, strict=True):
                _print_run(record, summary)
    return 0 if all(record["status"] == "SUCCEEDED" for record in records) else 1


def _run_in_local_stack(
    args: argparse.Namespace,
    url: str,
    dataset: str | None,
    bodies: BodiesAhead,
    started: float,
) -> list[Any]:
    """Each file's execution in the emulated account, its progress told on stderr (not with
    --json)."""
    from csvflow.local.account_folder import local_data_dir
    from csvflow.local.sdk_imports import accelerators_left_out

    with accelerators_left_out():  # the emulator's imports bring botocore's
        from csvflow.local.runtime import LocalRuntime

    told = not args.json
    # The local stack runs the migration step at creation, as a deploy does.
    with LocalRuntime(
        database_url=url, data_dir=local_data_dir(), lambda_endpoint=args.lambda_endpoint
    ) as runtime:
        if args.contract and dataset:
            runtime.put_contract(dataset, args.contract)
        results: list[Any] = runtime.run(
            list(args.paths),
            dataset=dataset,
            on_state=_StateProgress(started) if told else _untold,
            on_upload_progress=(
                _UploadProgress(started, live=sys.stderr.isatty()) if told else None
            ),
            on_validation_progress=_ValidationProgress(started) if told else None,
            bodies=bodies,
        )
    return results


def _records_and_summaries(
    url: str, results: list[Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any] | None]]:
    """Each file's record of its run, and its summary as the database has it."""
    from csvflow.adapters.postgres.connection import connector
    from csvflow.adapters.postgres.queries import PostgresSummaryQueries

    queries = PostgresSummaryQueries(connector(url))
    records = [_run_record(result) for result in results]
    summaries = [queries.summary(record["key"]) for record in records]
    for record, summary in zip(records, summaries, strict=True):
        # A failed file's dialect, as far as detection got, is in its ingestions row.
        record["dialect"] = record["dialect"] or (summary or {}).get("dialect")
    return records, summaries


def _untold(upload: Any, state: str) -> None:
    """--json: the states are not told."""


class _StateProgress:
    """A line when a file's execution reaches a state."""

    def __init__(self, started: float) -> None:
        self._started = started

    def __call__(self, upload: Any, state: str) -> None:
        elapsed = time.monotonic() - self._started
        print(f"  {elapsed:6.1f}s  {upload.file}: {state}", file=sys.stderr)


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


class _ValidationProgress:
    """The validate step's own progress lines: rows so far, and how much of the file."""

    def __init__(self, started: float) -> None:
        self._started = started

    def __call__(self, upload: Any, figures: Mapping[str, Any]) -> None:
        elapsed = time.monotonic() - self._started
        rows, rejected = int(figures["rows"]), int(figures["rejected_rows"])
        read, total = int(figures["bytes_read"]), int(figures["bytes_total"])
        share = f", {min(read / total, 1):.0%} of the file read" if total else ""
        print(
            f"  {elapsed:6.1f}s  {upload.file}: {rows:,} rows validated, "
            f"{rejected:,} rejected{share}",
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
        "dialect": validation.get("dialect"),
        "error": None if result.status == "SUCCEEDED" else {"type": error, "cause": cause},
    }


def _uri(ref: dict[str, Any] | None) -> str | None:
    return ObjectRef.from_dict(ref).uri if ref else None


def _print_run(record: dict[str, Any], summary: dict[str, Any] | None) -> None:
    print(f"\n{record['file']}  ->  {record['status']}")
    print(f"  key:        {record['key']}")
    print(f"  execution:  {record['execution_arn']}")
    if record["status"] != "SUCCEEDED":
        error = record["error"] or {}
        print(f"  error:      {error.get('type')}: {error.get('cause')}")
        if record["dialect"]:  # how it was being read when it failed
            print(format_dialect(record["dialect"]))
        return
    print(f"  rows:       {record['rows']}   rejected: {record['rejected_rows']}")
    if record["rejects_report"]:
        print(f"  rejects:    {record['rejects_report']}")
    if record["dialect"]:
        print(format_dialect(record["dialect"]))
    if summary:
        print(format_columns(summary["columns"]))
        for aggregate in summary["aggregates"]:
            print(format_aggregate(aggregate))
