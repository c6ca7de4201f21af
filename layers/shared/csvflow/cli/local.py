"""`csvflow local serve`: the emulated account on an HTTP endpoint."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable

from csvflow.cli.database import add_database_option, open_database
from csvflow.cli.functions import add_lambda_endpoint_option
from csvflow.domain.model import s3_uri


def register(
    command: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    local = command("local", help="the emulated AWS account")
    local_sub = local.add_subparsers(required=True, metavar="COMMAND")
    serve = local_sub.add_parser(
        "serve", parents=[common], help="serve the emulated stack on an HTTP endpoint"
    )
    serve.add_argument("--port", type=int, default=4566)
    add_database_option(serve)
    add_lambda_endpoint_option(serve)
    serve.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from csvflow.local.account_folder import local_data_dir
    from csvflow.local.sdk_imports import accelerators_left_out

    with accelerators_left_out():  # the emulator's imports bring botocore's
        from csvflow.local.runtime import LocalRuntime
        from csvflow.local.server import LocalServer

    data_dir = local_data_dir()
    with open_database(args) as url:
        with (
            LocalRuntime(
                database_url=url, data_dir=data_dir, lambda_endpoint=args.lambda_endpoint
            ) as runtime,
            LocalServer(runtime, port=args.port) as server,
        ):
            endpoint = server.endpoint_url
            names = runtime.names
            print(
                f"csvflow's emulated account is serving on {endpoint} (Ctrl-C stops it)\n"
                f"  bucket         {names.bucket} (uploads under incoming/ start the workflow)\n"
                f"  state machine  {runtime.state_machine_arn}\n"
                f"  queue / DLQ    {names.queue} / {names.dead_letter_queue}\n"
                f"  functions      {', '.join(names.prefix + f for f in runtime.function_arns)}\n"
                f"  database       {url.split('@')[-1]}\n"
                f"{_functions_line(args.lambda_endpoint)}"
                "Try:\n"
                f"  aws --endpoint-url {endpoint} s3 cp examples/sales.csv "
                f"{s3_uri(names.bucket, 'incoming/sales/sales.csv')}\n"
                f"  csvflow executions --endpoint-url {endpoint}\n",
                flush=True,
            )
            stop = threading.Event()
            # Ctrl-C, or a SIGTERM from a supervisor (a background job ignores SIGINT).
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signal_number, lambda *_: stop.set())
            stop.wait()
            print(
                f"stopping: reports, Parquet and contracts are kept in {data_dir / 's3'}",
                file=sys.stderr,
            )
    return 0


def _functions_line(lambda_endpoint: str | None) -> str:
    if not lambda_endpoint:
        return "  run in         this process (--lambda-endpoint: in Lambda containers)\n"
    return f"  run at         {lambda_endpoint} (in Lambda runtime containers)\n"
