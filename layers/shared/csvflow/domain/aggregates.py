"""Declared group-by aggregates as mergeable partial tables."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from csvflow.domain.model import AggregateSpec
from csvflow.exceptions import InvalidContract

# Partial states each metric needs; "mean" is sum / count at the end.
_PARTS = {
    "sum": ("sum",),
    "count": ("count",),
    "mean": ("sum", "count"),
    "min": ("min",),
    "max": ("max",),
}
# How two partials of the same part combine.
_COMBINE = {"sum": "sum", "count": "sum", "min": "min", "max": "max"}
_COMPACT_EVERY = 32


class AggregateState:
    """One declared aggregate, fed batch by batch."""

    def __init__(self, spec: AggregateSpec, schema: pa.Schema) -> None:
        missing = [
            c for c in (*spec.group_by, *(m.column for m in spec.metrics)) if c not in schema.names
        ]
        if missing:
            raise InvalidContract(
                f"aggregate {spec.name!r} names column(s) the file lacks: {', '.join(missing)}"
            )
        self.spec = spec
        self.keys = list(spec.group_by)
        self.parts = sorted(
            {(m.column, part) for m in spec.metrics for part in _PARTS.get(m.op, ())}
        )
        self.distinct_columns = sorted(
            {m.column for m in spec.metrics if m.op == "distinct_count"} - set(self.keys)
        )
        self._partials: list[pa.Table] = []
        self._pairs: dict[str, list[pa.Table]] = {c: [] for c in self.distinct_columns}

    def update(self, batch: pa.RecordBatch) -> None:
        table = pa.Table.from_batches([batch])
        self._partials.append(self._aggregate(table, [(c, p) for c, p in self.parts]))
        for column in self.distinct_columns:
            self._pairs[column].append(_distinct_pairs(table, self.keys, column))
        if len(self._partials) >= _COMPACT_EVERY:
            self._compact()

    def merge(self, other: AggregateState) -> None:
        self._partials.extend(other._partials)
        for column in self.distinct_columns:
            self._pairs[column].extend(other._pairs[column])
        self._compact()

    def to_tables(self) -> dict[str, pa.Table]:
        """The partial state as tables: the partial metrics, and each distinct-count column's
        (group keys, value) pairs, under ``pairs:<column>``."""
        self._compact()
        tables = {"partial": self._partials[0]} if self._partials else {}
        for column, pairs in self._pairs.items():
            if pairs:
                tables[f"pairs:{column}"] = pairs[0]
        return tables

    def restore_tables(self, tables: dict[str, pa.Table]) -> None:
        """Take the state ``to_tables`` gave (of a part of the same file) as this one's."""
        self._partials = [tables["partial"]] if "partial" in tables else []
        for column in self.distinct_columns:
            pairs = tables.get(f"pairs:{column}")
            self._pairs[column] = [pairs] if pairs is not None else []

    def result(self) -> pa.Table:
        """One row per group: the group's keys, then one column per metric."""
        self._compact()
        base = self._partials[0] if self._partials else None
        if base is None or base.num_rows == 0:
            return pa.table({k: pa.array([], pa.string()) for k in self.keys})
        order = [(k, "ascending") for k in self.keys]
        base = base.sort_by(order)
        columns: dict[str, pa.Array] = {k: base[k] for k in self.keys}
        for metric in self.spec.metrics:
            column, op = metric.column, metric.op
            if op == "mean":
                # A mean is a float; an int64 sum past 2**53 rounds into it rather than failing.
                total = pc.cast(base[f"{column}_sum"], pa.float64(), safe=False)
                value = pc.divide(total, pc.cast(base[f"{column}_count"], pa.float64()))
                value = pc.if_else(pc.equal(base[f"{column}_count"], 0), None, value)
            elif op == "distinct_count" and column in self.keys:
                # Within a group, a grouping column has one value: itself.
                value = pc.cast(pc.is_valid(base[column]), pa.int64())
            elif op == "distinct_count":
                counts = (
                    pa.concat_tables(self._pairs[column])
                    .group_by(self.keys, use_threads=False)
                    .aggregate([(column, "count")])
                    .sort_by(order)
                )
                value = counts[f"{column}_count"]
            else:
                value = base[f"{column}_{op}"]
            columns[metric.name] = value
        return pa.table(columns)

    def _aggregate(self, table: pa.Table, parts: list[tuple[str, str]]) -> pa.Table:
        grouped = table.group_by(self.keys, use_threads=False).aggregate(parts)
        return grouped.select([*self.keys, *(f"{c}_{p}" for c, p in parts)])

    def _compact(self) -> None:
        if len(self._partials) > 1:
            combined = pa.concat_tables(self._partials, promote_options="permissive")
            parts = [(f"{c}_{p}", _COMBINE[p]) for c, p in self.parts]
            merged = combined.group_by(self.keys, use_threads=False).aggregate(parts)
            renamed = {f"{c}_{p}_{_COMBINE[p]}": f"{c}_{p}" for c, p in self.parts}
            merged = merged.rename_columns([renamed.get(n, n) for n in merged.column_names])
            self._partials = [merged.select([*self.keys, *(f"{c}_{p}" for c, p in self.parts)])]
        for column, tables in self._pairs.items():
            if len(tables) > 1:
                combined = pa.concat_tables(tables)
                self._pairs[column] = [_distinct_pairs(combined, self.keys, column)]


def _distinct_pairs(table: pa.Table, keys: list[str], column: str) -> pa.Table:
    """The distinct (group keys, value) pairs: enough to count distinct values later."""
    group = [*keys, column]
    return table.select(group).group_by(group, use_threads=False).aggregate([]).select(group)
