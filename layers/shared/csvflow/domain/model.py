"""Values the domain passes around."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

S3_SCHEME = "s3://"


def s3_uri(bucket: str, key: str) -> str:
    """The one spelling of an object's address: s3://bucket/key."""
    return f"{S3_SCHEME}{bucket}/{key}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3://bucket/key address."""
    bucket, _, key = uri.removeprefix(S3_SCHEME).partition("/")
    return bucket, key


@dataclass(frozen=True)
class ObjectRef:
    """One S3 object, optionally one version of it."""

    bucket: str
    key: str
    version_id: str | None = None
    # Without a version id, the ETag still pins which upload is read (If-Match).
    etag: str | None = None

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)

    def to_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "version_id": self.version_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectRef:
        return cls(bucket=data["bucket"], key=data["key"], version_id=data.get("version_id"))


@dataclass(frozen=True)
class SourceObject:
    """The uploaded object an ingestion is about, as the S3 event described it."""

    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    size: int | None = None
    event_time: str | None = None
    sequencer: str | None = None

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.bucket, self.key, self.version_id, self.etag)

    @property
    def version(self) -> str:
        """What tells two uploads of one key apart: the version id, else the ETag."""
        return self.version_id or self.etag or "unversioned"

    @property
    def ingestion_id(self) -> str:
        """Stable name of one ingestion: a valid Step Functions execution name (<= 80)."""
        digest = hashlib.sha256(f"{self.bucket}\0{self.key}\0{self.version}".encode()).hexdigest()[
            :20
        ]
        stem = self.key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        # Execution names allow letters, digits, '-' and '_'; keep the file's name
        # readable in the console and let the digest carry uniqueness.
        readable = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:58] or "object"
        return f"{readable}-{digest}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "version_id": self.version_id,
            "etag": self.etag,
            "size": self.size,
            "event_time": self.event_time,
            "sequencer": self.sequencer,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceObject:
        return cls(
            bucket=data["bucket"],
            key=data["key"],
            version_id=data.get("version_id"),
            etag=data.get("etag"),
            size=data.get("size"),
            event_time=data.get("event_time"),
            sequencer=data.get("sequencer"),
        )


class ColumnType(StrEnum):
    INT = "int"
    FLOAT = "float"
    DECIMAL = "decimal"
    STRING = "string"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"


NUMERIC_TYPES = frozenset({ColumnType.INT, ColumnType.FLOAT, ColumnType.DECIMAL})


@dataclass(frozen=True)
class ColumnSpec:
    """What a contract declares about one column."""

    name: str
    type: ColumnType
    required: bool = False
    unique: bool = False
    allowed: tuple[Any, ...] | None = None
    min: Any = None
    max: Any = None
    pattern: str | None = None
    format: str | None = None
    scale: int = 2
    precision: int = 38
    # How numbers are written: "1.234,56" is decimal_separator "," and thousands_separator ".".
    decimal_separator: str = "."
    thousands_separator: str = ""


AGGREGATE_OPS = ("sum", "count", "mean", "min", "max", "distinct_count")


@dataclass(frozen=True)
class Metric:
    column: str
    op: str

    @property
    def name(self) -> str:
        return f"{self.op}_{self.column}"


@dataclass(frozen=True)
class AggregateSpec:
    """A declared group-by aggregate."""

    name: str
    group_by: tuple[str, ...]
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class ReadingRules:
    """What a contract pins about reading its files; None (or "auto") leaves it to detection."""

    encoding: str | None = None
    delimiter: str | None = None
    quote: str | None = None  # "" for no quoting
    escape: str | None = None  # "" for doubled quotes, "\\" for backslash escapes
    skip_lines: int | None = None  # lines above the table (its header, or first row)
    header: str = "auto"  # "auto", "required" (refuse a file without one) or "absent"
    names: str = "repair"  # "repair" blank and repeated names, or "exact" (refuse them)
    footer: str = "auto"  # "auto", or "none": the table runs to the end, misfits rejected
    # "auto": rows that stop early, as a pattern of the file, lack their last values (read as
    # empty); "reject": every row with fewer fields than the header is a rejected row.
    short_rows: str = "auto"


DEFAULT_NULL_VALUES = ("", "NULL", "null", "N/A", "n/a", "NaN", "#N/A")


@dataclass(frozen=True)
class Contract:
    """A dataset's declared shape: columns, checks, aggregates and reading hints."""

    dataset: str
    columns: tuple[ColumnSpec, ...] = ()
    aggregates: tuple[AggregateSpec, ...] = ()
    reading: ReadingRules = ReadingRules()
    # None: the file has no contract, and the deployment's default share applies.
    max_rejected_share: float | None = 0.0
    null_values: tuple[str, ...] = DEFAULT_NULL_VALUES
    # For the numbers of every column, declared or inferred, unless a column says otherwise.
    decimal_separator: str = "."
    thousands_separator: str = ""

    @property
    def delimiter(self) -> str | None:
        return self.reading.delimiter

    @property
    def encoding(self) -> str | None:
        return self.reading.encoding

    def column(self, name: str) -> ColumnSpec | None:
        for spec in self.columns:
            if spec.name == name:
                return spec
        return None


def no_contract(dataset: str) -> Contract:
    """The implicit contract of a dataset that declares none: types inferred, and as many
    rows may be rejected as the deployment's default share allows."""
    return Contract(dataset=dataset, max_rejected_share=None)
