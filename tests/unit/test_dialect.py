import codecs
import dataclasses
import gzip
import io
import json
import zipfile

import pytest

from csvflow.domain.dialect import _NEUTRAL, Dialect, detect_dialect
from csvflow.domain.model import ReadingRules
from csvflow.exceptions import ConfigurationError, InvalidCsv, PlanFromNewerRelease


def detect(data: bytes, **kwargs):
    return detect_dialect(data, file="incoming/x/upload.csv", **kwargs)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\r\n  \n", "the file is empty"),
        # mtime fixed: the bytes name the test, and every xdist worker must collect the same names
        (gzip.compress(b"a,b\n1,2\n", mtime=0), "gzip-compressed data, not CSV"),
        (b"PK\x03\x04rest-of-a-zip", "ZIP archive"),
        (b"PAR1....", "Parquet"),
        (b'{"a": 1}\n', "looks like JSON"),
        (b'[{"a": 1}]', "looks like JSON"),
        (b"a,b\n1,\x002\n", "NUL byte at offset 6"),
    ],
)
def test_files_that_are_not_csv_are_refused_by_name(data, message):
    with pytest.raises(InvalidCsv) as caught:
        detect(data)
    assert message in str(caught.value)
    assert str(caught.value).startswith("incoming/x/upload.csv")


def test_an_xlsx_workbook_is_named_as_such():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InvalidCsv, match=r"\.xlsx"):
        detect(buffer.getvalue())


EXACT_NAMES = ReadingRules(names="exact")


def test_blank_column_name_names_line_and_column_when_names_must_be_exact():
    with pytest.raises(InvalidCsv) as caught:
        detect(b"id,,amount\n1,2,3\n", rules=EXACT_NAMES)
    assert (caught.value.line, caught.value.column) == (1, 2)
    assert str(caught.value) == "incoming/x/upload.csv, line 1, column 2: the column name is blank"


def test_duplicate_column_name_names_both_columns_when_names_must_be_exact():
    with pytest.raises(InvalidCsv) as caught:
        detect(b"id,amount,id\n1,2,3\n", rules=EXACT_NAMES)
    assert caught.value.column == 3
    assert "'id' repeats column 1" in str(caught.value)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(delimiter):
    rows = [["id", "name", "note"], ["1", "a", "x,y;z|w"], ["2", "b", "c"]]
    text = "\n".join(
        delimiter.join(f'"{v}"' if any(d in v for d in ",;|\t") else v for v in row) for row in rows
    )
    dialect = detect(text.encode())
    assert dialect.delimiter == delimiter
    assert dialect.header == ("id", "name", "note")


def test_declared_delimiter_wins_over_sniffing():
    assert detect(b"a;b,c\n1;2,3\n", delimiter=",").delimiter == ","


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (codecs.BOM_UTF8 + "név,ár\nö,1\n".encode(), "utf-8"),
        ("név,ár\nö,1\n".encode(), "utf-8"),
        ("név,ár\nö,1\n".encode("utf-16"), "utf-16-le"),
        ("név,ár,€\nö,1,2\n".encode("cp1252"), "cp1252"),
    ],
)
def test_encoding_is_detected(data, encoding):
    dialect = detect(data)
    assert dialect.encoding == encoding
    assert dialect.header[0] == "név"


def test_header_only_file_is_a_valid_dialect():
    assert detect(b"a,b,c\n").header == ("a", "b", "c")


def test_quoted_notes_of_equal_word_counts_are_not_read_as_space_separated():
    # Split on spaces, each row of ``1,"thirteen words ...",2.5`` has thirteen fields as
    # uniform as the comma's four; the quotes it leaves inside its tokens say it is wrong.
    note = " ".join(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"] * 2 + ["eta"])
    text = '"id","email","note","score"\n' + "".join(
        f'{i},"user{i}@example.com","{note}",{i * 0.5}\n' for i in range(200)
    )

    dialect = detect_dialect(text.encode(), file="notes.csv")

    assert dialect.delimiter == ","
    assert dialect.header == ("id", "email", "note", "score")


def test_the_exact_dict_gives_back_the_same_dialect_through_json():
    # A split file's plan hands its parts the dialect detected once, as JSON.
    import json

    data = (
        b"Sales export\nGenerated 2026-11-29\n\n"
        + b"id;;name\r\n"
        + b"".join(b'%d;"x ""%d""";n\xc3\xa9 %d\r\n' % (i, i, i) for i in range(60))
        + b"\r\nTotal;60;\r\n"
    )
    dialect = detect_dialect(data, file="f.csv", tail=data[-200:], size=len(data))
    assert dialect.skipped and dialect.renamed  # the fields a shortened copy loses
    stored = json.loads(json.dumps(dialect.to_exact_dict()))
    assert type(dialect).from_exact_dict(stored) == dialect


def _dialect_with_skipped_lines():
    data = b"Sales export\nGenerated 2026-11-29\n\nid,name\n" + b"".join(
        b"%d,name %d\n" % (i, i) for i in range(60)
    )
    dialect = detect_dialect(data, file="f.csv")
    assert dialect.skipped
    return dialect


def test_a_stored_dialect_from_a_newer_release_is_read_when_its_new_fields_are_neutral():
    dialect = _dialect_with_skipped_lines()
    stored = json.loads(json.dumps(dialect.to_exact_dict()))
    newer = stored | {"comment_prefix": "", "max_nesting": None, "trim": False, "extra": []}
    newer["skipped"] = [s | {"reason": None, "bytes": 0} for s in stored["skipped"]]
    assert Dialect.from_exact_dict(newer) == dialect


@pytest.mark.parametrize("value", ["#", True, 2, ["x"]])
def test_a_stored_dialect_from_a_newer_release_that_sets_a_new_field_is_refused_by_name(value):
    dialect = _dialect_with_skipped_lines()
    newer = dialect.to_exact_dict() | {"comment_prefix": value}
    with pytest.raises(PlanFromNewerRelease, match="comment_prefix") as raised:
        Dialect.from_exact_dict(newer)
    # Not the file's failure (PermanentError) nor an outage (TransientError): the deployment's.
    assert isinstance(raised.value, ConfigurationError)
    nested = dialect.to_exact_dict()
    nested["skipped"][0]["reason"] = "a title"
    with pytest.raises(PlanFromNewerRelease, match="SkippedLines: reason='a title'"):
        Dialect.from_exact_dict(nested)


# Fields every reading has, whose defaults are facts of the commonest file, not options off.
_FACTS = {
    "encoding",
    "delimiter",
    "header",
    "quote",
    "line_ending",
    "has_header",
    "header_line",
    "data_line",
}


def test_every_optional_dialect_field_defaults_to_a_value_an_older_release_may_ignore():
    # from_exact_dict ignores a field it does not know only at a neutral value: a field added
    # later must read files as before at such a default, or a rollback would misread plans.
    for field in dataclasses.fields(Dialect):
        if field.name in _FACTS:
            continue
        assert field.default is not dataclasses.MISSING, field.name
        assert field.default in (*_NEUTRAL, ()), field.name
