"""The S3 client's CPU to send a Parquet file's bytes through the validate step's sink.

    python bench/upload_cpu.py [--mb 157] [--rounds 3]

A local S3 emulator (moto's server) runs in a process of its own, so the CPU counted is the
client's: the sink's copies, boto3's requests and checksums, HTTP. Not TLS: the emulator is
plain HTTP. docs/scale.md's model takes the CPU per MB as the upload's cost on a part's vCPU.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time

import boto3
from botocore.exceptions import EndpointConnectionError

from csvflow.adapters.s3 import S3ObjectStore
from csvflow.domain.model import ObjectRef

BUCKET = "bench-upload"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=150, help="MiB sent in each round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        for _ in range(100):  # the server's start
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except EndpointConnectionError:  # not listening yet
                time.sleep(0.1)
        store = S3ObjectStore(client, multipart_bytes=64 << 20)
        piece = os.urandom(1 << 20)  # Parquet's bytes compress no further
        for round_ in range(1, args.rounds + 1):
            load = os.getloadavg()[0]
            before, started = os.times(), time.perf_counter()
            with store.create(ObjectRef(BUCKET, f"round-{round_}")) as sink:
                for _ in range(args.mb):
                    sink.write(piece)
                sink.commit()
            after, ended = os.times(), time.perf_counter()
            cpu = after.user + after.system - before.user - before.system
            mb = args.mb * (1 << 20) / 1e6
            print(
                f"round {round_}: {mb:.0f} MB, client CPU {cpu:.2f} s"
                f" ({cpu / mb * 1000:.1f} ms a MB), wall {ended - started:.2f} s;"
                f" load {load:.1f} -> {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
