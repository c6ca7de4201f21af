"""Time and peak memory of validating a file with one ``unique`` column.

    python bench/unique_keys.py --rows 3000000 --keys unique-int
    python bench/unique_keys.py --rows 3000000 --keys duplicates --memory-limit 0

Run each case in its own process: the peak resident size is the process's own.
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from csvflow.domain.contract import parse_contract
from csvflow.domain.dialect import HEAD_BYTES, detect_dialect
from csvflow.domain.rejects import RejectReport
from csvflow.domain.validation import CsvValidator

KEYS = ("unique-int", "unique-text", "duplicates", "none")


def write_file(path: Path, rows: int, keys: str) -> None:
    rng = np.random.default_rng(7)
    if keys == "duplicates":
        ids = rng.integers(0, rows // 20, rows)  # about 20 rows per key
    else:
        ids = rng.permutation(rows)
    id_column = (
        pa.array(ids) if keys != "unique-text" else pa.array([f"order-{i:09d}" for i in ids])
    )
    table = pa.table({"id": id_column, "amount": rng.integers(0, 1000, rows)})
    pacsv.write_csv(table, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--keys", choices=KEYS, default="unique-int")
    parser.add_argument("--memory-limit", type=int, default=None, help="bytes of keys in memory")
    args = parser.parse_args()
    key_type = "string" if args.keys == "unique-text" else "int"
    unique = "true" if args.keys != "none" else "false"
    contract = parse_contract(
        "max_rejected_share: 1\ncolumns:\n"
        f"  - {{name: id, type: {key_type}, unique: {unique}}}\n"
        "  - {name: amount, type: int}\n",
        source="bench",
        dataset="bench",
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "keys.csv")
        write_file(path, args.rows, args.keys)
        size = path.stat().st_size
        with path.open("rb") as f:
            dialect = detect_dialect(f.read(HEAD_BYTES), file="keys.csv")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        options = {} if args.memory_limit is None else {"unique_keys_memory": args.memory_limit}
        started = time.perf_counter()
        with path.open("rb") as f:
            validator = CsvValidator(
                f,
                file="keys.csv",
                dialect=dialect,
                contract=contract,
                report=RejectReport(io.StringIO()),
                **options,  # type: ignore[arg-type]
            )
            kept = sum(batch.num_rows for batch in validator.batches())
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{args.keys}: {args.rows:,} rows ({size / 1e6:.0f} MB), {kept:,} kept, "
        f"{validator.outcome.rejected_rows:,} rejected; {seconds:.2f} s; "
        f"peak RSS {peak / 1024:.0f} MiB ({(peak - before) / 1024:+.0f} MiB while validating)"
    )


if __name__ == "__main__":
    main()
