"""A stream of typed batches summarized: every column's profile and the declared aggregates."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from csvflow.domain.aggregates import AggregateState
from csvflow.domain.model import ColumnSpec, ColumnType, Contract
from csvflow.domain.profile import Profiler
from csvflow.domain.types import arrow_type


def summarize_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, contract: Contract
) -> tuple[Profiler, list[AggregateState]]:
    """The profile and aggregates of a stream of typed batches (shared with ``profile``)."""
    specs = [contract.column(f.name) or spec_of_field(f) for f in schema]
    profiler = Profiler(specs)
    aggregates = [AggregateState(spec, schema) for spec in contract.aggregates]
    for batch in batches:
        profiler.update(batch)
        for state in aggregates:
            state.update(batch)
    return profiler, aggregates


def spec_of_field(schema_field: pa.Field) -> ColumnSpec:
    """The column type a validated Parquet column was written as."""
    if pa.types.is_decimal(schema_field.type):
        return ColumnSpec(
            schema_field.name,
            ColumnType.DECIMAL,
            precision=schema_field.type.precision,
            scale=schema_field.type.scale,
        )
    for kind in ColumnType:
        spec = ColumnSpec(schema_field.name, kind)
        if kind is not ColumnType.DECIMAL and arrow_type(spec) == schema_field.type:
            return spec
    return ColumnSpec(schema_field.name, ColumnType.STRING)
