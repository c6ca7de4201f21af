"""The emulated account's objects kept on disk, so what a local run wrote outlives the run.

moto keeps its S3 in memory: without this, the reject report that PostgreSQL links to is
gone when `csvflow run` exits. The runtime copies the workflow's own outputs (reports, the
validated Parquet, contracts) to ``<data dir>/s3/<bucket>/<key>`` when it stops, and puts
the contracts and reports back when it starts, so `csvflow rejects`, `local serve` and any
S3 client see them across runs. The Parquet under work/ stays on disk only: moto holds each
object in memory, so putting back every earlier run's typed rows made each start slower and
bigger than the last (84 MB of Parquet: 3.7 s and 640 MB more at start), and no execution of
an earlier run survives to read them. Uploads under incoming/ are not kept: putting them
back would start the workflow again.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from csvflow.local.lambda_runner import InvocationLog

KEPT_PREFIXES = ("contracts/", "reports/", "work/")
RESTORED_PREFIXES = ("contracts/", "reports/")
CHUNK_BYTES = 8 << 20


def local_data_dir() -> Path:
    """Per user, beside the embedded PostgreSQL's folder."""
    import platformdirs

    return Path(platformdirs.user_data_dir("csvflow"))


class AccountFolder:
    """``root/s3/<bucket>/<key>``: a file per object of the kept prefixes; and
    ``root/logs/<function>.log``: every invocation's log lines, each after its time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # ETags of the objects put back at start: those need no copying out again.
        self._restored: dict[str, str] = {}

    def object_path(self, bucket: str, key: str) -> Path:
        folder = (self.root / "s3" / bucket).resolve()
        path = (folder / key).resolve()
        # A key is a path here: one with `..` must not lead out of the folder.
        if not path.is_relative_to(folder):
            raise ValueError(f"object key {key!r} leads out of the local account's folder")
        return path

    def keep(self, s3: Any, bucket: str) -> int:
        """Copy the kept prefixes' current objects to disk; returns how many were copied."""
        kept = 0
        for item in _objects(s3, bucket):
            if self._restored.get(item["Key"]) == item["ETag"]:
                continue
            path = self.object_path(bucket, item["Key"])
            path.parent.mkdir(parents=True, exist_ok=True)
            # One GET streamed to the file: the emulator reads the whole object for each
            # request, so download_file's ranged parts would read it once per part.
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"]
            with path.open("wb") as file:
                shutil.copyfileobj(body, file, CHUNK_BYTES)
            kept += 1
        return kept

    def restore(self, s3: Any, bucket: str) -> int:
        """Put the kept contracts and reports back into a new emulated bucket; returns how
        many objects it has."""
        folder = self.root / "s3" / bucket
        for prefix in RESTORED_PREFIXES:
            for path in sorted((folder / prefix).rglob("*")):
                if path.is_file():
                    with path.open("rb") as file:  # one PUT, not the emulator's multipart
                        s3.put_object(
                            Bucket=bucket, Key=path.relative_to(folder).as_posix(), Body=file
                        )
        self._restored = {item["Key"]: item["ETag"] for item in _objects(s3, bucket)}
        return len(self._restored)

    def log_path(self, function_name: str) -> Path:
        return self.root / "logs" / f"{function_name}.log"

    def append_log(self, log: InvocationLog) -> None:
        """Add an invocation's lines to its function's file, as it ends."""
        path = self.log_path(log.function_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(tz=dt.UTC).isoformat(timespec="milliseconds")
        with path.open("a", encoding="utf-8") as file:
            file.writelines(f"{now}\t{line}\n" for line in log.lines)


def _objects(s3: Any, bucket: str) -> list[dict[str, Any]]:
    paginator = s3.get_paginator("list_objects_v2")
    return [
        item
        for prefix in KEPT_PREFIXES
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
