"""The keys a ``unique`` column has already kept, checked a batch at a time.

A key counts only once its row is kept: a row rejected for any reason leaves no key behind,
so the next good row with that key is not lost as its duplicate. Keys are held in a compact
exact form (a sorted array of 64-bit hashes, each pointing at its key in Arrow arrays, so a
hash collision is told apart by comparing the keys themselves) up to a memory limit; past it
a column's keys move to an indexed SQLite file in a temporary directory, which stays exact
and holds memory at SQLite's page cache. See docs/adr/0012-unique-keys-of-kept-rows.md.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

UNIQUE_KEYS_MEMORY = 256 << 20  # bytes of keys per unique column before they spill to disk

_MERGE_CHUNKS = 32
_U64 = np.uint64


def key_array(values: pa.Array) -> pa.Array:
    """Each value as an exact key: int64 for numbers, times and booleans, text otherwise;
    null where a value cannot be a duplicate (nulls, NaN)."""
    kind = values.type
    if pa.types.is_floating(kind):
        numbers = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        # -0.0 equals 0.0 and NaN equals nothing, as Python's == has it.
        bits = (numbers + 0.0).view(np.int64)
        return pa.array(bits, pa.int64(), mask=np.isnan(numbers))
    if pa.types.is_temporal(kind):
        width = pa.int32() if kind.bit_width == 32 else pa.int64()
        return values.view(width).cast(pa.int64())
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return values.cast(pa.int64())
    return values.cast(pa.string())


def key_hashes(keys: pa.Array) -> np.ndarray:
    """A 64-bit hash of each key of a null-free ``key_array``."""
    if not len(keys):
        return np.zeros(0, _U64)
    if keys.type == pa.int64():
        return mix64(keys.to_numpy().view(_U64))
    offsets = np.frombuffer(keys.buffers()[1], np.int32)[keys.offset : keys.offset + len(keys) + 1]
    data = keys.buffers()[2]
    text = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    text = text[offsets[0] : offsets[-1]].astype(_U64) + _U64(1)
    starts, lengths = offsets[:-1] - offsets[0], np.diff(offsets)
    # A polynomial hash of every value at once: byte k of a value weighs P**k (mod 2**64).
    position = np.arange(len(text)) - np.repeat(starts, lengths)
    longest = int(lengths.max(initial=0))
    powers = np.cumprod(np.full(longest + 1, 0x100000001B3, _U64), dtype=_U64)
    powers = np.concatenate([np.ones(1, _U64), powers[:longest]])
    sums = np.concatenate([np.zeros(1, _U64), np.cumsum(text * powers[position], dtype=_U64)])
    polynomial = sums[starts + lengths] - sums[starts]
    return mix64(polynomial ^ mix64(lengths.astype(_U64)))


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over the whole hash."""
    z = np.array(x, dtype=_U64)  # a copy: the input may be Arrow's read-only buffer
    return mix64_in_place(z, np.empty_like(z))


def mix64_in_place(z: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """``mix64(z)``, written over ``z`` (``scratch`` an array of its shape): two arrays where
    the expression takes nine, each of them new pages for a large batch."""
    with np.errstate(over="ignore"):
        z += _U64(0x9E3779B97F4A7C15)
        np.right_shift(z, _U64(30), out=scratch)
        z ^= scratch
        z *= _U64(0xBF58476D1CE4E5B9)
        np.right_shift(z, _U64(27), out=scratch)
        z ^= scratch
        z *= _U64(0x94D049BB133111EB)
        np.right_shift(z, _U64(31), out=scratch)
        z ^= scratch
    return z


class _KeyStore(Protocol):
    nbytes: int

    def contains(self, keys: pa.Array, hashes: np.ndarray) -> np.ndarray: ...

    def add(self, keys: pa.Array, hashes: np.ndarray) -> None: ...

    def close(self) -> None: ...


class _KeysInMemory:
    """Sorted hashes, each with the position of its key; keys in arrival order."""

    def __init__(self, key_type: pa.DataType) -> None:
        self._type = key_type
        self._hashes: np.ndarray = np.zeros(0, _U64)
        self._ids: np.ndarray = np.zeros(0, np.int64)
        self._keys: list[pa.Array] = []
        self._count = 0
        self.nbytes = 0

    def contains(self, keys: pa.Array, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(keys), dtype=bool)
        if not self._count:
            return found
        # Sorted probes walk the sorted hashes in one direction: several times faster.
        rows: np.ndarray = np.argsort(hashes)
        at = np.searchsorted(self._hashes, hashes[rows])
        # Every stored key with an equal hash is compared; more than one is a collision.
        while len(rows):
            hit = at < len(self._hashes)
            rows, at = rows[hit], at[hit]
            hit = self._hashes[at] == hashes[rows]
            rows, at = rows[hit], at[hit]
            if not len(rows):
                break
            stored = pa.chunked_array(self._keys, self._type).take(self._ids[at])
            equal = pc.equal(keys.take(rows), stored.combine_chunks())
            same = np.asarray(equal.to_numpy(zero_copy_only=False), dtype=bool)
            found[rows[same]] = True
            rows, at = rows[~same], at[~same] + 1
        return found

    def add(self, keys: pa.Array, hashes: np.ndarray) -> None:
        order = np.argsort(hashes, kind="stable")
        at = np.searchsorted(self._hashes, hashes[order])
        self._hashes = np.insert(self._hashes, at, hashes[order])
        self._ids = np.insert(self._ids, at, order + self._count)
        self._keys.append(keys)
        if len(self._keys) > _MERGE_CHUNKS:
            self._keys = [pa.concat_arrays(self._keys)]
        self._count += len(keys)
        self.nbytes = self._hashes.nbytes + self._ids.nbytes + sum(k.nbytes for k in self._keys)

    def arrays(self) -> list[pa.Array]:
        return self._keys

    def close(self) -> None:
        self._keys = []


class _KeysOnDisk:
    """Keys in an SQLite table whose primary key is the key itself: exact, and as large
    as the disk while memory stays at the page cache."""

    nbytes = 0

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="csvflow-unique-")
        # Validation may run on a read-ahead thread and be closed from another; it never
        # uses the connection from two threads at once.
        self._db = sqlite3.connect(Path(self._dir.name, "keys.sqlite"), check_same_thread=False)
        # A scratch file, removed after the run: no journal, no waiting for the disk; the
        # page cache (in KiB when negative) is what the keys cost in memory.
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;"
            " PRAGMA cache_size = -65536;"
        )
        self._db.execute("CREATE TABLE seen (key PRIMARY KEY) WITHOUT ROWID")
        # Both tables in key order, so inserts append and the join walks both in one direction.
        self._db.execute(
            "CREATE TEMP TABLE probe (key, row INTEGER, PRIMARY KEY (key, row)) WITHOUT ROWID"
        )

    def contains(self, keys: pa.Array, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(keys), dtype=bool)
        with closing(self._db.cursor()) as cursor:
            order = pc.sort_indices(keys)
            in_order = zip(keys.take(order).to_pylist(), order.to_pylist(), strict=True)
            cursor.executemany("INSERT INTO probe VALUES (?, ?)", in_order)
            cursor.execute("SELECT row FROM probe JOIN seen ON seen.key = probe.key")
            found[[row for (row,) in cursor.fetchall()]] = True
            cursor.execute("DELETE FROM probe")
        return found

    def add(self, keys: pa.Array, hashes: np.ndarray) -> None:
        in_order = pc.array_take(keys, pc.sort_indices(keys)).to_pylist()
        self._db.executemany("INSERT INTO seen VALUES (?)", zip(in_order))

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()


class UniqueKeys:
    """The kept keys of one unique column."""

    def __init__(self, key_type: pa.DataType, *, memory_limit: int = UNIQUE_KEYS_MEMORY) -> None:
        self._memory_limit = memory_limit
        self._store: _KeyStore = _KeysInMemory(key_type)
        self.spilled = False

    def contains(self, keys: pa.Array, hashes: np.ndarray) -> np.ndarray:
        return self._store.contains(keys, hashes)

    def add(self, keys: pa.Array, hashes: np.ndarray) -> None:
        """Record keys that are new and distinct."""
        if not len(keys):
            return
        self._store.add(keys, hashes)
        if isinstance(self._store, _KeysInMemory) and self._store.nbytes > self._memory_limit:
            on_disk = _KeysOnDisk()
            for chunk in self._store.arrays():
                on_disk.add(chunk, np.zeros(0, _U64))
            self._store.close()
            self._store = on_disk
            self.spilled = True

    def close(self) -> None:
        self._store.close()


def duplicates(
    columns: Sequence[tuple[UniqueKeys, pa.Array]], candidates: np.ndarray
) -> list[np.ndarray]:
    """Which rows of a batch repeat a kept key, per unique column; records the keys of the
    rows kept.

    ``columns`` pairs each unique column's keys with this batch's ``key_array``;
    ``candidates`` are the rows no other check rejects. A row is kept when it is a
    candidate and no earlier kept row (of this batch or before) has any of its keys, so a
    row that several unique columns reject leaves none of its keys behind.
    """
    n = len(candidates)
    groups, earlier, hashes = [], [], []
    for store, keys in columns:
        has_key = np.asarray(keys.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        rows = np.flatnonzero(has_key)
        given = keys.filter(pa.array(has_key))
        given_hashes = key_hashes(given)
        seen = np.zeros(n, dtype=bool)
        seen[rows] = store.contains(given, given_hashes)
        groups.append(_groups(given, rows))
        earlier.append(seen)
        hashes.append((rows, given, given_hashes))

    def repeats(kept: np.ndarray) -> list[np.ndarray]:
        found = []
        for (grouped, starts), seen in zip(groups, earlier, strict=True):
            repeated = seen.copy()
            if len(grouped):
                first_kept = np.minimum.reduceat(np.where(kept[grouped], grouped, n), starts)
                sizes = np.diff(np.append(starts, len(grouped)))
                repeated[grouped] |= np.repeat(first_kept, sizes) < grouped
            found.append(repeated)
        return found

    # A row's fate depends only on the rows before it, so this settles in a step or two
    # (one per chain of rows whose keys are freed by an earlier rejection).
    kept = candidates.copy()
    for seen in earlier:
        kept &= ~seen
    while True:
        found = repeats(kept)
        settled = candidates & ~np.logical_or.reduce(found)
        if np.array_equal(settled, kept):
            break
        kept = settled
    for (store, _), (rows, given, given_hashes) in zip(columns, hashes, strict=True):
        new = kept[rows]
        store.add(given.filter(pa.array(new)), given_hashes[new])
    return found


def _groups(keys: pa.Array, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` ordered by key, then row; and where each key's run starts."""
    if keys.type == pa.int64():
        values = keys.to_numpy()
    else:
        encoded = pc.dictionary_encode(keys)
        values = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    return rows[order], starts
