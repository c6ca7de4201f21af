"""One memory budget for all of a file's exact counts (docs/adr/0024): columns under it stay
exact and say so; past it the columns holding most move to their sketches and say that."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from csvflow.domain import profile
from csvflow.domain.model import no_contract
from csvflow.domain.profile import Profiler
from csvflow.domain.summarizing import Summarizer, spec_of_field
from csvflow.domain.summary_state import summarizer_from_tables, summarizer_tables
from csvflow.local.profile import profile_file


def _wide(rows: int, seed: int = 5) -> pa.Table:
    """Ten columns of many distinct floats (large exact state), ten of 20 ints (small)."""
    rng = np.random.default_rng(seed)
    columns = {f"many_{i}": rng.normal(0, 1, rows).round(6) for i in range(10)}
    columns |= {f"few_{i}": rng.integers(0, 20, rows) for i in range(10)}
    return pa.table(columns)


def _profiled(table: pa.Table, budget: int | None) -> tuple[Profiler, list[int]]:
    profiler = Profiler([spec_of_field(f) for f in table.schema], exact_budget=budget)
    held = []
    for batch in table.to_batches(max_chunksize=5_000):
        profiler.update(batch)
        held.append(profiler.exact_bytes())
    return profiler, held


def _numpy_profile(values: np.ndarray) -> tuple[int, list[float]]:
    return len(np.unique(values)), [float(q) for q in np.quantile(values, [0.25, 0.5, 0.75])]


def test_a_wide_file_within_the_budget_is_exact_in_every_column():
    table = _wide(30_000)
    profiler, held = _profiled(table, budget=None)
    assert max(held) < profile.EXACT_STATE_BUDGET
    for column in profiler.profiles():
        values = table.column(column["name"]).to_numpy()
        assert column["distinct_exact"] and column["quantiles_exact"], column["name"]
        assert (column["distinct"], [column["p25"], column["p50"], column["p75"]]) == (
            _numpy_profile(values)
        )


def test_past_the_budget_the_largest_columns_move_to_sketches_and_say_so():
    table = _wide(30_000)
    budget = 1 << 20  # the ten float columns hold about 480 KB each at 30,000 rows
    profiler, held = _profiled(table, budget)
    assert max(held) <= budget
    by_name = {c["name"]: c for c in profiler.profiles()}
    moved = [n for n, c in by_name.items() if not (c["distinct_exact"] and c["quantiles_exact"])]
    assert moved and all(name.startswith("many_") for name in moved)
    assert len(moved) >= 8  # at most two of them fit in the budget
    for name, column in by_name.items():
        values = table.column(name).to_numpy()
        distinct, quartiles = _numpy_profile(values)
        if name in moved:  # approximate, within the sketches' stated errors
            assert not column["distinct_exact"] and not column["quantiles_exact"]
            assert column["distinct"] == pytest.approx(distinct, rel=0.03)
            assert column["p50"] == pytest.approx(quartiles[1], abs=0.02)
        else:
            assert column["distinct_exact"] and column["quantiles_exact"], name
            assert (column["distinct"], [column["p25"], column["p50"], column["p75"]]) == (
                distinct,
                quartiles,
            )


def test_a_text_column_past_the_budget_keeps_its_top_values_with_their_error():
    rng = np.random.default_rng(8)
    common = [f"common-{i}" for i in rng.integers(0, 5, 20_000)]
    rare = [f"rare-{i}" for i in range(20_000)]
    values = np.array(common + rare, dtype=object)
    rng.shuffle(values)
    table = pa.table({"code": pa.array(values, pa.string()), "n": np.arange(40_000) % 7})
    profiler, held = _profiled(table, budget=100_000)
    assert max(held) <= 100_000
    code, n = profiler.profiles()
    assert not code["distinct_exact"] and not code["top_values_exact"]
    assert code["distinct"] == pytest.approx(20_005, rel=0.03)
    assert {t["value"] for t in code["top_values"][:5]} == {f"common-{i}" for i in range(5)}
    assert n["distinct_exact"] and n["quantiles_exact"] and n["distinct"] == 7


def test_parts_merged_past_the_budget_move_too_and_their_state_says_which():
    table = _wide(20_000)
    budget = 3 << 20  # each half fits; the whole does not
    halves = [table.slice(0, 10_000), table.slice(10_000)]
    parts = [_profiled(half, budget)[0] for half in halves]
    assert all(c["distinct_exact"] and c["quantiles_exact"] for p in parts for c in p.profiles())
    contract = no_contract("t")
    summarizers = []
    for part in parts:  # through the state a validate step leaves, as the split path does
        summarizer = Summarizer(table.schema, contract)
        summarizer.profiler = part
        summarizers.append(summarizer_from_tables(*summarizer_tables(summarizer), contract))
    merged = summarizers[0]
    merged.profiler.exact_budget = budget
    merged.merge(summarizers[1])
    assert merged.profiler.exact_bytes() <= budget
    columns = merged.profiler.profiles()
    assert any(not c["distinct_exact"] for c in columns)
    for column in columns:
        if column["distinct_exact"]:
            assert column["distinct"] == len(np.unique(table.column(column["name"])))


def test_csvflow_profile_of_a_wide_file_says_which_columns_stayed_exact(tmp_path, monkeypatch):
    monkeypatch.setattr(profile, "EXACT_STATE_BUDGET", 1 << 20)
    path = tmp_path / "wide.csv"
    pacsv.write_csv(_wide(30_000), path)
    result = profile_file(Path(path))
    assert result["status"] == "SUCCEEDED"
    exact = {c["name"] for c in result["columns"] if c["distinct_exact"] and c["quantiles_exact"]}
    assert {f"few_{i}" for i in range(10)} <= exact
    assert len(exact) <= 12
    json.dumps(result)  # the summary as `csvflow summary --json` prints it
