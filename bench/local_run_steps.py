"""Where `csvflow run`'s wall and CPU seconds go on a big file, step by step.

    python bench/local_run_steps.py [--rows 4300000] [--file F] [--rounds 2]
                                    [--baseline CHECKOUT] [--json out.json]

`bench/local_run.py` compares the whole `csvflow run` with `csvflow profile`; this one cuts the
run into its steps, on one timeline: the interpreter's start, the command's imports, the
emulated stack's start, the upload (MD5 and copy), S3 -> SNS -> SQS -> the starter, each state
of the execution (the gaps between them are Step Functions' transitions), the wait noticing
the end, the stack's close, the summary printed, and the process's exit.

Each run is `python -m csvflow run FILE` in a process of its own, as a user types it, with
marks added from outside the package (this file wraps the runtime's, the Lambda runner's and
the steps' phase methods before the command starts; nothing in csvflow knows of it). A mark
is the time (CLOCK_MONOTONIC, the same clock in both processes) and the process's CPU so far
(user + system, all threads); each line of the table is the span from one mark to the next.
The exit's CPU is the OS's total for the process less the CPU at the last mark.
``--baseline`` runs another checkout's `csvflow run` the same way, taking turns.

`csvflow run` needs PostgreSQL: --database-url, else $DATABASE_URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent


class _Marks:
    """The child's marks: (name, CLOCK_MONOTONIC, the process's CPU so far), from any thread."""

    def __init__(self) -> None:
        import threading

        self.marks: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()

    def mark(self, name: str) -> None:
        with self._lock:
            self.marks.append((name, time.monotonic(), time.process_time()))

    def around(self, owner: Any, method: str, begin: str, end: str) -> None:
        """Mark the start and end of ``owner.method`` (missing in an older checkout: left)."""
        import functools

        original = getattr(owner, method, None)
        if original is None:
            return

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.mark(begin)
            try:
                return original(*args, **kwargs)
            finally:
                self.mark(end)

        setattr(owner, method, wrapper)

    def around_invocations(self, runner: Any) -> None:
        """Mark each Lambda invocation's start and end, by function."""
        original = runner.invoke

        def invoke(runner_self: Any, function: Any, event: Any) -> Any:
            self.mark(f"{function.function_name} invoked")
            try:
                return original(runner_self, function, event)
            finally:
                self.mark(f"{function.function_name} returned")

        runner.invoke = invoke

    def around_phases(self, observability: Any) -> None:
        """Mark the steps' phases (read, validate, upload...)."""
        import contextlib

        original = observability.phase

        @contextlib.contextmanager
        def phase(name: str) -> Any:
            self.mark(f"  phase {name}")
            with original(name):
                yield
            self.mark(f"  phase {name} ended")

        observability.phase = phase


def _once_imported(name: str, then: Callable[[ModuleType], None]) -> None:
    """Call ``then(module)`` as soon as module ``name`` has been imported, by whoever imports
    it: the marks are added without importing anything earlier than the command does."""
    from importlib.abc import MetaPathFinder
    from importlib.machinery import PathFinder

    class Finder(MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            if fullname != name:
                return None
            spec = PathFinder.find_spec(fullname, path, target)
            if spec is None or spec.loader is None:
                return spec
            loader = spec.loader
            execute = loader.exec_module

            def exec_module(module: ModuleType) -> None:
                execute(module)
                then(module)

            loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, Finder())


def traced_run(marks_path: Path, argv: list[str]) -> int:
    """In the child: mark the steps of ``csvflow run`` and run it; the marks to marks_path."""
    marks = _Marks()
    marks.mark("interpreter started")

    def runtime_imported(module: ModuleType) -> None:
        marks.mark("runtime imported")
        runtime = module.LocalRuntime
        marks.around(runtime, "_start", "stack start", "stack started")
        marks.around(runtime, "upload", "upload (MD5 + copy)", "uploaded")
        marks.around(runtime, "wait", "waiting for the execution", "the run saw the end")
        marks.around(runtime, "__exit__", "stack close (outputs kept)", "stack closed")

    # Before the handlers' modules import ``phase`` by name, at the functions' cold starts.
    _once_imported("csvflow.observability", marks.around_phases)
    _once_imported("csvflow.local.runtime", runtime_imported)
    _once_imported(
        "csvflow.local.lambda_runner",
        lambda module: marks.around_invocations(module.InProcessLambdaRunner),
    )
    from csvflow.cli import main

    marks.mark("csvflow imported")
    try:
        return int(main(argv))
    finally:
        marks.mark("command returned")
        marks_path.write_text(json.dumps(marks.marks))


def measured_steps(checkout: Path, path: Path, env: dict[str, str]) -> dict[str, Any]:
    """One traced `csvflow run` of ``checkout``'s code: its steps, and the OS's totals."""
    from local_run import checkout_code

    code = checkout_code(checkout)
    with tempfile.TemporaryDirectory(prefix="csvflow-run-steps-") as tmp:
        marks_path = Path(tmp, "marks.json")
        command = [sys.executable, __file__, "--traced", str(marks_path), "run", str(path)]
        fresh = {"XDG_DATA_HOME": str(Path(tmp, "data"))}  # each run starts as a first run
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env | code | fresh
        )
        assert process.stderr is not None
        errors = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.monotonic()
        if os.waitstatus_to_exitcode(status):
            raise RuntimeError(f"{' '.join(command)} failed:\n{errors.decode()[-2000:]}")
        marks = json.loads(marks_path.read_text())
    cpu = usage.ru_utime + usage.ru_stime
    timeline = [("process started", started, 0.0), *marks, ("process ended", ended, cpu)]
    steps = [
        {
            "from": earlier[0].strip(),
            "to": later[0].strip(),
            "wall_s": later[1] - earlier[1],
            "cpu_s": later[2] - earlier[2],
        }
        for earlier, later in zip(timeline, timeline[1:], strict=False)
    ]
    return {
        "wall_s": ended - started,
        "cpu_s": cpu,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "steps": steps,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--traced"]:
        return traced_run(Path(argv[1]), argv[2:])
    sys.path.insert(0, str(HERE))
    from generate import generate
    from local_run import run_arguments

    args = run_arguments(argv, __doc__)

    checkouts = {"run": HERE.parent} | ({"baseline run": args.baseline} if args.baseline else {})
    figures: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="csvflow-run-steps-") as tmp:
        path = args.file or generate(Path(tmp) / "sales.csv", args.rows)
        env = os.environ | {"DATABASE_URL": args.database_url}
        print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB", flush=True)
        for number in range(1, args.rounds + 1):
            for name, checkout in reversed(checkouts.items()):  # the baseline first
                load = os.getloadavg()[0]
                run = measured_steps(checkout, path, env) | {"load": load}
                figures[name].append(run)
                _print_run(f"round {number}, {name}", run)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def _print_run(title: str, run: dict[str, Any]) -> None:
    print(
        f"\n{title}: wall {run['wall_s']:.2f} s, CPU {run['cpu_s']:.2f} s "
        f"({run['cpu_s'] / run['wall_s']:.2f} cores), peak RSS {run['peak_rss_mb']:.0f} MB, "
        f"load average {run['load']:.1f} at its start"
    )
    print(f"  {'from':34s} {'to':34s} {'wall':>7s} {'CPU':>7s} {'cores':>6s}")
    for step in run["steps"]:
        cores = step["cpu_s"] / step["wall_s"] if step["wall_s"] > 0.001 else 0.0
        print(
            f"  {step['from'][:34]:34s} {step['to'][:34]:34s}"
            f" {step['wall_s']:6.2f}s {step['cpu_s']:6.2f}s {cores:6.2f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
