"""A file's summary as it travels: Parquet in S3 between steps, rows in PostgreSQL at the end."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

from csvflow.domain.model import SourceObject
from csvflow.domain.profile_fields import PROFILE_FIELDS, Kind

_ARROW_TYPES = {
    Kind.TEXT: pa.string(),
    Kind.POSITION: pa.int32(),
    Kind.COUNT: pa.int64(),
    Kind.FLAG: pa.bool_(),
    Kind.NUMBER: pa.float64(),
    Kind.LENGTH: pa.int64(),
    # Between steps a JSON field travels as its JSON text.
    Kind.JSON: pa.string(),
    Kind.TOP_VALUES: pa.list_(pa.struct([("value", pa.string()), ("count", pa.int64())])),
}
PROFILE_SCHEMA = pa.schema([(f.name, _ARROW_TYPES[f.kind]) for f in PROFILE_FIELDS])
_JSON_FIELDS = tuple(f.name for f in PROFILE_FIELDS if f.kind is Kind.JSON)


def profiles_to_table(profiles: list[dict[str, Any]]) -> pa.Table:
    rows = [
        {
            name: json.dumps(p.get(name)) if name in _JSON_FIELDS else p.get(name)
            for name in PROFILE_SCHEMA.names
        }
        for p in profiles
    ]
    return pa.Table.from_pylist(rows, schema=PROFILE_SCHEMA)


def profiles_from_table(table: pa.Table) -> list[dict[str, Any]]:
    profiles = []
    for row in table.to_pylist():
        profile = {k: v for k, v in row.items() if v is not None}
        for name in _JSON_FIELDS:
            profile[name] = json.loads(row[name]) if row[name] is not None else None
        profiles.append(profile)
    return profiles


@dataclass(frozen=True)
class Summary:
    """Everything persisted about one file."""

    rows: int
    rejected_rows: int
    empty_rows: int
    columns: list[dict[str, Any]]
    aggregates: dict[str, pa.Table] = field(default_factory=dict)
    group_by: dict[str, list[str]] = field(default_factory=dict)
    rejects_report: str | None = None
    dialect: dict[str, Any] | None = None  # how the file was read (Dialect.to_dict)


@dataclass(frozen=True)
class IngestionRecord:
    """Which object version an outcome belongs to, and which execution produced it."""

    source: SourceObject
    dataset: str
    ingestion_id: str
    execution_arn: str | None


@dataclass(frozen=True)
class Failure:
    step: str
    error: str
    cause: str
    rejects_report: str | None = None  # s3:// URI, where rows were rejected
    dialect: dict[str, Any] | None = None  # how the file was read, when detection got that far


def json_value(value: Any) -> Any:
    """A value of a typed column as JSON can hold it (a Decimal through exact_json)."""
    if isinstance(value, Decimal):
        return value  # exact: exact_json writes it as the number it is
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def aggregate_groups(
    table: pa.Table, group_by: list[str], *, chunk_rows: int = 50_000
) -> Iterator[dict[str, Any]]:
    """An aggregate's rows as {"group": {...}, "metrics": {...}}, streamed in chunks."""
    metric_names = [n for n in table.column_names if n not in group_by]
    for batch in table.to_batches(max_chunksize=chunk_rows):
        for row in batch.to_pylist():
            yield {
                "group": {k: json_value(row[k]) for k in group_by},
                "metrics": {m: json_value(row[m]) for m in metric_names},
            }
