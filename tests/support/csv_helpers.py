"""Run the domain's validation on bytes, for tests."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pyarrow as pa

from csvflow.domain.contract import parse_contract
from csvflow.domain.dialect import HEAD_BYTES, TAIL_BYTES, detect_dialect
from csvflow.domain.model import Contract, no_contract
from csvflow.domain.rejects import RejectReport
from csvflow.domain.unique import UNIQUE_KEYS_MEMORY
from csvflow.domain.validation import CsvValidator, ValidationOutcome


@dataclass
class Validated:
    table: pa.Table
    outcome: ValidationOutcome
    report_csv: str
    validator: CsvValidator


def contract(text: str, dataset: str = "test") -> Contract:
    return parse_contract(text, source="contract.yaml", dataset=dataset)


def validate_bytes(
    data: bytes,
    contract: Contract | None = None,
    *,
    file: str = "upload.csv",
    block_size: int = 1 << 20,
    unique_keys_memory: int = UNIQUE_KEYS_MEMORY,
    default_rejected_share: float = 0.0,
    default_rejected_rows: int = 0,
    check_quotes_closed: bool = True,
) -> Validated:
    contract = contract or no_contract("test")
    dialect = detect_dialect(
        data[:HEAD_BYTES],
        file=file,
        tail=data[-TAIL_BYTES:],
        size=len(data),
        rules=contract.reading,
        columns=tuple(c.name for c in contract.columns),
    )
    out = io.StringIO()
    validator = CsvValidator(
        io.BytesIO(data),
        file=file,
        dialect=dialect,
        contract=contract,
        report=RejectReport(out),
        block_size=block_size,
        unique_keys_memory=unique_keys_memory,
        default_rejected_share=default_rejected_share,
        default_rejected_rows=default_rejected_rows,
        check_quotes_closed=check_quotes_closed,
    )
    batches = list(validator.batches())
    table = pa.Table.from_batches(batches, schema=validator.schema)
    return Validated(table, validator.outcome, out.getvalue(), validator)


def report_rows(report_csv: str) -> list[dict[str, str]]:
    import csv

    return list(csv.DictReader(io.StringIO(report_csv)))
