"""`csvflow run` against `csvflow profile` on the same big file: the local run's own overhead.

    python bench/local_run.py [--rows 4300000] [--rounds 2] [--file F] [--json out.json]
                              [--baseline CHECKOUT]

Issue 12's goal: `csvflow run FILE` (upload, the emulated S3 -> SNS -> SQS -> Step Functions,
the real handlers, PostgreSQL) within 1.5x of `csvflow profile FILE` (the same validation and
profile, in one process) in CPU time and in peak RSS. Generates the file with generate.py
(4.3 M rows: about 300 MB), then runs the two commands taking turns, each in a process of its
own, as a user types them: CPU seconds (user + system, from the process's own accounting), wall
seconds and peak RSS (ru_maxrss). Each round's ratios are run over the profile measured just
before it. ``--baseline`` also runs another checkout's `csvflow run` (main's, say) in each
round, between the two, for before and after figures measured in the same minutes. On a
machine other work shares, compare CPU seconds and the ratios: wall time follows
the cores the other work leaves (the load average is printed).

Where the run's seconds go, step by step (stack start, upload, each state, the wait, the
exit): `bench/local_run_steps.py`, on the same file.

`csvflow run` needs PostgreSQL: --database-url, else $DATABASE_URL (an embedded server would run
in a process of its own, outside the figures). Each run's account folder (the objects it keeps) is
a new temporary one, so each starts as a first run does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402


def measured(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``command``; its CPU seconds, wall seconds and peak RSS (MB), as the OS counted."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=HERE.parent
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{errors.decode()[-2000:]}")
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def checkout_code(checkout: Path) -> dict[str, str]:
    """The environment that makes ``python -m csvflow`` run ``checkout``'s code."""
    root = checkout.resolve()
    return {"PYTHONPATH": f"{root / 'layers' / 'shared'}{os.pathsep}{root}"}


def run_arguments(argv: list[str] | None, description: str | None) -> argparse.Namespace:
    """The options of the benchmarks that time `csvflow run` (this one, local_run_steps.py)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=4_300_000)
    parser.add_argument("--file", type=Path, help="reuse this generated file")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--baseline", type=Path, help="another checkout whose run to measure too")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("csvflow run needs PostgreSQL: --database-url or $DATABASE_URL")
    return args


def main(argv: list[str] | None = None) -> int:
    args = run_arguments(argv, __doc__)

    with tempfile.TemporaryDirectory(prefix="csvflow-local-run-") as tmp:
        path = args.file or generate(Path(tmp) / "sales.csv", args.rows)
        size_mb = path.stat().st_size / 1e6
        env = os.environ | {"DATABASE_URL": args.database_url}
        csvflow = [sys.executable, "-m", "csvflow"]
        checkouts = {"run": HERE.parent} | (
            {"baseline run": args.baseline} if args.baseline else {}
        )
        print(f"{path.name}: {size_mb:.1f} MB; load average {os.getloadavg()[0]:.1f}", flush=True)
        rounds: list[dict[str, Any]] = []
        for number in range(1, args.rounds + 1):
            figures = {
                "profile": measured(
                    [*csvflow, "profile", str(path)], env | checkout_code(HERE.parent)
                )
            }
            for name, checkout in reversed(checkouts.items()):  # the baseline first
                fresh = {"XDG_DATA_HOME": str(Path(tmp) / f"data-{number}-{len(figures)}")}
                figures[name] = measured(
                    [*csvflow, "run", str(path)], env | checkout_code(checkout) | fresh
                )
            for name in checkouts:
                figures[f"{name}/profile"] = {
                    measure: figures[name][measure] / figures["profile"][measure]
                    for measure in figures["profile"]
                }
            rounds.append(figures)
            for name, values in figures.items():
                unit = ("x", "x", "x") if "/" in name else (" s", " s", " MB")
                print(
                    f"round {number}  {name:22s}"
                    f"  CPU {values['cpu_s']:6.2f}{unit[0]}"
                    f"  wall {values['wall_s']:6.2f}{unit[1]}"
                    f"  peak RSS {values['peak_rss_mb']:7.2f}{unit[2]}",
                    flush=True,
                )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"megabytes": size_mb, "rounds": rounds}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
