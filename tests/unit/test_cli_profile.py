"""`csvflow profile` on a local file: the summary, or the error that names file and line."""

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
