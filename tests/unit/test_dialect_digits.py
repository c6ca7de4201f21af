"""Digits beyond ASCII in a header: str.isdigit() says yes to "¹⁹⁹⁰" and "²", int() says no."""

from __future__ import annotations

from csvflow.domain.dialect import detect_dialect

BODY = "".join(f"x{i},{i * 3},{i * 7}\n" for i in range(10))


def test_a_header_of_superscript_digits_is_names_not_years():
    dialect = detect_dialect(("name,¹⁹⁹⁰,¹⁹⁹¹\n" + BODY).encode(), file="f.csv")

    assert dialect.header == ("name", "¹⁹⁹⁰", "¹⁹⁹¹")
    assert dialect.data_line == 2


def test_a_header_of_superscript_digits_after_an_unnamed_column_is_names():
    data = (",¹,²\n" + "".join(f"{i},{i}.5,{i}.25\n" for i in range(10))).encode()

    dialect = detect_dialect(data, file="f.csv")

    assert dialect.header[1:] == ("¹", "²")
    assert dialect.data_line == 2


def test_years_in_ascii_digits_still_name_their_columns():
    dialect = detect_dialect(("name,1990,1991\n" + BODY).encode(), file="f.csv")

    assert dialect.header == ("name", "1990", "1991")
