"""The fields of a column's profile: the one list the summary, its Parquet form and the
PostgreSQL table (csvflow.column_profiles, a test holds the migration to it) are built from.

No pyarrow here: the migration function imports this and has no pyarrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a field holds; the summary maps it to an Arrow type, the adapter to a column."""

    TEXT = "text"
    POSITION = "position"
    COUNT = "count"
    FLAG = "flag"
    NUMBER = "number"
    LENGTH = "length"
    # Any JSON value (min and max keep their JSON form: numbers stay numbers, dates ISO text).
    JSON = "json"
    TOP_VALUES = "top_values"


class ReadBack(StrEnum):
    """Whether a summary read from PostgreSQL shows the field."""

    ALWAYS = "always"
    WHEN_SET = "when set"
    NEVER = "never"  # the row's order, not a fact about the column


@dataclass(frozen=True)
class ProfileField:
    name: str  # in a profile (the summary, its Parquet, `csvflow summary`)
    column: str  # in csvflow.column_profiles
    kind: Kind
    read_back: ReadBack = ReadBack.WHEN_SET


PROFILE_FIELDS = (
    ProfileField("name", "name", Kind.TEXT, ReadBack.ALWAYS),
    ProfileField("position", "position", Kind.POSITION, ReadBack.NEVER),
    ProfileField("type", "type", Kind.TEXT, ReadBack.ALWAYS),
    ProfileField("count", "value_count", Kind.COUNT, ReadBack.ALWAYS),
    ProfileField("nulls", "null_count", Kind.COUNT, ReadBack.ALWAYS),
    ProfileField("distinct", "distinct_count", Kind.COUNT, ReadBack.ALWAYS),
    ProfileField("distinct_exact", "distinct_exact", Kind.FLAG, ReadBack.ALWAYS),
    ProfileField("min", "min_value", Kind.JSON, ReadBack.ALWAYS),
    ProfileField("max", "max_value", Kind.JSON, ReadBack.ALWAYS),
    ProfileField("mean", "mean", Kind.NUMBER),
    ProfileField("std", "std", Kind.NUMBER),
    ProfileField("p25", "p25", Kind.NUMBER),
    ProfileField("p50", "p50", Kind.NUMBER),
    ProfileField("p75", "p75", Kind.NUMBER),
    ProfileField("quantiles_exact", "quantiles_exact", Kind.FLAG),
    ProfileField("min_length", "min_length", Kind.LENGTH),
    ProfileField("max_length", "max_length", Kind.LENGTH),
    ProfileField("top_values", "top_values", Kind.TOP_VALUES),
    ProfileField("top_values_exact", "top_values_exact", Kind.FLAG),
    ProfileField("true_count", "true_count", Kind.COUNT),
    ProfileField("false_count", "false_count", Kind.COUNT),
)
