"""docs/scale.md's model: time from upload to summary and cost, for 1, 10 and 100 GB in AWS.

    python bench/scale_model.py [--part-mb-per-cpu-s 61.8] [--concurrency 100] [--part-mib 512]
        [--part-memory-mb 1769] [--express-children] [--arm64] ...
    python bench/scale_model.py --doc     # every table of docs/scale.md, in its order

Three kinds of figure, kept apart: MEASURED here (bench/split_run.py and the profiles named in
docs/scale.md), PUBLISHED by AWS (the pages docs/scale.md cites, with the date they were read),
and ASSUMED (neither: each says what it stands for, and the doc shows how the answer moves
with it). Change a figure here and re-run; the doc's tables are this script's output.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, fields, replace

MB = 1e6
GB = 1e9
MIB = 2**20


@dataclass(frozen=True)
class Figures:
    # MEASURED (bench/split_run.py on a 2,049 MB file, 2026-11-29; docs/scale.md)
    part_mb_per_cpu_s: float = 64.1  # a part's validation, MB of CSV per CPU second
    single_mb_per_cpu_s: float = 74.7  # the single path's validate_csv, the same file
    # CPU s per wall s a part keeps busy, vCPUs allowing: 1.0 to 1.39 seen on a shared
    # machine; its busiest thread does half its CPU work, so at most about 2.
    cores_per_part: float = 1.0
    plan_s: float = 0.3
    merge_fixed_s: float = 0.3
    merge_cpu_s_per_part: float = 0.016  # 12 to 187 parts, local folder
    parquet_share: float = 0.23  # typed Parquet bytes per CSV byte (2 GB sales file, 2026-11-30)
    # The S3 client's CPU to send the Parquet in 64 MiB parts (HTTP and checksums, to a local
    # S3 emulator; TLS not included): bench/upload_cpu.py.
    upload_cpu_s_per_mb: float = 0.0028
    # PUBLISHED (docs/scale.md cites each), or this repository's own settings
    validate_memory_mb: int = 3008  # template.yaml: the validate and summarize functions
    part_memory_mb: int = 1769  # template.yaml: the validate-part function (docs/adr/0025)
    mb_per_vcpu: int = 1769
    lambda_gb_s_usd: float = 0.0000166667  # x86, us-east-1, first tier
    lambda_gb_s_usd_arm64: float = 0.0000133334  # arm64 (Graviton2), us-east-1, first tier
    lambda_request_usd: float = 0.20 / 1e6
    lambda_timeout_s: int = 900
    tmp_bytes: float = 10240 * MIB
    max_file_bytes: float = 10 * 2**30  # CSVFLOW_MAX_FILE_BYTES' default (config.py)
    split_bytes: float = 2**30  # CSVFLOW_SPLIT_BYTES (template.yaml)
    part_bytes: float = 512 * MIB  # CSVFLOW_PART_BYTES (template.yaml)
    concurrency: int = 100  # CSVFLOW_PART_CONCURRENCY's default (Distributed Map allows 10,000)
    multipart_bytes: float = 64 * MIB  # CSVFLOW_S3_MULTIPART_BYTES: a part's Parquet upload
    merge_reads_at_once: int = 16  # split_path.fetched_in_order
    transition_usd: float = 0.025 / 1000
    express_request_usd: float = 1.00 / 1e6
    express_gb_s_usd: float = 0.06 / 3600  # first 1,000 GB-hours a month
    express_billed_gb: float = 64 / 1024  # memory is billed in 64 MB chunks; a child needs one
    s3_put_usd: float = 0.005 / 1000
    s3_get_usd: float = 0.0004 / 1000
    glue_dpu_hour_usd: float = 0.44
    glue_minimum_s: float = 60
    glue_vcpus_per_dpu: int = 4
    # DESIGN CHOICES (docs/scale.md says which are deployed)
    express_children: bool = False  # the Map's child executions EXPRESS, not STANDARD
    # The Parquet sent up in parts as the pass writes it (deployed, docs/adr/0026): its CPU
    # shares the pass's vCPU, and only the last part and the completion wait after the pass.
    upload_overlapped: bool = True
    arm64: bool = False
    # ASSUMED (not published as a figure, not measured here)
    arm64_speed: float = 1.0  # Graviton2's CPU seconds against x86's for this work: unmeasured
    cold_start_s: float = 1.0  # a new execution environment, the 0.55 s import included
    small_get_s: float = 0.03  # AWS: small requests' median latency is "tens of milliseconds"
    upload_mb_s: float = 100  # a part's Parquet up to S3
    map_start_s: float = 2.0  # Map Run: read the item list, start the first children
    orchestration_s: float = 2.0  # S3 event -> SNS -> SQS -> starter -> execution, transitions
    persist_s: float = 1.0
    glue_start_s: float = 30.0  # Glue 2.0+ Spark job start-up (AWS gives no figure)
    glue_mb_per_vcpu_s: float | None = None  # Spark doing csvflow's work; None: = a part's

    @property
    def glue_rate(self) -> float:
        return self.glue_mb_per_vcpu_s or self.part_mb_per_cpu_s


@dataclass(frozen=True)
class Outcome:
    seconds: float
    usd: float
    note: str = ""
    # The split path's cost by what it pays for, in USD (docs/scale.md's "what dominates").
    parts_of_cost: tuple[tuple[str, float], ...] = ()


def _gb_s_usd(f: Figures) -> float:
    return f.lambda_gb_s_usd_arm64 if f.arm64 else f.lambda_gb_s_usd


def _cpu_rate(rate: float, f: Figures) -> float:
    return rate * (f.arm64_speed if f.arm64 else 1.0)


def parquet_upload_s(parquet_mb: float, compute: float, cores: float, f: Figures) -> float:
    """What a step pays for its Parquet's upload beyond its pass: after the pass, the whole
    file at ``upload_mb_s``; sent during it, the upload's CPU on the pass's vCPUs, then the last
    part (or the rest, if the link could not keep up) and the completing request."""
    if not f.upload_overlapped:
        return parquet_mb / f.upload_mb_s
    cpu = parquet_mb * f.upload_cpu_s_per_mb / cores
    last_part_mb = parquet_mb % (f.multipart_bytes / MB) or min(parquet_mb, f.multipart_bytes / MB)
    behind = parquet_mb / f.upload_mb_s - compute  # > 0: the link is slower than the writer
    return cpu + max(last_part_mb / f.upload_mb_s, behind) + f.small_get_s


def split_path(size: float, f: Figures) -> Outcome:
    part_mb = f.part_bytes / MB
    parts = math.ceil(size / f.part_bytes)
    waves = math.ceil(parts / f.concurrency)
    # A part keeps at most the vCPUs its memory buys busy (AWS: 1,769 MB is one vCPU).
    cores = min(f.cores_per_part, f.part_memory_mb / f.mb_per_vcpu)
    compute = part_mb / (_cpu_rate(f.part_mb_per_cpu_s, f) * cores)
    parquet_mb = part_mb * f.parquet_share
    upload = parquet_upload_s(parquet_mb, compute, cores, f)
    warm = compute + upload
    map_s = f.map_start_s + f.cold_start_s + waves * warm
    plan = f.cold_start_s + f.plan_s
    # The merge reads each part's record and its two summary-state files, 16 at a time.
    reads = math.ceil(3 * parts / f.merge_reads_at_once)
    merge = (
        f.cold_start_s + f.merge_fixed_s + parts * f.merge_cpu_s_per_part + reads * f.small_get_s
    )
    seconds = f.orchestration_s + plan + map_s + merge + f.persist_s
    part_gb = f.part_memory_mb / 1024
    step_gb = f.validate_memory_mb / 1024
    cold_starts = min(parts, f.concurrency)
    usd_gb_s = _gb_s_usd(f)
    lambda_compute = parts * compute * part_gb * usd_gb_s
    lambda_upload = parts * upload * part_gb * usd_gb_s
    lambda_cold = cold_starts * f.cold_start_s * part_gb * usd_gb_s
    lambda_plan_merge = (plan + merge) * step_gb * f.lambda_gb_s_usd
    requests = (parts + 3) * f.lambda_request_usd
    # A Distributed Map is charged a transition per child it starts; a STANDARD child pays
    # for its own task's transition, an EXPRESS one for a request and its duration instead.
    if f.express_children:
        child_s = math.ceil(warm * 10) / 10
        children = parts * (
            f.transition_usd
            + f.express_request_usd
            + child_s * f.express_billed_gb * f.express_gb_s_usd
        )
    else:
        children = parts * 2 * f.transition_usd
    workflow = children + 12 * f.transition_usd  # the parent's own states
    # PUTs: the Parquet (one PUT, or a multipart upload: create, its parts, complete), the
    # record and two summary-state files. GETs: plan, contract, record, the range; the
    # merge's three reads.
    parquet_puts = (
        1
        if parquet_mb * MB < f.multipart_bytes
        else math.ceil(parquet_mb * MB / f.multipart_bytes) + 2
    )
    s3 = parts * ((parquet_puts + 3) * f.s3_put_usd + 7 * f.s3_get_usd)
    breakdown = (
        ("Lambda: validating", lambda_compute),
        ("Lambda: the Parquet upload (its wait, or its CPU and last part)", lambda_upload),
        ("Lambda: cold starts", lambda_cold),
        ("Lambda: plan and merge", lambda_plan_merge),
        ("Lambda: requests", requests),
        ("Step Functions", workflow),
        ("S3 requests", s3),
    )
    usd = sum(cost for _, cost in breakdown)
    note = f"{parts} parts, {waves} wave(s); map {map_s:.0f} s, merge {merge:.0f} s"
    return Outcome(seconds, usd, note, breakdown)


def single_lambda(size: float, f: Figures) -> Outcome:
    cores = min(f.cores_per_part, f.validate_memory_mb / f.mb_per_vcpu)
    compute = size / MB / (_cpu_rate(f.single_mb_per_cpu_s, f) * cores)
    upload = parquet_upload_s(size * f.parquet_share / MB, compute, cores, f)
    seconds_in = f.cold_start_s + compute + upload
    gb = f.validate_memory_mb / 1024
    usd = seconds_in * gb * _gb_s_usd(f) + 3 * f.lambda_request_usd
    seconds = f.orchestration_s + seconds_in + f.cold_start_s + 0.5 + f.persist_s
    reasons = []
    if size > f.max_file_bytes:
        reasons.append("over CSVFLOW_MAX_FILE_BYTES")
    if size * f.parquet_share > f.tmp_bytes and not f.upload_overlapped:
        reasons.append("Parquet over /tmp")
    if seconds_in > f.lambda_timeout_s:
        reasons.append(f"{seconds_in / 60:.0f} min > 15 min")
    return Outcome(seconds, usd, "cannot: " + ", ".join(reasons) if reasons else "")


def glue_job(size: float, f: Figures, workers: int) -> Outcome:
    # One worker of G.1X (1 DPU = 4 vCPU) is Spark's driver; the others read.
    rate = (workers - 1) * f.glue_vcpus_per_dpu * f.glue_rate
    run = size / MB / rate
    billed = max(run, f.glue_minimum_s)
    usd = billed / 3600 * workers * f.glue_dpu_hour_usd
    seconds = f.orchestration_s + f.glue_start_s + run + f.persist_s
    return Outcome(seconds, usd, f"{workers} G.1X workers, billed {billed:.0f} s")


GOALS_S = {1: 60.0, 10: 60.0, 100: 300.0}  # issue 17: 10 GB under 60 s, 100 GB under 5 min


def glue_for_goal(size: float, f: Figures, goal_s: float) -> Outcome:
    """The fewest G.1X workers (2 at the least) that meet the time goal, if any does."""
    if f.orchestration_s + f.glue_start_s + f.persist_s >= goal_s:
        outcome = glue_job(size, f, 2)
        return replace(outcome, note=outcome.note + "; its start-up alone misses the goal")
    for workers in range(2, 1000):
        outcome = glue_job(size, f, workers)
        if outcome.seconds <= goal_s:
            return outcome
    return replace(outcome, note=outcome.note + "; cannot meet the goal")


def table(f: Figures) -> str:
    rows = [
        "| size | path | upload to summary | cost | $ per GB | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    for size_gb in (1, 10, 100):
        size = size_gb * GB
        for name, outcome in (
            ("split (Distributed Map)", split_path(size, f)),
            ("one Lambda", single_lambda(size, f)),
            ("Glue, 2 workers", glue_job(size, f, 2)),
            ("Glue, 10 workers", glue_job(size, f, 10)),
            ("Glue, fewest workers for the goal", glue_for_goal(size, f, GOALS_S[size_gb])),
        ):
            taken = (
                "single path by default"
                if name.startswith("split") and size < f.split_bytes
                else ""
            )
            note = "; ".join(n for n in (outcome.note, taken) if n)
            rows.append(
                f"| {size_gb} GB | {name} | {outcome.seconds:,.0f} s | ${outcome.usd:.4f}"
                f" | ${outcome.usd / size_gb:.5f} | {note} |"
            )
    return "\n".join(rows)


DEPLOYED = Figures()
# What was deployed before docs/scale.md's cost work, where the design choices start from.
DEPLOYED_BEFORE = replace(
    DEPLOYED,
    part_bytes=128 * MIB,
    multipart_bytes=8 * MIB,
    part_memory_mb=3008,
    upload_overlapped=False,
)
# Before the parts had a function of their own: in validate's 3,008 MB, 256 MiB each.
IN_VALIDATE = replace(DEPLOYED, part_bytes=256 * MIB, part_memory_mb=3008, upload_overlapped=False)
# The part function and parts of 512 MiB, the Parquet uploaded after the pass (docs/adr/0025).
UPLOADED_AFTER = replace(DEPLOYED, upload_overlapped=False)
# The design choices, one added at a time to DEPLOYED_BEFORE (docs/scale.md, "What moves it").
CHOICES: tuple[tuple[str, dict[str, object]], ...] = (
    ("the first split path (128 MiB parts, 8 MiB multipart)", {}),
    ("parts of 256 MiB", {"part_bytes": 256 * MIB}),
    ("+ Parquet multipart in 64 MiB pieces (config.py)", {"multipart_bytes": 64 * MIB}),
    ("+ parts in a function of 1,769 MB, one vCPU (deployed)", {"part_memory_mb": 1769}),
    ("+ parts of 512 MiB (deployed)", {"part_bytes": 512 * MIB}),
    (
        "+ the Parquet uploaded during the pass (deployed: as deployed now)",
        {"upload_overlapped": True},
    ),
    ("+ the Map's children EXPRESS", {"express_children": True}),
    ("+ arm64, at x86's speed (unmeasured)", {"arm64": True}),
)


def choices_table(base: Figures = DEPLOYED_BEFORE) -> str:
    rows = [
        "| design (each row adds to the one above) | 10 GB | 100 GB | 100 GB $ per GB "
        "| Glue for the goal, 100 GB $ per GB |",
        "|---|---:|---:|---:|---:|",
    ]
    f = base
    for name, change in CHOICES:
        f = replace(f, **change)  # type: ignore[arg-type]
        ten, hundred = split_path(10 * GB, f), split_path(100 * GB, f)
        glue = glue_for_goal(100 * GB, f, GOALS_S[100])
        rows.append(
            f"| {name} | {ten.seconds:,.0f} s | {hundred.seconds:,.0f} s"
            f" | ${hundred.usd / 100:.5f} | ${glue.usd / 100:.5f} |"
        )
    return "\n".join(rows)


def breakdown_table(designs: dict[str, Figures], size_gb: int = 100) -> str:
    outcomes = {name: split_path(size_gb * GB, f) for name, f in designs.items()}
    names = list(outcomes)
    rows = [
        f"| {size_gb} GB, $ per GB | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    parts = [part for part, _ in next(iter(outcomes.values())).parts_of_cost]
    for index, part in enumerate(parts):
        cells = []
        for outcome in outcomes.values():
            usd = outcome.parts_of_cost[index][1]
            cells.append(f"${usd / size_gb:.5f} ({usd / outcome.usd:.0%})")
        rows.append(f"| {part} | " + " | ".join(cells) + " |")
    rows.append(
        "| **total** | "
        + " | ".join(f"**${o.usd / size_gb:.5f}**" for o in outcomes.values())
        + " |"
    )
    return "\n".join(rows)


SENSITIVITY: tuple[tuple[str, dict[str, object]], ...] = (
    ("(default)", {}),
    (
        "a part's rate 39.3 MB per CPU s (the last page's, another machine and commit)",
        {"part_mb_per_cpu_s": 39.3, "single_mb_per_cpu_s": 46.1},
    ),
    (
        "a part's rate 48.2 MB per CPU s (512 MiB parts pinned to one core, this page)",
        {"part_mb_per_cpu_s": 48.2, "single_mb_per_cpu_s": 55.8},
    ),
    (
        "parts in validate's 3,008 MB keeping 1.7 cores busy (the case against the part function)",
        {"part_memory_mb": 3008, "cores_per_part": 1.7},
    ),
    ("S3 small reads 50 ms", {"small_get_s": 0.05}),
    ("Parquet upload 50 MB/s", {"upload_mb_s": 50}),
    (
        "the upload's CPU 3 times the measured (TLS, not measured)",
        {"upload_cpu_s_per_mb": 3 * 0.0028},
    ),
    ("cold start 2 s", {"cold_start_s": 2.0}),
    ("concurrency 8 (`ReserveConcurrency=true`)", {"concurrency": 8}),
    ("concurrency 1,000", {"concurrency": 1000}),
    ("Glue start-up 60 s", {"glue_start_s": 60.0}),
    ("Spark at half csvflow's rate per vCPU", {"glue_mb_per_vcpu_s": 64.1 / 2}),
)


def sensitivity_table() -> str:
    rows = [
        "| change | 10 GB split, as deployed | 100 GB split, as deployed | 100 GB $ per GB,"
        " as deployed | 100 GB $ per GB, proposed | Glue for the goal, 10 GB"
        " | Glue for the goal, 100 GB |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for name, change in SENSITIVITY:
        f = replace(DEPLOYED, **change)  # type: ignore[arg-type]
        better = replace(proposed(), **change)  # type: ignore[arg-type]
        ten, hundred = split_path(10 * GB, f), split_path(100 * GB, f)
        glue_ten = glue_for_goal(10 * GB, f, GOALS_S[10])
        glue_hundred = glue_for_goal(100 * GB, f, GOALS_S[100])
        rows.append(
            f"| {name} | {ten.seconds:,.0f} s | {hundred.seconds:,.0f} s"
            f" | ${hundred.usd / 100:.5f} | ${split_path(100 * GB, better).usd / 100:.5f}"
            f" | {glue_ten.seconds:,.0f} s, ${glue_ten.usd / 10:.5f}/GB"
            f" | {glue_hundred.seconds:,.0f} s, ${glue_hundred.usd / 100:.5f}/GB |"
        )
    return "\n".join(rows)


def proposed() -> Figures:
    """Every x86 choice of CHOICES: what docs/scale.md weighs next (built or not)."""
    f = DEPLOYED_BEFORE
    for _, change in CHOICES:
        if not change.get("arm64"):
            f = replace(f, **change)  # type: ignore[arg-type]
    return f


def doc() -> str:
    return "\n\n".join(
        (
            "Results (as deployed now):\n\n" + table(DEPLOYED),
            "What dominates:\n\n"
            + breakdown_table(
                {
                    "parts in validate (256 MiB)": IN_VALIDATE,
                    "uploaded after the pass": UPLOADED_AFTER,
                    "as deployed now": DEPLOYED,
                    "every x86 choice": proposed(),
                }
            ),
            "Design choices:\n\n" + choices_table(),
            "Sensitivity:\n\n" + sensitivity_table(),
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--doc", action="store_true", help="every table of docs/scale.md")
    parser.add_argument("--part-mb-per-cpu-s", type=float)
    parser.add_argument("--cores-per-part", type=float)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--glue-start-s", type=float)
    parser.add_argument("--small-get-s", type=float)
    parser.add_argument("--part-memory-mb", type=int)
    parser.add_argument("--part-mib", type=int)
    parser.add_argument("--multipart-mib", type=int)
    parser.add_argument("--express-children", action="store_true", default=None)
    parser.add_argument("--arm64", action="store_true", default=None)
    args = parser.parse_args(argv)
    if args.doc:
        print(doc())
        return 0
    if args.part_mib:
        args.part_bytes = float(args.part_mib * MIB)
    if args.multipart_mib:
        args.multipart_bytes = float(args.multipart_mib * MIB)
    names = {field.name for field in fields(Figures)}
    changes = {
        name: value for name, value in vars(args).items() if value is not None and name in names
    }
    print(table(replace(DEPLOYED, **changes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
