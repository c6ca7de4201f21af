"""The ``csvflow`` command: run the workflow locally, profile a file, query what was persisted."""

from __future__ import annotations

import argparse
import atexit
import functools
import gc
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from csvflow.cli import dlq, executions, local, logs, migrate, profile, query, run
from csvflow.cli.errors import explain
from csvflow.local.aws_endpoint import REQUESTS_LOGGER


def main(argv: Sequence[str] | None = None) -> int:
    _objects_left_to_the_os_at_exit()
    parser = _parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    _configure_logging(verbose)
    try:
        code: int = args.func(args)
        return code
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other command-line tools do;
        # stdout is pointed at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:
        print("csvflow: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except Exception as error:
        if verbose:
            traceback.print_exc()
        sentence, code = explain(error)
        print(f"csvflow: {sentence}", file=sys.stderr)
        return code


@functools.cache  # once a process
def _objects_left_to_the_os_at_exit() -> None:
    """At exit, after the exit's own cleanups, freeze what the command made.

    The interpreter's last garbage collections walk every object left (after `run`: moto's
    backends, botocore's models, the functions' modules): about 0.9 s of CPU and 1 to 2 s of
    wall after the output is printed, to free memory the OS takes back at once. Frozen
    objects are not walked. Exit functions run last registered first: this one after those
    registered while the command ran.
    """
    atexit.register(gc.freeze)


def _configure_logging(verbose: bool) -> None:
    """csvflow's own warnings by default; the emulator's and libraries' too with --verbose."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if not verbose:
        # moto logs every failed execution it runs (~10 KB each, even for an expected
        # InvalidCsv); csvflow reports the outcome itself.
        handler.addFilter(lambda record: record.name.partition(".")[0] == "csvflow")
        # Warnings only: the functions' progress lines (INFO) reach `run` as its own lines.
        handler.setLevel(logging.WARNING)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    # The served account's access lines, one per request, are logged at DEBUG.
    logging.getLogger(REQUESTS_LOGGER).setLevel(logging.DEBUG if verbose else logging.NOTSET)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="csvflow", description=__doc__)
    parser.add_argument("--version", action="version", version=f"csvflow {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help=_VERBOSE_HELP)
    # Every command takes --verbose after its name too; SUPPRESS keeps a top-level
    # `csvflow --verbose run` from being reset by the command's own default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=_VERBOSE_HELP
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, parents=[common], **kwargs)
        return parser

    for group in (run, profile, query, migrate, local, executions, logs, dlq):
        group.register(command, common)
    return parser


_VERBOSE_HELP = "also the emulator's and libraries' log lines, and tracebacks"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("csvflow")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"
