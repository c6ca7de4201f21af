"""csvflow on the held-out dialect set: files its detection was not developed against (issue 13).

tests/data/dialects-heldout holds 80 annotated files from sources the main corpus did not use
(scikit-learn, vega_datasets, pyexcel-io, R datasets through pydataset, the data R's data.table,
readr, vroom and sf ship, Debian's base-passwd and tzdata; hand-made exports of named real tools
only for the kinds no permissive source had). They were
annotated before any tool read them. Each file goes through `csvflow profile FILE --json` and is
judged by bench/dialect_corpus.py, as the main corpus is; `python bench/dialects.py --corpus
tests/data/dialects-heldout` prints the same figures beside DuckDB, pandas and clevercsv.

Issue 13's goal (at least 95 % right, at most 1 % misread) was NOT met held-out when this set was
first measured: csvflow read 74 of the 80 files right (92.5 %), misread 3 (3.8 %) and refused 3.
Comment lines, front matter and key-value preambles, separator lines in footers, and rows that
stop early (tzdata's zone.tab: an optional fourth column) brought it to 78 right (97.5 %), 1
misread (1.2 %: a one-line file of three words, read as a header, annotated as data) and 1
refused (a second table below the first, rejected row by row: cutting it as a footer made more
blind files misread than right, docs/adr/0013). The tests hold csvflow to what it measured (no fewer right, no more misread),
which fails a regression; raise the figures when detection improves, up to the goal.
"""

from __future__ import annotations

import sys

import pytest

from tests.support.dialect_corpus import (
    ROOT,
    assert_misread_at_most,
    assert_none_crashed,
    assert_right_at_least,
    corpus,
    judged_by_csvflow,
)

HELDOUT = ROOT / "tests" / "data" / "dialects-heldout"
RIGHT_MEASURED = 78  # of 80
MISREAD_MEASURED = 1

FILES = corpus.load_expected(HELDOUT)


@pytest.fixture(scope="module")
def csvflow_verdicts():
    return judged_by_csvflow(FILES, "held-out dialect set")


def test_the_held_out_set_is_large_enough_to_measure():
    assert len(FILES) >= 80


@pytest.mark.parametrize("expected", FILES, ids=lambda e: e.name)
def test_the_held_out_annotation_is_what_the_file_holds(expected):
    """The reading each annotation states is what its dialect gives from the file's bytes."""
    assert corpus.annotation_mismatch(expected) == ""


@pytest.mark.parametrize("expected", FILES, ids=lambda e: e.name)
def test_a_held_out_file_is_small(expected):
    assert expected.path.stat().st_size < 20_000


def test_no_held_out_file_crashes_csvflow(csvflow_verdicts):
    assert_none_crashed(csvflow_verdicts)


def test_csvflow_reads_no_fewer_held_out_files_right_than_measured(csvflow_verdicts):
    assert_right_at_least(csvflow_verdicts, RIGHT_MEASURED)


def test_csvflow_misreads_no_more_held_out_files_than_measured(csvflow_verdicts):
    assert_misread_at_most(csvflow_verdicts, MISREAD_MEASURED)


def test_the_bench_runs_on_the_held_out_folder(csvflow_verdicts):
    """`bench/dialects.py --corpus` judges the folder it is given, with the same verdicts."""
    import json
    import subprocess

    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dialects.py"), "--json", "--tools", "csvflow"]
        + ["--corpus", str(HELDOUT)],
        capture_output=True,
        text=True,
        check=True,
    )
    verdicts = json.loads(run.stdout)["csvflow"]["verdicts"]
    assert {name: v["outcome"] for name, v in verdicts.items()} == {
        name: v.outcome.value for name, v in csvflow_verdicts.items()
    }
