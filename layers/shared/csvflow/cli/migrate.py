"""`csvflow migrate`: create or upgrade the database schema."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from csvflow.cli.database import add_database_option, open_database


def register(
    command: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    migrate = command("migrate", help="create or upgrade the database schema")
    add_database_option(migrate)
    migrate.set_defaults(func=cmd_migrate)


def cmd_migrate(args: argparse.Namespace) -> int:
    from csvflow.adapters.postgres.connection import connector
    from csvflow.adapters.postgres.migrations import migrate

    with open_database(args) as url:
        applied = migrate(connector(url))
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0
