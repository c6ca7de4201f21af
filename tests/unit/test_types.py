"""Converting CSV text: the whole-column cast (the fast path) must agree with the checked path
value for value, so a clean column and a messy one are read by the same rules."""

import math

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csvflow.domain import types
from csvflow.domain.model import ColumnSpec, ColumnType
from csvflow.domain.types import _cast_clean, _convert_checked, arrow_type, contains_byte, convert

NULLS = pa.array(["", "NA", "null"], pa.string())
FAST_TYPES = [ColumnType.INT, ColumnType.FLOAT, ColumnType.DATE, ColumnType.TIMESTAMP]

# Text made of the pieces numbers and dates are written with, and of their look-alikes.
_PIECES = st.sampled_from(
    [
        "0",
        "1",
        "7",
        "9",
        "-",
        "+",
        ".",
        "e",
        "E",
        "x",
        "X",
        " ",
        "\t",
        "inf",
        "nan",
        "Infinity",
        "2024-02-29",
        "2023-02-29",
        "0000-01-01",
        "12",
        "1_0",
        ",",
        "٣",
        "１",
        "NA",
        "T00:00",
        "0x1f",
        " 10:30",
        ":59",
        ".123456",
        ".1234567",
        "Z",
        "z",
        "+01:00",
        "-0530",
        "+01",
        "2024-02-29T10",
        "2024-02-29 23:59:59",
    ]
)
_TEXT = st.lists(_PIECES, max_size=5).map("".join)


def _comparable(values):
    # NaN is read as NaN by both paths, and NaN != NaN.
    return [repr(v) if isinstance(v, float) and math.isnan(v) else v for v in values.to_pylist()]


def _both_paths(values, column_type):
    raw = pa.array(values, pa.string())
    spec = ColumnSpec("c", column_type)
    is_null = pc.is_in(raw, value_set=NULLS)
    fast = convert(raw, spec, NULLS)
    checked = _convert_checked(raw, is_null, spec, arrow_type(spec))
    return fast, checked


@pytest.mark.slow  # 400 examples
@settings(max_examples=400, deadline=None)
@given(values=st.lists(_TEXT, min_size=1, max_size=20), column_type=st.sampled_from(FAST_TYPES))
def test_the_whole_column_cast_reads_every_value_as_the_checked_path_does(values, column_type):
    fast, checked = _both_paths(values, column_type)

    assert _comparable(fast.values) == _comparable(checked.values), values
    assert fast.invalid.equals(checked.invalid), values


@pytest.mark.parametrize(
    ("column_type", "text"),
    [
        (ColumnType.INT, "0x10"),  # Arrow's cast alone reads this as 16
        (ColumnType.INT, "+5"),
        (ColumnType.INT, " 5"),
        (ColumnType.FLOAT, "1,5"),
        (ColumnType.DATE, "2024-02-30"),
        (ColumnType.DATE, "2024-1-1"),
    ],
)
def test_a_column_with_one_doubtful_value_takes_the_checked_path(column_type, text):
    raw = pa.array(["1" if column_type is not ColumnType.DATE else "2024-01-01", text])
    spec = ColumnSpec("c", column_type)

    assert _cast_clean(raw, pc.is_in(raw, value_set=NULLS), spec, arrow_type(spec)) is None


def test_a_clean_column_is_cast_whole_with_its_nulls_kept():
    raw = pa.array(["1", "", "-3", "NA"])
    spec = ColumnSpec("c", ColumnType.INT)

    values = _cast_clean(raw, pc.is_in(raw, value_set=NULLS), spec, arrow_type(spec))

    assert values is not None and values.to_pylist() == [1, None, -3, None]


@pytest.mark.parametrize(
    ("column_type", "text"),
    [(ColumnType.DATE, "0000-01-01"), (ColumnType.TIMESTAMP, "0000-06-01T12:00:00Z")],
)
def test_year_zero_is_not_a_date_python_can_hold_so_it_is_refused(column_type, text):
    raw = pa.array(
        ["2024-01-01" if column_type is ColumnType.DATE else "2024-01-01T00:00:00Z", text]
    )

    converted = convert(raw, ColumnSpec("c", column_type), NULLS)

    assert converted.invalid.to_pylist() == [False, True]


@pytest.mark.parametrize(
    ("values", "start", "wanted", "found"),
    [
        (["ab", "c\nd", "ef"], 0, b"\n", True),
        (["ab", "c\nd", "ef"], 2, b"\n", False),  # a slice starts after the line break
        (["12", "0x1f"], 0, b"xX", True),
        (["12", "0X1F"], 0, b"x", False),
        ([], 0, b"\n", False),
    ],
)
@pytest.mark.parametrize("c_memchr", [True, False])
def test_contains_byte_scans_only_the_values_of_the_array(
    values, start, wanted, found, c_memchr, monkeypatch
):
    if not c_memchr:  # numpy's scan, where the C library offers no memchr
        monkeypatch.setattr(types, "_memchr", None)
    for string_type in (pa.string(), pa.large_string()):
        array = pa.array(values, string_type).slice(start)

        assert contains_byte(array, wanted) is found
        # Nor past its end: the bytes of a value after the slice are not its own.
        past_end = pa.array([*values, "x\nX"], string_type).slice(start, len(array))
        assert contains_byte(past_end, wanted) is found


@pytest.mark.parametrize(
    ("column_type", "nulls", "text", "expected"),
    [
        # A null token that reads as a value of the type must still be a null.
        (ColumnType.INT, ["", "-1"], ["5", "-1", ""], [5, None, None]),
        (ColumnType.FLOAT, ["", "NaN"], ["1.5", "NaN", ""], [1.5, None, None]),
        (ColumnType.DATE, ["", "1900-01-01"], ["2024-01-02", "1900-01-01"], ["2024-01-02", None]),
        # Only "" can be null: found without hashing, the same answer.
        (ColumnType.INT, ["", "NA"], ["5", "", "7"], [5, None, 7]),
    ],
)
def test_null_tokens_are_nulls_even_where_they_read_as_values(column_type, nulls, text, expected):
    converted = convert(pa.array(text), ColumnSpec("c", column_type), pa.array(nulls, pa.string()))

    values = [v.isoformat() if hasattr(v, "isoformat") else v for v in converted.values.to_pylist()]
    assert values == expected
    assert converted.is_null.to_pylist() == [v is None for v in expected]
    assert not any(converted.invalid.to_pylist())


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.sampled_from(["", "NA", "null", "NULL", "n/a", "east", "west", "x" * 9, "1.5", "né"])
        | st.text(max_size=6),
        max_size=40,
    ),
    start=st.integers(0, 5),
    empty_is_null=st.booleans(),
)
def test_null_tokens_and_nulled_text_are_what_is_in_and_if_else_give(values, start, empty_is_null):
    # "" is found by its length, the other tokens by their length in bytes, then hashed.
    tokens = pa.array(["", "NULL", "null", "N/A", "#N/A", "né"][not empty_is_null :])
    raw = pa.array(values, pa.string()).slice(min(start, len(values)))

    is_null = types._is_null_token(raw, tokens)
    nulled = types.with_nulls(raw, is_null)

    nulls = [v in tokens.to_pylist() for v in raw.to_pylist()]
    assert is_null.to_pylist() == nulls
    nulled.validate(full=True)
    assert nulled.to_pylist() == [
        None if n else v for v, n in zip(raw.to_pylist(), nulls, strict=True)
    ]


@pytest.mark.parametrize(
    "values",
    [
        ["2024-02-29 10:30:59", "2024-02-29T10:30", "2024-02-29 10:30:59.123456"],
        ["2024-02-29 10:30:59Z", "2024-02-29T10:30+01:00", "2024-02-29 10:30:59.5-0530"],
        ["2024-02-29 10:30:59", "2024-02-29"],  # a date alone: Arrow's cast reads it
        ["2024-02-29T10"],  # an hour alone
        ["2024-02-29 10:30:59+01"],  # an offset of hours alone
        ["2024-02-29 10:30:59Z", "2024-02-29 10:30:59"],  # with and without an offset
        ["2024-02-29 10:30:59.1234567"],
        ["0000-01-01 00:00:00"],
        ["NA", "", "2024-02-29 10:30Z"],
    ],
)
def test_timestamps_cast_whole_read_as_the_checked_path_reads_them(values):
    fast, checked = _both_paths(values, ColumnType.TIMESTAMP)

    assert fast.values.to_pylist() == checked.values.to_pylist()
    assert fast.invalid.equals(checked.invalid)


def test_a_clean_timestamp_column_takes_the_whole_column_cast():
    raw = pa.array(["2024-02-29 10:30:59", "2024-03-01T00:00"], pa.string())
    spec = ColumnSpec("c", ColumnType.TIMESTAMP)
    is_null = pc.is_in(raw, value_set=NULLS)

    assert _cast_clean(raw, is_null, spec, arrow_type(spec)) is not None


_AT_SIGHT_TEXT = _TEXT | st.text(st.sampled_from("0123456789-+.:eEtTZzanifxlsy"), max_size=12)
_INFERRED = [ColumnType.INT, ColumnType.FLOAT, ColumnType.BOOL, ColumnType.DATE]


@settings(max_examples=600, deadline=None)
@given(value=_AT_SIGHT_TEXT, column_type=st.sampled_from([*_INFERRED, ColumnType.TIMESTAMP]))
def test_a_value_refused_at_sight_is_one_convert_refuses(value, column_type):
    # Inference refuses a type from a look at a column's first values in Python before any
    # Arrow call: only where convert would find that value invalid, or it would choose
    # another type than before.
    spec = ColumnSpec("c", column_type)
    if types._refused_at_sight(spec, types._values_at_sight(pa.array([value]), NULLS)):
        assert convert(pa.array([value]), spec, NULLS).invalid.to_pylist() == [True]


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_AT_SIGHT_TEXT | st.sampled_from(["1", "2.5", "2024-02-29", "yes"])))
def test_inference_chooses_the_type_it_chose_without_a_look_at_sight(values):
    raw = pa.array(values, pa.string())
    chosen = types.infer_spec("c", raw, NULLS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(types, "_VALUES_SEEN", 0)
        assert types.infer_spec("c", raw, NULLS) == chosen
