"""Decimals through JSON: written as the exact number, read back as a Decimal."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from csvflow.domain import exact_json


def test_a_decimal_is_written_as_its_exact_number():
    text = exact_json.dumps({"sum": Decimal("0.10") + Decimal("0.20"), "n": 3, "s": "x"})
    assert text == '{"sum": 0.30, "n": 3, "s": "x"}'
    assert json.loads(text)["sum"] == 0.3  # still a JSON number to any reader


def test_twenty_digits_survive_the_round_trip():
    value = Decimal("12345678901234567890.12")
    assert exact_json.loads(exact_json.dumps([value])) == [value]
    assert exact_json.dumps(Decimal("1E+3")) == "1000"


def test_other_values_go_to_the_fallback():
    assert exact_json.dumps({"at": dt.date(2026, 1, 2)}, default=str) == '{"at": "2026-01-02"}'


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2))
def test_any_finite_decimal_round_trips(value):
    (read,) = exact_json.loads(exact_json.dumps([value]))
    assert read == value


def test_floats_json_cannot_hold_are_written_as_strings_json_parsers_accept():
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    text = exact_json.dumps({"mean": math.inf, "quantiles": [-math.inf, 0.5, math.nan], "n": (1,)})

    assert json.loads(text, parse_constant=refuse) == {
        "mean": "inf",
        "quantiles": ["-inf", 0.5, "nan"],
        "n": [1],
    }
