"""Which account a command talks to: AWS itself (--aws) or an emulated one (--endpoint-url)."""

from __future__ import annotations

import argparse
from typing import Any

LOCAL_ENDPOINT = "http://127.0.0.1:4566"


def add_target_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint-url",
        default=LOCAL_ENDPOINT,
        help=f"an emulated account (default: `csvflow local serve` at {LOCAL_ENDPOINT})",
    )
    where.add_argument(
        "--aws", action="store_true", help="AWS itself (standard profile/region resolution)"
    )
    parser.add_argument("--region", help="AWS region (default: the profile's)")
    parser.add_argument(
        "--name", default="csvflow", help="the stack's name prefix (default: csvflow)"
    )


def client(args: argparse.Namespace, service: str) -> Any:
    import boto3

    if args.aws:
        return boto3.client(service, region_name=args.region)  # type: ignore[call-overload,unused-ignore]
    return boto3.client(  # type: ignore[call-overload,unused-ignore]
        service,
        endpoint_url=args.endpoint_url,
        region_name=args.region or "us-east-1",
        aws_access_key_id="local",
        # (bandit: the emulated account accepts any key; no real credential)
        aws_secret_access_key="local",  # nosec B106
    )
