"""A local upload stored as S3 stores it, without the emulator's copies of the request body.

moto (5.2) takes a PUT's body through werkzeug's request building, which reads it whole twice,
and then writes it into the object's ``SpooledTemporaryFile`` in memory before that moves to
disk: a 300 MB upload peaked at three copies, and `csvflow run`'s peak memory was there
(docs/adr/0016). ``put_file`` reads the file once and hands it to moto's S3 backend as its PUT
handler does (the same object, ETag and ObjectCreated:Put notification), and
``large_bodies_written_to_disk`` moves a large body's buffer to disk before it is written.

Beside the Lambda hook, redrive.py, map_runs.py and s3_ranges.py, a seam into moto; moto is
pinned and ``tests/integration/test_s3_bodies.py`` fails if an upgrade moves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeKey, s3_backends

READ_BYTES = 1 << 20  # of the file at a time, each reported to the upload's progress


@contextmanager
def large_bodies_written_to_disk() -> Iterator[None]:
    """For the block, an object body larger than moto's buffer is written straight to disk."""
    original = FakeKey.value

    def set_value(key: FakeKey, new_value: Any) -> None:
        size = len(new_value) if isinstance(new_value, (bytes, bytearray, memoryview)) else 0
        if size <= key._max_buffer_size:
            original.fset(key, new_value)  # type: ignore[attr-defined]
            return
        buffer = key._value_buffer
        buffer.seek(0)
        buffer.truncate()
        buffer.rollover()  # to disk first: the body is written once, where it stays
        buffer.write(new_value)
        key.contentsize = size

    FakeKey.value = property(original.fget, set_value)  # type: ignore[assignment,method-assign,attr-defined]
    try:
        yield
    finally:
        FakeKey.value = original  # type: ignore[method-assign]


def put_file(
    bucket: str,
    key: str,
    path: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Store ``path`` at ``key`` as a PUT would; what PutObject answers (ETag, VersionId)."""
    size = path.stat().st_size
    body = bytearray(size)
    view = memoryview(body)
    done = 0
    with path.open("rb") as file:
        while done < size:
            read = file.readinto(view[done : done + READ_BYTES])
            if not read:
                break
            done += read
            if on_progress:
                on_progress(done, size)
    del view  # a bytearray with a view on it cannot be handed on
    # A bytearray is what the backend writes (its type says bytes; it only writes and
    # measures it), so the file is held once.
    stored = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].put_object(
        bucket,
        key,
        body[:done] if done < size else body,  # type: ignore[arg-type]
    )
    answer: dict[str, Any] = {"ETag": stored.etag}
    if stored.version_id != "null":
        answer["VersionId"] = stored.version_id
    return answer
