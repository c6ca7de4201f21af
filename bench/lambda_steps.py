"""The validate and summarize Lambdas' handlers, one after the other, on the benchmark file.

Unlike `csvflow profile`, which feeds the profiler straight from validation, this is the
deployed path: validate writes the typed rows as Parquet (csvflow's one codec), summarizes them
in the same pass and uploads both; summarize reads the summary state back and finishes it. The bucket is a local folder (the handlers see only the
ObjectStore port), so S3's transfer time is left out and the handlers' own is measured.
Each runs in a fresh process, as each Lambda does, so each peak RSS is its own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from csvflow.bucket_layout import SummaryStateRefs
from csvflow.commands import SummarizeDataset, ValidateCsv
from csvflow.config import Settings
from csvflow.domain.model import ObjectRef, SourceObject
from csvflow.handlers import summarize_dataset, validate_csv
from csvflow.process_memory import return_large_blocks

BUCKET = "bench"


class _Link:
    """The network leg, emulated: every transfer waits its bytes' time at ``mb_s``, one at a
    time (0: no wait)."""

    def __init__(self, mb_s: float) -> None:
        self._mb_s = mb_s
        self._lock = threading.Lock()

    def send(self, size: int) -> None:
        if self._mb_s:
            with self._lock:
                time.sleep(size / 1e6 / self._mb_s)


class FolderObjectStore:
    """The ObjectStore port over a folder: ``<root>/<bucket>/<key>``; uploads over ``link``."""

    def __init__(self, root: Path, link: _Link | None = None) -> None:
        self._root = root
        self._link = link or _Link(0)
        self.parquet_after_pass_s = 0.0  # the Parquet's upload, or its commit, after the pass

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
        started = time.perf_counter()
        self._link.send(path.stat().st_size)
        self._path(ref).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, self._path(ref))
        if ref.key.endswith("validated.parquet"):
            self.parquet_after_pass_s = time.perf_counter() - started

    def create(self, ref: ObjectRef) -> Any:
        """The S3 adapter's own sink (its parts, threads and limit), over this folder."""
        from csvflow.adapters.s3 import MultipartSink

        part_bytes = Settings().s3_multipart_bytes
        client = _FolderS3(self._root, self._link, part_bytes)
        sink = MultipartSink(client, ref, part_bytes=part_bytes, parts_in_flight=2)
        commit = sink.commit

        def timed_commit() -> None:
            started = time.perf_counter()
            commit()
            self.parquet_after_pass_s = time.perf_counter() - started

        sink.commit = timed_commit  # type: ignore[method-assign]
        return sink

    def download_file(self, ref: ObjectRef, path: Path) -> None:
        shutil.copyfile(self._path(ref), path)


class _FolderS3:
    """The S3 calls of a multipart upload, over a folder: each part written at its place in a
    staging file as it arrives, so that completing is a rename, as S3's is no copy."""

    def __init__(self, root: Path, link: _Link, part_bytes: int) -> None:
        self._root, self._link, self._part_bytes = root, link, part_bytes

    def put_object(self, *, Bucket: str, Key: str, Body: BinaryIO) -> None:
        data = Body.read()
        self._link.send(len(data))
        path = self._root / Bucket / Key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def create_multipart_upload(self, *, Bucket: str, Key: str) -> dict[str, str]:
        staging = tempfile.mkstemp(dir=self._root)
        os.close(staging[0])
        return {"UploadId": staging[1]}

    def upload_part(self, *, UploadId: str, PartNumber: int, Body: BinaryIO, **_: Any) -> Any:
        data = Body.read()
        self._link.send(len(data))
        with open(UploadId, "r+b") as staging:
            staging.seek((PartNumber - 1) * self._part_bytes)
            staging.write(data)
        return {"ETag": str(PartNumber)}

    def complete_multipart_upload(self, *, Bucket: str, Key: str, UploadId: str, **_: Any) -> None:
        path = self._root / Bucket / Key
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(UploadId, path)

    def abort_multipart_upload(self, *, UploadId: str, **_: Any) -> None:
        os.unlink(UploadId)


def _bucket_holding(root: Path, csv_path: str, contract_path: str) -> tuple[str, int]:
    """The folder store's bucket under ``root`` with the upload (a link) and its contract."""
    key = "incoming/bench/file.csv"
    (root / BUCKET / "incoming" / "bench").mkdir(parents=True)
    (root / BUCKET / key).symlink_to(Path(csv_path).resolve())
    (root / BUCKET / "contracts").mkdir()
    shutil.copyfile(contract_path, root / BUCKET / "contracts" / "bench.yaml")
    return key, Path(csv_path).stat().st_size


def validate_then_summarize(csv_path: str, contract_path: str) -> str:
    """Each handler in a process of its own, as each Lambda is: seconds and peak RSS of each."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, context.Pool(1, maxtasksperchild=1) as pool:
        root = Path(tmp)
        key, size = _bucket_holding(root, csv_path, contract_path)
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


def validate_step(csv_path: str, contract_path: str, upload_mb_s: float) -> dict[str, float]:
    """The validate step alone, in a process of its own."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, context.Pool(1, maxtasksperchild=1) as pool:
        root = Path(tmp)
        key, size = _bucket_holding(root, csv_path, contract_path)
        figures: dict[str, float] = pool.apply(_validate_marked, (root, key, size, upload_mb_s))
        parquet = root / BUCKET / "work" / "bench-1" / "validated.parquet"
        figures["parquet_mb"] = parquet.stat().st_size / 1e6
    return figures


def _validate_marked(root: Path, key: str, size: int, upload_mb_s: float) -> dict[str, float]:
    from csvflow import handlers

    ends: dict[str, float] = {}
    phase = handlers.phase

    @contextmanager
    def marked(name: str) -> Iterator[None]:
        with phase(name):
            yield
        ends[name] = time.perf_counter()

    handlers.phase = marked  # type: ignore[assignment]  # marks from outside the package
    source = SourceObject(BUCKET, key, None, None, size=size)
    store = FolderObjectStore(root, _Link(upload_mb_s))
    cpu, started = os.times(), time.perf_counter()
    validate_csv(ValidateCsv(source, "bench", "bench-1"), store, Settings())
    ended, cpu_after = time.perf_counter(), os.times()
    return {
        "wall_s": ended - started,
        "cpu_s": cpu_after.user + cpu_after.system - cpu.user - cpu.system,
        "after_pass_s": ended - ends["validate"],
        "parquet_after_pass_s": store.parquet_after_pass_s,
        "peak_rss_mb": _peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--contract", default=str(Path(__file__).with_name("contract.yaml")))
    parser.add_argument("--upload-mb-s", type=float, default=100.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for round_ in range(1, args.rounds + 1):
        load = os.getloadavg()[0]
        figures = validate_step(args.file, args.contract, args.upload_mb_s)
        print(
            f"round {round_}: validate wall {figures['wall_s']:.2f} s,"
            f" CPU {figures['cpu_s']:.2f} s, pass end to step end {figures['after_pass_s']:.2f} s"
            f" (the Parquet's {figures['parquet_after_pass_s']:.2f} s),"
            f" Parquet {figures['parquet_mb']:.1f} MB, peak RSS {figures['peak_rss_mb']:.0f} MB;"
            f" load {load:.1f} -> {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
