"""Objects fetched from S3 several at once, handed on in order."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# Reads from S3 at once: the merge of hundreds of parts waits on S3's latency, not its CPU.
FETCHED_AT_ONCE = 16


def fetched_in_order(
    fetch: Callable[[int], T], count: int, ahead: int = FETCHED_AT_ONCE
) -> Iterator[T]:
    """``fetch(0)``, ``fetch(1)``... in order, with up to ``ahead`` of them running at once
    (and no more held, so memory stays bounded by ``ahead`` results)."""
    with ThreadPoolExecutor(max_workers=ahead) as pool:
        waiting: deque[Future[T]] = deque()
        for index in range(count):
            waiting.append(pool.submit(fetch, index))
            if len(waiting) >= ahead:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()
