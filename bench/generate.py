"""A realistic sales-like CSV of N rows, the same bytes for the same seed.

Columns: order_id (int), order_date (ISO date), customer_id (int), category (1,000 values),
region (5 values), quantity (int), unit_price (float), discount (float, 10 % empty),
note (short free text). About 70 bytes a row: 10 million rows make about 700 MB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

CHUNK = 1_000_000
REGIONS = np.array(["north", "south", "east", "west", "central"])
WORDS = np.array(
    ["rush", "gift", "repeat", "bulk", "promo", "late", "fragile", "new", "vip", "return"]
)


def generate(path: Path, rows: int, seed: int = 42, *, quoted_header: bool = True) -> Path:
    """``quoted_header=False`` writes the header's names bare (the rows are the same)."""
    rng = np.random.default_rng(seed)
    categories = np.array([f"cat-{i:04d}" for i in range(1000)])
    start = np.datetime64("2020-01-01")
    with (
        path.open("wb") as sink,
        pacsv.CSVWriter(
            sink,
            _schema(),
            write_options=pacsv.WriteOptions(quoting_style="needed", include_header=False),
        ) as writer,
    ):
        names = _schema().names
        sink.write(",".join(f'"{n}"' if quoted_header else n for n in names).encode() + b"\n")
        for offset in range(0, rows, CHUNK):
            n = min(CHUNK, rows - offset)
            discount = np.round(rng.uniform(0, 0.3, n), 2)
            notes = np.char.add(
                np.char.add(WORDS[rng.integers(0, 10, n)], " "), WORDS[rng.integers(0, 10, n)]
            )
            table = pa.table(
                {
                    "order_id": pa.array(np.arange(offset + 1, offset + n + 1)),
                    "order_date": pa.array(
                        start + rng.integers(0, 2000, n).astype("timedelta64[D]")
                    ),
                    "customer_id": pa.array(rng.integers(1, 200_000, n)),
                    "category": pa.array(categories[rng.zipf(1.3, n) % 1000]),
                    "region": pa.array(REGIONS[rng.integers(0, 5, n)]),
                    "quantity": pa.array(rng.integers(1, 50, n)),
                    "unit_price": pa.array(np.round(rng.lognormal(3, 1, n), 2)),
                    "discount": pa.array(discount, mask=rng.random(n) < 0.10),
                    "note": pa.array(notes),
                },
                schema=_schema(),
            )
            writer.write_table(table)
    return path


def _schema() -> pa.Schema:
    return pa.schema(
        [
            ("order_id", pa.int64()),
            ("order_date", pa.date32()),
            ("customer_id", pa.int64()),
            ("category", pa.string()),
            ("region", pa.string()),
            ("quantity", pa.int64()),
            ("unit_price", pa.float64()),
            ("discount", pa.float64()),
            ("note", pa.string()),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    generate(args.path, args.rows, args.seed)
    print(
        f"{args.path}: {args.rows:,} rows, {args.path.stat().st_size / 1e6:.0f} MB", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
