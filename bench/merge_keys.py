"""The merge's unique-key check on a split file: the parts' key columns read by ranged GETs
(docs/adr/0025) against each part's Parquet downloaded whole (before): bytes, requests, CPU.

    pip install -e ".[bench]" && python bench/merge_keys.py --path a-generated.csv \
        [--part-megabytes 512] [--rounds 2] [--column order_id]

The file is bench/generate.py's (bench/split_run.py --folder makes and keeps one). Its contract
is bench/contract.yaml with ``--column`` declared unique. The plan and every part run once, in
this process, on a local folder (bench/lambda_steps.py's FolderObjectStore, counting what it
serves of the parts' Parquet); then the merge's key check runs each way in turn, ``--rounds``
times. No S3 here: the bytes and requests are the figures, the CPU seconds this machine's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pyarrow.parquet as pq  # noqa: E402
from lambda_steps import BUCKET, FolderObjectStore  # noqa: E402

from csvflow import split_path  # noqa: E402
from csvflow.bucket_layout import load_contract  # noqa: E402
from csvflow.commands import PlanParts, ValidatePart  # noqa: E402
from csvflow.config import Settings  # noqa: E402
from csvflow.domain.model import ObjectRef, SourceObject  # noqa: E402

KEY = "incoming/bench/file.csv"


class CountingStore(FolderObjectStore):
    """The folder store, counting the requests and bytes it serves of the parts' Parquet."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.requests = 0
        self.bytes = 0

    def _count(self, ref: ObjectRef, size: int) -> None:
        if ref.key.endswith("/validated.parquet"):
            self.requests += 1
            self.bytes += size

    def read_tail(self, ref: ObjectRef, size: int) -> tuple[bytes, int]:
        data, total = super().read_tail(ref, size)
        self._count(ref, len(data))
        return data, total

    def read_range(self, ref: ObjectRef, start: int, end: int) -> bytes:
        data = super().read_range(ref, start, end)
        self._count(ref, len(data))
        return data

    def download_file(self, ref: ObjectRef, path: Path) -> None:
        super().download_file(ref, path)
        self._count(ref, path.stat().st_size)


def _whole_parquet_downloaded(store: Any, ref: ObjectRef, columns: list[str]) -> Any:
    with tempfile.TemporaryDirectory(prefix="csvflow-merge-keys-") as folder:
        path = Path(folder, "validated.parquet")
        store.download_file(ref, path)
        return pq.read_table(path, columns=columns)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--part-megabytes", type=float, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--column", default="order_id")
    args = parser.parse_args()
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="csvflow-merge-keys-") as tmp:
        root = Path(tmp)
        (root / BUCKET / "incoming" / "bench").mkdir(parents=True)
        (root / BUCKET / KEY).symlink_to(args.path.resolve())
        contract = (HERE / "contract.yaml").read_text()
        declared = f"{{name: {args.column}, type: int, required: true}}"
        assert declared in contract, declared
        (root / BUCKET / "contracts").mkdir()
        (root / BUCKET / "contracts" / "bench.yaml").write_text(
            contract.replace(declared, declared[:-1] + ", unique: true}")
        )
        store = CountingStore(root)
        size = args.path.stat().st_size
        source = SourceObject(BUCKET, KEY, None, None, size=size)
        base = {"source": source.to_dict(), "dataset": "bench", "ingestion_id": "bench-1"}
        part_bytes = int(args.part_megabytes * (1 << 20))
        plan = split_path.plan_parts(
            PlanParts.from_event(base | {"split": {"part_bytes": part_bytes}}), store, settings
        )
        items = split_path._get_json(store, ObjectRef.from_dict(plan["parts"]))
        records = []
        for item in items:
            split_path.validate_part(
                ValidatePart.from_event(base | {"part": item}), store, settings
            )
            layout = split_path._Layout.of(settings, BUCKET, "bench-1")
            records.append(split_path._get_json(store, layout.part(item["index"], "result.json")))
        parquet = [
            root / BUCKET / layout.part(i, "validated.parquet").key for i in range(len(items))
        ]
        groups = [pq.read_metadata(p).num_row_groups for p in parquet]
        print(
            f"{args.path.name}: {size / 1e6:,.0f} MB, {len(items)} parts of "
            f"{args.part_megabytes:g} MiB; their Parquet {sum(p.stat().st_size for p in parquet) / 1e6:,.1f} MB"
            f" in {min(groups)} to {max(groups)} row groups each; load {_load()}",
            flush=True,
        )
        contract_read = load_contract(store, settings, BUCKET, "bench")
        ranged = split_path.read_parquet_columns
        for number in range(args.rounds):
            ways = [("ranged", ranged), ("whole", _whole_parquet_downloaded)]
            for name, read in ways if number % 2 == 0 else ways[::-1]:
                split_path.read_parquet_columns = read  # type: ignore[assignment]
                store.requests = store.bytes = 0
                load = _load()
                cpu, wall = time.process_time(), time.perf_counter()
                repeats = split_path._repeated_keys(store, layout, contract_read, records)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                print(
                    f"round {number + 1} {name:6}: {store.bytes / 1e6:8.1f} MB in "
                    f"{store.requests:5} requests, {cpu:5.2f} CPU s, {wall:5.2f} s wall, "
                    f"{len(repeats)} parts to read again; load {load} -> {_load()}",
                    flush=True,
                )
        split_path.read_parquet_columns = ranged  # type: ignore[assignment]
        shutil.rmtree(root / BUCKET / "work")
    return 0


def _load() -> str:
    return "/".join(f"{figure:.1f}" for figure in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
