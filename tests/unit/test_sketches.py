"""Distinct counts: exact (and said to be) up to the limit, HyperLogLog past it, and the same
answer whether a column arrives in one piece, in batches, or as merged partial states."""

import pyarrow as pa
import pytest

from csvflow.domain import sketches
from csvflow.domain.sketches import DistinctCount


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(sketches, "EXACT_LIMIT", 1_000)


def _counted(*batches):
    counter = DistinctCount()
    for batch in batches:
        counter.update(pa.array(batch))
    return counter


def test_repeats_across_batches_are_counted_once_and_the_count_is_exact(small_limit):
    batches = [[i % 700 for i in range(start, start + 300)] for start in range(0, 3000, 300)]

    assert _counted(*batches).result() == (700, True)


def test_past_the_limit_the_count_is_an_estimate_within_its_error(small_limit):
    counter = _counted(*[list(range(start, start + 500)) for start in range(0, 50_000, 500)])

    estimate, exact = counter.result()

    assert not exact
    assert abs(estimate - 50_000) / 50_000 < 0.03  # lg_k 14: about 0.8 % standard error


def test_merging_partial_counts_gives_the_count_of_the_whole(small_limit):
    left, right = _counted(list(range(600))), _counted(list(range(400, 900)))
    left.merge(right)
    assert left.result() == (900, True)

    big = _counted(list(range(5_000)))
    small = _counted(list(range(4_000, 6_000)))
    small.merge(big)
    estimate, exact = small.result()
    assert not exact and abs(estimate - 6_000) / 6_000 < 0.03


def test_strings_and_dates_as_keys(small_limit):
    assert _counted(["a", "b"], ["b", "c"]).result() == (3, True)
    days = pa.array([0, 1, 1, 2], pa.int32())
    counter = DistinctCount()
    counter.update(days)
    assert counter.result() == (3, True)
