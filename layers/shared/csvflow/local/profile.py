"""``csvflow profile``: the validate and summarize code on a local file, no AWS, no database."""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path
from typing import Any, TextIO

from csvflow.config import Settings
from csvflow.domain.contract import parse_contract
from csvflow.domain.dialect import HEAD_BYTES, TAIL_BYTES, check_size, detect_dialect
from csvflow.domain.model import no_contract
from csvflow.domain.read_ahead import read_ahead
from csvflow.domain.rejects import RejectReport
from csvflow.domain.summarizing import summarize_batches
from csvflow.domain.summary import aggregate_groups
from csvflow.domain.validation import CsvValidator
from csvflow.exceptions import PermanentError
from csvflow.process_memory import return_large_blocks
from csvflow.validating import validator_for


def profile_file(
    path: Path, *, contract_path: Path | None = None, rejects_path: Path | None = None
) -> dict[str, Any]:
    """The summary ``csvflow summary --json`` would show after ingesting ``path``.

    Validation feeds the profiler batch by batch, with no Parquet in between: the
    same domain code as the Lambdas, fused, which is what the benchmark times. With
    ``rejects_path``, the reject report the validate step would upload is written there
    (and removed again when no row was rejected, as the step uploads none).
    """
    return_large_blocks()
    if rejects_path is None:
        return _profile(path, contract_path, io.StringIO())
    with rejects_path.open("w", newline="", encoding="utf-8") as report_file:
        result = _profile(path, contract_path, report_file)
    if result["rejected_rows"]:
        return result | {"rejects_report": str(rejects_path)}
    rejects_path.unlink()
    return result


def _profile(path: Path, contract_path: Path | None, report_file: TextIO) -> dict[str, Any]:
    contract = (
        parse_contract(
            contract_path.read_text(encoding="utf-8"),
            source=str(contract_path),
            dataset=contract_path.stem,
        )
        if contract_path
        else no_contract(path.stem)
    )
    result: dict[str, Any] = {"key": str(path), "status": "SUCCEEDED"}
    report = RejectReport(report_file)
    validator: CsvValidator | None = None
    try:
        with path.open("rb") as stream:
            limits = Settings.from_environ(os.environ)
            size = path.stat().st_size
            check_size(size, file=str(path), max_bytes=limits.max_file_bytes)
            head = stream.read(HEAD_BYTES)
            stream.seek(max(size - TAIL_BYTES, 0))
            dialect = detect_dialect(
                head,
                file=str(path),
                tail=stream.read(),
                size=size,
                rules=contract.reading,
                max_columns=limits.max_columns,
                columns=tuple(c.name for c in contract.columns),
            )
            result["dialect"] = dialect.to_dict()
            stream.seek(0)
            validator = validator_for(
                stream,
                file=str(path),
                dialect=dialect,
                contract=contract,
                report=report,
                settings=limits,
            )
            batches = read_ahead(validator.batches())
            first = next(batches, None)
            schema = validator.schema
            # The schema is settled by the first batch; the rest stream through.
            profiler, aggregates = summarize_batches(
                itertools.chain([first] if first is not None else [], batches), schema, contract
            )
        result["dialect"] = validator.dialect_read.to_dict()
        validator.raise_if_too_many_rejected(None)
    except PermanentError as e:
        return result | {
            "status": "FAILED",
            "error": {"type": type(e).__name__, "cause": str(e)},
            "rows": 0,
            "rejected_rows": validator.outcome.rejected_rows if validator else 0,
            "columns": [],
            "aggregates": [],
        }
    return result | {
        "rows": validator.outcome.rows,
        "rejected_rows": validator.outcome.rejected_rows,
        "columns": profiler.profiles(),
        "aggregates": [
            {"name": a.spec.name, "groups": list(aggregate_groups(a.result(), a.keys))}
            for a in aggregates
        ],
    }
