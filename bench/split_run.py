"""The single path against the split path on one big generated file: time, CPU, peak RSS, answer.

    pip install -e ".[bench]" && python bench/split_run.py [--megabytes 2048] [--workers 2]
        [--part-megabytes 128] [--rounds 2] [--path a-generated.csv] [--folder keep-it-here]

The single path is the validate handler then the summarize handler, each in a process of its
own, as each Lambda is. The split path (docs/adr/0018) is the plan, then every part's
validation as a task of a pool of ``--workers`` processes (each a separate process, as each
Lambda of a Distributed Map is; they are started and have imported csvflow before the clock
starts, as warm Lambdas have), then the merge in a process of its own. The bucket is a local
folder (bench/lambda_steps.py's FolderObjectStore), so S3's transfer time is left out and the
handlers' own is measured. The paths take turns, round after round; each keeps its best wall
time and least CPU time (user + system, all threads, of the handlers alone, after imports).
Then the answers are compared: rows, rejected rows, every column's profile (exact fields
equal, floats to rounding, quantiles within the KLL sketch's rank error, checked against the
single path's typed rows) and the aggregates.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402
from lambda_steps import BUCKET, FolderObjectStore  # noqa: E402

KEY = "incoming/bench/file.csv"
DATASET = "bench"
BYTES_PER_ROW = 71.2  # bench/generate.py's rows, measured on 29 million of them
# KLL_K = 400 states about 0.4 % normalised rank error; each path's sketch may be off by it.
QUANTILE_RANK_TOLERANCE = 0.008
SPAWN = multiprocessing.get_context("spawn")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=float, default=2048)
    parser.add_argument("--path", type=Path, help="reuse this generated file")
    parser.add_argument("--folder", type=Path, help="generate the file here (kept)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--part-megabytes",
        type=float,
        help="MiB per part: 128 (the figures of docs/scale.md; CSVFLOW_PART_BYTES is 256), less for a file under two parts a worker",
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    path = args.path or _generated(args.folder, args.megabytes)
    size = path.stat().st_size
    part_bytes = _part_bytes(args.part_megabytes, size, args.workers)
    print(
        f"{path}: {size / 1e6:,.0f} MB; {args.workers} workers, parts of "
        f"{part_bytes / (1 << 20):g} MiB; {os.cpu_count()} CPUs, load {_load()}",
        flush=True,
    )
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="csvflow-split-bench-") as tmp:
        for number in range(args.rounds):
            # Alternate which path goes first, so a change of load weighs on both alike.
            order = ("single", "split") if number % 2 == 0 else ("split", "single")
            figures: dict[str, Any] = {}
            roots = {name: Path(tmp, f"{name}-{number}") for name in order}
            for name in order:
                _bucket(roots[name], path)
                load = _load()
                if name == "single":
                    figures[name] = run_single(roots[name], size)
                else:
                    figures[name] = run_split(roots[name], size, part_bytes, args.workers)
                figures[name]["load"] = [load, _load()]
                print(f"round {number + 1} {name}: {_line(figures[name], size)}", flush=True)
            figures["differences"] = compare(roots["single"], roots["split"])
            for name in order:
                figures[name]["parquet_share"] = typed_parquet_bytes(roots[name], name) / size
            for root in roots.values():
                shutil.rmtree(root)
            rounds.append(figures)
            print(
                f"round {number + 1}: split {figures['single']['wall_s'] / figures['split']['wall_s']:.2f}x"
                f" as fast; answers {'equal' if not figures['differences'] else 'DIFFER'}",
                flush=True,
            )
    report = summarize_rounds(rounds, size, args.workers)
    print(_table(report, size, args.workers))
    for figures in rounds:
        for difference in figures["differences"]:
            print(f"DIFFERENCE: {difference}")
    if args.json:
        args.json.write_text(json.dumps({"rounds": rounds, "best": report}, indent=2))
    return 1 if any(figures["differences"] for figures in rounds) else 0


def _part_bytes(megabytes: float | None, size: int, workers: int) -> int:
    if megabytes is not None:
        return int(megabytes * (1 << 20))
    # A small file (a quick check) still gets two parts a worker, or the plan takes the single path.
    return min(128 << 20, max(size // (2 * workers), 1 << 20))


def _generated(folder: Path | None, megabytes: float) -> Path:
    folder = folder or Path(tempfile.mkdtemp(prefix="csvflow-split-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sales-{megabytes:g}MB-bare-header.csv"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        # A header of bare names: a quote as the file's very first byte is taken for a quote
        # inside unquoted text (Dialect.literal_quotes), and such a file is not split.
        generate(path, round(megabytes * 1e6 / BYTES_PER_ROW), quoted_header=False)
    print(f"(reuse it: --path {path})", file=sys.stderr)
    return path


def _bucket(root: Path, csv_path: Path) -> None:
    (root / BUCKET / "incoming" / "bench").mkdir(parents=True)
    (root / BUCKET / KEY).symlink_to(csv_path.resolve())
    (root / BUCKET / "contracts").mkdir()
    shutil.copyfile(HERE / "contract.yaml", root / BUCKET / "contracts" / f"{DATASET}.yaml")


def _load() -> str:
    return "/".join(f"{figure:.1f}" for figure in os.getloadavg())


# --- The two paths, driven from this process --------------------------------------------------


def run_single(root: Path, size: int) -> dict[str, Any]:
    validate = in_fresh_process(_validate_csv, root, size)
    summarize = in_fresh_process(_summarize_dataset, root, validate["result"]["summary_state"])
    steps = {"validate": validate, "summarize": summarize}
    return {
        "wall_s": validate["wall_s"] + summarize["wall_s"],
        "cpu_s": validate["cpu_s"] + summarize["cpu_s"],
        "steps": {name: _step_figures(step) for name, step in steps.items()},
        "rows": validate["result"]["rows"],
        "rejected_rows": validate["result"]["rejected_rows"],
    }


def run_split(root: Path, size: int, part_bytes: int, workers: int) -> dict[str, Any]:
    plan = in_fresh_process(_plan_parts, root, size, part_bytes)
    if plan["result"]["path"] != "parts":
        raise RuntimeError(f"the plan chose the single path: {plan['result']['reason']}")
    items = json.loads((root / BUCKET / plan["result"]["parts"]["key"]).read_text())
    parts: list[dict[str, Any]] = []
    merges: list[dict[str, Any]] = []
    map_wall = 0.0
    with ProcessPoolExecutor(workers, mp_context=SPAWN) as pool:
        # Every worker started and csvflow imported before the clock starts: warm Lambdas.
        for started in [pool.submit(_warm_worker, workers) for _ in range(workers)]:
            started.result()
        while True:
            started_at = time.perf_counter()
            tasks = [pool.submit(_timed, _validate_part, root, size, item) for item in items]
            parts.extend(task.result() for task in tasks)
            map_wall += time.perf_counter() - started_at
            merge = in_fresh_process(_merge_parts, root, size)
            merges.append(merge)
            if merge["result"]["reread"] is None:
                break
            reread = merge["result"]["reread"]
            items = json.loads((root / BUCKET / reread["parts"]["key"]).read_text())
            print(f"  merge asks to read {len(items)} parts again: {reread['why']}", flush=True)
    peak_per_worker: dict[int, float] = {}
    for part in parts:
        peak_per_worker[part["pid"]] = max(peak_per_worker.get(part["pid"], 0), part["peak_mb"])
    part_walls = [part["wall_s"] for part in parts]
    validation = merges[-1]["result"]["validation"]
    return {
        "wall_s": plan["wall_s"] + map_wall + sum(m["wall_s"] for m in merges),
        "cpu_s": plan["cpu_s"] + sum(p["cpu_s"] for p in parts) + sum(m["cpu_s"] for m in merges),
        "steps": {
            "plan": _step_figures(plan),
            "parts": {
                "wall_s": map_wall,
                "cpu_s": sum(p["cpu_s"] for p in parts),
                "count": plan["result"]["count"],
                "tasks": len(parts),
                "part_wall_s": [min(part_walls), sum(part_walls) / len(parts), max(part_walls)],
                "part_cpu_s_sum": sum(p["cpu_s"] for p in parts),
                # Each part's CPU over its busiest thread's: the cores it could keep busy.
                "part_cores_at_most": [
                    p["cpu_s"] / p["busiest_thread_cpu_s"]
                    for p in parts
                    if p["busiest_thread_cpu_s"]
                ],
                "part_wall_s_sum": sum(part_walls),
                "peak_mb_per_worker": sorted(peak_per_worker.values()),
            },
            "merge": {
                "wall_s": sum(m["wall_s"] for m in merges),
                "cpu_s": sum(m["cpu_s"] for m in merges),
                "peak_mb": max(m["peak_mb"] for m in merges),
                "rounds": len(merges),
            },
        },
        "rows": validation["rows"],
        "rejected_rows": validation["rejected_rows"],
    }


def in_fresh_process(step: Callable[..., Any], *args: Any) -> dict[str, Any]:
    """One handler in a process of its own, as one Lambda invocation: its figures."""
    # Its process ends when the work is done (a Pool would start a replacement and kill it).
    with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
        figures: dict[str, Any] = pool.submit(_timed, step, *args).result()
    return figures


def _step_figures(step: dict[str, Any]) -> dict[str, float]:
    return {
        "wall_s": step["wall_s"],
        "cpu_s": step["cpu_s"],
        "busiest_thread_cpu_s": step["busiest_thread_cpu_s"],
        "peak_mb": step["peak_mb"],
    }


# --- What runs in the children ----------------------------------------------------------------


def _timed(step: Callable[..., Any], *args: Any) -> dict[str, Any]:
    """The step's result, its wall and CPU seconds (all threads), the CPU seconds of its
    busiest thread, and the process's peak RSS."""
    threads = _ThreadCpu()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    result = step(*args)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    return {
        "result": result,
        "wall_s": wall,
        "cpu_s": cpu,
        "busiest_thread_cpu_s": threads.busiest(),
        "peak_mb": _peak_rss_mb(),
        "pid": os.getpid(),
    }


class _ThreadCpu:
    """Each thread's CPU seconds while a step runs, sampled from /proc every 50 ms.

    The busiest thread bounds how many cores the step can keep busy, whatever the load:
    its threads overlap at best, so its wall time is at least the busiest one's CPU time.
    (A thread that ends loses up to 50 ms of its count.)
    """

    def __init__(self) -> None:
        import threading

        self._ticks = os.sysconf("SC_CLK_TCK")
        self._before = self._sample()
        self._latest = dict(self._before)
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._run, daemon=True)
        self._sampler.start()

    def busiest(self) -> float:
        self._done.set()
        self._sampler.join()
        self._latest.update(self._sample())
        sampler = self._sampler.native_id
        return max(
            (
                cpu - self._before.get(tid, 0.0)
                for tid, cpu in self._latest.items()
                if tid != sampler
            ),
            default=0.0,
        )

    def _run(self) -> None:
        while not self._done.wait(0.05):
            self._latest.update(self._sample())

    def _sample(self) -> dict[int, float]:
        cpu = {}
        for task in Path("/proc/self/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # it ended meanwhile
                continue
            # utime and stime: fields 14 and 15 of stat, 12 and 13 after the name.
            cpu[int(task.name)] = (int(fields[11]) + int(fields[12])) / self._ticks
        return cpu


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's over the spawn).
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def _warm_worker(workers: int) -> int:
    import csvflow.split_path  # noqa: F401  # the imports a warm Lambda has done

    time.sleep(0.2 * workers)  # hold this worker so the next warm-up starts another
    return os.getpid()


def _event(size: int, ingestion_id: str) -> dict[str, Any]:
    from csvflow.domain.model import SourceObject

    source = SourceObject(BUCKET, KEY, None, None, size=size)
    return {"source": source.to_dict(), "dataset": DATASET, "ingestion_id": ingestion_id}


def _validate_csv(root: Path, size: int) -> dict[str, Any]:
    from csvflow.commands import ValidateCsv
    from csvflow.config import Settings
    from csvflow.handlers import validate_csv

    command = ValidateCsv.from_event(_event(size, "single"))
    return validate_csv(command, FolderObjectStore(root), Settings())


def _summarize_dataset(root: Path, state: dict[str, Any]) -> dict[str, Any]:
    from csvflow.bucket_layout import SummaryStateRefs
    from csvflow.commands import SummarizeDataset
    from csvflow.config import Settings
    from csvflow.handlers import summarize_dataset

    command = SummarizeDataset((SummaryStateRefs.from_dict(state),), DATASET, "single", BUCKET)
    return summarize_dataset(command, FolderObjectStore(root), Settings())


def _plan_parts(root: Path, size: int, part_bytes: int) -> dict[str, Any]:
    from csvflow.commands import PlanParts
    from csvflow.config import Settings
    from csvflow.split_path import plan_parts

    event = _event(size, "split") | {"split": {"part_bytes": part_bytes}}
    return plan_parts(PlanParts.from_event(event), FolderObjectStore(root), Settings())


def _validate_part(root: Path, size: int, item: dict[str, Any]) -> dict[str, Any]:
    from csvflow.commands import ValidatePart
    from csvflow.config import Settings
    from csvflow.split_path import validate_part

    event = _event(size, "split") | {"part": item}
    return validate_part(ValidatePart.from_event(event), FolderObjectStore(root), Settings())


def _merge_parts(root: Path, size: int) -> dict[str, Any]:
    from csvflow.commands import MergeParts
    from csvflow.config import Settings
    from csvflow.split_path import merge_parts

    command = MergeParts.from_event(_event(size, "split"))
    return merge_parts(command, FolderObjectStore(root), Settings())


# --- The same answer? -------------------------------------------------------------------------


def typed_parquet_bytes(root: Path, ingestion_id: str) -> int:
    """The typed rows' Parquet a path left: the single file, or every part's (the model's
    ``parquet_share`` is these bytes over the CSV's)."""
    work = root / BUCKET / "work" / ingestion_id
    files = (
        [work / "validated.parquet"]
        if ingestion_id == "single"
        else work.glob("parts/*/validated.parquet")
    )
    return sum(path.stat().st_size for path in files if path.exists())


def compare(single_root: Path, split_root: Path) -> list[str]:
    """What differs between the two paths' summaries (an empty list: the same answer)."""
    import pyarrow.parquet as pq

    from csvflow.domain.summary import profiles_from_table

    def summary(root: Path, ingestion_id: str) -> Path:
        return root / BUCKET / "work" / ingestion_id / "summary"

    single, split = summary(single_root, "single"), summary(split_root, "split")
    one = profiles_from_table(pq.read_table(single / "columns.parquet"))
    many = profiles_from_table(pq.read_table(split / "columns.parquet"))
    differences = []
    if [p["name"] for p in one] != [p["name"] for p in many]:
        return [f"columns {[p['name'] for p in one]} != {[p['name'] for p in many]}"]
    typed_rows = single_root / BUCKET / "work" / "single" / "validated.parquet"
    for theirs, mine in zip(one, many, strict=True):
        differences += _profile_differences(theirs, mine, typed_rows)
    for path in sorted((single / "aggregates").glob("*.parquet")):
        differences += _aggregate_differences(
            path.stem, pq.read_table(path), pq.read_table(split / "aggregates" / path.name)
        )
    return differences


def _profile_differences(
    theirs: dict[str, Any], mine: dict[str, Any], typed_rows: Path
) -> list[str]:
    name = theirs["name"]
    differences = []
    for field in sorted(set(theirs) | set(mine)):
        expected, got = theirs.get(field), mine.get(field)
        if field in ("p25", "p50", "p75") and not theirs.get("quantiles_exact", True):
            wanted = int(field[1:]) / 100
            for who, value in (("single", expected), ("split", got)):
                rank = _rank(typed_rows, name, value)
                if abs(rank - wanted) > QUANTILE_RANK_TOLERANCE:
                    differences.append(f"{name}.{field} ({who}) {value} has rank {rank:.4f}")
        elif isinstance(expected, float) and isinstance(got, float):
            if not math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-12):
                differences.append(f"{name}.{field}: single {expected!r}, split {got!r}")
        elif expected != got:
            differences.append(f"{name}.{field}: single {expected!r}, split {got!r}")
    return differences


def _rank(typed_rows: Path, column: str, value: float) -> float:
    """The share of the column's values at most ``value``, in the single path's typed rows."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    values = pq.read_table(typed_rows, columns=[column])[column]
    below = pc.sum(pc.less_equal(values, value)).as_py() or 0
    return float(below) / (len(values) - values.null_count)


def _aggregate_differences(name: str, theirs: Any, mine: Any) -> list[str]:
    if theirs.schema.names != mine.schema.names or theirs.num_rows != mine.num_rows:
        return [f"aggregate {name}: {theirs.schema} ({theirs.num_rows} rows) != {mine.schema}"]
    keys = [(column, "ascending") for column in theirs.schema.names]
    one, many = theirs.sort_by(keys).to_pylist(), mine.sort_by(keys).to_pylist()
    differences = []
    for row_one, row_many in zip(one, many, strict=True):
        for column, expected in row_one.items():
            got = row_many[column]
            same = (
                math.isclose(expected, got, rel_tol=1e-9)
                if isinstance(expected, float) and isinstance(got, float)
                else expected == got
            )
            if not same:
                differences.append(f"aggregate {name} {row_one}: {column} split {got!r}")
    return differences


# --- Figures ----------------------------------------------------------------------------------


def summarize_rounds(rounds: list[dict[str, Any]], size: int, workers: int) -> dict[str, Any]:
    """Per path its best wall, least CPU and highest peaks over the rounds; the ratios."""
    best: dict[str, Any] = {}
    for name in ("single", "split"):
        runs = [figures[name] for figures in rounds]
        best[name] = {
            "wall_s": min(run["wall_s"] for run in runs),
            "cpu_s": min(run["cpu_s"] for run in runs),
            "mb_per_s": size / 1e6 / min(run["wall_s"] for run in runs),
            "rows": runs[0]["rows"],
            "rejected_rows": runs[0]["rejected_rows"],
            "parquet_share": runs[0]["parquet_share"],
        }
    parts = [figures["split"]["steps"]["parts"] for figures in rounds]
    validate = [figures["single"]["steps"]["validate"] for figures in rounds]
    best["single"]["peak_mb"] = {
        step: max(figures["single"]["steps"][step]["peak_mb"] for figures in rounds)
        for step in ("validate", "summarize")
    }
    best["split"]["peak_mb"] = {
        "plan": max(figures["split"]["steps"]["plan"]["peak_mb"] for figures in rounds),
        "worker": max(max(p["peak_mb_per_worker"]) for p in parts),
        "merge": max(figures["split"]["steps"]["merge"]["peak_mb"] for figures in rounds),
    }
    best["split"]["steps_wall_s"] = {
        step: min(figures["split"]["steps"][step]["wall_s"] for figures in rounds)
        for step in ("plan", "parts", "merge")
    }
    best["single"]["steps_wall_s"] = {
        step: min(figures["single"]["steps"][step]["wall_s"] for figures in rounds)
        for step in ("validate", "summarize")
    }
    # A worker's rate: each part's megabytes over its own wall (and CPU) seconds, with
    # ``workers`` of them sharing the machine's cores.
    best["per_worker"] = {
        "mb_per_wall_s": max(size / 1e6 / p["part_wall_s_sum"] for p in parts),
        "mb_per_cpu_s": max(size / 1e6 / p["part_cpu_s_sum"] for p in parts),
        "single_validate_mb_per_wall_s": max(size / 1e6 / v["wall_s"] for v in validate),
        "single_validate_mb_per_cpu_s": max(size / 1e6 / v["cpu_s"] for v in validate),
        "parts": parts[0]["count"],
        "workers": workers,
    }
    # Cores kept busy: CPU over wall seconds (what the moment's load left), and at most the
    # CPU over the busiest thread's (however free the cores).
    best["cores"] = {
        "single_validate": max(v["cpu_s"] / v["wall_s"] for v in validate),
        # A run too short for /proc to have sampled a thread has no figure, not a crash that
        # loses the others.
        "single_validate_at_most": max(
            (v["cpu_s"] / v["busiest_thread_cpu_s"] for v in validate if v["busiest_thread_cpu_s"]),
            default=float("nan"),
        ),
        "part_at_most": max(max(p["part_cores_at_most"], default=0.0) for p in parts),
        "part_at_most_median": statistics.median(
            [c for p in parts for c in p["part_cores_at_most"]] or [float("nan")]
        ),
    }
    cpu_ratio = best["split"]["cpu_s"] / best["single"]["cpu_s"]
    best["ratios"] = {
        "speed_up_best": best["single"]["wall_s"] / best["split"]["wall_s"],
        "speed_up_per_round": [f["single"]["wall_s"] / f["split"]["wall_s"] for f in rounds],
        "cpu_split_over_single": cpu_ratio,
        # The most the split path can gain on ``workers`` free cores: it needs at least its
        # CPU over the cores, the single path takes its CPU over the cores it keeps busy.
        "speed_up_ceiling": workers / (cpu_ratio * best["cores"]["single_validate"]),
    }
    best["load_end"] = _load()
    return best


def _line(figures: dict[str, Any], size: int) -> str:
    steps = ", ".join(
        f"{name} {step['wall_s']:.1f} s / {step['cpu_s']:.1f} CPU s"
        for name, step in figures["steps"].items()
    )
    return (
        f"{figures['wall_s']:.1f} s, {figures['cpu_s']:.1f} CPU s, "
        f"{size / 1e6 / figures['wall_s']:.0f} MB/s ({steps}); load {figures['load'][0]} -> "
        f"{figures['load'][1]}"
    )


def _table(best: dict[str, Any], size: int, workers: int) -> str:
    single, split = best["single"], best["split"]
    rate = best["per_worker"]
    ratios = best["ratios"]
    lines = [
        "",
        f"{'path':<26}{'wall s':>8}{'CPU s':>8}{'MB/s':>7}  peak RSS MB",
        f"{'single (validate+summarize)':<26}{single['wall_s']:>8.1f}{single['cpu_s']:>8.1f}"
        f"{single['mb_per_s']:>7.0f}  validate {single['peak_mb']['validate']:.0f},"
        f" summarize {single['peak_mb']['summarize']:.0f}",
        f"{f'split ({workers} workers)':<26}{split['wall_s']:>8.1f}{split['cpu_s']:>8.1f}"
        f"{split['mb_per_s']:>7.0f}  plan {split['peak_mb']['plan']:.0f},"
        f" worker {split['peak_mb']['worker']:.0f} (max), merge {split['peak_mb']['merge']:.0f}",
        "",
        "split steps (best): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in split["steps_wall_s"].items())
        + f"; {rate['parts']} parts",
        "single steps (best): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in single["steps_wall_s"].items()),
        f"per worker: {rate['mb_per_wall_s']:.1f} MB/s of wall ({workers} side by side),"
        f" {rate['mb_per_cpu_s']:.1f} MB per CPU s; single validate"
        f" {rate['single_validate_mb_per_wall_s']:.1f} MB/s, "
        f"{rate['single_validate_mb_per_cpu_s']:.1f} MB per CPU s",
        f"speed-up split/single (wall): {ratios['speed_up_best']:.2f}x best against best, "
        f"per round {', '.join(f'{r:.2f}' for r in ratios['speed_up_per_round'])}"
        f" (goal >= 1.7x with 2 workers: {'met' if ratios['speed_up_best'] >= 1.7 else 'NOT met'})",
        f"CPU split/single: {ratios['cpu_split_over_single']:.2f}x",
        f"cores busy: single validate {best['cores']['single_validate']:.2f} (CPU / wall; at most"
        f" {best['cores']['single_validate_at_most']:.2f}, CPU / busiest thread); a part at most"
        f" {best['cores']['part_at_most_median']:.2f} (median; max {best['cores']['part_at_most']:.2f})",
        f"speed-up ceiling, with the cores the single path kept busy here: {workers} / (CPU ratio x them) ="
        f" {ratios['speed_up_ceiling']:.2f}x",
        f"rows {single['rows']:,} / {split['rows']:,}, rejected {single['rejected_rows']:,}"
        f" / {split['rejected_rows']:,}; load at the end {best['load_end']}",
        f"typed Parquet per CSV byte (docs/scale.md's parquet_share): single"
        f" {single['parquet_share']:.3f}, split {split['parquet_share']:.3f}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
