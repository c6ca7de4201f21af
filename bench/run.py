"""csvflow against its peers, on one generated file, in one run: wall time, MB/s, peak RSS.

    pip install -e ".[bench]" && python bench/run.py [--rows 10000000] [--json out.json]

Each measurement runs in its own Python process (so peak RSS is its own), after its imports.
Ratios are against the parse floor (DuckDB count(*)) and against naive pandas, both measured
in the same run on the same file. Then: persisting aggregate rows (COPY vs executemany), the
latency of `csvflow run` on a 1 MB file split per step, and each function's import time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

MEASURE = textwrap.dedent(
    """
    import json, sys, time
    path, contract = sys.argv[1], sys.argv[2]
    {imports}
    started = time.perf_counter()
    {work}
    seconds = time.perf_counter() - started
    # VmHWM: this process image's peak RSS (ru_maxrss would carry the parent's over exec)
    peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
    print(json.dumps({{"seconds": seconds, "peak_rss_mb": peak, "check": str(check)[:120]}}))
    """
)

ENGINES: dict[str, tuple[str, str, str]] = {
    # name: (what it is, imports, work leaving a `check` value)
    "read_bytes": (
        "read the file's bytes (the I/O floor)",
        "",
        "check = 0\nwith open(path, 'rb', buffering=0) as f:\n"
        "    while chunk := f.read(8 << 20):\n        check += len(chunk)",
    ),
    "duckdb_count": (
        "DuckDB SELECT count(*) FROM read_csv (the parse floor)",
        "import duckdb",
        "check = duckdb.sql(f\"SELECT count(*) FROM read_csv('{path}')\").fetchall()[0][0]",
    ),
    "pandas_naive": (
        "pandas read_csv + describe(include='all') + nunique() + a groupby",
        "import pandas as pd",
        "frame = pd.read_csv(path)\nd = frame.describe(include='all')\nu = frame.nunique()\n"
        "g = frame.groupby('region').agg({'quantity': 'sum', 'unit_price': 'mean', 'order_id': 'count'})\n"
        "check = len(frame)",
    ),
    "duckdb_summarize": (
        "DuckDB SUMMARIZE of the file",
        "import duckdb",
        "check = len(duckdb.sql(f\"SUMMARIZE SELECT * FROM read_csv('{path}')\").fetchall())",
    ),
    "duckdb_same_work": (
        "DuckDB doing csvflow's work: typed read with rejects, Parquet, one profile pass, the group-by",
        "import sys\nsys.path.insert(0, 'bench')\nfrom duckdb_peer import same_work",
        "check = same_work(path, contract)",
    ),
    "csvflow_lambdas": (
        "csvflow's validate then summarize handlers, as deployed: Parquet written, then read",
        "import sys\nsys.path.insert(0, 'bench')\nfrom lambda_steps import validate_then_summarize",
        "check = validate_then_summarize(path, contract)",
    ),
    "csvflow_profile": (
        "csvflow profile: validate + summarize, the Lambdas' code, with a typed contract",
        "from pathlib import Path\nfrom csvflow.local.profile import profile_file",
        "check = profile_file(Path(path), contract_path=Path(contract))['rows']",
    ),
}


def measure(name: str, path: Path, contract: Path) -> dict[str, Any]:
    _, imports, work = ENGINES[name]
    code = MEASURE.format(imports=imports, work=work)
    figures = measured_in_child(code, [str(path), str(contract)], what=name)
    figures["mb_per_s"] = path.stat().st_size / 1e6 / figures["seconds"]
    return figures


def measured_in_child(
    code: str, args: list[str], *, what: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run a MEASURE program in a Python process of its own; the figures it printed last."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    if result.returncode:
        raise RuntimeError(f"{what} failed:\n{result.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def persist_rows(database_url: str, rows: int, sample: int) -> dict[str, Any]:
    """Aggregate rows into PostgreSQL: the project's COPY path versus executemany."""
    import psycopg2
    import pyarrow as pa

    from csvflow.adapters.postgres.connection import connector
    from csvflow.adapters.postgres.migrations import migrate
    from csvflow.adapters.postgres.repository import _copy_aggregate

    migrate(connector(database_url))
    table = pa.table(
        {
            "region": pa.array([f"r{i % 50}" for i in range(rows)]),
            "customer": pa.array(range(rows)),
            "sum_quantity": pa.array([i % 97 for i in range(rows)]),
            "mean_unit_price": pa.array([i / 7 for i in range(rows)]),
        }
    )
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO csvflow.ingestions (ingestion_id, bucket, object_key, object_version, dataset,"
                " status) VALUES ('bench-persist', 'b', 'k', 'v', 'bench', 'SUCCEEDED') RETURNING id"
            )
            ingestion = cur.fetchone()[0]
        with conn, conn.cursor() as cur:
            started = time.perf_counter()
            _copy_aggregate(cur, ingestion, "copy", ["region", "customer"], table)
            copy_seconds = time.perf_counter() - started
        values = [
            (
                ingestion,
                "executemany",
                json.dumps({"region": f"r{i % 50}", "customer": i}),
                json.dumps({"sum_quantity": i % 97, "mean_unit_price": i / 7}),
            )
            for i in range(sample)
        ]
        with conn, conn.cursor() as cur:
            started = time.perf_counter()
            cur.executemany(
                "INSERT INTO csvflow.aggregates (ingestion, aggregate, group_key, metrics)"
                " VALUES (%s, %s, %s, %s)",
                values,
            )
            executemany_seconds = time.perf_counter() - started
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM csvflow.ingestions WHERE ingestion_id = 'bench-persist'")
    finally:
        conn.close()
    copy_rate, executemany_rate = rows / copy_seconds, sample / executemany_seconds
    return {
        "rows": rows,
        "copy_rows_per_s": copy_rate,
        "executemany_sample": sample,
        "executemany_rows_per_s": executemany_rate,
        "ratio": copy_rate / executemany_rate,
    }


def run_latency(database_url: str, folder: Path) -> dict[str, Any]:
    """`csvflow run` on a 1 MB file: upload to persisted summary, and each step's share."""
    from csvflow.local.runtime import LocalRuntime
    from csvflow.operations.executions import steps_of

    small = generate(folder / "one-megabyte.csv", 14_500, seed=7)
    with LocalRuntime(database_url=database_url) as runtime:
        started = time.perf_counter()
        (result,) = runtime.run([small])
        total = time.perf_counter() - started
        steps = steps_of(runtime.history(result.upload.execution_arn))
    in_steps = sum(s.seconds or 0 for s in steps)
    return {
        "status": result.status,
        "megabytes": small.stat().st_size / 1e6,
        "total_s": total,
        "steps_s": {s.name: s.seconds for s in steps},
        "orchestration_s": total - in_steps,
    }


def import_times() -> dict[str, float]:
    """Cold start: the seconds each function's module takes to import (python -X importtime)."""
    env = {
        **os.environ,
        "CSVFLOW_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:x",
        "DATABASE_URL": "postgresql://localhost/none",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    times = {}
    for function in ("starter", "validate", "summarize", "persist"):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import app"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT / "functions" / function,
            env={**env, "PYTHONPATH": str(ROOT / "functions" / function)},
        )
        line = [row for row in result.stderr.splitlines() if row.rstrip().endswith("| app")][-1]
        times[function] = int(line.split("|")[1]) / 1e6
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--file", type=Path, help="reuse this generated file")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--persist-rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="csvflow-bench-"))
    path = args.file or generate(folder / "sales.csv", args.rows)
    size_mb = path.stat().st_size / 1e6
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "file": {"rows": args.rows, "megabytes": size_mb},
        "engines": {},
    }
    print(f"{path}: {args.rows:,} rows, {size_mb:.0f} MB, {os.cpu_count()} CPUs", file=sys.stderr)
    for name in args.engines.split(","):
        print(f"  measuring {name} ...", file=sys.stderr)
        report["engines"][name] = measure(name, path, HERE / "contract.yaml")
    engines = report["engines"]
    for figures in engines.values():
        if "duckdb_count" in engines:
            figures["x_parse_floor"] = figures["seconds"] / engines["duckdb_count"]["seconds"]
        if "pandas_naive" in engines:
            figures["x_pandas_naive"] = figures["seconds"] / engines["pandas_naive"]["seconds"]
    print(_table(engines))
    if "csvflow_lambdas" in engines:  # each handler in its own process: its own peak RSS
        print(f"csvflow_lambdas: {engines['csvflow_lambdas']['check']}")

    if args.database_url:
        report["persist"] = persist_rows(args.database_url, args.persist_rows, sample=50_000)
        p = report["persist"]
        print(
            f"\npersist {p['rows']:,} aggregate rows: COPY {p['copy_rows_per_s']:,.0f} rows/s, "
            f"executemany {p['executemany_rows_per_s']:,.0f} rows/s (on {p['executemany_sample']:,}), "
            f"{p['ratio']:.1f}x"
        )
        report["run_latency"] = run_latency(args.database_url, folder)
        latency = report["run_latency"]
        steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in latency["steps_s"].items())
        print(
            f"csvflow run, {latency['megabytes']:.1f} MB: {latency['total_s']:.2f} s "
            f"({steps}; orchestration {latency['orchestration_s']:.2f} s)"
        )
    else:
        print("\n(no DATABASE_URL: persist and run-latency figures skipped)", file=sys.stderr)
    report["import_seconds"] = import_times()
    print(
        "import time: " + ", ".join(f"{f} {s:.2f} s" for f, s in report["import_seconds"].items())
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def _table(engines: dict[str, dict[str, Any]]) -> str:
    header = (
        f"{'engine':<18}{'seconds':>9}{'MB/s':>9}{'peak MB':>9}{'x count(*)':>12}{'x pandas':>10}"
    )
    lines = [header, "-" * len(header)]
    for name, f in engines.items():
        lines.append(
            f"{name:<18}{f['seconds']:>9.2f}{f['mb_per_s']:>9.0f}{f['peak_rss_mb']:>9.0f}"
            f"{f.get('x_parse_floor', float('nan')):>12.2f}{f.get('x_pandas_naive', float('nan')):>10.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
