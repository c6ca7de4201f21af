"""ObjectStore over S3 (boto3); also what runs against moto locally."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from csvflow.domain.model import ObjectRef
from csvflow.exceptions import SourceObjectMissing, StorageUnavailable

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
        self, client: Any, *, multipart_bytes: int = 8 << 20, read_range_bytes: int = 0
    ) -> None:
        """``read_range_bytes`` (0: one GET) reads a stream as consecutive ranged GETs of that
        size: the local stack's emulator holds a whole object in memory for a plain GET."""
        from boto3.s3.transfer import TransferConfig

        self._s3 = client
        self._read_range_bytes = read_range_bytes
        self._transfer = TransferConfig(
            multipart_threshold=multipart_bytes, multipart_chunksize=multipart_bytes
        )

    def read_head(self, ref: ObjectRef, size: int) -> bytes:
        with self._convert(ref):
            try:
                response = self._get(ref, Range=f"bytes=0-{size - 1}")
            except ClientError as error:
                # S3 answers a range request on an empty object with 416 InvalidRange.
                if error.response.get("Error", {}).get("Code") == "InvalidRange":
                    return b""
                raise
            data: bytes = response["Body"].read()
            return data

    def read_tail(self, ref: ObjectRef, size: int) -> tuple[bytes, int]:
        with self._convert(ref):
            try:
                response = self._get(ref, Range=f"bytes=-{size}")
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "InvalidRange":
                    return b"", 0
                raise
            data: bytes = response["Body"].read()
            # "bytes 100-199/200": the object's size follows the slash.
            total = str(response.get("ContentRange", "")).rpartition("/")[2]
            return data, int(total) if total.isdigit() else len(data)

    def read_range(self, ref: ObjectRef, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        with self._convert(ref):
            try:
                response = self._get(ref, Range=f"bytes={start}-{end - 1}")
            except ClientError as error:
                # A range starting at or past the end: 416 InvalidRange.
                if error.response.get("Error", {}).get("Code") == "InvalidRange":
                    return b""
                raise
            data: bytes = response["Body"].read()
            return data

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

    def download_file(self, ref: ObjectRef, path: Path) -> None:
        extra = {"VersionId": ref.version_id} if ref.version_id else None
        with self._convert(ref):
            self._s3.download_file(
                ref.bucket, ref.key, str(path), ExtraArgs=extra, Config=self._transfer
            )

    @staticmethod
    def _convert(ref: ObjectRef) -> AbstractContextManager[None]:
        return _errors_converted(ref)


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
            chunk = self._body.read(len(view))
            if chunk:
                view[: len(chunk)] = chunk
                self._position += len(chunk)
                return len(chunk)
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
