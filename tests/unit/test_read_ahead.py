"""The read-ahead thread keeps the stream's order, raises its errors on the caller's thread,
and stops its producer when the caller stops early."""

import threading

import pytest

from csvflow.domain.read_ahead import read_ahead


def test_items_arrive_in_order_on_the_callers_thread():
    producers = []

    def numbers():
        for i in range(100):
            producers.append(threading.current_thread().name)
            yield i

    assert list(read_ahead(numbers(), depth=3)) == list(range(100))
    assert set(producers) == {"read-ahead"}


def test_an_error_in_the_producer_is_raised_after_the_items_before_it():
    def failing():
        yield 1
        yield 2
        raise ValueError("line 3: broken")

    seen = []
    with pytest.raises(ValueError, match="line 3: broken"):
        for item in read_ahead(failing()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_producer_and_ends_its_thread():
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    stream = read_ahead(endless(), depth=2)
    assert [next(stream) for _ in range(5)] == [0, 1, 2, 3, 4]
    stream.close()

    assert closed.is_set()
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
