"""The database a command reads or writes: --database-url, $DATABASE_URL, else an embedded one."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager

from csvflow.config import Settings


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (default: $DATABASE_URL, else an embedded server)",
    )


@contextmanager
def open_database(args: argparse.Namespace) -> Iterator[str]:
    url = args.database_url or Settings.from_environ(os.environ).database_url
    if url:
        yield url
        return
    from csvflow.local.embedded_postgres import embedded_database

    with embedded_database() as embedded_url:
        yield embedded_url
