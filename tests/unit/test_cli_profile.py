"""`csvflow profile` on a local file: the summary, or the error that names file and line."""

import json

from csvflow.cli import main


def test_a_broken_file_is_reported_with_its_error_and_a_failing_exit_code(tmp_path, capsys):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b'a,b\n1,"never closed\n2,y\n')

    code = main(["profile", str(broken)])

    captured = capsys.readouterr()
    assert code == 1
    assert (
        f"InvalidCsv: {broken}, line 2: a quoted field is opened and never closed" in captured.err
    )
    assert "0 rows" not in captured.out  # no empty table passed off as a result


def test_a_good_file_prints_its_columns(tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_bytes(b"id,amount\n1,2.5\n2,3.5\n")

    assert main(["profile", str(good)]) == 0

    out = capsys.readouterr().out
    assert f"{good}: 2 rows, 0 rejected" in out
    assert "amount" in out and "float" in out


def test_rejects_writes_the_report_of_the_rejected_rows(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CSVFLOW_MAX_REJECTED_ROWS", "0")  # no grace for a few ragged rows
    ragged = tmp_path / "ragged.csv"
    ragged.write_bytes(b"id,amount\n1,2.5\n2\n3,4.5\n")
    report = tmp_path / "rejects.csv"

    code = main(["profile", str(ragged), "--rejects", str(report)])

    assert code == 1  # without a contract and with no grace, a rejected row fails the file
    assert f"rejects:    {report}" in capsys.readouterr().err
    header, *rows = report.read_text().splitlines()
    assert header == "line,column,value,reason"
    assert [row.split(",")[0] for row in rows] == ["3"]


def test_rejects_leaves_no_file_when_nothing_was_rejected(tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_bytes(b"id,amount\n1,2.5\n")
    report = tmp_path / "rejects.csv"

    assert main(["profile", str(good), "--rejects", str(report)]) == 0
    assert not report.exists()
    assert "rejects:" not in capsys.readouterr().out


def test_profile_shows_the_dialect_and_the_assumptions_in_text_and_json(tmp_path, capsys):
    export = tmp_path / "export.csv"
    export.write_bytes(b"Report\n,amount,amount\n0,1,2\n1,3,4\n")

    assert main(["profile", str(export)]) == 0
    out = capsys.readouterr().out
    assert (
        "  read as:    utf-8, delimiter ',', quote '\"', LF, header line 2, data from line 3" in out
    )
    assert "  assumed:    column 3's name is a repeat of column 2's: named amount_2" in out

    assert main(["profile", str(export), "--json"]) == 0
    dialect = json.loads(capsys.readouterr().out)["dialect"]
    assert dialect["renamed"][0] == {"position": 1, "name_in_file": "", "name": "column_1"}
    assert dialect["skipped"][0]["text"] == ["Report"]
