"""The Parquet codecs the Lambdas' pyarrow has (snappy, gzip) beside zstd, on validate's output.

    python bench/parquet_codecs.py FILE.csv [--contract bench/contract.yaml]

Validates the file as the validate handler does, then writes and reads its typed rows with each
codec: size, and the CPU seconds of writing and of reading back (CPU rather than wall time, so
the figures say something on a busy machine). zstd is there to show what the managed layer's
build costs (layers/managed-pandas-layer.toml); csvflow cannot use it.

Then, with csvflow's codec, which columns get a dictionary (docs/adr/0028): every column
(Arrow's default), the string columns only, or those whose values repeat in the first batch
(what csvflow writes): size, the writer's CPU over the pass's batches of 65,536 rows, and the
CPU of reading the file back whole and two of its columns.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from lambda_steps import BUCKET, FolderObjectStore

from csvflow.commands import ValidateCsv
from csvflow.config import Settings
from csvflow.domain.model import SourceObject
from csvflow.handlers import validate_csv
from csvflow.parquet_files import PARQUET_CODEC, parquet_writer, repeating_columns

CODECS = ("snappy", "gzip", "zstd")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--contract", type=Path, default=Path(__file__).with_name("contract.yaml"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        key = "incoming/bench/file.csv"
        (root / BUCKET / "incoming" / "bench").mkdir(parents=True)
        (root / BUCKET / key).symlink_to(args.file.resolve())
        (root / BUCKET / "contracts").mkdir()
        shutil.copyfile(args.contract, root / BUCKET / "contracts" / "bench.yaml")
        source = SourceObject(BUCKET, key, None, None, size=args.file.stat().st_size)
        result = validate_csv(
            ValidateCsv(source, "bench", "codecs"), FolderObjectStore(root), Settings()
        )
        table = pq.read_table(root / BUCKET / result["validated"]["key"])
        print(f"{table.num_rows:,} rows, {table.nbytes / 1e6:.0f} MB in memory")
        print(f"{'codec':<8}{'MB':>8}{'write CPU s':>13}{'read CPU s':>12}")
        for codec in CODECS:
            path = root / f"{codec}.parquet"
            write = read = float("inf")
            for _ in range(args.repeat):  # the least of a few: the machine's noise is additive
                started = time.process_time()
                pq.write_table(table, path, compression=codec)
                write = min(write, time.process_time() - started)
                started = time.process_time()
                pq.read_table(path)
                read = min(read, time.process_time() - started)
            print(f"{codec:<8}{path.stat().st_size / 1e6:>8.1f}{write:>13.2f}{read:>12.2f}")
        print_dictionary_choices(table, root, args.repeat)


def print_dictionary_choices(table: pa.Table, folder: Path, repeat: int) -> None:
    batches = table.to_batches(max_chunksize=65_536)
    strings = [f.name for f in table.schema if pa.types.is_string(f.type)]
    choices: dict[str, bool | list[str]] = {
        "every column": True,
        "strings only": strings,
        "repeating": repeating_columns(batches[0]),
    }
    two = table.column_names[:2]
    print(f"\n{PARQUET_CODEC}, dictionary for")
    print(f"{'':<14}{'MB':>8}{'write CPU s':>13}{'read CPU s':>12}{'2 columns s':>13}")
    for name, dictionary in choices.items():
        path = folder / f"dictionary-{name.replace(' ', '-')}.parquet"
        write = read = columns = float("inf")
        for _ in range(repeat):
            started = time.process_time()
            with parquet_writer(path, table.schema, dictionary=dictionary) as writer:
                for batch in batches:
                    writer.write_batch(batch)
            write = min(write, time.process_time() - started)
            started = time.process_time()
            pq.read_table(path)
            read = min(read, time.process_time() - started)
            started = time.process_time()
            pq.read_table(path, columns=two)
            columns = min(columns, time.process_time() - started)
        size = path.stat().st_size / 1e6
        print(f"{name:<14}{size:>8.1f}{write:>13.2f}{read:>12.2f}{columns:>13.2f}")


if __name__ == "__main__":
    main()
