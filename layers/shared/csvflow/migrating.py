"""The migration step's handler, apart from the data handlers: the migration function
loads only this (no pandas, no pyarrow)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from csvflow.commands import MigrateDatabase
from csvflow.ports import SchemaMigrator

logger = logging.getLogger(__name__)


def migrate_database(cmd: MigrateDatabase, migrator: SchemaMigrator) -> dict[str, Any]:
    """Apply the pending migrations, then (re)grant the application's role."""
    applied = migrator.migrate()
    role = migrator.grant_application_role()
    logger.info("database migrated", extra={"applied": applied, "application_role": role})
    return {"applied": applied, "application_role": role}


MIGRATE_HANDLERS: dict[type, Callable[..., dict[str, Any]]] = {MigrateDatabase: migrate_database}
