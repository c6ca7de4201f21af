"""The command's process leaves what it made to the OS at exit: the interpreter's last garbage
collections, which walk every object left (after `csvflow run`, over a second), are skipped."""

from __future__ import annotations

import subprocess
import sys

# Registered before the command runs, so it runs after the command's own exit functions.
PROBE = """
import atexit, gc, sys
from csvflow.cli import main
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
code = main(sys.argv[1:])
print("frozen before exit:", gc.get_freeze_count() > 0)
sys.exit(code)
"""


def test_the_objects_left_at_exit_are_frozen_not_collected(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text("id,amount\n1,2.5\n2,3.5\n")

    done = subprocess.run(
        [sys.executable, "-c", PROBE, "profile", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert "2 rows" in done.stdout
    assert "frozen before exit: False" in done.stdout  # the command itself collects as usual
    assert "frozen at exit: True" in done.stdout
