"""ObjectStore over S3 (boto3); also what runs against moto locally."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from csvflow.domain.model import ObjectRef
from csvflow.exceptions import SourceObjectMissing, StorageUnavailable

logger = logging.getLogger(__name__)

_MISSING = {"NoSuchKey", "NoSuchVersion", "404", "NotFound", "NoSuchBucket"}
_CHANGED = {"PreconditionFailed", "412"}


class S3ObjectStore:
    """Reads and writes objects through an S3 client it is given.

    Files at least ``multipart_bytes`` long move in parts of that size (boto3's default is
    8 MB): in parallel against S3; the local stack sets it above any file, because its
    emulator reads a whole object for every ranged GET and copies every part again to
    complete an upload (ADR 0016).
    """

    def __init__(
        self,
        client: Any,
        *,
        multipart_bytes: int = 8 << 20,
        read_range_bytes: int = 0,
        parts_in_flight: int = 2,
    ) -> None:
        """``read_range_bytes`` (0: one GET) reads a stream as consecutive ranged GETs of that
        size: the local stack's emulator holds a whole object in memory for a plain GET.
        ``parts_in_flight``: how many parts of an object written as a stream (``create``) are
        sent at once, each ``multipart_bytes`` held until S3 has it."""
        from boto3.s3.transfer import TransferConfig

        self._s3 = client
        self._read_range_bytes = read_range_bytes
        self._multipart_bytes = multipart_bytes
        self._parts_in_flight = parts_in_flight
        self._transfer = TransferConfig(
            multipart_threshold=multipart_bytes, multipart_chunksize=multipart_bytes
        )

    def read_head(self, ref: ObjectRef, size: int) -> bytes:
        return self.read_range(ref, 0, size)

    def read_tail(self, ref: ObjectRef, size: int) -> tuple[bytes, int]:
        with self._convert(ref):
            # S3 refuses an empty suffix ("bytes=-0", 416): its size comes with the first byte.
            response = self._get_range(ref, f"-{size}" if size > 0 else "0-0")
            if response is None:
                return b"", 0
            data: bytes = response["Body"].read() if size > 0 else b""
            # "bytes 100-199/200": the object's size follows the slash.
            total = str(response.get("ContentRange", "")).rpartition("/")[2]
            return data, int(total) if total.isdigit() else len(data)

    def read_range(self, ref: ObjectRef, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        with self._convert(ref):
            response = self._get_range(ref, f"{start}-{end - 1}")
            if response is None:
                return b""
            data: bytes = response["Body"].read()
            return data

    def _get_range(self, ref: ObjectRef, byte_range: str) -> Any | None:
        """The GET of ``bytes=byte_range``, or None where S3 answers 416 InvalidRange: a
        range on an empty object, or one starting at or past the end."""
        try:
            return self._get(ref, Range=f"bytes={byte_range}")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "InvalidRange":
                return None
            raise

    def open(self, ref: ObjectRef, start: int = 0) -> BinaryIO:
        if self._read_range_bytes:
            ranges = _RangedBody(
                lambda first, last: self._get(ref, Range=f"bytes={first}-{last}"),
                start=start,
                range_bytes=self._read_range_bytes,
            )
            return _ConvertingBody(ranges, ref)  # type: ignore[return-value]
        with self._convert(ref):
            body = self._get(ref, **({"Range": f"bytes={start}-"} if start else {}))["Body"]
        return _ConvertingBody(body, ref)  # type: ignore[return-value]

    def _get(self, ref: ObjectRef, **extra: Any) -> Any:
        try:
            return self._s3.get_object(**_address(ref), **extra)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            older = self._version_with_etag(ref) if code in _CHANGED else None
            if older is None:
                raise
            return self._s3.get_object(**_address(older), **extra)

    def _version_with_etag(self, ref: ObjectRef) -> ObjectRef | None:
        """The version an event without a version id meant, found by its ETag.

        S3's events carry the version id in a versioned bucket; emulators (moto) may
        leave it out. When the key has been overwritten since, the event's version is
        still in the bucket's history: read that one, as AWS would, not the newer one.
        """
        if ref.version_id or not ref.etag:
            return None
        pages = self._s3.get_paginator("list_object_versions").paginate(
            Bucket=ref.bucket, Prefix=ref.key
        )
        for page in pages:
            for version in page.get("Versions", []):
                if version["Key"] == ref.key and version["ETag"].strip('"') == ref.etag:
                    return ObjectRef(ref.bucket, ref.key, version_id=version["VersionId"])
        return None

    def read_text(self, ref: ObjectRef) -> str | None:
        try:
            with self._convert(ref):
                data: bytes = self._s3.get_object(**_address(ref))["Body"].read()
                return data.decode("utf-8")
        except SourceObjectMissing:
            return None

    def write_text(self, ref: ObjectRef, text: str) -> None:
        with self._convert(ref):
            self._s3.put_object(Bucket=ref.bucket, Key=ref.key, Body=text.encode("utf-8"))

    def upload_file(self, path: Path, ref: ObjectRef) -> None:
        with self._convert(ref):
            self._s3.upload_file(str(path), ref.bucket, ref.key, Config=self._transfer)

    def create(self, ref: ObjectRef) -> MultipartSink:
        return MultipartSink(
            self._s3,
            ref,
            part_bytes=self._multipart_bytes,
            parts_in_flight=self._parts_in_flight,
        )

    def download_file(self, ref: ObjectRef, path: Path) -> None:
        extra = {"VersionId": ref.version_id} if ref.version_id else None
        with self._convert(ref):
            self._s3.download_file(
                ref.bucket, ref.key, str(path), ExtraArgs=extra, Config=self._transfer
            )

    def copy(self, source: ObjectRef, target: ObjectRef) -> None:
        # S3 copies it in parts past the multipart size (a CopyObject stops at 5 GiB).
        copy_source = {"Bucket": source.bucket, "Key": source.key}
        if source.version_id:
            copy_source["VersionId"] = source.version_id
        with self._convert(source):
            self._s3.copy(copy_source, target.bucket, target.key, Config=self._transfer)

    @staticmethod
    def _convert(ref: ObjectRef) -> AbstractContextManager[None]:
        return _errors_converted(ref)


# A part of up to this size is held in memory; parts that may be larger are on disk: the local
# stack sets parts of S3's largest PUT (5 GiB), which would otherwise hold a whole Parquet file.
_PART_IN_MEMORY_BYTES = 64 << 20


class MultipartSink:
    """An object written as a stream, its parts sent to S3 while the next is being written.

    The parts are cut where ``upload_file`` cuts a file (``part_bytes`` each, the last
    smaller), and an object smaller than one part is one PUT, as ``upload_file`` sends it: the
    same bytes make the same object and the same ETag. At most ``parts_in_flight`` parts are
    being sent at a time; a write waits for a free slot, so the memory held is bounded. A part
    that failed to go up fails the next write, not only the next part or the commit: the pass
    stops within a write instead of a part's worth of work later. Closing before ``commit``
    (the writer failed, or the step refuses the file) aborts the multipart upload: S3 keeps,
    and bills, the parts of an upload neither completed nor aborted.
    """

    def __init__(self, client: Any, ref: ObjectRef, *, part_bytes: int, parts_in_flight: int):
        # S3's parts are 5 MiB to 5 GiB; upload_file's transfer manager moves a size set
        # outside that into it, and so does this, to cut the same parts.
        part_bytes = min(max(part_bytes, 5 << 20), 5 << 30)
        self._s3, self._ref, self._part_bytes = client, ref, part_bytes
        self._part = self._new_part()
        self._upload_id: str | None = None
        self._sending: ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(parts_in_flight)
        self._parts_in_flight = parts_in_flight
        self._sent: list[Future[dict[str, Any]]] = []
        self._failed: Future[dict[str, Any]] | None = None  # the first part that failed
        self._committed = False
        self.closed = False
        self.bytes_written = 0

    def write(self, data: bytes | memoryview) -> int:
        self._raise_if_a_part_failed()
        view = memoryview(data).cast("B")
        size = len(view)
        while len(view):
            room = self._part_bytes - self._part.tell()
            self._part.write(view[:room])
            view = view[room:]
            if self._part.tell() == self._part_bytes:
                self._send_part()
        self.bytes_written += size
        return size

    def flush(self) -> None:
        """Nothing to flush: a part leaves when it is full (Parquet's writer asks)."""

    def commit(self) -> None:
        if self.closed or self._committed:
            raise ValueError(f"{self._ref.uri}: the stream was already finished")
        with _errors_converted(self._ref):
            if self._upload_id is None:
                self._part.seek(0)
                self._s3.put_object(Bucket=self._ref.bucket, Key=self._ref.key, Body=self._part)
            else:
                if self._part.tell():
                    self._send_part()
                parts = [future.result() for future in self._sent]
                self._s3.complete_multipart_upload(
                    Bucket=self._ref.bucket,
                    Key=self._ref.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": parts},
                )
        self._committed = True
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._sending is not None:
            for future in self._sent:
                future.cancel()
            self._sending.shutdown(wait=True)
        self._part.close()
        if self._upload_id is not None and not self._committed:
            self._abort()

    def __enter__(self) -> MultipartSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _new_part(self) -> IO[bytes]:
        if self._part_bytes > _PART_IN_MEMORY_BYTES:
            # A part that may outgrow memory's share is on disk from its first byte: spooled,
            # its first 64 MiB were held in memory, then copied out whole (a second 64 MiB
            # at that moment) when it rolled over, all under the GIL.
            return tempfile.TemporaryFile(prefix="csvflow-part-")
        return tempfile.SpooledTemporaryFile(max_size=self._part_bytes, prefix="csvflow-part-")

    def _send_part(self) -> None:
        self._raise_if_a_part_failed()
        if self._upload_id is None:
            with _errors_converted(self._ref):
                created = self._s3.create_multipart_upload(
                    Bucket=self._ref.bucket, Key=self._ref.key
                )
            self._upload_id = created["UploadId"]
            self._sending = ThreadPoolExecutor(self._parts_in_flight, "csvflow-upload")
        assert self._sending is not None
        part, self._part = self._part, self._new_part()
        self._slots.acquire()  # the writer waits here while every slot's part is being sent
        try:
            future = self._sending.submit(self._upload_part, len(self._sent) + 1, part)
        except BaseException:
            self._slots.release()
            part.close()
            raise
        future.add_done_callback(self._part_ended)
        self._sent.append(future)

    def _part_ended(self, future: Future[dict[str, Any]]) -> None:
        # On the sending thread, or on the writer's when the part ended before this was added.
        self._slots.release()
        if self._failed is None and not future.cancelled() and future.exception() is not None:
            self._failed = future

    def _upload_part(self, number: int, part: IO[bytes]) -> dict[str, Any]:
        # On its own thread: boto3 lets go of the GIL while it waits on the network.
        try:
            part.seek(0)
            with _errors_converted(self._ref):
                sent = self._s3.upload_part(
                    Bucket=self._ref.bucket,
                    Key=self._ref.key,
                    UploadId=self._upload_id,
                    PartNumber=number,
                    Body=part,
                )
            return {"ETag": sent["ETag"], "PartNumber": number}
        finally:
            part.close()

    def _raise_if_a_part_failed(self) -> None:
        if self._failed is not None:
            self._failed.result()  # raises the part's error, converted as every S3 call's is

    def _abort(self) -> None:
        try:
            with _errors_converted(self._ref):
                self._s3.abort_multipart_upload(
                    Bucket=self._ref.bucket, Key=self._ref.key, UploadId=self._upload_id
                )
        except StorageUnavailable:
            # The error that made the step stop matters more; the bucket's lifecycle rule
            # (abandoned-multipart-uploads) removes the parts within days.
            logger.warning("could not abort the upload of %s", self._ref.uri, exc_info=True)


class _RangedBody:
    """An object's bytes from ``start`` on, read as consecutive ranged GETs, one at a time."""

    def __init__(self, get: Any, *, start: int, range_bytes: int) -> None:
        self._get = get
        self._position = start
        self._range_bytes = range_bytes
        self._size: int | None = None
        self._body: Any = None

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while len(view):
            if self._body is None and not self._next_range():
                return 0
            # Into the caller's buffer: read() made a bytes object of each block, copied
            # again into the buffer while holding the GIL.
            count: int = self._body.readinto(view)
            if count:
                self._position += count
                return count
            self._body.close()
            self._body = None
        return 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(self._range_bytes):
                parts.append(chunk)
            return b"".join(parts)
        buffer = bytearray(size)
        count = self.readinto(buffer)
        return bytes(buffer[:count])

    def _next_range(self) -> bool:
        if self._size is not None and self._position >= self._size:
            return False
        try:
            response = self._get(self._position, self._position + self._range_bytes - 1)
        except ClientError as error:
            # S3 answers a range starting at or past the end with 416 InvalidRange.
            if error.response.get("Error", {}).get("Code") == "InvalidRange":
                return False
            raise
        # "bytes 0-99/200": the object's size follows the slash.
        total = str(response.get("ContentRange", "")).rpartition("/")[2]
        self._size = int(total) if total.isdigit() else None
        self._body = response["Body"]
        return True

    def close(self) -> None:
        if self._body is not None:
            self._body.close()


class _ConvertingBody:
    """An object's body whose reads convert S3's errors as every other S3 call does.

    The body is read long after get_object returned, by Arrow, inside the validator: a
    connection reset in the middle of a large file must reach the state machine as
    StorageUnavailable (retried; then redrivable), not as a library's error that would be
    recorded as the file's failure.
    """

    def __init__(self, body: Any, ref: ObjectRef) -> None:
        self._body, self._ref = body, ref

    def read(self, size: int = -1) -> bytes:
        with _errors_converted(self._ref):
            data: bytes = self._body.read(size if size >= 0 else None)
            return data

    def readinto(self, buffer: Any) -> int:
        with _errors_converted(self._ref):
            if hasattr(self._body, "readinto"):
                count: int = self._body.readinto(buffer)
                return count
            chunk = self._body.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _ConvertingBody:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _address(ref: ObjectRef) -> dict[str, str]:
    address = {"Bucket": ref.bucket, "Key": ref.key}
    if ref.version_id:
        address["VersionId"] = ref.version_id
    elif ref.etag:
        address["IfMatch"] = f'"{ref.etag}"'
    return address


@contextmanager
def _errors_converted(ref: ObjectRef) -> Iterator[None]:
    """Turns S3 client errors into the errors the state machine retries or catches."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _MISSING:
            version = f" (version {ref.version_id})" if ref.version_id else ""
            raise SourceObjectMissing(f"{ref.uri}{version} does not exist") from error
        if code in _CHANGED:
            raise SourceObjectMissing(
                f"{ref.uri} changed after the upload event (ETag {ref.etag})"
            ) from error
        raise StorageUnavailable(f"S3 failed on {ref.uri}: {code}") from error
    except (BotoCoreError, ConnectionError, TimeoutError) as error:
        raise StorageUnavailable(f"S3 unreachable for {ref.uri}: {error}") from error
