"""The validate and summarize Lambdas' handlers, one after the other, on the benchmark file.

Unlike `csvflow profile`, which feeds the profiler straight from validation, this is the
deployed path: validate writes the typed rows as Parquet (csvflow's one codec), summarizes them
in the same pass and uploads both; summarize reads the summary state back and finishes it. The bucket is a local folder (the handlers see only the
ObjectStore port), so S3's transfer time is left out and the handlers' own is measured.
Each runs in a fresh process, as each Lambda does, so each peak RSS is its own.
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

from csvflow.bucket_layout import SummaryStateRefs
from csvflow.commands import SummarizeDataset, ValidateCsv
from csvflow.config import Settings
from csvflow.domain.model import ObjectRef, SourceObject
from csvflow.handlers import summarize_dataset, validate_csv
from csvflow.process_memory import return_large_blocks

BUCKET = "bench"


class FolderObjectStore:
    """The ObjectStore port over a folder: ``<root>/<bucket>/<key>``."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, ref: ObjectRef) -> Path:
        return self._root / ref.bucket / ref.key

    def read_head(self, ref: ObjectRef, size: int) -> bytes:
        with self._path(ref).open("rb") as f:
            return f.read(size)

    def read_tail(self, ref: ObjectRef, size: int) -> tuple[bytes, int]:
        with self._path(ref).open("rb") as f:
            total = f.seek(0, 2)
            f.seek(max(total - size, 0))
            return f.read(), total

    def read_range(self, ref: ObjectRef, start: int, end: int) -> bytes:
        with self._path(ref).open("rb") as f:
            f.seek(start)
            return f.read(max(end - start, 0))

    def open(self, ref: ObjectRef, start: int = 0) -> BinaryIO:
        stream = self._path(ref).open("rb")
        stream.seek(start)
        return stream

    def read_text(self, ref: ObjectRef) -> str | None:
        path = self._path(ref)
        return path.read_text(encoding="utf-8") if path.exists() else None

    def write_text(self, ref: ObjectRef, text: str) -> None:
        self._path(ref).parent.mkdir(parents=True, exist_ok=True)
        self._path(ref).write_text(text, encoding="utf-8")

    def upload_file(self, path: Path, ref: ObjectRef) -> None:
        self._path(ref).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, self._path(ref))

    def download_file(self, ref: ObjectRef, path: Path) -> None:
        shutil.copyfile(self._path(ref), path)


def validate_then_summarize(csv_path: str, contract_path: str) -> str:
    """Each handler in a process of its own, as each Lambda is: seconds and peak RSS of each."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, context.Pool(1, maxtasksperchild=1) as pool:
        root = Path(tmp)
        key = "incoming/bench/file.csv"
        (root / BUCKET / "incoming" / "bench").mkdir(parents=True)
        (root / BUCKET / key).symlink_to(Path(csv_path).resolve())
        (root / BUCKET / "contracts").mkdir()
        shutil.copyfile(contract_path, root / BUCKET / "contracts" / "bench.yaml")
        size = Path(csv_path).stat().st_size
        state, seconds_v, peak_v = pool.apply(_validate, (root, key, size))
        parquet_mb = (root / BUCKET / "work" / "bench-1" / "validated.parquet").stat().st_size / 1e6
        rows, seconds_s, peak_s = pool.apply(_summarize, (root, state))
    return (
        f"{rows} rows; validate {seconds_v:.2f} s {peak_v:.0f} MB;"
        f" summarize {seconds_s:.2f} s {peak_s:.0f} MB; Parquet {parquet_mb:.1f} MB"
    )


def _validate(root: Path, key: str, size: int) -> tuple[dict[str, Any], float, float]:
    return_large_blocks()  # as the function's cold start does (bootstrap.storage_function)
    source = SourceObject(BUCKET, key, None, None, size=size)
    started = time.perf_counter()
    result = validate_csv(
        ValidateCsv(source, "bench", "bench-1"), FolderObjectStore(root), Settings()
    )
    return result["summary_state"], time.perf_counter() - started, _peak_rss_mb()


def _summarize(root: Path, state: dict[str, Any]) -> tuple[int, float, float]:
    return_large_blocks()
    command = SummarizeDataset((SummaryStateRefs.from_dict(state),), "bench", "bench-1", BUCKET)
    started = time.perf_counter()
    result = summarize_dataset(command, FolderObjectStore(root), Settings())
    return result["rows"], time.perf_counter() - started, _peak_rss_mb()


def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
