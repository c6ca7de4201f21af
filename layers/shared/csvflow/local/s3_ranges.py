"""Ranged GETs that read only their range from the emulator's object.

moto (5.2) answers a GET with a Range header by reading the whole object into memory and then
slicing it (``S3Response.get_object`` returns ``key.value``; ``key_response`` slices it in
``_handle_range_header``). A file split into byte ranges, each read by its own ranged GET,
then costs the whole file per range: a 2 GB upload in 16 chunks, 32 GB of copies. Here the
object's body reaches moto's own range arithmetic as a view that reads only the slice asked
for, so the answer (206, Content-Range, InvalidRange, the cases S3 answers whole) is moto's.

The second seam into moto's S3 internals, beside the Lambda hook (lambda_runner.py); moto is
pinned, and ``tests/integration/test_s3_ranges.py`` fails if an upgrade moves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.s3.models import FakeKey
from moto.s3.responses import S3Response


@contextmanager
def ranged_gets_read_their_range() -> Iterator[None]:
    """For the block, a ranged GET of an object reads only the bytes of its range."""
    original = S3Response.get_object

    def get_object(response: S3Response) -> Any:
        if not _plain_range_request(response):
            return original(response)
        found: list[FakeKey] = []
        take_key = response._get_key

        def get_key(*args: Any, **kwargs: Any) -> tuple[Any, bool]:
            key, not_modified = take_key(*args, **kwargs)
            found.append(key)
            return _KeyWithLazyValue(key), not_modified

        # (an attribute of this request's response object only: moto makes one per request)
        response._get_key = get_key  # type: ignore[method-assign]
        status, headers, body = original(response)
        if status != 200 or not isinstance(body, _ObjectBytes):
            return status, headers, body
        status, headers, body = response._handle_range_header(
            response.normalized_request, headers, body
        )
        if isinstance(body, _ObjectBytes):  # a range S3 answers with the whole object
            body = found[0].value
        return status, headers, body

    S3Response.get_object = get_object  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        S3Response.get_object = original  # type: ignore[method-assign]


def _plain_range_request(response: S3Response) -> bool:
    """A GET of an object's bytes with a Range header (no part number, which moto answers
    with its own 206)."""
    return bool(response.headers.get("range")) and "partNumber" not in response.querystring


class _KeyWithLazyValue:
    """moto's key, whose ``value`` is a view of its bytes instead of a copy of them all."""

    def __init__(self, key: FakeKey) -> None:
        self._key = key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key, name)

    @property
    def value(self) -> _ObjectBytes:
        return _ObjectBytes(self._key)


class _ObjectBytes:
    """An object's bytes as far as moto's range handling uses them: a length, and slices
    read from the key's buffer when asked for."""

    def __init__(self, key: FakeKey) -> None:
        self._key = key

    def __len__(self) -> int:
        return int(self._key.size)

    def __getitem__(self, part: slice) -> bytes:
        start, stop, step = part.indices(len(self))
        if step != 1:
            raise ValueError("only contiguous ranges are read")
        with self._key.lock:
            buffer = self._key._value_buffer
            buffer.seek(start)
            data: bytes = buffer.read(max(stop - start, 0))
        return data
