"""`csvflow run` on a failing file speaks csvflow's words only; --verbose adds the emulator's."""

from __future__ import annotations

import json

import pytest

from csvflow.cli import main

pytestmark = pytest.mark.e2e


@pytest.fixture
def broken_csv(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b'a,b\n1,"never closed\n')
    return path


def test_a_failed_run_prints_the_failure_and_none_of_the_emulators_logs(
    broken_csv, database_url, capfd
):
    code = main(["run", str(broken_csv), "--database-url", database_url])

    out, err = capfd.readouterr()
    assert code == 1
    assert "error:      InvalidCsv: incoming/broken.csv, line 2" in out
    # How it was being read when it failed, as `summary` shows it too.
    assert "  read as:    utf-8, delimiter ',', quote '\"', LF, header line 1" in out
    assert "moto" not in err and "FailureEventException" not in err
    assert "Traceback" not in out + err


def test_verbose_lets_the_emulators_logs_through(broken_csv, database_url, capfd):
    code = main(["run", str(broken_csv), "--database-url", database_url, "--verbose"])

    _, err = capfd.readouterr()
    assert code == 1
    assert "ERROR moto.stepfunctions" in err


def test_a_file_name_finds_its_key_and_a_failed_summary_shows_no_empty_table(
    broken_csv, database_url, capfd
):
    main(["run", str(broken_csv), "--database-url", database_url])
    capfd.readouterr()

    code = main(["summary", "broken.csv", "--database-url", database_url])

    out, err = capfd.readouterr()
    assert code == 0
    assert "broken.csv was ingested as incoming/broken.csv" in err
    assert out.startswith("incoming/broken.csv (")
    assert "FAILED" in out and "InvalidCsv" in out
    assert "None" not in out and "column" not in out
    # Detected before the unclosed quote failed it: how the file was read is shown too.
    assert "  read as:    utf-8, delimiter ',', quote '\"', LF, header line 1" in out


def test_an_unknown_key_hints_where_keys_come_from(database_url, capfd):
    code = main(["summary", "never-uploaded.csv", "--database-url", database_url])

    assert code == 1
    assert "`csvflow ingestions` lists them" in capfd.readouterr().err


def test_list_commands_print_json_arrays(broken_csv, database_url, capfd):
    main(["run", str(broken_csv), "--database-url", database_url, "--json"])
    (record,) = json.loads(capfd.readouterr().out)
    assert record["status"] == "FAILED"

    main(["ingestions", "--database-url", database_url, "--json"])
    rows = json.loads(capfd.readouterr().out)
    assert isinstance(rows, list) and "incoming/broken.csv" in {r["key"] for r in rows}


def test_summary_shows_how_the_file_was_read_and_what_was_assumed(tmp_path, database_url, capfd):
    export = tmp_path / "export.csv"
    export.write_bytes(b"Sales export\n\nid;amount\n1;2,5\n2;3,5\n3;4,5\n")
    assert main(["run", str(export), "--database-url", database_url]) == 0
    out, _ = capfd.readouterr()
    assert "  assumed:    lines 1-2 above the table are a preamble" in out  # run says it too

    assert main(["summary", "export.csv", "--database-url", database_url]) == 0
    out, _ = capfd.readouterr()
    assert "  read as:    utf-8, delimiter ';', quote '\"', LF, header line 3" in out
    assert "  assumed:    lines 1-2 above the table are a preamble" in out

    assert main(["summary", "export.csv", "--database-url", database_url, "--json"]) == 0
    dialect = json.loads(capfd.readouterr().out)["dialect"]
    assert (dialect["delimiter"], dialect["header_line"]) == (";", 3)


def test_run_shows_the_rows_validated_as_its_own_lines(tmp_path, database_url, capfd, monkeypatch):
    monkeypatch.setenv("CSVFLOW_PROGRESS_LOG_SECONDS", "0")  # a line after every block
    path = tmp_path / "told.csv"
    path.write_text("id,amount\n" + "".join(f"{i},{i * 0.5}\n" for i in range(1000)))

    code = main(["run", str(path), "--database-url", database_url])

    _, err = capfd.readouterr()
    assert code == 0
    told = [line for line in err.splitlines() if "rows validated" in line]
    assert told and told[-1].endswith(
        f"{path}: 1,000 rows validated, 0 rejected, 100% of the file read"
    )
    assert "csvflow.progress" not in err  # told once, in the run's words, not as a log record


def test_run_says_a_big_file_was_split_and_the_summary_keeps_saying_it(
    tmp_path, database_url, capfd, monkeypatch
):
    # Sizes set where csvflow runs reach the local starter (README: Big files).
    monkeypatch.setenv("CSVFLOW_SPLIT_BYTES", "1000")
    monkeypatch.setenv("CSVFLOW_PART_BYTES", "4000")
    big = tmp_path / "big.csv"
    big.write_bytes(b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(1500)))
    assert main(["run", str(big), "--database-url", database_url]) == 0
    out, _ = capfd.readouterr()
    assert "  split:      6 parts of up to 4,000 bytes, validated side by side" in out
    assert main(["summary", "big.csv", "--database-url", database_url]) == 0
    out, _ = capfd.readouterr()
    assert "  split:      6 parts" in out and "1500" in out
