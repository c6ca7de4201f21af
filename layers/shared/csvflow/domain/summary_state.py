"""A summarizer's state as tables: what one part of a file leaves for the summarize step.

The validate step summarizes the rows in the same pass that checks them, and hands on this
state instead of making the summarize step read its Parquet back (docs/adr/0018); a file
split into byte ranges leaves one state per range, and summarize merges them. Each table is
small (its size depends on the columns and the sketches' limits, not on the rows):

- columns: one row per column. Counts and moments are plain columns, readable in any
  Parquet tool; what has the column's own Arrow type (its least and greatest value, its
  exact distinct values, its top values) is kept as Arrow IPC bytes, so a decimal(38,2), a
  timestamp or an int64 past 2**53 comes back exactly as it went in. The schema of the
  validated rows rides in the table's metadata.
- aggregates: one row per partial table of each declared aggregate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from csvflow.domain.model import Contract
from csvflow.domain.profile import ColumnState, Moments
from csvflow.domain.sketches import DistinctCount, Quantiles, TopValues
from csvflow.domain.summarizing import Summarizer

_SCHEMA_KEY = b"csvflow.validated_schema"

COLUMNS_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("count", pa.int64()),
        ("nulls", pa.int64()),
        ("true_count", pa.int64()),
        ("false_count", pa.int64()),
        ("bounds", pa.binary()),  # IPC: one row of "min" and "max", the column's own type
        ("min_length", pa.int64()),
        ("max_length", pa.int64()),
        ("moments_n", pa.int64()),
        ("moments_mean", pa.float64()),
        ("moments_m2", pa.float64()),
        ("distinct_values", pa.binary()),  # IPC, while the count is exact
        ("distinct_registers", pa.binary()),  # HyperLogLog's registers, once it is not
        ("quantile_values", pa.binary()),  # IPC of distinct values and their counts,
        ("quantile_counts", pa.binary()),
        ("quantile_sample", pa.binary()),  # or of the values themselves,
        ("quantile_sketch", pa.binary()),  # or a KLL sketch's own serialization
        ("top_values", pa.binary()),  # IPC
        ("top_counts", pa.binary()),  # IPC
        ("top_exact", pa.bool_()),
        ("top_error", pa.int64()),
    ]
)

AGGREGATES_SCHEMA = pa.schema(
    [("aggregate", pa.string()), ("part", pa.string()), ("table", pa.binary())]
)


def summarizer_tables(summarizer: Summarizer) -> tuple[pa.Table, pa.Table]:
    """The summarizer's state: its columns table and its aggregates table."""
    states, schema = summarizer.profiler.states, summarizer.schema
    rows = [_column_row(state, field.type) for state, field in zip(states, schema, strict=True)]
    columns = pa.Table.from_pylist(rows, schema=COLUMNS_SCHEMA).replace_schema_metadata(
        {
            _SCHEMA_KEY: schema.serialize().to_pybytes(),
            b"rows": str(summarizer.profiler.rows).encode(),
        }
    )
    parts = [
        {"aggregate": state.spec.name, "part": part, "table": _ipc(table)}
        for state in summarizer.aggregates
        for part, table in state.to_tables().items()
    ]
    return columns, pa.Table.from_pylist(parts, schema=AGGREGATES_SCHEMA)


def summarizer_from_tables(
    columns: pa.Table, aggregates: pa.Table, contract: Contract
) -> Summarizer:
    """The summarizer whose state these tables hold, ready to merge or finish."""
    metadata = columns.schema.metadata or {}
    schema = pa.ipc.read_schema(pa.py_buffer(metadata[_SCHEMA_KEY]))
    summarizer = Summarizer(schema, contract)
    summarizer.profiler.rows = int(metadata[b"rows"])
    for column, row in zip(summarizer.profiler.states, columns.to_pylist(), strict=True):
        _restore_column(column, row)
    by_aggregate: dict[str, dict[str, pa.Table]] = {}
    for row in aggregates.to_pylist():
        by_aggregate.setdefault(row["aggregate"], {})[row["part"]] = _from_ipc(row["table"])
    for aggregate in summarizer.aggregates:
        aggregate.restore_tables(by_aggregate.get(aggregate.spec.name, {}))
    return summarizer


def _column_row(state: ColumnState, kind: pa.DataType) -> dict[str, Any]:
    distinct_values, registers = state.distinct_count().to_state()
    quantiles = state.quantiles.to_state()
    top_values, top_counts, top_exact, top_error = state.top.to_state()
    return {
        "name": state.spec.name,
        "count": state.count,
        "nulls": state.nulls,
        "true_count": state.true_count,
        "false_count": state.false_count,
        "bounds": _bounds_ipc(state, kind),
        "min_length": state.min_length,
        "max_length": state.max_length,
        "moments_n": state.moments.n,
        "moments_mean": state.moments.mean,
        "moments_m2": state.moments.m2,
        "distinct_values": None if distinct_values is None else _ipc_array(distinct_values),
        "distinct_registers": None if registers is None else registers.tobytes(),
        "quantile_values": _numpy_ipc(quantiles.get("values")),
        "quantile_counts": _numpy_ipc(quantiles.get("counts")),
        "quantile_sample": _numpy_ipc(quantiles.get("sample")),
        "quantile_sketch": quantiles.get("sketch"),
        "top_values": _ipc_array(top_values),
        "top_counts": _ipc_array(top_counts),
        "top_exact": top_exact,
        "top_error": top_error,
    }


def _restore_column(state: ColumnState, row: dict[str, Any]) -> None:
    state.count, state.nulls = row["count"], row["nulls"]
    state.true_count, state.false_count = row["true_count"], row["false_count"]
    if row["bounds"] is not None:
        bounds = _from_ipc(row["bounds"])
        state.minimum, state.maximum = bounds["min"][0].as_py(), bounds["max"][0].as_py()
    state.min_length, state.max_length = row["min_length"], row["max_length"]
    state.moments = Moments(row["moments_n"], row["moments_mean"], row["moments_m2"])
    registers = row["distinct_registers"]
    state.distinct = DistinctCount.from_state(
        None if row["distinct_values"] is None else _array_from_ipc(row["distinct_values"]),
        None if registers is None else np.frombuffer(registers, np.uint8),
    )
    quantiles: dict[str, Any] = {}
    for name in ("values", "counts", "sample"):
        if row[f"quantile_{name}"] is not None:
            quantiles[name] = _array_from_ipc(row[f"quantile_{name}"]).to_numpy()
    if row["quantile_sketch"] is not None:
        quantiles["sketch"] = row["quantile_sketch"]
    state.quantiles = Quantiles.from_state(quantiles)
    state.top = TopValues.from_state(
        _array_from_ipc(row["top_values"]),
        _array_from_ipc(row["top_counts"]),
        row["top_exact"],
        row["top_error"],
    )


def _bounds_ipc(state: ColumnState, kind: pa.DataType) -> bytes | None:
    if state.minimum is None and state.maximum is None:
        return None
    low, high = pa.array([state.minimum], kind), pa.array([state.maximum], kind)
    return _ipc(pa.table({"min": low, "max": high}))


def _numpy_ipc(values: np.ndarray | None) -> bytes | None:
    return None if values is None else _ipc_array(pa.array(values))


def _ipc_array(values: pa.Array) -> bytes:
    return _ipc(pa.table({"value": values}))


def _ipc(table: pa.Table) -> bytes:
    # Uncompressed: the managed layer's pyarrow has no IPC codec; the Parquet file around
    # these bytes is compressed anyway.
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def _array_from_ipc(data: bytes) -> pa.Array:
    return _from_ipc(data).column("value").combine_chunks()
