"""docs/scale.md's model: time from upload to summary and cost, for 1, 10 and 100 GB in AWS.

    python bench/scale_model.py [--part-mb-per-cpu-s 39.3] [--concurrency 100]

Three kinds of figure, kept apart: MEASURED here (bench/split_run.py and the profiles named in
docs/scale.md), PUBLISHED by AWS (the pages docs/scale.md cites, with the date they were read),
and ASSUMED (neither: each says what it stands for, and the doc shows how the answer moves
with it). Change a figure here and re-run; the doc's tables are this script's output.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace

MB = 1e6
GB = 1e9


@dataclass(frozen=True)
class Figures:
    # MEASURED (bench/split_run.py --megabytes 2048, 2026-11-29; docs/scale.md)
    part_mb_per_cpu_s: float = 39.3  # a part's validation, MB of CSV per CPU second
    single_mb_per_cpu_s: float = 46.1  # the single path's validate_csv, the same file
    cores_per_part: float = 1.0  # CPU s per wall s a part keeps busy (1.0 to 1.39 seen)
    plan_s: float = 0.3
    merge_fixed_s: float = 0.3
    merge_cpu_s_per_part: float = 0.016  # 12 to 187 parts, local folder
    parquet_share: float = 0.28  # typed Parquet bytes per CSV byte
    import_s: float = 0.55  # the validate function's import (docs/performance.md)
    # PUBLISHED (docs/scale.md cites each)
    lambda_memory_mb: int = 3008  # template.yaml, the validate and summarize functions
    mb_per_vcpu: int = 1769
    lambda_gb_s_usd: float = 0.0000166667  # x86, us-east-1, first tier
    lambda_request_usd: float = 0.20 / 1e6
    lambda_timeout_s: int = 900
    tmp_bytes: float = 10240 * 2**20
    max_file_bytes: float = 10 * 2**30  # CSVFLOW_MAX_FILE_BYTES' default (config.py)
    split_bytes: float = 2**30  # CSVFLOW_SPLIT_BYTES' default
    part_bytes: float = 128 * 2**20  # CSVFLOW_PART_BYTES' default
    concurrency: int = 100  # CSVFLOW_PART_CONCURRENCY's default (Distributed Map allows 10,000)
    transition_usd: float = 0.025 / 1000
    s3_put_usd: float = 0.005 / 1000
    s3_get_usd: float = 0.0004 / 1000
    glue_dpu_hour_usd: float = 0.44
    glue_minimum_s: float = 60
    glue_vcpus_per_dpu: int = 4
    # ASSUMED (not published as a figure, not measured here)
    cold_start_s: float = 1.0  # a new execution environment, the 0.55 s import included
    small_get_s: float = 0.03  # AWS: small requests' median latency is "tens of milliseconds"
    upload_mb_s: float = 100  # a part's Parquet up to S3 (boto3 multipart, 8 MB parts)
    map_start_s: float = 2.0  # Map Run: read the item list, start the first children
    orchestration_s: float = 2.0  # S3 event -> SNS -> SQS -> starter -> execution, transitions
    persist_s: float = 1.0
    glue_start_s: float = 30.0  # Glue 2.0+ Spark job start-up (AWS gives no figure)
    glue_mb_per_vcpu_s: float = 39.3  # Spark doing csvflow's work: not measured, set = ours


@dataclass(frozen=True)
class Outcome:
    seconds: float
    usd: float
    note: str = ""


def split_path(size: float, f: Figures) -> Outcome:
    part_mb = f.part_bytes / MB
    parts = math.ceil(size / f.part_bytes)
    waves = math.ceil(parts / f.concurrency)
    compute = part_mb / (f.part_mb_per_cpu_s * f.cores_per_part)
    upload = part_mb * f.parquet_share / f.upload_mb_s
    warm = compute + upload
    map_s = f.map_start_s + f.cold_start_s + waves * warm
    plan = f.cold_start_s + f.plan_s
    # The merge reads each part's record and its two summary-state files one after another.
    merge = f.cold_start_s + f.merge_fixed_s + parts * (f.merge_cpu_s_per_part + 3 * f.small_get_s)
    seconds = f.orchestration_s + plan + map_s + merge + f.persist_s
    lambda_s = plan + parts * warm + min(parts, f.concurrency) * f.cold_start_s + merge
    gb = f.lambda_memory_mb / 1024
    usd = (
        lambda_s * gb * f.lambda_gb_s_usd
        + (parts + 3) * f.lambda_request_usd
        + (2 * parts + 12) * f.transition_usd  # a child's start and its task; the parent's
        + parts * (10 * f.s3_put_usd + 9 * f.s3_get_usd)  # Parquet parts, records, states
    )
    note = f"{parts} parts, {waves} wave(s); map {map_s:.0f} s, merge {merge:.0f} s"
    return Outcome(seconds, usd, note)


def single_lambda(size: float, f: Figures) -> Outcome:
    seconds_in = (
        f.cold_start_s
        + size / MB / (f.single_mb_per_cpu_s * f.cores_per_part)
        + size * f.parquet_share / MB / f.upload_mb_s
    )
    gb = f.lambda_memory_mb / 1024
    usd = seconds_in * gb * f.lambda_gb_s_usd + 3 * f.lambda_request_usd
    seconds = f.orchestration_s + seconds_in + f.cold_start_s + 0.5 + f.persist_s
    reasons = []
    if size > f.max_file_bytes:
        reasons.append("over CSVFLOW_MAX_FILE_BYTES")
    if size * f.parquet_share > f.tmp_bytes:
        reasons.append("Parquet over /tmp")
    if seconds_in > f.lambda_timeout_s:
        reasons.append(f"{seconds_in / 60:.0f} min > 15 min")
    return Outcome(seconds, usd, "cannot: " + ", ".join(reasons) if reasons else "")


def glue_job(size: float, f: Figures, workers: int) -> Outcome:
    # One worker of G.1X (1 DPU = 4 vCPU) is Spark's driver; the others read.
    rate = (workers - 1) * f.glue_vcpus_per_dpu * f.glue_mb_per_vcpu_s
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part-mb-per-cpu-s", type=float)
    parser.add_argument("--cores-per-part", type=float)
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--glue-start-s", type=float)
    parser.add_argument("--small-get-s", type=float)
    parser.add_argument("--lambda-memory-mb", type=int)
    parser.add_argument("--part-mib", type=int)
    args = parser.parse_args(argv)
    if args.part_mib:
        args.part_bytes = float(args.part_mib * 2**20)
    changes = {
        name: value
        for name, value in vars(args).items()
        if value is not None and name in Figures.__dataclass_fields__
    }
    print(table(replace(Figures(), **changes)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
