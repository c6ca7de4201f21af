"""Run the producer of a stream a step ahead of its consumer, on a second thread.

Each step of the workflow is a producer (parse and check a CSV, read Parquet) feeding a
consumer (write Parquet, profile). Both spend most of their time in C++ that releases
the GIL, so on two cores the two overlap. Order, exceptions and early stops are as if
the stream were read inline.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

_DONE = object()


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(
    source: Iterable[T], depth: int = 1, *, name: str = "read-ahead"
) -> Generator[T, None, None]:
    """Iterate ``source`` on a worker thread (called ``name``): ``depth`` items wait, one more
    is being made."""
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def put(item: object) -> bool:
        while not stopped.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(source)
        try:
            for item in iterator:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as error:  # raised again on the caller's thread
            put(_Raised(error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator's own cleanup runs on the thread that ran it

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while (item := items.get()) is not _DONE:
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stopped.set()
        worker.join()
