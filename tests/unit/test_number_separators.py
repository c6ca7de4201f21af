"""Numbers written the European way ("1.234,56") read when the contract says so, and only then."""

from __future__ import annotations

import pyarrow as pa
import pytest

from csvflow.domain.contract import parse_contract
from csvflow.domain.model import ColumnSpec, ColumnType
from csvflow.domain.types import convert
from csvflow.exceptions import InvalidContract
from csvflow.local.profile import profile_file

NULLS = pa.array(["", "NA"])
VALUES = ["1.234,56", "12,5", "-3", "1.234.567", "", "NA", "1.5", "12.34,5", "1,2,3"]


def _read(column_type: ColumnType, decimal=",", thousands="."):
    spec = ColumnSpec("x", column_type, decimal_separator=decimal, thousands_separator=thousands)
    return convert(pa.array(VALUES), spec, NULLS)


def test_decimal_comma_and_dot_thousands_read_as_numbers():
    read = _read(ColumnType.FLOAT)
    assert read.values.to_pylist()[:4] == [1234.56, 12.5, -3.0, 1234567.0]
    assert read.is_null.to_pylist()[4:6] == [True, True]


def test_separators_that_do_not_fit_are_refused_not_misread():
    # "1.5" is not 15 when "." groups thousands; "12.34,5" has a broken group; "1,2,3" two
    # decimal points.
    read = _read(ColumnType.FLOAT)
    assert read.invalid.to_pylist() == [False] * 6 + [True] * 3
    assert read.values.to_pylist()[6:] == [None] * 3


def test_integers_take_thousands_separators_but_no_decimal_part():
    read = _read(ColumnType.INT)
    assert read.values.to_pylist()[2:4] == [-3, 1234567]
    assert read.invalid.to_pylist()[:2] == [True, True]


def test_without_separators_declared_a_decimal_comma_is_not_a_number():
    plain = convert(pa.array(["12,5"]), ColumnSpec("x", ColumnType.FLOAT), NULLS)
    assert plain.invalid.to_pylist() == [True]


def test_the_contract_sets_them_for_every_column_and_a_column_may_differ():
    contract = parse_contract(
        "decimal_separator: ','\nthousands_separator: '.'\n"
        "columns:\n  - {name: amount, type: decimal, scale: 2}\n"
        "  - {name: rate, type: float, decimal_separator: '.', thousands_separator: ','}\n",
        source="c.yaml",
        dataset="d",
    )
    amount, rate = contract.columns
    assert (amount.decimal_separator, amount.thousands_separator) == (",", ".")
    assert (rate.decimal_separator, rate.thousands_separator) == (".", ",")
    assert (contract.decimal_separator, contract.thousands_separator) == (",", ".")


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("decimal_separator: ';'", "decimal_separator must be"),
        ("thousands_separator: '_'", "thousands_separator must be one of"),
        ("decimal_separator: ','\nthousands_separator: ','", "are both ','"),
    ],
)
def test_separators_a_contract_cannot_use_are_named(yaml, message):
    with pytest.raises(InvalidContract, match=message):
        parse_contract(yaml, source="c.yaml", dataset="d")


def test_a_european_export_profiles_with_exact_sums(tmp_path):
    export = tmp_path / "umsatz.csv"
    export.write_text("filiale;umsatz;menge\nBerlin;1.234,50;1.200\nMünchen;99,25;3\n")
    contract = tmp_path / "umsatz.yaml"
    contract.write_text(
        "delimiter: ';'\ndecimal_separator: ','\nthousands_separator: '.'\n"
        "columns:\n  - {name: umsatz, type: decimal, scale: 2}\n"
    )

    result = profile_file(export, contract_path=contract)

    assert (result["status"], result["rejected_rows"]) == ("SUCCEEDED", 0)
    columns = {c["name"]: c for c in result["columns"]}
    assert columns["umsatz"]["type"] == "decimal"
    assert columns["menge"]["type"] == "int"  # inferred with the contract's separators
    assert (columns["menge"]["min"], columns["menge"]["max"]) == (3, 1200)
    assert str(columns["umsatz"]["max"]) == "1234.50"
