"""Distinct counts: exact (and said to be) up to the limit, HyperLogLog past it, and the same
answer whether a column arrives in one piece, in batches, or as merged partial states."""

import math
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csvflow.domain import sketches
from csvflow.domain.sketches import DistinctCount, Quantiles


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


@settings(max_examples=200, deadline=None)
@given(
    batches=st.lists(
        st.lists(st.sampled_from([-3.5, 0.0, 1.0, 2.25, 7.0, 1e9, float("nan")]), max_size=40),
        min_size=1,
        max_size=6,
    )
)
def test_quantiles_from_value_counts_are_exactly_numpys(batches):
    quantiles = Quantiles()
    for batch in batches:
        quantiles.update(pa.array(batch, pa.float64()))
    values = np.array([v for batch in batches for v in batch if not math.isnan(v)])

    result, exact = quantiles.result((0.0, 0.25, 0.5, 0.75, 1.0))

    assert exact
    if len(values):
        assert result == [float(v) for v in np.quantile(values, (0.0, 0.25, 0.5, 0.75, 1.0))]
    else:
        assert result == [None] * 5


@pytest.mark.parametrize("counted", [True, False], ids=["value counts", "values"])
def test_a_quantile_beside_an_infinity_is_that_infinity_not_nan(monkeypatch, counted):
    # numpy interpolates 0 to inf at a half as inf - inf * 0.5: NaN. A column "0, inf, 0" has
    # its 75th percentile half way from 0 to inf, which is inf.
    if not counted:
        monkeypatch.setattr(sketches, "COUNTED_LIMIT", 0)
    quantiles = Quantiles()
    quantiles.update(pa.array([0.0, math.inf, 0.0]))
    quantiles.update(pa.array([-math.inf, 1.0, 2.0, 3.0]))

    result, exact = quantiles.result((0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0))

    assert exact
    assert result[0] == -math.inf and result[-1] == math.inf
    assert result[1] == -math.inf  # between -inf and 0: numpy says NaN
    assert result[2:5] == [
        float(v) for v in np.quantile([-math.inf, 0, 0, 1, 2, 3, math.inf], (0.25, 0.5, 0.75))
    ]
    assert result[5] == math.inf  # between 3 and inf: numpy says NaN here too


def test_quantiles_leave_counting_for_values_then_for_a_sketch(monkeypatch):
    monkeypatch.setattr(sketches, "COUNTED_LIMIT", 50)
    monkeypatch.setattr(sketches, "EXACT_LIMIT", 5_000)
    few = np.tile(np.arange(10, dtype=np.float64), 1_000)  # 10 distinct values, 10,000 rows
    many = np.arange(3_000, dtype=np.float64)

    counted = Quantiles()
    counted.update(pa.array(few))
    assert counted.result((0.5,)) == ([float(np.quantile(few, 0.5))], True)

    listed = Quantiles()
    listed.update(pa.array(many[:2_000]))
    assert listed.result((0.5,)) == ([float(np.quantile(many[:2_000], 0.5))], True)

    sketched = Quantiles()
    sketched.update(pa.array(few))
    sketched.update(pa.array(many))  # past 50 distinct values, with 13,000 rows: a sketch
    (median,), exact = sketched.result((0.5,))
    assert not exact
    assert median == pytest.approx(float(np.quantile(np.concatenate([few, many]), 0.5)), abs=60)


def test_merged_quantiles_equal_those_of_the_whole(monkeypatch):
    monkeypatch.setattr(sketches, "COUNTED_LIMIT", 50)
    parts = [np.arange(30, dtype=np.float64), np.arange(20, 60, dtype=np.float64)]
    left, right = Quantiles(), Quantiles()
    left.update(pa.array(parts[0]))
    right.update(pa.array(parts[1]))
    left.merge(right)

    assert left.result((0.25, 0.5)) == (
        [float(v) for v in np.quantile(np.concatenate(parts), (0.25, 0.5))],
        True,
    )


def test_repeating_counted_values_keeps_every_block_bounded(monkeypatch):
    monkeypatch.setattr(sketches, "_REPEAT_BLOCK", 5)
    values, counts = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2, 12, 1, 3])

    blocks = list(sketches._repeated(values, counts))

    assert max(len(b) for b in blocks) <= 5
    assert np.concatenate(blocks).tolist() == np.repeat(values, counts).tolist()


def test_a_listed_part_merged_into_a_counted_one_is_counted_exactly(monkeypatch):
    monkeypatch.setattr(sketches, "COUNTED_LIMIT", 50)
    counted, listed = Quantiles(), Quantiles()
    counted.update(pa.array(np.tile(np.arange(5, dtype=np.float64), 10)))
    many = np.arange(100, dtype=np.float64) / 4  # past 50 distinct values: kept as values
    listed.update(pa.array(many))
    counted_part = np.tile(np.arange(5, dtype=np.float64), 10)

    counted.merge(listed)

    assert counted.result((0.25, 0.5, 0.9)) == (
        [float(v) for v in np.quantile(np.concatenate([counted_part, many]), (0.25, 0.5, 0.9))],
        True,
    )


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(-(2**63), 2**63 - 1) | st.text(max_size=12), max_size=300),
    cut=st.integers(0, 300),
)
def test_hyperloglog_of_few_values_is_near_exact_and_merges_as_the_union(values, cut):
    # Two halves merged are the sketch of the whole, register for register; on a few
    # hundred values the estimate is within a value or two (linear counting's range).
    ints = pa.array([v for v in values if isinstance(v, int)], pa.int64())
    texts = pa.array([v for v in values if isinstance(v, str)], pa.string())
    whole, left, right = (sketches.HyperLogLog(14) for _ in range(3))
    for part in (ints, texts):
        whole.update(sketches.value_hashes(part))
        left.update(sketches.value_hashes(part[:cut]))
        right.update(sketches.value_hashes(part[cut:]))
    left.merge(right)

    assert np.array_equal(left.registers, whole.registers)
    assert whole.estimate() == pytest.approx(len(set(values)), abs=2)


@pytest.mark.parametrize("size", [20_000, 300_000])
def test_hyperloglog_stays_within_its_stated_error_on_large_sets(size):
    rng = np.random.default_rng(size)
    emails = pa.array([f"user{i}@example{i % 97}.com" for i in rng.permutation(size)])
    numbers = pa.array(rng.integers(0, 2**62, size))
    # Eight bytes at a time: the same hashes in pieces as all at once.
    pieces = [sketches.value_hashes(emails[a : a + 7_777]) for a in range(0, size, 7_777)]
    assert np.array_equal(sketches.value_hashes(emails), np.concatenate(pieces))
    for values, distinct in ((emails, size), (numbers, len(np.unique(numbers.to_numpy())))):
        sketch = sketches.HyperLogLog(14)
        sketch.update(sketches.value_hashes(values))
        sketch.update(sketches.value_hashes(values[: size // 2]))  # repeats count once
        assert abs(sketch.estimate() - distinct) / distinct < 0.03  # 0.8 % standard error


def test_equal_values_hash_equal_whatever_their_spelling():
    assert sketches.value_hashes(pa.array([0.0]))[0] == sketches.value_hashes(pa.array([-0.0]))[0]
    days = pa.array([19000, 19000], pa.date32())
    assert len(set(sketches.value_hashes(days).tolist())) == 1
    assert len(set(sketches.value_hashes(pa.array(["ab", "ba", "a", "b", ""])).tolist())) == 5


def _top_of(batches):
    top = sketches.TopValues()
    for batch in batches:
        counted = pa.array(batch, pa.string()).value_counts()
        top.update(counted.field("values"), counted.field("counts"))
    return top


_words = st.lists(st.lists(st.sampled_from("abcdefghijklmnopqrst"), max_size=60), max_size=8)


@settings(max_examples=150, deadline=None)
@given(batches=_words, cut=st.integers(0, 8))
def test_top_values_below_the_limit_are_counters_exactly(batches, cut):
    whole = Counter(v for batch in batches for v in batch)
    expected = sorted(whole.items(), key=lambda item: (-item[1], item[0]))[:10]
    left, right = _top_of(batches[:cut]), _top_of(batches[cut:])
    left.merge(right)

    for top in (_top_of(batches), left):
        values, exact = top.result()
        assert exact
        assert [(v["value"], v["count"]) for v in values] == expected


@settings(max_examples=150, deadline=None)
@given(
    batches=st.lists(st.lists(st.integers(0, 60).map(str), max_size=80), max_size=10),
    cut=st.integers(0, 10),
)
def test_top_values_past_the_limit_are_within_their_error(batches, cut):
    whole = Counter(v for batch in batches for v in batch)
    rows = sum(whole.values())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sketches, "EXACT_LIMIT", 12)
        patch.setattr(sketches, "TOP_CAPACITY", 6)
        left, right = _top_of(batches[:cut]), _top_of(batches[cut:])
        left.merge(right)
        tops = [_top_of(batches), left]
        results = [top.result(k=61) for top in tops]

    for top, (values, exact) in zip(tops, results, strict=True):
        assert exact == (len(whole) <= 12)
        assert top.error <= rows / 7  # rows / (capacity + 1)
        for item in values:
            assert whole[item["value"]] - top.error <= item["count"] <= whole[item["value"]]
        kept = {item["value"] for item in values}
        # No false negatives: a value more frequent than the error is kept.
        assert all(v in kept for v, c in whole.items() if c > top.error)


@settings(max_examples=150, deadline=None)
@given(
    batches=st.lists(
        st.lists(st.integers(-6, 6).map(lambda v: v / 4), max_size=50), min_size=1, max_size=8
    ),
    cut=st.integers(0, 8),
)
def test_counted_quantiles_are_numpys_however_batches_pend_and_merge(batches, cut):
    # A limit of 5 distinct values: the counts are merged late, some columns leave counting.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sketches, "COUNTED_LIMIT", 5)
        whole, left, right = Quantiles(), Quantiles(), Quantiles()
        for i, batch in enumerate(batches):
            whole.update(pa.array(batch, pa.float64()))
            (left if i < cut else right).update(pa.array(batch, pa.float64()))
        left.merge(right)
        results = [whole.result((0.1, 0.5, 0.9)), left.result((0.1, 0.5, 0.9))]
    values = [v for batch in batches for v in batch]
    expected = [float(v) for v in np.quantile(values, (0.1, 0.5, 0.9))] if values else [None] * 3
    assert results == [(expected, True), (expected, True)]


@settings(max_examples=150, deadline=None)
@given(
    batches=st.lists(
        st.lists(st.tuples(st.integers(0, 40), st.none() | st.integers(0, 40)), max_size=30),
        min_size=1,
        max_size=8,
    ),
    cut=st.integers(0, 8),
)
def test_a_profiles_distinct_counts_through_the_limit_in_batches_and_parts(batches, cut):
    # A text column's distinct count is its top values' values while those are exact, then
    # a sketch started from every value seen; a number's is counted from the same value
    # counts as its quantiles. Both must say what a set says, fed in batches or merged.
    from csvflow.domain.model import ColumnSpec, ColumnType
    from csvflow.domain.profile import Profiler

    specs = [ColumnSpec("s", ColumnType.STRING), ColumnSpec("n", ColumnType.INT)]

    def profiled(part):
        profiler = Profiler(specs)
        for batch in part:
            profiler.update(
                pa.record_batch(
                    [
                        pa.array([f"v{s}" for s, _ in batch], pa.string()),
                        pa.array([n for _, n in batch], pa.int64()),
                    ],
                    names=["s", "n"],
                )
            )
        return profiler

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sketches, "EXACT_LIMIT", 12)
        patch.setattr(sketches, "COUNTED_LIMIT", 5)
        patch.setattr(sketches, "TOP_CAPACITY", 6)
        left, right = profiled(batches[:cut]), profiled(batches[cut:])
        left.merge(right)
        results = [profiled(batches).profiles(), left.profiles()]

    for column, truth in (
        (0, {s for batch in batches for s, _ in batch}),
        (1, {n for batch in batches for _, n in batch if n is not None}),
    ):
        for profiles in results:
            found = profiles[column]
            if len(truth) <= 12:
                assert (found["distinct"], found["distinct_exact"]) == (len(truth), True)
            else:
                assert not found["distinct_exact"]
                assert found["distinct"] == pytest.approx(len(truth), abs=2)


@settings(max_examples=150, deadline=None)
@given(
    batches=st.lists(st.lists(st.none() | st.integers(0, 40), max_size=40), min_size=1, max_size=8),
    cut=st.integers(0, 8),
    spelling=st.sampled_from(["v{0}", "é{0}", "{0}{0}{0}"]),
)
def test_a_profiles_text_past_the_limit_keeps_its_top_values_bounds_and_lengths(
    batches, cut, spelling
):
    # Past the limit a text column's batches are counted by their hashes, not their text:
    # the top values still hold within the stated error, with no false negatives, and the
    # least and greatest value and length are the text's own (in characters, not bytes).
    from csvflow.domain.model import ColumnSpec, ColumnType
    from csvflow.domain.profile import Profiler

    def text(n):
        return None if n is None else spelling.format(n)

    def profiled(part):
        profiler = Profiler([ColumnSpec("s", ColumnType.STRING)])
        for batch in part:
            column = pa.array([text(n) for n in batch], pa.string())
            profiler.update(pa.record_batch([column], names=["s"]))
        return profiler

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sketches, "EXACT_LIMIT", 12)
        patch.setattr(sketches, "TOP_CAPACITY", 6)
        left, right = profiled(batches[:cut]), profiled(batches[cut:])
        left.merge(right)
        whole = profiled(batches)
        results = [(p.states[0], p.states[0].top.result(k=41)) for p in (whole, left)]
        profiles = [whole.profiles()[0], left.profiles()[0]]

    values = [text(n) for batch in batches for n in batch if n is not None]
    counted = Counter(values)
    for (state, (top, exact)), profile in zip(results, profiles, strict=True):
        assert exact == (len(counted) <= 12)
        assert state.top.error <= len(values) / 7  # rows / (capacity + 1)
        for item in top:
            assert counted[item["value"]] - state.top.error <= item["count"]
            assert item["count"] <= counted[item["value"]]
        kept = {item["value"] for item in top}
        assert all(v in kept for v, c in counted.items() if c > state.top.error)
        assert (profile["min"], profile["max"]) == (
            min(values, default=None),
            max(values, default=None),
        )
        lengths = [len(v) for v in values]
        assert (profile["min_length"], profile["max_length"]) == (
            min(lengths, default=None),
            max(lengths, default=None),
        )


def test_a_count_that_passes_the_limit_when_it_is_read_says_so(small_limit):
    # The keys pending when the result is asked for take the set past the limit: the
    # answer is the sketch's estimate, not the emptied set's size.
    # 1,001 keys (600 distinct) are merged at once; the next 450 new ones wait.
    def counter():
        return _counted(list(range(600)) + list(range(401)), list(range(600, 1_050)))

    merged = DistinctCount()
    merged.merge(counter())  # the same, when a part's pending keys pass it as it is merged

    for read in (counter(), merged):
        estimate, exact = read.result()
        assert not exact and abs(estimate - 1_050) / 1_050 < 0.03


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.text(max_size=20), st.text(alphabet="ab", min_size=120, max_size=140)),
        min_size=1,
        max_size=60,
    ),
    cut=st.integers(min_value=0, max_value=60),
)
def test_text_hashes_depend_on_the_value_alone(values, cut):
    # Eight bytes at a time up to 128 bytes, the polynomial hash past it: either way equal
    # values hash equal wherever they stand (in a slice, in another array), and the values
    # of different lengths or bytes around the word and length boundaries do not collide.
    whole = pa.array(values + ["pad"])
    hashes = sketches.text_hashes(whole)
    by_value: dict[str, int] = {}
    for value, hashed in zip(values, hashes.tolist(), strict=False):
        assert by_value.setdefault(value, hashed) == hashed
    assert len(set(by_value.values())) == len(by_value)
    tail = whole[cut:]
    assert sketches.text_hashes(tail).tolist() == hashes[cut:].tolist()
    alone = sketches.text_hashes(pa.array(sorted(by_value)))
    assert alone.tolist() == [by_value[v] for v in sorted(by_value)]


@settings(max_examples=200, deadline=None)
@given(numbers=st.lists(st.integers(0, 5) | st.integers(0, 10**9), min_size=1, max_size=60))
def test_the_cut_of_a_misra_gries_decrement_is_the_kth_largest(numbers):
    array = np.array(numbers, np.int64)
    for k in range(1, len(numbers) + 1):
        assert sketches._kth_largest(array, k) == sorted(numbers, reverse=True)[k - 1]


@settings(max_examples=200, deadline=None)
@given(hashes=st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 6), min_size=1, max_size=80))
def test_a_batchs_hashes_are_counted_with_the_row_each_first_occurs_on(hashes):
    # Past the limit a text batch is counted by its hashes: each distinct hash once, with the
    # row it first occurs on (the value that stands for it) and how many rows have it.
    array = np.array(hashes, np.uint64)
    rows, counts = sketches._first_rows_and_counts(array)
    firsts = {}
    for row, value in enumerate(hashes):
        firsts.setdefault(value, row)
    assert rows.tolist() == sorted(firsts.values())
    assert {hashes[r]: int(c) for r, c in zip(rows, counts, strict=True)} == Counter(hashes)


def test_hashes_are_the_ones_persisted_states_were_made_with():
    # A part's distinct-count registers and its summary's values are merged with other
    # parts' (the split path): the hashes of a value may change only with the state's
    # version. These are the values of the first implementation; a faster one keeps them.
    from csvflow.domain.unique import mix64

    def hexes(hashes):
        return " ".join(f"{h:x}" for h in hashes.tolist())

    texts = ["pad", "", "a", "abcdefg", "abcdefgh", "abcdefghi", "x" * 16, "x" * 17]
    texts += ["héllo wörld", "user17850.49911@example2.com", "y" * 128, "y" * 129, "z" * 300]
    sliced = pa.array(texts)[1:]  # its offsets do not start at 0
    assert hexes(sketches.text_hashes(sliced)) == (
        "e220a8397b1dcdaf 5e025f9ade9eaf3e 715cb6fca2889b64 804d4bcf99e046d6 cbe0b0512e86ab3b "
        "621bb4cffcaeca45 9afe7b7ce7c3cc33 725f3d0c7c331238 95769617dbf441e7 96f5c3f7d7b87f58 "
        "4511a7f757908e73 4a13c72e627c1e42"
    )
    assert hexes(mix64(np.array([0, 1, 2**63, 2**64 - 1], np.uint64))) == (
        "e220a8397b1dcdaf 910a2dec89025cc1 481ec0a212a9f3db e4d971771b652c20"
    )
    assert hexes(sketches.value_hashes(pa.array([0.0, -0.0, 1.5, 7]))) == (
        "e220a8397b1dcdaf e220a8397b1dcdaf d6dab18e1392608a fbfa5f6c87f2fb6e"
    )
    assert hexes(sketches.value_hashes(pa.array([1, -1, 2**62]))) == (
        "910a2dec89025cc1 e4d971771b652c20 aa50ea8e0fa9eb"
    )


def test_a_text_column_passing_the_limit_hashes_each_distinct_value_once(monkeypatch):
    # The batch that passes the exact limit starts the distinct count's sketch from every
    # distinct value counted so far, its own among them: hashing it again cost a second
    # pass over the batch's text and changed no register.
    from csvflow.domain.model import ColumnSpec, ColumnType
    from csvflow.domain.profile import Profiler

    monkeypatch.setattr(sketches, "EXACT_LIMIT", 50)
    hashed: list[int] = []
    real_hashes = sketches.value_hashes

    def counting_hashes(values):
        hashed.append(len(values))
        return real_hashes(values)

    monkeypatch.setattr(sketches, "value_hashes", counting_hashes)
    profiler = Profiler([ColumnSpec("s", ColumnType.STRING)])
    for batch in ([f"v{n}" for n in range(40)], [f"v{n}" for n in range(30, 70)]):
        profiler.update(pa.record_batch([pa.array(batch)], names=["s"]))
    profile = profiler.profiles()[0]

    assert sum(hashed) == 70  # v0 to v69, once each
    assert not profile["distinct_exact"] and abs(profile["distinct"] - 70) <= 2  # a sketch's
