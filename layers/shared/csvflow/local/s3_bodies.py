"""Large object bodies stored as S3 stores them, without the emulator's copies in memory.

moto (5.2) takes a PUT's body through werkzeug's request building, which reads it whole twice,
and then writes it into the object's ``SpooledTemporaryFile`` in memory before that moves to
disk: a 300 MB upload peaked at three copies, and the functions' own PutObject of their 84 MB
Parquet added 200 to 300 MB to `csvflow run`'s peak (docs/adr/0016, docs/adr/0020).

Here a body larger than moto's in-memory buffer goes to disk once, in blocks, with its MD5
(the ETag) computed on the way, and the object's buffer becomes that file:

- ``put_file`` (the local account's upload) hands a file to moto's S3 backend as its PUT
  handler does (the same object, ETag and ObjectCreated:Put notification);
- a function's PutObject still goes through the S3 API (boto3) and moto's own PUT handler,
  which sets the headers, versions, metadata and notifications as for any PUT: only the
  request's body reaches it already on disk instead of through werkzeug.

Beside the Lambda hook, redrive.py, map_runs.py and s3_ranges.py, a seam into moto; moto is
pinned and ``tests/integration/test_s3_bodies.py`` fails if an upgrade moves it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, HeadersDict
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.botocore_stubber import BotocoreStubber
from moto.s3.models import FakeKey, s3_backends
from moto.s3.responses import S3Response
from moto.settings import get_s3_default_key_buffer_size

from csvflow.local.spilled_bodies import SpilledBody

PUT_OBJECT_EVENT = "before-send.s3.PutObject"  # botocore's event, as it sends the request


@contextmanager
def large_bodies_written_to_disk() -> Iterator[None]:
    """For the block, an object body larger than moto's buffer is written straight to disk,
    and a PutObject sent through boto3 with such a body reaches moto's PUT handler on disk."""
    original_value = FakeKey.value
    original_call = BotocoreStubber.__call__
    original_put = S3Response.put_object
    pending = threading.local()  # the body of the PutObject this thread is sending

    def set_value(key: FakeKey, new_value: Any) -> None:
        if isinstance(new_value, SpilledBody):
            # The key keeps the file the body was written to: no copy, and the MD5 taken then.
            key._value_buffer.close()
            key._value_buffer = new_value.file
            key.contentsize = new_value.size
            key._etag = new_value.md5
            return
        size = len(new_value) if isinstance(new_value, (bytes, bytearray, memoryview)) else 0
        if size <= key._max_buffer_size:
            original_value.fset(key, new_value)  # type: ignore[attr-defined]
            return
        buffer = key._value_buffer
        buffer.seek(0)
        buffer.truncate()
        buffer.rollover()  # to disk first: the body is written once, where it stays
        buffer.write(new_value)
        key.contentsize = size

    def send(
        stubber: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any
    ) -> Any:
        size = _large_put_size(event_name, request) if stubber.enabled else None
        if size is None:
            return original_call(stubber, event_name, request, **kwargs)
        pending.body = SpilledBody.read_from(_readable(request.body), size)
        try:
            return original_call(stubber, event_name, _bodiless(request), **kwargs)
        finally:
            pending.body = None

    def put_object(response: S3Response) -> Any:
        body, pending.body = getattr(pending, "body", None), None  # this request's, once
        if body is not None:
            response.body = response.raw_body = body
        return original_put(response)

    FakeKey.value = property(original_value.fget, set_value)  # type: ignore[assignment,method-assign,attr-defined]
    BotocoreStubber.__call__ = send  # type: ignore[method-assign,assignment]
    S3Response.put_object = put_object  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        FakeKey.value = original_value  # type: ignore[method-assign]
        BotocoreStubber.__call__ = original_call  # type: ignore[method-assign]
        S3Response.put_object = original_put  # type: ignore[method-assign]


def _large_put_size(event_name: str, request: AWSPreparedRequest) -> int | None:
    """The body's size, when the request is a PutObject whose body moto would keep on disk
    and whose checksums (none are sent locally: runtime.py) need no body in the handler."""
    if event_name != PUT_OBJECT_EVENT or request.body is None:
        return None
    headers = {name.lower() for name in request.headers}
    if any(name.startswith(("x-amz-checksum-", "x-amz-sdk-checksum")) for name in headers):
        return None
    length = str(request.headers.get("Content-Length", ""))
    if not length.isdigit() or int(length) <= get_s3_default_key_buffer_size():
        return None
    return int(length)


def _readable(body: Any) -> Any:
    """A request body as something to read blocks from (boto3 sends a file, or bytes)."""
    if hasattr(body, "read"):
        return body
    return io.BytesIO(body if isinstance(body, bytes) else str(body).encode())


def _bodiless(request: AWSPreparedRequest) -> AWSPreparedRequest:
    """The same request without its body, which the PUT handler is handed on disk."""
    headers = HeadersDict(request.headers.items())
    headers["Content-Length"] = "0"  # (a case-insensitive mapping: replaced, not added)
    return AWSPreparedRequest(
        method=request.method,
        url=request.url,
        headers=headers,  # type: ignore[arg-type]  # (what botocore's own requests carry)
        body=b"",
        stream_output=request.stream_output,
    )


def put_file(
    bucket: str,
    key: str,
    path: Path,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    body: SpilledBody | None = None,
) -> dict[str, Any]:
    """Store ``path`` at ``key`` as a PUT would; what PutObject answers (ETag, VersionId).
    ``body``: the file's copy already made (BodiesAhead), else it is made now.

    Needs ``large_bodies_written_to_disk`` in force: the file goes to disk once, in blocks.
    """
    if body is None:
        body = SpilledBody.copy_of(path, on_progress)
    stored = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].put_object(bucket, key, body)  # type: ignore[arg-type]
    answer: dict[str, Any] = {"ETag": stored.etag}
    if stored.version_id != "null":
        answer["VersionId"] = stored.version_id
    return answer
