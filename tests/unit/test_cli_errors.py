"""Every command ends an ordinary mistake with one sentence and a non-zero exit, no traceback."""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import subprocess
import sys

import pytest

from csvflow.cli import main
from csvflow.cli.errors import explain
from csvflow.cli.since import parse_since


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "missing"),
    [
        (["profile", "nope.csv"], "nope.csv"),
        (["profile", "examples/sales.csv", "--contract", "nope.yaml"], "nope.yaml"),
        (["run", "nope.csv", "--database-url", "postgresql://127.0.0.1:1/none"], "nope.csv"),
        # Before the stack starts and the database is reached, not a minute later.
        (
            [
                "run",
                "examples/sales.csv",
                "--contract",
                "nope.yaml",
                "--database-url",
                "postgresql://127.0.0.1:1/none",
            ],
            "nope.yaml",
        ),
    ],
)
def test_a_missing_file_is_named_in_one_line(argv, missing, capsys):
    assert main(argv) == 2
    assert _one_line(capsys.readouterr().err) == f"csvflow: no such file: {missing}"


def test_no_local_endpoint_says_how_to_start_one(capsys):
    endpoint = f"http://127.0.0.1:{_free_port()}"

    assert main(["executions", "--endpoint-url", endpoint]) == 2

    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"csvflow: cannot reach {endpoint}")
    assert "csvflow local serve" in line


def test_an_unforeseen_error_is_one_line_and_verbose_shows_its_traceback():
    sentence, code = explain(ValueError("bad value"))

    assert code == 1
    assert sentence.startswith("unexpected ValueError: bad value")
    assert "--verbose" in sentence


def test_verbose_is_accepted_before_and_after_the_command(capsys):
    for argv in (["-v", "profile", "nope.csv"], ["profile", "nope.csv", "--verbose"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.rstrip().endswith("csvflow: no such file: nope.csv")


@pytest.mark.parametrize("text", ["yesterday", "today", "30m", "2h", "3d", "1w", "2026-11-01"])
def test_since_reads_words_durations_and_dates(text):
    moment = parse_since(text)
    assert moment <= dt.datetime.now(tz=dt.UTC)
    assert moment.tzinfo is not None


def test_since_refuses_with_what_it_accepts():
    with pytest.raises(argparse.ArgumentTypeError, match="yesterday, or an ISO date/time"):
        parse_since("someday")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("csvflow ")


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    # Wide enough that the table outgrows the pipe's buffer, so csvflow is still writing
    # when the reader closes its end.
    columns = 1_500
    wide = tmp_path / "wide.csv"
    wide.write_text(
        ",".join(f"column_{i}" for i in range(columns))
        + "\n"
        + ",".join(str(i) for i in range(columns))
        + "\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "csvflow", "profile", str(wide)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(100)
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait(timeout=120)

    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert process.returncode == 141
