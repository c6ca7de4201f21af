"""Progress of long work, told while it goes on: a big file takes minutes, and a step that
says nothing until it ends looks the same as one that hangs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

# The logger of long steps' progress. Its records carry their figures as the mapping they
# format, so a listener can read them without parsing text (local/lambda_runner.py).
PROGRESS_LOGGER = "csvflow.progress"


def telling_progress(
    items: Iterable[T],
    tell: Callable[[], None],
    *,
    every_seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[T]:
    """Pass ``items`` through, calling ``tell()`` after an item once ``every_seconds`` have
    gone by since the start or the last call (0: after every item)."""
    last = clock()
    for item in items:
        yield item
        now = clock()
        if now - last >= every_seconds:
            last = now
            tell()
