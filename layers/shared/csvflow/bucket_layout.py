"""Where csvflow's objects live in the bucket: contracts, reject reports, work files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from csvflow.config import Settings
from csvflow.domain.contract import parse_contract
from csvflow.domain.model import Contract, ObjectRef, no_contract
from csvflow.ports import ObjectStore

CONTRACT_SUFFIXES = (".yaml", ".yml", ".json")


def load_contract(store: ObjectStore, settings: Settings, bucket: str, dataset: str) -> Contract:
    """The dataset's contract from ``contracts/<dataset>.yaml|yml|json``, else none."""
    for suffix in CONTRACT_SUFFIXES:
        ref = ObjectRef(bucket, f"{settings.contracts_prefix}{dataset}{suffix}")
        text = store.read_text(ref)
        if text is not None:
            return parse_contract(text, source=ref.uri, dataset=dataset)
    return no_contract(dataset)


def rejects_report_ref(settings: Settings, bucket: str, ingestion_id: str) -> ObjectRef:
    """Where an ingestion's reject report is (when it rejected a row) once the database
    records the ingestion."""
    return ObjectRef(bucket, f"{settings.reports_prefix}{ingestion_id}/rejects.csv")


def pending_rejects_report_ref(settings: Settings, bucket: str, ingestion_id: str) -> ObjectRef:
    """Where the validate step (or the merge) writes the reject report: it is copied to its
    own name (``rejects_report_ref``) only once the database has committed the outcome it
    goes with, so a report there never tells of an outcome the database does not have (a
    replay's report over the last one, while the replay's persist fails)."""
    return ObjectRef(bucket, f"{settings.work_prefix}{ingestion_id}/rejects.csv")


def record_rejects_report(
    store: ObjectStore, settings: Settings, bucket: str, ingestion_id: str
) -> None:
    """Give the reject report its own name: called once the database has committed."""
    store.copy(
        pending_rejects_report_ref(settings, bucket, ingestion_id),
        rejects_report_ref(settings, bucket, ingestion_id),
    )


@dataclass(frozen=True)
class SummaryStateRefs:
    """Where one summary state lies: its columns table and its aggregates table."""

    columns: ObjectRef
    aggregates: ObjectRef

    @classmethod
    def under(cls, bucket: str, prefix: str) -> SummaryStateRefs:
        return cls(
            ObjectRef(bucket, f"{prefix}/columns.parquet"),
            ObjectRef(bucket, f"{prefix}/aggregates.parquet"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns.to_dict(), "aggregates": self.aggregates.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SummaryStateRefs:
        return cls(ObjectRef.from_dict(data["columns"]), ObjectRef.from_dict(data["aggregates"]))


def save_dialect(
    store: ObjectStore, settings: Settings, bucket: str, ingestion_id: str, dialect: dict[str, Any]
) -> None:
    """Keep how the validate step read the file beside its work files, for the failure
    branch to record when a later check fails (its result never reaches that branch)."""
    store.write_text(_dialect_ref(settings, bucket, ingestion_id), json.dumps(dialect))


def load_dialect(
    store: ObjectStore, settings: Settings, bucket: str, ingestion_id: str
) -> dict[str, Any] | None:
    """The dialect the validate step detected, or None when it failed before detecting one."""
    text = store.read_text(_dialect_ref(settings, bucket, ingestion_id))
    dialect: dict[str, Any] | None = None if text is None else json.loads(text)
    return dialect


def _dialect_ref(settings: Settings, bucket: str, ingestion_id: str) -> ObjectRef:
    return ObjectRef(bucket, f"{settings.work_prefix}{ingestion_id}/dialect.json")
