"""The columns of csvflow.column_profiles, derived from the profile's fields."""

from __future__ import annotations

from collections.abc import Iterable

from psycopg2 import sql

from csvflow.domain.profile_fields import PROFILE_FIELDS, Kind

PROFILE_COLUMNS = tuple(f.column for f in PROFILE_FIELDS)
JSONB_COLUMNS = frozenset(
    f.column for f in PROFILE_FIELDS if f.kind in (Kind.JSON, Kind.TOP_VALUES)
)


def identifiers(names: Iterable[str]) -> sql.Composed:
    """Column names as quoted identifiers: SQL text is never built from strings."""
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)
