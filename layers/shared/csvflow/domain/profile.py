"""Column profiles as mergeable partial states over streamed batches.

Every state here can absorb a batch and merge with another state, so a file cut
into chunks and profiled in parallel gives the same profile as one pass.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csvflow.domain.model import NUMERIC_TYPES, ColumnSpec, ColumnType
from csvflow.domain.sketches import (
    DistinctCount,
    Quantiles,
    TopValues,
    value_hashes,
    without_nan,
)

QUANTILE_FRACTIONS = (0.25, 0.5, 0.75)


@dataclass
class Moments:
    """Count, mean and sum of squared deviations, merged with Chan et al.'s update."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def update(self, values: np.ndarray) -> None:
        values = without_nan(values)
        if len(values):
            # inf and -inf together have no mean: NaN, as IEEE says, without numpy's warning
            # on the user's terminal (or in the function's log).
            with np.errstate(invalid="ignore", over="ignore"):
                mean = values.mean()
                # Not a dot product: BLAS would start threads of its own beside the pipeline's.
                m2 = np.square(values - mean).sum()
            self.merge(Moments(len(values), float(mean), float(m2)))

    def merge(self, other: Moments) -> None:
        if not other.n:
            return
        total = self.n + other.n
        delta = other.mean - self.mean
        self.mean += delta * other.n / total
        self.m2 += other.m2 + delta * delta * self.n * other.n / total
        self.n = total

    @property
    def std(self) -> float | None:
        # Sample standard deviation (ddof=1), as pandas reports it.
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None


@dataclass
class ColumnState:
    """The partial profile of one column."""

    spec: ColumnSpec
    count: int = 0
    nulls: int = 0
    minimum: Any = None
    maximum: Any = None
    distinct: DistinctCount = field(default_factory=DistinctCount)
    moments: Moments = field(default_factory=Moments)
    quantiles: Quantiles = field(default_factory=Quantiles)
    top: TopValues = field(default_factory=TopValues)
    min_length: int | None = None
    max_length: int | None = None
    true_count: int = 0
    false_count: int = 0

    def update(self, values: pa.Array) -> None:
        nulls = values.null_count
        self.nulls += nulls
        self.count += len(values) - nulls
        if len(values) == nulls:
            return
        kind = self.spec.type
        if kind is ColumnType.BOOL:
            trues = pc.sum(values).as_py() or 0
            self.true_count += trues
            self.false_count += len(values) - nulls - trues
        elif kind is not ColumnType.STRING:  # a string column's, from its distinct values below
            bounds = pc.min_max(values)
            self._bounds(bounds["min"].as_py(), bounds["max"].as_py())
        if kind in NUMERIC_TYPES:
            self._update_numbers(values)
        elif kind is ColumnType.STRING:
            self._update_text(values)
        elif self.distinct.exact:
            self.distinct.update(_keys(pc.unique(values.drop_null())))
        else:
            # Past the exact limit the column is high-cardinality: deduplicating each batch
            # first costs more than it saves, and the sketch ignores repeats anyway.
            self.distinct.update(_keys(values.drop_null()))

    def _update_numbers(self, values: pa.Array) -> None:
        # Mean, spread and quantiles are statistics, read as floats; an int64 above 2**53
        # (an 18-digit id) only rounds there. Its min, max and distinct count stay exact.
        as_float = pc.cast(values, pa.float64(), safe=False).drop_null()
        self.moments.update(as_float.to_numpy())
        if self.distinct.exact and self.quantiles.counting:
            # One hash table for both: the batch's distinct values are the distinct count's
            # keys and, with their counts, the quantiles'.
            counted = _value_counts(values)
            distinct = counted.field("values")
            self.distinct.update(_keys(distinct))
            self.quantiles.update_counts(
                pc.cast(distinct, pa.float64(), safe=False).to_numpy(zero_copy_only=False),
                counted.field("counts").to_numpy(),
            )
            return
        self.quantiles.update(as_float)
        if self.distinct.exact:
            self.distinct.update(_keys(pc.unique(values.drop_null())))
        else:
            self.distinct.update(_keys(values.drop_null()))

    def _update_text(self, values: pa.Array) -> None:
        if not self.top.exact:
            self._update_text_past_limit(values)
            return
        counted = _value_counts(values)
        distinct = counted.field("values")
        self.top.update(distinct, counted.field("counts"))
        # While the top values are exact their values are the column's distinct values
        # (distinct_count), so the text is hashed once, by the value counts; past the limit
        # the distinct count is a sketch of its own, begun from every distinct value counted
        # so far, this batch's among them (hashing them again added nothing to the sketch).
        if not self.top.exact:
            self._distinct_past_limit()
        # The least and greatest value and length are those of the distinct values: a
        # column of 50 labels is read 50 times, not once a row.
        self._text_bounds(distinct)

    def _update_text_past_limit(self, values: pa.Array) -> None:
        """A high-cardinality text column: each value is hashed once, by ``value_hashes``,
        and its hashes serve both the top values' summary and the distinct count's sketch
        (before, Arrow's ``value_counts`` hashed every value and ``value_hashes`` every
        distinct one again: a batch of e-mail addresses is mostly distinct)."""
        present = values.drop_null() if values.null_count else values
        hashes = value_hashes(present)
        self.top.update_hashed(present, hashes)
        self._distinct_past_limit()
        self.distinct.update_hashed(present, hashes)
        self._text_bounds(present)

    def _text_bounds(self, values: pa.Array) -> None:
        bounds = pc.min_max(values)
        self._bounds(bounds["min"].as_py(), bounds["max"].as_py())
        lengths = pc.min_max(_characters(values))
        self._lengths(lengths["min"].as_py(), lengths["max"].as_py())

    def exact_bytes(self) -> int:
        """Memory the column's exact counts hold (distinct values, quantiles, top values)."""
        return self.distinct.exact_bytes + self.quantiles.exact_bytes + self.top.exact_bytes

    def to_sketches(self) -> None:
        """Count this column approximately from now on: its exact state goes to sketches."""
        if self.spec.type is ColumnType.STRING and self.top.exact:
            self.top.stop_exact()
            self._distinct_past_limit()
        self.distinct.to_sketch()
        if self.spec.type in NUMERIC_TYPES:  # only numbers have quantiles
            self.quantiles.to_sketch()

    def distinct_count(self) -> DistinctCount:
        """The column's distinct count; a text column's is its top values' values while
        those are exact."""
        if self.spec.type is ColumnType.STRING:
            values, _, exact, _ = self.top.to_state()
            if exact:
                self.distinct = DistinctCount.from_state(values, None)
            else:
                self._distinct_past_limit()
        return self.distinct

    def _distinct_past_limit(self) -> None:
        at_limit = self.top.take_values_at_limit()
        if at_limit is not None:  # just gone past it: every distinct value so far
            self.distinct = DistinctCount.of_distinct(at_limit)

    def merge(self, other: ColumnState) -> None:
        self.count += other.count
        self.nulls += other.nulls
        self.true_count += other.true_count
        self.false_count += other.false_count
        self._bounds(other.minimum, other.maximum)
        self._lengths(other.min_length, other.max_length)
        self.distinct_count().merge(other.distinct_count())
        self.moments.merge(other.moments)
        self.quantiles.merge(other.quantiles)
        self.top.merge(other.top)

    def _bounds(self, low: Any, high: Any) -> None:
        if low is not None and (self.minimum is None or low < self.minimum):
            self.minimum = low
        if high is not None and (self.maximum is None or high > self.maximum):
            self.maximum = high

    def _lengths(self, low: int | None, high: int | None) -> None:
        if low is not None and (self.min_length is None or low < self.min_length):
            self.min_length = low
        if high is not None and (self.max_length is None or high > self.max_length):
            self.max_length = high

    def profile(self, position: int) -> dict[str, Any]:
        """The finished profile, in the shape ``csvflow summary --json`` prints."""
        kind = self.spec.type
        distinct, exact = self.distinct_count().result()
        if kind is ColumnType.BOOL:
            distinct, exact = int(self.true_count > 0) + int(self.false_count > 0), True
        result: dict[str, Any] = {
            "name": self.spec.name,
            "position": position,
            "type": kind.value,
            "count": self.count,
            "nulls": self.nulls,
            "distinct": distinct,
            "distinct_exact": exact,
            "min": _jsonable(self.minimum),
            "max": _jsonable(self.maximum),
        }
        if kind in NUMERIC_TYPES:
            quantiles, quantiles_exact = self.quantiles.result(QUANTILE_FRACTIONS)
            result |= {
                "mean": self.moments.mean if self.moments.n else None,
                "std": self.moments.std,
                "p25": quantiles[0],
                "p50": quantiles[1],
                "p75": quantiles[2],
                "quantiles_exact": quantiles_exact,
            }
        if kind is ColumnType.STRING:
            top, top_exact = self.top.result()
            result |= {
                "min_length": self.min_length,
                "max_length": self.max_length,
                "top_values": top,
                "top_values_exact": top_exact,
            }
        if kind is ColumnType.BOOL:
            result |= {"true_count": self.true_count, "false_count": self.false_count}
        return result


def _value_counts(values: pa.Array) -> pa.StructArray:
    """Each distinct non-null value and how often it occurs (nulls counted, then dropped:
    cheaper than a copy of the column without them)."""
    counted = pc.value_counts(values)
    if values.null_count:
        counted = counted.filter(counted.field("values").is_valid())
    return counted


def _characters(values: pa.Array) -> pa.Array:
    """Each value's length in characters: its length in bytes when the text is all ASCII
    (one look at the bytes, where counting characters reads every value)."""
    lengths = pc.binary_length(values)
    if pa.types.is_string(values.type) and len(values):
        offsets = np.frombuffer(values.buffers()[1], np.int32)[values.offset :]
        start, end = int(offsets[0]), int(offsets[len(values)])
        data = values.buffers()[2]
        if end == start or np.frombuffer(data, np.uint8)[start:end].max() < 0x80:
            return lengths
    return pc.utf8_length(values)


def _keys(values: pa.Array) -> pa.Array:
    """Dates and timestamps as their integers: cheaper to hash, the same distinct count."""
    if pa.types.is_date(values.type) or pa.types.is_timestamp(values.type):
        return values.view(pa.int32() if pa.types.is_date32(values.type) else pa.int64())
    return values


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal: keep it exact as text
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# Memory all of a file's columns may hold for their exact counts (docs/adr/0024). Each column
# is exact up to EXACT_LIMIT values; on a wide file that is 1 to 2 MB a column, 200 MB on 150
# numeric columns: past the budget, the columns holding most move to their sketches first.
EXACT_STATE_BUDGET = 48 << 20


class Profiler:
    """Profiles every column of a stream of batches; mergeable with another Profiler."""

    def __init__(self, specs: list[ColumnSpec], exact_budget: int | None = None) -> None:
        self.states = [ColumnState(spec) for spec in specs]
        self.rows = 0
        self.exact_budget = EXACT_STATE_BUDGET if exact_budget is None else exact_budget

    def update(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        for state, column in zip(self.states, batch.columns, strict=True):
            state.update(column)
        self._keep_within_budget()

    def merge(self, other: Profiler) -> None:
        self.rows += other.rows
        for mine, theirs in zip(self.states, other.states, strict=True):
            mine.merge(theirs)
        self._keep_within_budget()

    def exact_bytes(self) -> int:
        """Memory the columns' exact counts hold together."""
        return sum(state.exact_bytes() for state in self.states)

    def _keep_within_budget(self) -> None:
        sizes = [state.exact_bytes() for state in self.states]
        held = sum(sizes)
        # The largest first: the fewest columns lose their exact counts.
        for size, state in sorted(zip(sizes, self.states, strict=True), key=lambda p: -p[0]):
            if held <= self.exact_budget:
                return
            state.to_sketches()
            held -= size

    def profiles(self) -> list[dict[str, Any]]:
        return [state.profile(i) for i, state in enumerate(self.states, start=1)]
