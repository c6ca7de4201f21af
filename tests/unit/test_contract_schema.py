"""Every mistake in a contract is an InvalidContract naming the file, the field's path, the
value and what was expected; never another exception, in parsing or later in validation."""

import datetime as dt

import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csvflow.domain.contract import parse_contract
from csvflow.domain.model import ColumnType
from csvflow.domain.types import parse_bound
from csvflow.exceptions import InvalidContract

SOURCE = "s3://bucket/contracts/sales.yaml"
MISSING = object()  # a required key left out, as opposed to a null value


def _columns(*columns: str) -> str:
    return "columns:\n" + "".join(f"  - {c}\n" for c in columns)


BAD_CONTRACTS = [
    # (contract, path, value, words of the expectation)
    (
        _columns("{name: a}", "{name: b}", "{name: c, type: decimal, scale: two}"),
        "columns[2].scale",
        "two",
        "whole number",
    ),
    (_columns("{name: a, type: int, min: abc}"), "columns[0].min", "abc", "column's type, int"),
    (_columns("{name: a, type: int, max: 1.5}"), "columns[0].max", 1.5, "column's type, int"),
    (
        _columns("{name: a, type: int, min: 99999999999999999999}"),
        "columns[0].min",
        99999999999999999999,
        "column's type, int",
    ),
    (
        _columns("{name: a, type: date, min: '2024-13-01'}"),
        "columns[0].min",
        "2024-13-01",
        "column's type, date",
    ),
    (
        _columns("{name: a, type: timestamp, max: soon}"),
        "columns[0].max",
        "soon",
        "column's type, timestamp",
    ),
    (
        _columns("{name: a, type: decimal, scale: 2, min: 1.234}"),
        "columns[0].min",
        1.234,
        "column's type, decimal",
    ),
    (_columns("{name: a, type: float, min: true}"), "columns[0].min", True, "column's type, float"),
    (_columns("{name: a, type: bool, max: 'yes'}"), "columns[0].max", "yes", "column's type, bool"),
    (
        _columns("{name: a, type: int, allowed: [1, 2, three]}"),
        "columns[0].allowed[2]",
        "three",
        "column's type, int",
    ),
    (_columns("{name: a, allowed: north}"), "columns[0].allowed", "north", "must be a list"),
    (_columns("{name: a, required: 'no'}"), "columns[0].required", "no", "true or false"),
    (_columns("{name: a, unique: 1}"), "columns[0].unique", 1, "true or false"),
    (
        _columns("{name: a, type: integer}"),
        "columns[0].type",
        "integer",
        "type must be one of int, float",
    ),
    (
        _columns("{name: a, colour: red}"),
        "columns[0].colour",
        "colour",
        "unknown key(s) colour: the keys of a column are name, type",
    ),
    (_columns("{type: int}"), "columns[0].name", MISSING, "name is required"),
    (_columns("{name: a}", "{name: a}"), "columns[1].name", "a", "declared twice"),
    (_columns("{name: a, pattern: '('}"), "columns[0].pattern", "(", "pattern does not compile"),
    (
        _columns("{name: a, pattern: '(?=x)'}"),
        "columns[0].pattern",
        "(?=x)",
        "pattern does not compile",
    ),
    (
        _columns("{name: a, type: decimal, scale: 40}"),
        "columns[0].scale",
        40,
        "0 <= scale < precision <= 38",
    ),
    (
        _columns("{name: a, type: decimal, precision: 39}"),
        "columns[0].precision",
        39,
        "0 <= scale < precision <= 38",
    ),
    (
        _columns("{name: a, decimal_separator: ';'}"),
        "columns[0].decimal_separator",
        ";",
        'decimal_separator must be "." or ","',
    ),
    (_columns("{name: a, format: 12}"), "columns[0].format", 12, "must be text"),
    ("columns: {name: a}", "columns", {"name": "a"}, "must be a list"),
    ("columns: [a]", "columns[0]", "a", "must be a mapping"),
    ("1: x", "the top level", 1, "keys must be text"),
    (_columns("{name: a, null: x}"), "columns[0]", None, "keys must be text"),
    (
        "colums: []",
        "colums",
        "colums",
        "unknown key(s) colums: the keys of the contract are dataset, columns",
    ),
    (
        "max_rejected_share: 2",
        "max_rejected_share",
        2,
        "max_rejected_share must be a number from 0 to 1",
    ),
    (
        "max_rejected_share: '0.1'",
        "max_rejected_share",
        "0.1",
        "max_rejected_share must be a number from 0 to 1",
    ),
    ("null_values: ['', 3]", "null_values[1]", 3, "null_values must be a list of strings"),
    ("delimiter: '/'", "delimiter", "/", "delimiter must be one of , ; | tab space # :"),
    ("quote: '«'", "quote", "«", "quote must be one of"),
    ("escape: slash", "escape", "slash", "escape must be double"),
    ("header: maybe", "header", "maybe", "header must be one of auto, required, absent"),
    ("names: fix", "names", "fix", "names must be one of repair, exact"),
    ("short_rows: pad", "short_rows", "pad", "short_rows must be one of auto, reject"),
    ("skip_lines: -1", "skip_lines", -1, "skip_lines must be a whole number of lines"),
    ("thousands_separator: '_'", "thousands_separator", "_", "thousands_separator must be one of"),
    ("quote: '|'\ndelimiter: '|'", "quote", "|", "quote must not be the delimiter"),
    (
        "decimal_separator: ','\nthousands_separator: ','",
        "thousands_separator",
        ",",
        "are both ','",
    ),
    (
        "aggregates: [{name: x, group_by: [a], metrics: [{column: b, op: median}]}]",
        "aggregates[0].metrics[0].op",
        "median",
        "op must be one of sum, count",
    ),
    (
        "aggregates: [{name: x, group_by: [a], metrics: [{column: b, op: sum, as: t}]}]",
        "aggregates[0].metrics[0].as",
        "as",
        "unknown key(s) as: the keys of a metric are column, op",
    ),
    (
        "aggregates: [{name: 'x y', group_by: [a], metrics: []}]",
        "aggregates[0].name",
        "x y",
        "letters, digits",
    ),
    (
        "aggregates: [{name: x, metrics: []}]",
        "aggregates[0].group_by",
        MISSING,
        "group_by is required",
    ),
]


@pytest.mark.parametrize(("text", "path", "value", "expected"), BAD_CONTRACTS)
def test_each_mistake_names_the_file_the_path_the_value_and_the_expectation(
    text, path, value, expected
):
    with pytest.raises(InvalidContract) as caught:
        parse_contract(text, source=SOURCE, dataset="sales")
    error = caught.value
    shown = "missing" if value is MISSING else f", not {value!r}"
    value = None if value is MISSING else value
    assert (error.file, error.path, error.value) == (SOURCE, path, value)
    assert expected in error.expected
    assert str(error).startswith(f"{SOURCE}: {path}: ")
    assert str(error).endswith(shown)


def test_a_null_is_named_as_the_value_it_is_not_as_a_missing_key():
    with pytest.raises(InvalidContract) as caught:
        parse_contract(
            _columns("{name: a, type: decimal, scale: null}"), source=SOURCE, dataset="s"
        )
    assert (
        str(caught.value) == f"{SOURCE}: columns[0].scale: scale must be a whole number, not None"
    )


def test_a_date_yaml_itself_cannot_read_is_an_invalid_contract():
    with pytest.raises(InvalidContract, match="not valid YAML or JSON: month must be in 1..12"):
        parse_contract(
            _columns("{name: a, type: date, min: 2024-13-01}"), source=SOURCE, dataset="s"
        )


def test_a_bound_of_the_column_s_type_parses_and_validation_can_read_it():
    contract = parse_contract(
        _columns(
            "{name: n, type: int, min: 0, max: 10.0, allowed: [1, '2']}",
            "{name: d, type: date, min: 2024-01-01, max: '2024-12-31'}",
            "{name: t, type: timestamp, min: '2024-01-01T00:00:00Z'}",
            "{name: p, type: decimal, scale: 2, min: '0.05', max: 99.99}",
            "{name: f, type: float, min: -1.5, max: 1e3}",
            "{name: s, min: 10, max: z}",
            "{name: b, type: bool, required: yes, min: false}",
        ),
        source=SOURCE,
        dataset="sales",
    )
    for spec in contract.columns:
        for bound in (spec.min, spec.max):
            assert isinstance(parse_bound(bound, spec), pa.Scalar | type(None))
    assert contract.column("d").min == dt.date(2024, 1, 1)  # YAML's own date, kept
    assert contract.column("b").required is True
    assert contract.column("n").type is ColumnType.INT


def test_names_yaml_reads_as_numbers_stay_names():
    contract = parse_contract(
        "dataset: 2024\ncolumns: [{name: 2020}]\n"
        "aggregates: [{name: by_year, group_by: 2020, metrics: [{column: 2020, op: count}]}]",
        source=SOURCE,
        dataset="sales",
    )
    assert (contract.dataset, contract.columns[0].name) == ("2024", "2020")
    assert contract.aggregates[0].group_by == ("2020",)


KEYS = st.sampled_from(
    [
        "dataset",
        "columns",
        "aggregates",
        "delimiter",
        "encoding",
        "max_rejected_share",
        "null_values",
        "decimal_separator",
        "thousands_separator",
        "name",
        "type",
        "required",
        "unique",
        "allowed",
        "min",
        "max",
        "pattern",
        "format",
        "scale",
        "precision",
        "group_by",
        "metrics",
        "column",
        "op",
        "int",
        "decimal",
        "date",
        "sum",
        "a",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | KEYS
    | st.sampled_from([".", ",", "", "tab", "2024-01-01", "1.5", "(", "[a-z]+", "no"])
    | st.dates()
)
YAML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS | st.text(max_size=5), YAML_VALUES, max_size=8))
def test_any_yaml_mapping_parses_or_is_an_invalid_contract(mapping):
    text = yaml.safe_dump(mapping, allow_unicode=True)
    try:
        contract = parse_contract(text, source=SOURCE, dataset="sales")
    except InvalidContract as e:
        assert str(e).startswith(f"{SOURCE}: ")
        return
    for spec in contract.columns:  # what parses, validation can read
        for bound in (spec.min, spec.max):
            parse_bound(bound, spec)
