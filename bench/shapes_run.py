"""csvflow against its peers on every shape of bench/shapes.py, in one run.

    pip install -e ".[bench]" && python bench/shapes_run.py [--megabytes 200] [--rounds 2]

Each engine runs in its own Python process, after its imports; the engines take turns on a
shape (round after round, interleaved) and each keeps its best time, so load from elsewhere on
the machine weighs on all of them alike. Reported per engine: wall seconds, CPU seconds (user
and system, all threads, of the work alone), MB/s, peak RSS, and the time as a multiple of the
parse floor (DuckDB count(*)) and of DuckDB SUMMARIZE. csvflow's contract
(bench/shapes_contract.yaml) declares only the dialect the shapes are written in: it infers the
types, as `csvflow profile FILE` does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import measured_in_child  # noqa: E402
from shapes import SHAPE_NAMES, generate_shape  # noqa: E402

MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    path = sys.argv[1]
    {imports}
    def cpu():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    started, cpu_started = time.perf_counter(), cpu()
    {work}
    seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started
    peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
    print(json.dumps({{"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak,
                      "check": str(check)[:80]}}))
    """
)

# csvflow's work in DuckDB: every column's count, nulls, min, max, exact distinct count, and
# by type mean, standard deviation and exact quartiles, or lengths and top values.
DUCKDB_PROFILE = textwrap.dedent(
    """
    def profile(path):
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        source = f"read_csv('{path}')"
        kinds = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        measures = []
        for name, kind, *_ in kinds:
            c = '"' + name + '"'
            measures += [f"count({c})", f"count(*) - count({c})", f"min({c})", f"max({c})",
                         f"count(DISTINCT {c})"]
            if kind in ("BIGINT", "DOUBLE", "INTEGER"):
                measures += [f"avg({c})", f"stddev_samp({c})",
                             f"quantile_cont({c}, [0.25, 0.5, 0.75])"]
            if kind == "VARCHAR":
                measures += [f"min(length({c}))", f"max(length({c}))", f"approx_top_k({c}, 10)"]
        return len(con.execute(f"SELECT {', '.join(measures)} FROM {source}").fetchall()[0])
    """
)

ENGINES: dict[str, tuple[str, str]] = {
    "duckdb_count": (
        "import duckdb",
        "check = duckdb.sql(f\"SELECT count(*) FROM read_csv('{path}')\").fetchall()[0][0]",
    ),
    "duckdb_summarize": (
        "import duckdb",
        "check = len(duckdb.sql(f\"SUMMARIZE SELECT * FROM read_csv('{path}')\").fetchall())",
    ),
    "duckdb_profile": ("import duckdb\n" + DUCKDB_PROFILE, "check = profile(path)"),
    "pandas": (
        "import pandas as pd",
        "frame = pd.read_csv(path)\nd = frame.describe(include='all')\nu = frame.nunique()\n"
        "check = len(frame)",
    ),
    "csvflow_profile": (
        "from pathlib import Path\nfrom csvflow.local.profile import profile_file",
        "result = profile_file(Path(path), contract_path=Path('bench/shapes_contract.yaml'))\n"
        "assert result['status'] == 'SUCCEEDED', result\ncheck = result['rows']",
    ),
}


BASELINE = "csvflow_baseline"


def measure(engine: str, path: Path, baseline: Path | None = None) -> dict[str, Any]:
    """One run of ``engine``; csvflow_baseline is csvflow_profile on another checkout's code."""
    imports, work = ENGINES["csvflow_profile" if engine == BASELINE else engine]
    code = MEASURE.format(imports=imports, work=work)
    env = dict(os.environ)
    if engine == BASELINE and baseline is not None:
        env["PYTHONPATH"] = str(baseline / "layers" / "shared")
    return measured_in_child(code, [str(path)], what=f"{engine} on {path.name}", env=env)


def run_shape(
    path: Path, engines: list[str], rounds: int, baseline: Path | None = None
) -> dict[str, dict[str, Any]]:
    """Each engine's best wall time over the rounds, its least CPU time, its highest peak RSS."""
    runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in engines}
    for _ in range(rounds):
        for engine in engines:
            runs[engine].append(measure(engine, path, baseline))
    best = {
        engine: min(figures, key=lambda f: f["seconds"])
        | {
            "cpu_seconds": min(f["cpu_seconds"] for f in figures),
            "peak_rss_mb": max(f["peak_rss_mb"] for f in figures),
        }
        for engine, figures in runs.items()
    }
    size = path.stat().st_size / 1e6
    for figures in best.values():
        figures["mb_per_s"] = size / figures["seconds"]
        if "duckdb_count" in best:
            figures["x_parse_floor"] = figures["seconds"] / best["duckdb_count"]["seconds"]
            figures["cpu_x_parse_floor"] = (
                figures["cpu_seconds"] / best["duckdb_count"]["cpu_seconds"]
            )
        if "duckdb_summarize" in best:
            figures["x_summarize"] = figures["seconds"] / best["duckdb_summarize"]["seconds"]
            figures["cpu_x_summarize"] = (
                figures["cpu_seconds"] / best["duckdb_summarize"]["cpu_seconds"]
            )
    return best


def table(shape: str, size_mb: float, figures: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"\n{shape}: {size_mb:.0f} MB",
        f"{'engine':<18}{'wall s':>8}{'CPU s':>8}{'MB/s':>7}{'peak MB':>9}"
        f"{'x floor':>9}{'x SUMM':>8}{'CPU x floor':>12}{'CPU x SUMM':>11}",
    ]
    for engine, f in figures.items():
        lines.append(
            f"{engine:<18}{f['seconds']:>8.2f}{f['cpu_seconds']:>8.2f}{f['mb_per_s']:>7.0f}"
            f"{f['peak_rss_mb']:>9.0f}{f.get('x_parse_floor', float('nan')):>9.2f}"
            f"{f.get('x_summarize', float('nan')):>8.2f}"
            f"{f.get('cpu_x_parse_floor', float('nan')):>12.2f}"
            f"{f.get('cpu_x_summarize', float('nan')):>11.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=float, default=200)
    parser.add_argument("--shapes", default=",".join(SHAPE_NAMES))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--folder", type=Path, help="keep (and reuse) the generated files here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of csvflow (a git worktree of an earlier commit): its profile "
        f"runs too, as {BASELINE}",
    )
    args = parser.parse_args(argv)
    engines = args.engines.split(",") + ([BASELINE] if args.baseline else [])

    folder = args.folder or Path(tempfile.mkdtemp(prefix="csvflow-shapes-"))
    folder.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load[0]:.1f} at the start", file=sys.stderr)
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_at_start": load, "shapes": {}}
    for shape in args.shapes.split(","):
        path = folder / f"{shape}-{args.megabytes:g}.csv"
        if not path.exists():
            generate_shape(shape, path, args.megabytes)
        figures = run_shape(path, engines, args.rounds, args.baseline)
        size = path.stat().st_size / 1e6
        report["shapes"][shape] = {"megabytes": size, "engines": figures}
        print(table(shape, size, figures), flush=True)
    report["load_at_end"] = os.getloadavg()
    print(f"\nload average {report['load_at_end'][0]:.1f} at the end", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
