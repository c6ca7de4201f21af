"""Distributed Map iterations in the local runtime: one place against worker processes.

    python bench/local_workers.py [--iterations 2] [--rounds 2] [--cpu-seconds 3] [--megabytes 200]

Runs a Distributed Map (tests/support/distributed_map.py) in moto's interpreter, MaxConcurrency
equal to the iterations, with the in-process runner given one place (every invocation in the
runtime's process, one at a time, as before workers) and then one place per iteration (the
second and later ones in worker processes, ADR 0019), taking turns, best of N. Two kinds of
iteration:

- ``cpu``: each burns ``--cpu-seconds`` of pure Python work;
- ``chunks``: a CSV of ``--megabytes`` in the emulated S3, each iteration a ranged GET of its
  share and Python's csv module over it (a worker reads its range over HTTP from the runtime's
  process, which serves it meanwhile).

Each measurement runs in a process of its own: wall seconds of the map, each iteration's and how
long they ran at the same time, CPU seconds (the process and its workers, user + sys), and the
process's peak RSS. On a machine other work shares, compare CPU seconds and the time side by
side: wall time follows the cores the other work leaves.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import measured_in_child  # noqa: E402

# The function every iteration invokes.
HANDLER = """
import csv
import io
import json
import os
import time

import boto3


def lambda_handler(event, context):
    started = time.time()
    answer = work(event)
    if event.get("timeline"):  # when it ran, and where
        with open(event["timeline"], "a", encoding="utf-8") as timeline:
            timeline.write(json.dumps([os.getpid(), started, time.time()]) + "\\n")
    return answer


def work(event):
    if event["kind"] == "cpu":
        # (the thread's CPU time: in the runtime's process others' threads run too)
        until, count = time.thread_time() + event["cpu_seconds"], 0
        while time.thread_time() < until:
            count += 1
        return {"count": count}
    s3 = boto3.client("s3", region_name="us-east-1")
    body = s3.get_object(Bucket="data", Key="big.csv", Range=event["range"])["Body"].read()
    rows, total = 0, 0.0
    for row in csv.reader(io.StringIO(body.decode())):
        if len(row) == 3 and row[2][:1].isdigit():
            rows, total = rows + 1, total + float(row[2])
    return {"rows": rows, "total": total}
"""

MEASURE = """
import io, json, os, resource, sys, time, zipfile
import boto3
from moto import mock_aws
from csvflow.local.lambda_runner import InProcessLambdaRunner
from csvflow.local.runtime import _integrity_checks_left_to_real_s3
from csvflow.local.s3_ranges import ranged_gets_read_their_range
from tests.support.distributed_map import run_map

places, iterations, kind, cpu_seconds, megabytes, handler, timeline = sys.argv[1:8]
places, iterations, megabytes = int(places), int(iterations), int(megabytes)
with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), \\
        _integrity_checks_left_to_real_s3(), ranged_gets_read_their_range():
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", open(handler).read())
    boto3.client("lambda", region_name="us-east-1").create_function(
        FunctionName="f", Runtime="python3.12", Role=role, Handler="app.lambda_handler",
        Code={"ZipFile": code.getvalue()}, Timeout=900)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="data")
    items = [{"kind": kind, "cpu_seconds": float(cpu_seconds)} for _ in range(iterations)]
    if kind == "chunks":
        line = b"12345,region-07,1234.5\\n"
        data = line * (megabytes * (1 << 20) // len(line))
        s3.put_object(Bucket="data", Key="big.csv", Body=data)
        share = len(data) // iterations
        items = [{"kind": kind, "range": f"bytes={i * share}-{(i + 1) * share - 1}"}
                 for i in range(iterations)]
        del data
    items = [item | {"timeline": timeline} for item in items]
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    with InProcessLambdaRunner(side_by_side=places).installed() as runner:
        # The function warm in this process first, as a workflow's earlier steps leave it.
        boto3.client("lambda", region_name="us-east-1").invoke(
            FunctionName="f", Payload=json.dumps({"kind": "cpu", "cpu_seconds": 0}))
        started, cpu = time.monotonic(), os.times()
        described = run_map(sfn, s3, role, items, bucket="data", concurrency=iterations)
        wall = time.monotonic() - started
        assert described["status"] == "SUCCEEDED", described
        workers = runner.worker_processes_started
    # (the workers have ended: their CPU is the children's)
    ended = os.times()
spent = (ended.user - cpu.user) + (ended.system - cpu.system)
spent += (ended.children_user - cpu.children_user) + (ended.children_system - cpu.children_system)
ran = [json.loads(line) for line in open(timeline)]
# How long the iterations ran at the same time: from the last start to the first end.
together = min(end for _, _, end in ran) - max(start for _, start, _ in ran)
print(json.dumps({
    "wall_s": round(wall, 2),
    "iterations_s": [round(end - start, 2) for _, start, end in ran],
    "side_by_side_s": round(max(together, 0), 2),
    "processes": len({pid for pid, _, _ in ran}),
    "cpu_s": round(spent, 2),
    "workers_started": workers,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
}))
"""


SPIN = """
import sys, time
started, until = time.monotonic(), time.thread_time() + float(sys.argv[1])
while time.thread_time() < until:
    pass
print(time.monotonic() - started)
"""


def machine_ceiling(processes: int, cpu_seconds: float) -> float:
    """The speed-up ``processes`` plain Python processes get on this machine now, each
    burning ``cpu_seconds`` (other work shares the cores): the most workers can give."""
    import subprocess

    def run(count: int) -> float:
        started = [
            subprocess.Popen(
                [sys.executable, "-c", SPIN, str(cpu_seconds)], stdout=subprocess.PIPE, text=True
            )
            for _ in range(count)
        ]
        return max(float(process.communicate()[0]) for process in started)

    alone = run(1)
    return round(alone * processes / run(processes), 2)


def measure(places: int, args: argparse.Namespace, kind: str, handler: Path) -> dict[str, Any]:
    timeline = handler.with_name(f"timeline-{kind}-{places}.jsonl")
    timeline.unlink(missing_ok=True)
    return measured_in_child(
        MEASURE,
        [
            str(places),
            str(args.iterations),
            kind,
            str(args.cpu_seconds),
            str(args.megabytes),
            str(handler),
            str(timeline),
        ],
        what=f"{kind} with {places} place(s)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cpu-seconds", type=float, default=3.0)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--kinds", default="cpu,chunks")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        handler = Path(folder, "app.py")
        handler.write_text(HANDLER, encoding="utf-8")
        figures: dict[str, Any] = {}
        for kind in args.kinds.split(","):
            runs: dict[str, list[dict[str, Any]]] = {"one place": [], "workers": []}
            for _ in range(args.rounds):  # taking turns, so both see the same machine
                runs["one place"].append(measure(1, args, kind, handler))
                runs["workers"].append(measure(args.iterations, args, kind, handler))
            best = {name: min(found, key=lambda f: f["wall_s"]) for name, found in runs.items()}
            best["speed-up"] = {
                "wall": round(best["one place"]["wall_s"] / best["workers"]["wall_s"], 2),
                # what the machine gave plain processes just after: the ceiling
                "plain_processes": machine_ceiling(args.iterations, args.cpu_seconds),
            }
            figures[kind] = best
            print(kind, json.dumps(best, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
