"""`csvflow run` on a failing file speaks csvflow's words only; --verbose adds the emulator's."""

from __future__ import annotations

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
    assert "moto" not in err and "FailureEventException" not in err
    assert "Traceback" not in out + err


def test_verbose_lets_the_emulators_logs_through(broken_csv, database_url, capfd):
    code = main(["run", str(broken_csv), "--database-url", database_url, "--verbose"])

    _, err = capfd.readouterr()
    assert code == 1
    assert "ERROR moto.stepfunctions" in err
