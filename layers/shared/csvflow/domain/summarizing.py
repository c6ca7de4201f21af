"""A stream of typed batches summarized: every column's profile and the declared aggregates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa

from csvflow.domain.aggregates import AggregateState
from csvflow.domain.model import ColumnSpec, ColumnType, Contract
from csvflow.domain.profile import Profiler
from csvflow.domain.types import arrow_type


class Summarizer:
    """Every column's profile and the declared aggregates of a stream of typed batches,
    fed as they come; mergeable with the summarizer of another part of the same file."""

    def __init__(self, schema: pa.Schema, contract: Contract) -> None:
        self.schema = schema
        self.profiler = Profiler([contract.column(f.name) or spec_of_field(f) for f in schema])
        self.aggregates = [AggregateState(spec, schema) for spec in contract.aggregates]

    def update(self, batch: pa.RecordBatch) -> None:
        self.profiler.update(batch)
        for state in self.aggregates:
            state.update(batch)

    def merge(self, other: Summarizer) -> None:
        self.profiler.merge(other.profiler)
        for mine, theirs in zip(self.aggregates, other.aggregates, strict=True):
            mine.merge(theirs)


def summarize_batches(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, contract: Contract
) -> tuple[Profiler, list[AggregateState]]:
    """The profile and aggregates of a stream of typed batches (shared with ``profile``)."""
    summarizer = Summarizer(schema, contract)
    for batch in coalesced(batches):
        summarizer.update(batch)
    return summarizer.profiler, summarizer.aggregates


# A profile costs a few dozen C++ calls per column per batch, whatever the batch's length: on a
# wide file (a 4 MB block of 300 columns is about 2,000 rows) that overhead is most of it.
COALESCED_ROWS = 65_536
COALESCED_BYTES = 16 << 20


def coalesced(
    batches: Iterable[pa.RecordBatch],
    rows: int = COALESCED_ROWS,
    max_bytes: int = COALESCED_BYTES,
) -> Iterator[pa.RecordBatch]:
    """The same rows in the same order, in batches of at least ``rows`` rows (or
    ``max_bytes`` bytes) where the stream has them: short batches are joined."""
    waiting: list[pa.RecordBatch] = []
    waiting_rows = waiting_bytes = 0
    for batch in batches:
        waiting.append(batch)
        waiting_rows += batch.num_rows
        waiting_bytes += batch.nbytes
        if waiting_rows >= rows or waiting_bytes >= max_bytes:
            yield _joined(waiting)
            waiting, waiting_rows, waiting_bytes = [], 0, 0
    if waiting:
        yield _joined(waiting)


def _joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    combined = pa.Table.from_batches(batches).combine_chunks().to_batches()
    return combined[0] if combined else batches[0]  # no rows: no batch from the table


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
