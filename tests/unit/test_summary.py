"""Summaries checked against pandas on the same data, and merged chunks against one pass."""

import csv
import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from csvflow.domain import sketches
from csvflow.domain.aggregates import AggregateState
from csvflow.domain.model import AggregateSpec, Metric, no_contract
from csvflow.domain.profile import Profiler
from csvflow.domain.summarizing import coalesced, spec_of_field, summarize_batches
from tests.support.csv_helpers import contract, report_rows, validate_bytes


def sales_csv(rows: int, seed: int = 3) -> bytes:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "region": rng.choice(["north", "south", "east", "west", "central"], rows),
            "category": [f"cat{v}" for v in rng.integers(0, 50, rows)],
            "qty": rng.integers(1, 100, rows),
            "price": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(50, 15, rows).round(3)),
            "day": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), "D"),
            "flag": rng.choice(["true", "false"], rows),
        }
    )
    frame["day"] = frame["day"].dt.strftime("%Y-%m-%d")
    return frame.to_csv(index=False).encode()


def summarize(data: bytes, spec_text: str = "", block_size: int = 1 << 20):
    spec = contract(spec_text) if spec_text else no_contract("t")
    result = validate_bytes(data, spec, block_size=block_size)
    profiler, aggregates = summarize_batches(result.table.to_batches(), result.table.schema, spec)
    return {p["name"]: p for p in profiler.profiles()}, aggregates


def test_column_profiles_match_pandas():
    data = sales_csv(5000)
    frame = pd.read_csv(io.BytesIO(data))
    profiles, _ = summarize(data)
    for name in ("qty", "price"):
        col, p = frame[name], profiles[name]
        assert p["count"] == col.count()
        assert p["nulls"] == col.isna().sum()
        assert p["distinct"] == col.nunique() and p["distinct_exact"]
        assert p["min"] == pytest.approx(col.min())
        assert p["max"] == pytest.approx(col.max())
        assert p["mean"] == pytest.approx(col.mean())
        assert p["std"] == pytest.approx(col.std())
        for key, q in (("p25", 0.25), ("p50", 0.5), ("p75", 0.75)):
            assert p[key] == pytest.approx(col.quantile(q))
    counts = frame["region"].value_counts()
    top = profiles["region"]["top_values"]
    assert {t["value"]: t["count"] for t in top} == counts.to_dict()
    assert profiles["region"]["min_length"] == frame["region"].str.len().min()
    assert profiles["day"]["min"] == frame["day"].min()
    assert profiles["day"]["max"] == frame["day"].max()
    assert profiles["flag"]["true_count"] == (frame["flag"]).sum()
    assert profiles["flag"]["type"] == "bool"


def test_group_by_aggregates_match_pandas():
    data = sales_csv(5000)
    frame = pd.read_csv(io.BytesIO(data))
    spec = """
aggregates:
  - name: by_region_category
    group_by: [region, category]
    metrics:
      - {column: qty, op: sum}
      - {column: price, op: mean}
      - {column: price, op: min}
      - {column: price, op: max}
      - {column: id, op: count}
      - {column: qty, op: distinct_count}
"""
    _, aggregates = summarize(data, spec, block_size=4096)
    ours = aggregates[0].result().to_pandas().set_index(["region", "category"]).sort_index()
    grouped = frame.groupby(["region", "category"])
    assert (ours["sum_qty"] == grouped["qty"].sum()).all()
    assert np.allclose(ours["mean_price"], grouped["price"].mean())
    assert np.allclose(ours["min_price"], grouped["price"].min())
    assert np.allclose(ours["max_price"], grouped["price"].max())
    assert (ours["count_id"] == grouped["id"].count()).all()
    assert (ours["distinct_count_qty"] == grouped["qty"].nunique()).all()


def _split_profile(table: pa.Table, pieces: int, aggregate: AggregateSpec):
    column_specs = [spec_of_field(f) for f in table.schema]
    profilers, states = [], []
    for chunk in np.array_split(np.arange(table.num_rows), pieces):
        part = table.slice(int(chunk[0]), len(chunk)) if len(chunk) else table.slice(0, 0)
        profiler, state = Profiler(column_specs), AggregateState(aggregate, table.schema)
        for batch in part.to_batches(max_chunksize=700):
            profiler.update(batch)
            state.update(batch)
        profilers.append(profiler)
        states.append(state)
    for other in profilers[1:]:
        profilers[0].merge(other)
    for other in states[1:]:
        states[0].merge(other)
    return profilers[0].profiles(), states[0].result()


def test_chunks_summarized_apart_and_merged_equal_one_pass():
    table = validate_bytes(sales_csv(6000)).table
    aggregate = AggregateSpec(
        "r",
        ("region",),
        (Metric("qty", "sum"), Metric("price", "mean"), Metric("id", "distinct_count")),
    )
    one_profiles, one_aggregate = _split_profile(table, 1, aggregate)
    many_profiles, many_aggregate = _split_profile(table, 7, aggregate)
    for one, many in zip(one_profiles, many_profiles, strict=True):
        assert one.keys() == many.keys()
        for key in one:
            if isinstance(one[key], float):
                assert many[key] == pytest.approx(one[key]), (one["name"], key)
            else:
                assert many[key] == one[key], (one["name"], key)
    one_rows, many_rows = one_aggregate.to_pylist(), many_aggregate.to_pylist()
    assert [r["region"] for r in one_rows] == [r["region"] for r in many_rows]
    for one, many in zip(one_rows, many_rows, strict=True):
        assert {k: pytest.approx(v) if isinstance(v, float) else v for k, v in one.items()} == many


def test_large_columns_switch_to_sketches_and_say_so(monkeypatch):
    monkeypatch.setattr(sketches, "EXACT_LIMIT", 1000)
    rng = np.random.default_rng(1)
    values = rng.normal(0, 1, 50_000)
    strings = [f"v{v}" for v in rng.zipf(1.5, 50_000) % 5000]
    table = pa.table({"x": values, "s": strings})
    profiler = Profiler([spec_of_field(f) for f in table.schema])
    for batch in table.to_batches(max_chunksize=4096):
        profiler.update(batch)
    x, s = profiler.profiles()
    assert not x["distinct_exact"] and not x["quantiles_exact"]
    assert x["distinct"] == pytest.approx(50_000, rel=0.03)
    assert x["p50"] == pytest.approx(np.quantile(values, 0.5), abs=0.02)
    assert not s["top_values_exact"]
    exact_top = pd.Series(strings).value_counts().head(3)
    assert [t["value"] for t in s["top_values"][:3]] == list(exact_top.index)


csv_cells = st.text(alphabet='ab1-,"\n x', max_size=6)


def expected_fate(row: list[str]) -> str:
    """What the validator should do with one written row, decided independently."""
    if len(row) != 3:
        return "rejected"
    if not any(row):
        return "empty"
    first = row[0]
    if first == "" or re.fullmatch(r"[+-]?[0-9]+", first.strip()):
        return "good"
    return "rejected"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(csv_cells, min_size=1, max_size=4), min_size=1, max_size=30))
@example(rows=[["", ""], ["", ""], ["", ""], ["", "", ""], ["", "1", ""]])
@example(rows=[["", ""], ["", ""], ["", ""], ["", "", "", ""], ["", "1", "", ""]])
@example(rows=[["", ""], ["", ""], ["", ""], ["", "", "", ""], ["-", "", "", ""]])
@example(rows=[["", "1"]] * 3 + [["", "", "", "1"]] * 3 + [["", "1", "", ""]])
def test_every_row_is_counted_once_summarized_or_rejected(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["c1", "c2", "c3"])
    for row in rows:
        writer.writerow(row)
    result = validate_bytes(
        buffer.getvalue().encode(),
        # A last row of words could pass for a note below the table, and many rows that stop
        # early for a pattern of the file (padded): here every row is a row of three fields.
        contract(
            "max_rejected_share: 1\nfooter: none\nshort_rows: reject\n"
            "columns: [{name: c1, type: int}]"
        ),
    )
    fates = [expected_fate(row) for row in rows]
    outcome = result.outcome
    assert outcome.rows == fates.count("good") == result.table.num_rows
    assert outcome.rejected_rows == fates.count("rejected")
    assert outcome.empty_rows == fates.count("empty")
    reported = {int(r["line"]) for r in report_rows(result.report_csv)}
    assert len(reported) == outcome.rejected_rows


def _numbered(sizes):
    starts = np.cumsum([0, *sizes])
    return [
        pa.record_batch(
            {
                "n": pa.array(np.arange(a, b)),
                "s": pa.array([str(i) for i in range(a, b)], pa.string()),
            }
        )
        for a, b in zip(starts[:-1], starts[1:], strict=True)
    ]


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 40), max_size=12), rows=st.integers(1, 60))
def test_coalesced_batches_hold_the_same_rows_in_order_and_are_long_enough(sizes, rows):
    joined = list(coalesced(_numbered(sizes), rows=rows, max_bytes=1 << 30))

    assert [v for b in joined for v in b.column("n").to_pylist()] == list(range(sum(sizes)))
    assert all(batch.num_rows >= rows for batch in joined[:-1])
    assert len(joined) <= max(1, sum(sizes) // rows + 1)


def test_coalescing_stops_at_a_size_in_bytes_too():
    joined = list(coalesced(_numbered([50, 50, 50]), rows=1_000, max_bytes=1))

    assert [b.num_rows for b in joined] == [50, 50, 50]


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.none() | st.text(alphabet="ab é日\U0001f600", max_size=5), max_size=60),
    size=st.integers(1, 20),
)
def test_a_text_columns_profile_is_what_plain_python_counts(values, size):
    table = pa.table({"s": pa.array(values, pa.string())})
    profiler = Profiler([spec_of_field(f) for f in table.schema])
    for batch in table.to_batches(max_chunksize=size):
        profiler.update(batch)
    (profile,) = profiler.profiles()
    present = [v for v in values if v is not None]

    assert (profile["count"], profile["nulls"]) == (len(present), len(values) - len(present))
    assert profile["distinct"] == len(set(present))
    assert profile["min"] == min(present, default=None)
    assert profile["max"] == max(present, default=None)
    assert profile["min_length"] == min(map(len, present), default=None)
    assert profile["max_length"] == max(map(len, present), default=None)


def test_a_column_holding_inf_and_minus_inf_has_no_mean_and_warns_nothing():
    # numpy's "invalid value encountered" reached the terminal of `csvflow profile` (a held-out
    # file with inf and -inf in one column); the mean of the two is NaN, quietly.
    import warnings

    from csvflow.domain.profile import Moments

    moments = Moments()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        moments.update(np.array([np.inf, -np.inf, 0.0, 1.0]))

    assert moments.n == 4
    assert np.isnan(moments.mean)
