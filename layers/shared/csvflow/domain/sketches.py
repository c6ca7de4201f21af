"""Mergeable counters that stay exact while small and switch to sketches when large.

Exact answers are what people check a small file against; sketches (Apache
DataSketches) keep memory flat on a large one. Each result says which it is.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasketches import kll_doubles_sketch

from csvflow.domain.unique import key_array, key_hashes, mix64, mix64_in_place

EXACT_LIMIT = 100_000
COUNTED_LIMIT = 10_000  # distinct numbers a column's quantiles are counted exactly for
HLL_LG_K = 14  # about 0.8 % relative standard error
KLL_K = 400  # about 0.4 % normalised rank error
TOP_CAPACITY = 4096  # values a column's top values keep past EXACT_LIMIT


class DistinctCount:
    """How many distinct values: exact up to EXACT_LIMIT, then HyperLogLog.

    The exact set is kept as Arrow arrays, deduplicated in C++ (a batch's distinct keys
    wait in a list until they outnumber the set, then one ``unique`` merges them), so a
    column costs no Python object per value. Past the limit each batch is hashed to 64 bits
    with numpy and goes into the registers of a HyperLogLog (``HyperLogLog``), a few
    vectorised passes per batch instead of a Python call per value.
    """

    def __init__(self) -> None:
        self._unique: pa.Array | None = None
        self._pending: list[pa.Array] | None = []
        self._pending_size = 0
        self._pending_bytes = 0
        self._sketch: HyperLogLog | None = None

    @property
    def exact(self) -> bool:
        return self._pending is not None

    @property
    def exact_bytes(self) -> int:
        """Memory the exact set holds (its keys and those pending); 0 once a sketch."""
        if self._pending is None:
            return 0
        return self._pending_bytes + (self._unique.nbytes if self._unique is not None else 0)

    def to_sketch(self) -> None:
        """Count approximately from now on (a budget's decision: the exact set is too big)."""
        if self._pending is not None:
            self._compact()
        if self._pending is not None:
            self._to_sketch()

    def update(self, keys: pa.Array) -> None:
        """Count ``keys`` (non-null; repeats allowed) in."""
        if self._pending is None:
            assert self._sketch is not None
            self._sketch.update(value_hashes(keys))
            return
        self._pending.append(keys)
        self._pending_size += len(keys)
        self._pending_bytes += keys.nbytes
        if self._pending_size > max(EXACT_LIMIT, len(self._unique or ())):
            self._compact()

    def update_hashed(self, keys: pa.Array, hashes: np.ndarray) -> None:
        """Count ``keys`` in, ``hashes`` being their ``value_hashes`` (computed once for
        another use too): past the exact limit they go to the sketch as they are."""
        if self._pending is None:
            assert self._sketch is not None
            self._sketch.update(hashes)
        else:
            self.update(keys)

    def merge(self, other: DistinctCount) -> None:
        if other._pending is not None:
            other._compact()
        if other._pending is not None:  # still exact: what was pending did not pass the limit
            if other._unique is not None:
                self.update(other._unique)
            return
        if self._pending is not None:
            self._compact()
        if self._pending is not None:  # still exact after merging what was pending
            self._to_sketch()
        assert self._sketch is not None and other._sketch is not None
        self._sketch.merge(other._sketch)

    def result(self) -> tuple[int, bool]:
        if self._pending is not None:
            self._compact()
        if self._pending is not None:  # still exact: what was pending did not pass the limit
            return len(self._unique or ()), True
        assert self._sketch is not None
        return round(self._sketch.estimate()), False

    def to_state(self) -> tuple[pa.Array | None, np.ndarray | None]:
        """What the counter holds: its distinct values while exact, else its registers."""
        if self._pending is not None:
            self._compact()
        if self._pending is not None:
            return self._unique, None
        assert self._sketch is not None
        return None, self._sketch.registers

    @classmethod
    def from_state(cls, values: pa.Array | None, registers: np.ndarray | None) -> DistinctCount:
        counter = cls()
        if registers is not None:
            counter._pending = None
            counter._sketch = HyperLogLog.from_registers(registers)
        else:
            counter._unique = values
        return counter

    @classmethod
    def of_distinct(cls, values: pa.Array) -> DistinctCount:
        """The count of ``values``, known to be distinct: no ``unique`` to find them again."""
        counter = cls()
        counter._unique = values
        if len(values) > EXACT_LIMIT:
            counter._to_sketch()
        return counter

    def _compact(self) -> None:
        assert self._pending is not None
        if self._pending:
            parts = [self._unique, *self._pending] if self._unique is not None else self._pending
            self._unique = pc.unique(pa.concat_arrays(parts))
            self._pending, self._pending_size, self._pending_bytes = [], 0, 0
        if len(self._unique or ()) > EXACT_LIMIT:
            self._to_sketch()

    def _to_sketch(self) -> None:
        # Called with nothing pending: _compact has merged it into _unique.
        self._sketch = HyperLogLog(HLL_LG_K)
        if self._unique is not None:
            self._sketch.update(value_hashes(self._unique))
        self._unique, self._pending = None, None


def value_hashes(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of each value of a null-free array, computed for the whole array at once.

    Equal values hash equal: numbers by their value's bits (-0.0 as 0.0), dates and times by
    their integer, text by its bytes, anything else by its text.
    """
    kind = values.type
    if pa.types.is_floating(kind):
        numbers = values.cast(pa.float64()).to_numpy(zero_copy_only=False) + 0.0
        return mix64(numbers.view(np.uint64))
    if pa.types.is_integer(kind) or pa.types.is_temporal(kind) or pa.types.is_boolean(kind):
        return key_hashes(key_array(values))
    if not pa.types.is_string(kind):
        values = values.cast(pa.string())
    return text_hashes(values)


_WORDS_HASHED = 16  # a value of up to 128 bytes is hashed 8 bytes at a time
_HASHED_BYTES = 1 << 18


def text_hashes(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of each value of a null-free string array.

    Eight bytes at a time: word k of every value at once (an unaligned 8-byte view of the
    text, the bytes past the value's end masked off), mixed into its hash with splitmix's
    finaliser. A value of up to 128 bytes costs a few vectorised passes over the array's
    values, not several over its bytes (ten times faster on e-mail addresses than the
    polynomial hash); longer ones take that hash, in slices of about 256 KiB of text
    (it holds about 30 bytes per byte).

    Each pass mixes the word of every value, then keeps the result only for the values not
    yet ended (a value's hash takes as many words as it has): the same hashes as mixing only
    the live ones, without gathering and scattering them (25 % less CPU on e-mail addresses),
    and in place.
    """
    bounds = np.frombuffer(values.buffers()[1], np.int32)[values.offset :][: len(values) + 1]
    if not len(values) or bounds[-1] == bounds[0]:
        return mix64(np.diff(bounds).astype(_U64))
    lengths = np.diff(bounds)
    data = values.buffers()[2]
    text = np.empty(int(bounds[-1] - bounds[0]) + 8, np.uint8)  # 8 bytes of slack to read past
    text[:-8] = np.frombuffer(data, np.uint8)[bounds[0] : bounds[-1]]
    text[-8:] = 0
    words: np.ndarray = np.ndarray((len(text) - 7,), np.dtype("<u8"), text, strides=(1,))
    hashes = lengths.astype(_U64)
    scratch = np.empty_like(hashes)
    mix64_in_place(hashes, scratch)
    long = lengths > 8 * _WORDS_HASHED
    any_long = bool(long.any())
    hashed = np.where(long, 0, lengths) if any_long else lengths  # the long ones: hashed below
    shortest, longest = int(hashed.min()), int(hashed.max())
    at = (bounds[:-1] - bounds[0]).astype(np.intp)
    for k in range((longest + 7) // 8):
        if k:
            at += 8
        some_ended = shortest <= 8 * k
        if some_ended:  # an ended value's word is read within the text, and dropped
            np.minimum(at, len(words) - 1, out=at)
        mixed = words[at]  # (np.take copies the whole unaligned view first)
        if shortest < 8 * k + 8:
            # ~0 >> 8 * (8 - n): the value's last n bytes of this word, little-endian.
            mixed &= _ALL_ONES >> (8 * (8 - np.clip(hashed - 8 * k, 0, 8))).astype(_U64)
        mixed ^= hashes
        mix64_in_place(mixed, scratch)
        if some_ended:
            np.copyto(hashes, mixed, where=hashed > 8 * k)
        else:
            hashes = mixed
    if any_long:
        hashes[long] = _long_text_hashes(values.filter(pa.array(long))) ^ _U64(_LONG_SEED)
    return hashes


_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_LONG_SEED = 0x5851F42D4C957F2D
_U64 = np.uint64


def _long_text_hashes(values: pa.Array) -> np.ndarray:
    offsets = np.frombuffer(values.buffers()[1], np.int32)[values.offset :][: len(values) + 1]
    cuts = np.searchsorted(offsets, np.arange(offsets[0], offsets[-1], _HASHED_BYTES))
    starts = np.unique(np.clip(cuts, 0, len(values)))
    bounds = [*(int(start) for start in starts), len(values)]
    if len(bounds) <= 2:
        return key_hashes(values)
    return np.concatenate([key_hashes(values[a:b]) for a, b in itertools.pairwise(bounds) if b > a])


class HyperLogLog:
    """HyperLogLog over 64-bit hashes, its registers a numpy array.

    2**lg_k registers; a hash's top lg_k bits pick its register, which keeps the most
    leading zeros (plus one) seen in the other bits. Estimated with Ertl's improved raw
    estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017),
    unbiased from one value to far past 2**64 / 2**lg_k: relative standard error about
    1.04 / sqrt(2**lg_k) (0.8 % at lg_k 14). Merging is the registers' maximum.
    """

    def __init__(self, lg_k: int) -> None:
        self.lg_k = lg_k
        self.registers = np.zeros(1 << lg_k, np.uint8)

    @classmethod
    def from_registers(cls, registers: np.ndarray) -> HyperLogLog:
        sketch = cls(len(registers).bit_length() - 1)
        sketch.registers[:] = registers
        return sketch

    def update(self, hashes: np.ndarray) -> None:
        if not len(hashes):
            return
        bits = 64 - self.lg_k
        index = (hashes >> np.uint64(bits)).astype(np.intp)
        rest = hashes & np.uint64((1 << bits) - 1)
        # bits - bit_length(rest) + 1: frexp's exponent is the bit length, exact below 2**53.
        rank = (bits + 1 - np.frexp(rest.astype(np.float64))[1]).astype(np.uint8)
        np.maximum.at(self.registers, index, rank)

    def merge(self, other: HyperLogLog) -> None:
        assert other.lg_k == self.lg_k
        np.maximum(self.registers, other.registers, out=self.registers)

    def estimate(self) -> float:
        m, q = len(self.registers), 64 - self.lg_k
        histogram = np.bincount(self.registers, minlength=q + 2).astype(np.float64)
        z = m * _tau(1 - histogram[q + 1] / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + histogram[k])
        z += m * _sigma(histogram[0] / m)
        return float(m * m / (2 * np.log(2)) / z) if z else 0.0


def _sigma(x: float) -> float:
    if x == 1:
        return float("inf")
    y, z = 1.0, x
    while True:
        x *= x
        previous, z = z, z + x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x in (0, 1):
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if z == previous:
            return z / 3


def without_nan(values: np.ndarray) -> np.ndarray:
    """The values that are numbers; the array itself (no copy) when all are."""
    nan = np.isnan(values)
    return values[~nan] if nan.any() else values


def _writable(values: np.ndarray) -> np.ndarray:
    # The sketch's binding takes only writable float64 arrays; Arrow's are read-only.
    return np.require(values, np.float64, ["C", "W"])


class Quantiles:
    """Quantiles of a numeric column, exact for as long as that stays cheap.

    As value counts while the column has at most COUNTED_LIMIT distinct values (whatever
    its length: a quantity or a rate stays exact on a billion rows, and counting in C++
    is cheaper than sketching); as the values themselves up to EXACT_LIMIT of them; then
    as a KLL sketch.
    """

    def __init__(self) -> None:
        self._counts: _ValueCounts | None = _ValueCounts()
        self._chunks: list[np.ndarray] | None = None
        self._size = 0
        self._sketch: kll_doubles_sketch | None = None

    @property
    def counting(self) -> bool:
        """Whether the quantiles are still value counts (``update_counts`` takes a batch's)."""
        return self._counts is not None

    @property
    def exact_bytes(self) -> int:
        """Memory the exact quantiles hold (counts or values); 0 once a sketch."""
        if self._counts is not None:
            return self._counts.nbytes
        return sum(chunk.nbytes for chunk in self._chunks or ())

    def to_sketch(self) -> None:
        """Sketch from now on (a budget's decision: the exact values are too many)."""
        if self._sketch is None:
            self._to_sketch()

    def update(self, values: pa.Array) -> None:
        """Take a batch of a column as float64, nulls dropped."""
        if self._counts is not None:
            self._add_counts(*_value_counts(values))
        else:
            self._add_values(without_nan(values.to_numpy()))

    def update_counts(self, values: np.ndarray, counts: np.ndarray) -> None:
        """Take a batch as float64 values, each ``counts`` times (repeats among the values
        allowed)."""
        self._add_counts(values, counts)

    def merge(self, other: Quantiles) -> None:
        if other._counts is not None:
            self._add_counts(*other._counts.arrays())
        elif other._chunks is not None:
            for chunk in other._chunks:
                self._add_values(chunk)
        else:
            if self._sketch is None:
                self._to_sketch()
            assert self._sketch is not None and other._sketch is not None
            self._sketch.merge(other._sketch)

    def result(self, fractions: tuple[float, ...]) -> tuple[list[float | None], bool]:
        if self._counts is not None and len(self._counts) > COUNTED_LIMIT:
            self._from_counts()
        if self._counts is not None:
            return _quantiles_of_counts(*self._counts.arrays(), fractions), True
        if self._chunks is not None:
            if not self._size:
                return [None] * len(fractions), True
            values = np.concatenate(self._chunks)
            if np.isfinite(values).all():
                # Linear interpolation, as pandas and numpy compute it by default.
                return [float(v) for v in np.quantile(values, fractions)], True
            return _quantiles_of_sorted(np.sort(values), fractions), True
        assert self._sketch is not None
        return [float(self._sketch.get_quantile(f)) for f in fractions], False

    def to_state(self) -> dict[str, Any]:
        """Value counts, the values themselves, or the KLL sketch's bytes: what it holds."""
        if self._counts is not None:
            values, counts = self._counts.arrays()
            return {"values": values, "counts": counts}
        if self._chunks is not None:
            return {"sample": np.concatenate(self._chunks) if self._chunks else np.zeros(0)}
        assert self._sketch is not None
        return {"sketch": self._sketch.serialize()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Quantiles:
        quantiles = cls()
        if "sketch" in state:
            quantiles._counts = None
            quantiles._sketch = kll_doubles_sketch.deserialize(state["sketch"])
        elif "sample" in state:
            quantiles._counts = None
            quantiles._chunks = [state["sample"]]
            quantiles._size = len(state["sample"])
        else:
            assert quantiles._counts is not None
            quantiles._counts.add(state["values"], state["counts"])
        return quantiles

    def _add_counts(self, values: np.ndarray, counts: np.ndarray) -> None:
        numbers = ~np.isnan(values)
        values, counts = values[numbers], counts[numbers]
        if self._counts is None:
            for repeated in _repeated(values, counts):
                self._add_values(repeated)
            return
        self._counts.add(values, counts)
        if len(self._counts) > COUNTED_LIMIT:
            self._from_counts()

    def _add_values(self, values: np.ndarray) -> None:
        if not len(values):
            return
        if self._counts is not None:
            self._add_counts(*_value_counts(pa.array(values)))
        elif self._chunks is not None:
            self._chunks.append(values)
            self._size += len(values)
            if self._size > EXACT_LIMIT:
                self._to_sketch()
        else:
            assert self._sketch is not None
            self._sketch.update(_writable(values))

    def _from_counts(self) -> None:
        """Too many distinct values to count: the values themselves, or a sketch."""
        counts, self._counts = self._counts or _ValueCounts(), None
        self._chunks = []
        values, occurrences = counts.arrays()
        if occurrences.sum() > EXACT_LIMIT:
            self._to_sketch()
        for repeated in _repeated(values, occurrences):
            self._add_values(repeated)

    def _to_sketch(self) -> None:
        if self._counts is not None:
            self._from_counts()
            if self._sketch is not None:
                return
        self._sketch = kll_doubles_sketch(KLL_K)
        for chunk in self._chunks or ():
            self._sketch.update(_writable(chunk))
        self._chunks = None


def _value_counts(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct value of a float64 array and how often it occurs (counted in C++)."""
    counted = pc.value_counts(values)
    return counted.field("values").to_numpy(), counted.field("counts").to_numpy()


class _ValueCounts:
    """Distinct numbers (sorted) and how often each occurs, as numpy arrays.

    A batch's counts wait in a list until they outnumber what is held; then one sort merges
    them, so a column costs no Python object per distinct value.
    """

    def __init__(self) -> None:
        self._values = np.zeros(0, np.float64)
        self._counts = np.zeros(0, np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0

    def __len__(self) -> int:
        """The distinct values held, counted when those pending are merged."""
        return len(self._values)

    @property
    def nbytes(self) -> int:
        """Memory held: the values and counts, and those pending."""
        return 16 * (len(self._values) + self._pending_size)

    def add(self, values: np.ndarray, counts: np.ndarray) -> None:
        self._pending.append((values, counts))
        self._pending_size += len(values)
        if self._pending_size > max(COUNTED_LIMIT, len(self._values)):
            self.compact()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        self.compact()
        return self._values, self._counts

    def compact(self) -> None:
        if not self._pending:
            return
        values = np.concatenate([self._values, *(v for v, _ in self._pending)])
        counts = np.concatenate([self._counts, *(c for _, c in self._pending)])
        self._pending, self._pending_size = [], 0
        self._values, where = np.unique(values, return_inverse=True)
        self._counts = np.zeros(len(self._values), np.int64)
        np.add.at(self._counts, where, counts)


_REPEAT_BLOCK = 1 << 20


def _repeated(values: np.ndarray, counts: np.ndarray) -> Iterator[np.ndarray]:
    """Each value as many times as its count, in arrays of about a million at the most."""
    start = 0
    ends = np.cumsum(counts)
    while start < len(values):
        # As many values as fit in a block (at least one: a very common value is split).
        stop = max(
            start + 1,
            int(np.searchsorted(ends, ends[start] - counts[start] + _REPEAT_BLOCK, "right")),
        )
        if stop == start + 1 and counts[start] > _REPEAT_BLOCK:
            for offset in range(0, int(counts[start]), _REPEAT_BLOCK):
                size = min(int(counts[start]) - offset, _REPEAT_BLOCK)
                yield np.full(size, values[start], dtype=np.float64)
        else:
            yield np.repeat(values[start:stop], counts[start:stop]).astype(np.float64, copy=False)
        start = stop


def _quantiles_of_counts(
    values: np.ndarray, counts: np.ndarray, fractions: tuple[float, ...]
) -> list[float | None]:
    """Exact quantiles of ``values`` (sorted, distinct), each ``counts`` times, interpolated
    as numpy does."""
    if not len(values):
        return [None] * len(fractions)
    ends = np.cumsum(counts)  # the last position (exclusive) of each value
    results: list[float | None] = []
    for fraction in fractions:
        position = (ends[-1] - 1) * fraction
        low, high = int(np.floor(position)), int(np.ceil(position))
        at_low, at_high = values[np.searchsorted(ends, [low, high], side="right")]
        results.append(_between(at_low, at_high, position - low))
    return results


def _quantiles_of_sorted(values: np.ndarray, fractions: tuple[float, ...]) -> list[float | None]:
    """Exact quantiles of sorted ``values``, some of them infinite, interpolated as numpy
    does between finite neighbours."""
    results: list[float | None] = []
    for fraction in fractions:
        position = (len(values) - 1) * fraction
        low, high = int(np.floor(position)), int(np.ceil(position))
        results.append(_between(values[low], values[high], position - low))
    return results


def _between(at_low: float, at_high: float, share: float) -> float:
    """The point ``share`` of the way from ``at_low`` to ``at_high``: numpy's own linear
    interpolation, for identical results, except beside an infinity, where numpy's formula
    gives NaN (0 to inf at a half: inf - inf * 0.5) and the answer is that infinity."""
    if share == 0 or at_low == at_high:
        return float(at_low)
    if math.isinf(at_low) and math.isinf(at_high):
        return math.nan  # from -inf to inf: no point between is defined
    if math.isinf(at_low) or math.isinf(at_high):
        return float(at_low if math.isinf(at_low) else at_high)
    return float(np.quantile([at_low, at_high], share))


class TopValues:
    """The most frequent values: exact counts up to EXACT_LIMIT distinct values, then a
    Misra-Gries summary of TOP_CAPACITY values.

    Counts arrive per batch as Arrow arrays (a ``value_counts``) and wait in a list until
    they outnumber what is held; then one C++ ``group_by`` sums them. Past the limit, each
    such merge keeps the TOP_CAPACITY most counted values and takes the next one's count off
    all of them (Misra and Gries' decrement, a batch at a time): a kept count is then at most
    ``error`` below the value's true count, and ``error`` is at most rows / (TOP_CAPACITY + 1).
    Summaries merge by adding counts and errors (Agarwal et al., "Mergeable summaries").
    """

    def __init__(self) -> None:
        self._values: pa.Array = pa.array([], pa.string())
        self._counts: pa.Array = pa.array([], pa.int64())
        self._pending: list[tuple[pa.Array, pa.Array]] = []
        self._pending_size = 0
        self.exact = True
        self.error = 0
        self._values_at_limit: pa.Array | None = None
        self._pending_bytes = 0

    @property
    def exact_bytes(self) -> int:
        """Memory the exact counts hold (every distinct value so far); 0 once a summary."""
        if not self.exact:
            return 0
        return self._pending_bytes + self._values.nbytes + self._counts.nbytes

    def stop_exact(self) -> None:
        """Keep a summary from now on, as past the exact limit (a budget's decision); the
        values counted so far are taken once by ``take_values_at_limit``."""
        self._compact()
        if self.exact:
            self.exact = False
            self._values_at_limit = self._values
            if len(self._values) > TOP_CAPACITY:
                self._values, self._counts = self._decrement(self._values, self._counts)

    def update(self, values: pa.Array, counts: pa.Array) -> None:
        """Add ``counts[i]`` occurrences of ``values[i]`` (distinct, non-null strings)."""
        if not self.exact and len(values) > TOP_CAPACITY:
            # A batch's own summary first (mergeable, so the error bound holds for the
            # whole): a column of mostly single values leaves little to merge.
            values, counts = self._decrement(values, counts)
        self._add(values, counts)

    def _add(self, values: pa.Array, counts: pa.Array) -> None:
        self._pending.append((values, counts))
        self._pending_size += len(values)
        self._pending_bytes += values.nbytes + counts.nbytes
        if self._pending_size > max(EXACT_LIMIT, len(self._values)):
            self._compact()

    def update_hashed(self, values: pa.Array, hashes: np.ndarray) -> None:
        """Add each of ``values`` (non-null strings, repeats allowed) once, ``hashes`` being
        their ``value_hashes``. Past the exact limit only: the batch is counted by its hashes
        (64-bit numbers, where ``value_counts`` hashes the text again), and a value stands
        for every value of its hash in the batch (two different values share a hash with
        odds of about 2**-64 a pair; docs/adr/0023)."""
        assert not self.exact
        rows, counts = _first_rows_and_counts(hashes)
        if len(counts) > TOP_CAPACITY:
            # The batch's own summary (as ``update`` makes it), before any text is taken.
            cut = _kth_largest(counts, TOP_CAPACITY + 1)
            kept = counts > cut
            self.error += cut
            rows, counts = rows[kept], counts[kept] - cut
        self._add(values.take(pa.array(rows)), pa.array(counts, pa.int64()))

    def take_values_at_limit(self) -> pa.Array | None:
        """Every distinct value counted, if the summary has just gone past the exact limit
        (once: a distinct count goes on from them); else None."""
        values, self._values_at_limit = self._values_at_limit, None
        return values

    def merge(self, other: TopValues) -> None:
        other._compact()
        self._pending.append((other._values, other._counts))
        self.exact = self.exact and other.exact
        self.error += other.error
        self._compact()
        self._values_at_limit = None  # the merged distinct counts hold them already

    def result(self, k: int = 10) -> tuple[list[dict[str, Any]], bool]:
        self._compact()
        if not len(self._values):
            return [], self.exact
        table = pa.table({"value": self._values, "count": self._counts})
        top = pc.select_k_unstable(  # the ties broken by the value: one answer
            table, k, sort_keys=[("count", "descending"), ("value", "ascending")]
        )
        ranked = table.take(top).to_pylist()
        return [{"value": row["value"], "count": row["count"]} for row in ranked], self.exact

    def to_state(self) -> tuple[pa.Array, pa.Array, bool, int]:
        """The values held and their counts, whether exact, and the counts' error bound."""
        self._compact()
        return self._values, self._counts, self.exact, self.error

    @classmethod
    def from_state(cls, values: pa.Array, counts: pa.Array, exact: bool, error: int) -> TopValues:
        top = cls()
        top._values, top._counts, top.exact, top.error = values, counts, exact, error
        return top

    def _compact(self) -> None:
        if not self._pending:
            return
        table = pa.table(
            {
                "value": pa.concat_arrays([self._values, *(v for v, _ in self._pending)]),
                "count": pa.concat_arrays([self._counts, *(c for _, c in self._pending)]),
            }
        )
        self._pending, self._pending_size, self._pending_bytes = [], 0, 0
        summed = table.group_by("value", use_threads=False).aggregate([("count", "sum")])
        values, counts = summed["value"].combine_chunks(), summed["count_sum"].combine_chunks()
        if len(values) > EXACT_LIMIT and self.exact:
            self.exact = False
            self._values_at_limit = values
        if not self.exact and len(values) > TOP_CAPACITY:
            values, counts = self._decrement(values, counts)
        self._values, self._counts = values, counts

    def _decrement(self, values: pa.Array, counts: pa.Array) -> tuple[pa.Array, pa.Array]:
        numbers = counts.to_numpy()
        cut = _kth_largest(numbers, TOP_CAPACITY + 1)
        kept = numbers > cut
        self.error += cut
        return values.filter(pa.array(kept)), pa.array(numbers[kept] - cut, pa.int64())


def _first_rows_and_counts(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The row where each distinct hash first occurs, and how many rows have it.

    Arrow's hash table on the 64-bit numbers (``dictionary_encode``): 60 % of a sort's CPU
    (docs/adr/0030). Its codes number the hashes in the order they first occur, so a row is
    a first occurrence where the codes so far reach a new highest."""
    codes = pc.dictionary_encode(pa.array(hashes)).indices.to_numpy()
    reached = np.maximum.accumulate(codes)
    first = np.empty(len(codes), dtype=bool)
    first[:1] = True
    np.greater(reached[1:], reached[:-1], out=first[1:])
    return np.flatnonzero(first), np.bincount(codes)


def _kth_largest(numbers: np.ndarray, k: int) -> int:
    """The ``k``-th largest of non-negative integers (``k`` at most their number).

    Counts of a batch are small numbers repeated many times, where numpy's partition is
    slow (6 ms for a batch's 56,000 e-mail counts): a tally of each count, summed from the
    top, finds it in a tenth of that.
    """
    if int(numbers.max()) <= 4 * len(numbers):
        at_least = np.cumsum(np.bincount(numbers)[::-1])[::-1]  # how many are >= c
        return int(np.flatnonzero(at_least >= k)[-1])
    return int(np.partition(numbers, len(numbers) - k)[-k])
