"""The column profile's fields are spelled once: the migration's table holds the same columns."""

from __future__ import annotations

import re

from csvflow.adapters.postgres.migrations import migrations
from csvflow.adapters.postgres.profile_columns import PROFILE_COLUMNS
from csvflow.domain.profile_fields import PROFILE_FIELDS
from csvflow.domain.summary import PROFILE_SCHEMA


def _created_columns(table: str) -> list[str]:
    """The column names a CREATE TABLE in the packaged migrations gives ``table``."""
    text = "\n".join(sql for _, _, sql in migrations())
    body = re.search(rf"CREATE TABLE {re.escape(table)} \((.*?)\n\);", text, re.S)
    assert body, f"no CREATE TABLE {table} in the migrations"
    names = [line.strip().split()[0] for line in body.group(1).splitlines() if line.strip()]
    return [n for n in names if n.upper() not in ("PRIMARY", "UNIQUE", "CONSTRAINT", "CHECK")]


def test_the_migration_creates_exactly_the_profile_columns():
    created = _created_columns("csvflow.column_profiles")
    assert created[0] == "ingestion"  # the row's owner, not a profile field
    assert sorted(created[1:]) == sorted(PROFILE_COLUMNS)


def test_the_parquet_between_steps_carries_every_field_in_order():
    assert PROFILE_SCHEMA.names == [f.name for f in PROFILE_FIELDS]


def test_names_and_columns_are_each_unique():
    assert len({f.name for f in PROFILE_FIELDS}) == len({f.column for f in PROFILE_FIELDS})
    assert len({f.column for f in PROFILE_FIELDS}) == len(PROFILE_FIELDS)
