"""In-memory fakes of the ports the handlers use, each kept honest by a contract suite that runs
the same tests on the fake and on the real adapter: tests/integration/test_object_store.py
(S3, through moto), test_repository_contract.py (PostgreSQL), test_starter_contract.py (Step
Functions, through moto)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO

from csvflow.domain.model import ObjectRef
from csvflow.domain.summary import Failure, IngestionRecord, Summary
from csvflow.exceptions import SourceObjectMissing


class InMemoryObjectStore:
    """Objects in a dict keyed by (bucket, key)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put(self, bucket: str, key: str, data: bytes) -> ObjectRef:
        self.objects[(bucket, key)] = data
        return ObjectRef(bucket, key)

    def _get(self, ref: ObjectRef) -> bytes:
        try:
            return self.objects[(ref.bucket, ref.key)]
        except KeyError:
            raise SourceObjectMissing(f"{ref.uri} does not exist") from None

    def read_head(self, ref: ObjectRef, size: int) -> bytes:
        return self._get(ref)[:size]

    def read_tail(self, ref: ObjectRef, size: int) -> tuple[bytes, int]:
        data = self._get(ref)
        return data[len(data) - min(max(size, 0), len(data)) :], len(data)

    def read_range(self, ref: ObjectRef, start: int, end: int) -> bytes:
        return self._get(ref)[start:end]

    def open(self, ref: ObjectRef, start: int = 0) -> BinaryIO:
        return io.BytesIO(self._get(ref)[start:])

    def read_text(self, ref: ObjectRef) -> str | None:
        data = self.objects.get((ref.bucket, ref.key))
        return None if data is None else data.decode("utf-8")

    def write_text(self, ref: ObjectRef, text: str) -> None:
        self.objects[(ref.bucket, ref.key)] = text.encode("utf-8")

    def upload_file(self, path: Path, ref: ObjectRef) -> None:
        self.objects[(ref.bucket, ref.key)] = path.read_bytes()

    def download_file(self, ref: ObjectRef, path: Path) -> None:
        path.write_bytes(self._get(ref))

    def copy(self, source: ObjectRef, target: ObjectRef) -> None:
        self.objects[(target.bucket, target.key)] = self._get(source)

    def create(self, ref: ObjectRef) -> InMemorySink:
        return InMemorySink(self.objects, ref)


class InMemorySink:
    """An object that appears in its store's dict on ``commit``, and never without it."""

    def __init__(self, objects: dict[tuple[str, str], bytes], ref: ObjectRef) -> None:
        self._objects, self._ref = objects, ref
        self._buffer: io.BytesIO | None = io.BytesIO()
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        if self._buffer is None:
            raise ValueError("write to a finished stream")
        return self._buffer.write(data)

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        if self._buffer is None:
            raise ValueError("the stream was already finished")
        self._objects[(self._ref.bucket, self._ref.key)] = self._buffer.getvalue()
        self.close()

    def close(self) -> None:
        self._buffer, self.closed = None, True

    def __enter__(self) -> InMemorySink:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class InMemoryRepository:
    """Ingestions keyed as PostgreSQL keys them: (bucket, key, version)."""

    def __init__(self) -> None:
        self.ingestions: dict[tuple[str, str, str], dict[str, Any]] = {}

    def save_summary(self, record: IngestionRecord, summary: Summary) -> None:
        self._put(record, status="SUCCEEDED", summary=summary)

    def record_failure(self, record: IngestionRecord, failure: Failure) -> None:
        self._put(record, status="FAILED", failure=failure)

    def _put(self, record: IngestionRecord, **outcome: Any) -> None:
        source = record.source
        self.ingestions[(source.bucket, source.key, source.version)] = {"record": record, **outcome}


class InMemoryStarter:
    """Executions by name; a second start of a name starts nothing, as in Step Functions."""

    def __init__(self) -> None:
        self.executions: dict[str, dict[str, Any]] = {}

    def start(self, name: str, payload: dict[str, Any]) -> str | None:
        if name in self.executions:
            return None
        self.executions[name] = payload
        return f"arn:aws:states:us-east-1:000000000000:execution:csvflow-ingest:{name}"


def pending_report(store: InMemoryObjectStore, rejects_report: dict[str, Any]) -> str:
    """The reject report a validate step (or the merge) wrote: under work/ until persist
    gives it the name the step's output says (``rejects_report``)."""
    from csvflow.bucket_layout import pending_rejects_report_ref
    from csvflow.config import Settings

    settings = Settings()
    ingestion_id = rejects_report["key"].removeprefix(settings.reports_prefix)
    pending = pending_rejects_report_ref(
        settings, rejects_report["bucket"], ingestion_id.removesuffix("/rejects.csv")
    )
    return store.objects[(pending.bucket, pending.key)].decode()
