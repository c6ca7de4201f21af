"""Where the local stack's functions run: in-process (the default) or at a Lambda endpoint."""

from __future__ import annotations

import argparse


def add_lambda_endpoint_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lambda-endpoint",
        metavar="URL",
        help="run the workflow's functions at this Lambda endpoint, as built, in Lambda "
        "runtime containers (`sam local start-lambda`: http://127.0.0.1:3001) instead of "
        "in this process (README: Run the functions in containers)",
    )
