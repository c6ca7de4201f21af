"""A family of CSV shapes, each a different cost for a profiler, the same bytes for a seed.

    python bench/shapes.py SHAPE PATH [--megabytes 200]

Shapes (rows scale with --megabytes; the mix of columns is fixed):

- ``sales``: bench/generate.py's file (ids, dates, a Zipf category, short notes).
- ``skus``: a unique integer id, ISO dates, 300 stores, 20,000 SKU strings, ints, floats with
  5 % empty, a 3-value channel.
- ``text``: a unique id, 200,000 distinct e-mail addresses, 20,000 distinct notes of about 70
  characters, a float.
- ``wide60`` / ``wide300``: 60 or 300 columns of ints, floats, 50-value strings and dates.
- ``nulls``: ints, floats, strings and dates each 60 to 90 % empty.
- ``times``: ISO dates and timestamps (with and without a zone), an int id.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

CHUNK = 200_000
START = np.datetime64("2020-01-01")
WORDS = np.array(
    "the a quick brown fox jumps over lazy dog order shipped late early customer asked for "
    "refund gift wrap box damaged again please call back tomorrow morning".split()
)


def _ids(offset: int, n: int) -> pa.Array:
    return pa.array(np.arange(offset + 1, offset + n + 1))


def _dates(rng: np.random.Generator, n: int) -> pa.Array:
    return pa.array(START + rng.integers(0, 2000, n).astype("timedelta64[D]"))


def _pick(pool: np.ndarray, rng: np.random.Generator, n: int, mask: float = 0.0) -> pa.Array:
    values = pool[rng.integers(0, len(pool), n)]
    return pa.array(values, mask=rng.random(n) < mask if mask else None)


def _sentences(rng: np.random.Generator, count: int, words: int) -> np.ndarray:
    picked = WORDS[rng.integers(0, len(WORDS), (count, words))]
    return np.array([" ".join(row) for row in picked])


def _skus(rng: np.random.Generator, offset: int, n: int) -> pa.Table:
    skus = np.array([f"SKU-{i:06d}-{'ABCDEFGH'[i % 8]}" for i in range(20_000)])
    return pa.table(
        {
            "sale_id": _ids(offset, n),
            "sale_date": _dates(rng, n),
            "store": pa.array(rng.integers(1, 301, n)),
            "sku": _pick(skus, rng, n),
            "quantity": pa.array(rng.integers(1, 20, n)),
            "price": pa.array(np.round(rng.lognormal(3, 1, n), 2), mask=rng.random(n) < 0.05),
            "channel": _pick(np.array(["web", "store", "phone"]), rng, n),
        }
    )


_EMAILS = np.array([f"user{i}.{i * 7919 % 100_003}@example{i % 97}.com" for i in range(200_000)])


def _text(rng: np.random.Generator, offset: int, n: int) -> pa.Table:
    notes = _sentences(np.random.default_rng(7), 20_000, 13)
    return pa.table(
        {
            "id": _ids(offset, n),
            "email": _pick(_EMAILS, rng, n),
            "note": _pick(notes, rng, n),
            "score": pa.array(np.round(rng.normal(50, 15, n), 3)),
        }
    )


def _wide(columns: int) -> Callable[[np.random.Generator, int, int], pa.Table]:
    labels = np.array([f"label-{i:02d}" for i in range(50)])

    def table(rng: np.random.Generator, offset: int, n: int) -> pa.Table:
        data: dict[str, pa.Array] = {}
        for i in range(columns):
            kind = i % 4
            if kind == 0:
                data[f"int_{i}"] = pa.array(rng.integers(0, 100_000, n))
            elif kind == 1:
                data[f"float_{i}"] = pa.array(np.round(rng.normal(100, 30, n), 2))
            elif kind == 2:
                data[f"label_{i}"] = _pick(labels, rng, n)
            else:
                data[f"date_{i}"] = _dates(rng, n)
        return pa.table(data)

    return table


def _nulls(rng: np.random.Generator, offset: int, n: int) -> pa.Table:
    codes = np.array([f"code-{i}" for i in range(500)])
    return pa.table(
        {
            "id": _ids(offset, n),
            "maybe_int": pa.array(rng.integers(0, 1000, n), mask=rng.random(n) < 0.6),
            "maybe_float": pa.array(rng.normal(0, 1, n), mask=rng.random(n) < 0.9),
            "maybe_code": _pick(codes, rng, n, mask=0.75),
            "maybe_date": pa.array(
                START + rng.integers(0, 2000, n).astype("timedelta64[D]"), mask=rng.random(n) < 0.8
            ),
            "rare_int": pa.array(rng.integers(0, 10, n), mask=rng.random(n) < 0.9),
            "maybe_text": _pick(_sentences(rng, 2_000, 6), rng, n, mask=0.7),
        }
    )


def _times(rng: np.random.Generator, offset: int, n: int) -> pa.Table:
    seconds = rng.integers(0, 2000 * 86_400, n).astype("timedelta64[s]")
    instants = START.astype("datetime64[s]") + seconds
    return pa.table(
        {
            "id": _ids(offset, n),
            "day": _dates(rng, n),
            "created": pa.array(instants),
            "updated_utc": pa.array(
                instants + rng.integers(0, 86_400, n).astype("timedelta64[s]")
            ).cast(pa.timestamp("s", tz="UTC")),
            "shipped": pa.array(START + rng.integers(0, 2000, n).astype("timedelta64[D]")),
        }
    )


SHAPES: dict[str, Callable[[np.random.Generator, int, int], pa.Table]] = {
    "skus": _skus,
    "text": _text,
    "wide60": _wide(60),
    "wide300": _wide(300),
    "nulls": _nulls,
    "times": _times,
}
SHAPE_NAMES = ("sales", *SHAPES)


def generate_shape(shape: str, path: Path, megabytes: float, seed: int = 42) -> Path:
    """Write about ``megabytes`` of ``shape`` to ``path``."""
    if shape == "sales":
        return generate(path, int(megabytes * 1e6 / 70), seed)
    make = SHAPES[shape]
    rng = np.random.default_rng(seed)
    sample = make(np.random.default_rng(seed), 0, 2_000)
    bytes_per_row = _csv_size(sample) / 2_000
    rows = max(1, int(megabytes * 1e6 / bytes_per_row))
    with pacsv.CSVWriter(
        path, sample.schema, write_options=pacsv.WriteOptions(quoting_style="needed")
    ) as writer:
        for offset in range(0, rows, CHUNK):
            writer.write_table(make(rng, offset, min(CHUNK, rows - offset)))
    return path


def _csv_size(table: pa.Table) -> int:
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return sink.getvalue().size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("shape", choices=SHAPE_NAMES)
    parser.add_argument("path", type=Path)
    parser.add_argument("--megabytes", type=float, default=200)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    generate_shape(args.shape, args.path, args.megabytes, args.seed)
    print(f"{args.path}: {args.path.stat().st_size / 1e6:.0f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
