"""Hostile and broken files (tests/data/hostile/): each a clear error, or rows kept and rejected
with a reason; never a silent misreading."""

from pathlib import Path

import pytest

from csvflow.config import Settings
from csvflow.domain.dialect import HEAD_BYTES, detect_dialect
from csvflow.exceptions import InvalidCsv
from tests.support.csv_helpers import contract, report_rows, validate_bytes

CORPUS = Path(__file__).parents[1] / "data" / "hostile"


def _read(name):
    return (CORPUS / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("gzip.csv", "gzip.csv: this is gzip-compressed data, not CSV text"),
        ("zip.csv", "this is a ZIP archive (or an .xlsx/.docx workbook), not CSV text"),
        ("workbook.csv", "this is a ZIP archive (or an .xlsx/.docx workbook), not CSV text"),
        ("json.csv", "this looks like JSON, not CSV text"),
        ("nul-bytes.csv", "binary data: a NUL byte at offset 6"),
        (
            "mixed-encodings.csv",
            "mixed encodings: UTF-8 text (at byte offset 7) and a byte that is not UTF-8 (0xEF at byte offset 14)",
        ),
        (
            "unclosed-quote.csv",
            "unclosed-quote.csv, line 2: a quoted field is opened and never closed",
        ),
        (
            "look-alike-header.csv",
            "line 1, column 2: the column name 'nаme' mixes Cyrillic and Latin letters",
        ),
        (
            "nfkc-header.csv",
            "line 1, column 2: the column name 'a' is column 1's name in another Unicode form",
        ),
    ],
)
def test_a_file_that_is_not_a_readable_csv_is_refused_with_what_is_wrong(name, message):
    with pytest.raises(InvalidCsv) as error:
        validate_bytes(_read(name), file=name)
    assert message in str(error.value)


def test_a_byte_order_mark_inside_the_data_rejects_that_row():
    result = validate_bytes(_read("bom-in-the-middle.csv"))
    assert (result.table.num_rows, result.outcome.rejected_rows) == (1, 1)
    (row,) = report_rows(result.report_csv)
    assert (row["line"], row["column"]) == ("3", "a")
    assert "byte order mark" in row["reason"]


def test_carriage_return_line_ends_are_lines():
    result = validate_bytes(_read("cr-line-ends.csv"))
    assert result.table.to_pydict() == {"a": [1, 3], "b": [2, 4]}


def test_hostile_and_very_long_column_names_are_kept_verbatim():
    result = validate_bytes(_read("hostile-header.csv"))
    assert result.table.column_names == [
        "a; DROP TABLE csvflow.ingestions;--",
        "$(rm -rf /)",
        "`id`",
        "'q'",
    ]
    long_names = validate_bytes(_read("long-names.csv")).table.column_names
    assert [len(n) for n in long_names] == [1000, 1000, 1000]


def test_thousands_separators_and_decimal_commas_are_rejected_not_misread():
    declared = contract(
        "delimiter: ';'\nmax_rejected_share: 1\ncolumns:\n"
        "  - {name: amount, type: int}\n  - {name: price, type: float}\n"
    )
    result = validate_bytes(_read("thousands-and-decimal-commas.csv"), declared)
    assert result.table.num_rows == 0
    reasons = {(r["line"], r["column"], r["reason"]) for r in report_rows(result.report_csv)}
    assert ("2", "amount", "not a valid int") in reasons
    assert ("2", "price", "not a valid float") in reasons
    assert ("3", "price", "not a valid float") in reasons


def test_dates_outside_iso_8601_are_rejected_with_their_line():
    declared = contract("max_rejected_share: 1\ncolumns:\n  - {name: when, type: date}\n")
    result = validate_bytes(_read("dates-in-several-formats.csv"), declared)
    assert [str(d) for d in result.table.column("when").to_pylist()] == ["2024-01-02"]
    assert [(r["line"], r["value"]) for r in report_rows(result.report_csv)] == [
        ("3", "02/01/2024"),
        ("4", "Jan 2 2024"),
    ]


def test_formulas_are_neutralised_in_the_reject_report():
    declared = contract(
        "max_rejected_share: 1\ncolumns:\n  - {name: id, type: int}\n"
        "  - {name: link, type: string, pattern: '^https?://'}\n"
    )
    result = validate_bytes(_read("formula-injection.csv"), declared)
    values = [r["value"] for r in report_rows(result.report_csv)]
    assert values == ['\'=HYPERLINK("http://evil","x")', "'+cmd"]


def test_a_50_megabyte_line_is_refused_with_the_limit_it_broke():
    data = b"a,b\n" + b"x" * 50_000_000 + b",1\n"
    with pytest.raises(
        InvalidCsv,
        match=r"line after line 1 is longer than 4,194,304 bytes.*CSVFLOW_MAX_LINE_BYTES",
    ):
        validate_bytes(data, file="long-line.csv", block_size=Settings().max_line_bytes)


def test_100000_columns_are_refused_before_any_row_is_read():
    header = ",".join(f"c{i}" for i in range(100_000)).encode() + b"\n"
    with pytest.raises(
        InvalidCsv, match=r"line 1: the header has 100,000 columns, more than the limit of 2,000"
    ):
        detect_dialect(
            header[:HEAD_BYTES] + b"1\n", file="wide.csv", max_columns=Settings().max_columns
        )


def test_limits_come_from_the_environment():
    settings = Settings.from_environ(
        {"CSVFLOW_MAX_COLUMNS": "50", "CSVFLOW_MAX_LINE_BYTES": "1048576"}
    )
    assert (settings.max_columns, settings.max_line_bytes) == (50, 1 << 20)
    from csvflow.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="CSVFLOW_MAX_FILE_BYTES must be a whole number"):
        Settings.from_environ({"CSVFLOW_MAX_FILE_BYTES": "10GB"})
