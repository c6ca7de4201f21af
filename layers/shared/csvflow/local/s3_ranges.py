"""Ranged GETs that read only their range from the emulator's object.

moto (5.2) answers a GET with a Range header by reading the whole object into memory and then
slicing it (``S3Response.get_object`` returns ``key.value``; ``key_response`` slices it in
``_handle_range_header``). A file split into byte ranges, each read by its own ranged GET,
then costs the whole file per range: a 2 GB upload in 16 chunks, 32 GB of copies. Here the
object's body reaches moto's own range arithmetic as a view that reads only the slice asked
for, so the answer (206, Content-Range, InvalidRange, the cases S3 answers whole) is moto's.

In this process (the functions' and the runtime's own boto3 clients), ``gets_streamed_from_disk``
goes further: a GET's body, ranged or not, is never read into memory by the emulator; the
client's response streams it from the object's file as it is read, as an S3 connection would
(docs/adr/0020). Through the served account (aws_endpoint.py) moto's HTTP layer still takes
bytes, so there a ranged GET reads its range.

The second seam into moto's S3 internals, beside the Lambda hook (lambda_runner.py); moto is
pinned, and ``tests/integration/test_s3_ranges.py`` fails if an upgrade moves it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse
from moto.s3.models import FakeKey
from moto.s3.responses import S3Response

GET_OBJECT_EVENT = "before-send.s3.GetObject"  # botocore's event, as it sends the request
# Set on a thread while it sends a GetObject through gets_streamed_from_disk: its answer's body
# may stay a view of the object's file.
_streaming = threading.local()


@contextmanager
def ranged_gets_read_their_range() -> Iterator[None]:
    """For the block, a ranged GET of an object reads only the bytes of its range."""
    original = S3Response.get_object

    def get_object(response: S3Response) -> Any:
        streamed = getattr(_streaming, "active", False)
        if not streamed and not _plain_range_request(response):
            return original(response)
        found: list[FakeKey] = []
        take_key = response._get_key

        def get_key(*args: Any, **kwargs: Any) -> tuple[Any, bool]:
            key, not_modified = take_key(*args, **kwargs)
            found.append(key)
            return _KeyWithLazyValue(key, views=streamed), not_modified

        # (an attribute of this request's response object only: moto makes one per request)
        response._get_key = get_key  # type: ignore[method-assign]
        status, headers, body = original(response)
        if status != 200 or not isinstance(body, _ObjectBytes):
            return status, headers, body
        if _plain_range_request(response):
            status, headers, body = response._handle_range_header(
                response.normalized_request, headers, body
            )
        if isinstance(body, _ObjectBytes) and not streamed:
            body = found[0].value  # a range S3 answers with the whole object
        return status, headers, body

    S3Response.get_object = get_object  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        S3Response.get_object = original  # type: ignore[method-assign]


@contextmanager
def gets_streamed_from_disk() -> Iterator[None]:
    """For the block (and within ``ranged_gets_read_their_range``, which answers with a view of
    the object), a GetObject sent by a boto3 client of this process streams its body from the
    object's file instead of receiving it whole."""
    original = BotocoreStubber.__call__

    def send(
        stubber: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any
    ) -> Any:
        if not stubber.enabled or event_name != GET_OBJECT_EVENT:
            return original(stubber, event_name, request, **kwargs)
        _streaming.active = True
        try:
            answer = stubber.process_request(request)
        finally:
            _streaming.active = False
        if answer is None:  # not the emulator's to answer (as moto's own __call__ does)
            return None
        status, headers, body = answer
        raw = _StreamedBody(body) if isinstance(body, _ObjectBytes) else MockRawResponse(body)
        return AWSResponse(request.url, status, headers, raw)  # type: ignore[arg-type]

    BotocoreStubber.__call__ = send  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]


def _plain_range_request(response: S3Response) -> bool:
    """A GET of an object's bytes with a Range header (no part number, which moto answers
    with its own 206)."""
    return bool(response.headers.get("range")) and "partNumber" not in response.querystring


class _KeyWithLazyValue:
    """moto's key, whose ``value`` is a view of its bytes instead of a copy of them all."""

    def __init__(self, key: FakeKey, *, views: bool) -> None:
        self._key, self._views = key, views

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key, name)

    @property
    def value(self) -> _ObjectBytes:
        return _ObjectBytes(self._key, 0, int(self._key.size), views=self._views)


class _ObjectBytes:
    """Bytes ``start`` to ``stop`` of an object, as far as moto's range handling uses them: a
    length, and slices, read from the key's buffer when asked for (or, with ``views``, kept
    as views of it, for the client to stream)."""

    def __init__(self, key: FakeKey, start: int, stop: int, *, views: bool) -> None:
        self._key, self.start, self.stop, self._views = key, start, stop, views

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, part: slice) -> bytes | _ObjectBytes:
        start, stop, step = part.indices(len(self))
        if step != 1:
            raise ValueError("only contiguous ranges are read")
        stop = max(stop, start)
        if self._views:
            return _ObjectBytes(self._key, self.start + start, self.start + stop, views=True)
        return self.read_at(self.start + start, stop - start)

    def read_at(self, offset: int, size: int) -> bytes:
        """``size`` bytes of the object from ``offset`` (fewer at its end)."""
        with self._key.lock:  # the key's one file: another reader may be seeking it
            buffer = self._key._value_buffer
            buffer.seek(offset)
            data: bytes = buffer.read(max(size, 0))
        return data

    def read_into(self, offset: int, view: memoryview) -> int:
        """The object's bytes from ``offset`` into ``view`` (fewer at its end): how many."""
        with self._key.lock:
            buffer = self._key._value_buffer
            buffer.seek(offset)
            count: int = buffer.readinto(view)
        return count


class _StreamedBody:
    """A GET's body as the client's response reads it (botocore's StreamingBody reads
    ``read(amount)``; ``stream()`` gives its content on the paths that read it whole)."""

    def __init__(self, part: _ObjectBytes) -> None:
        self._part = part
        self._position = part.start

    def read(self, amount: int | None = None) -> bytes:
        left = self._part.stop - self._position
        size = left if amount is None or amount < 0 else min(amount, left)
        data = self._part.read_at(self._position, size)
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        """As read, into the reader's buffer (botocore's StreamingBody passes it on): a file's
        read, with the GIL let go, instead of a new bytes object and a copy of it."""
        view = memoryview(buffer).cast("B")
        size = min(len(view), self._part.stop - self._position)
        if size <= 0:
            return 0
        count = self._part.read_into(self._position, view[:size])
        self._position += count
        return count

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        while block := self.read(1 << 20):
            yield block

    def close(self) -> None:
        self._position = self._part.stop
