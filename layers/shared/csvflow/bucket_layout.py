"""Where csvflow's objects live in the bucket: contracts, reject reports, work files."""

from __future__ import annotations

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
    """Where the validate step puts an ingestion's reject report (when it rejected a row)."""
    return ObjectRef(bucket, f"{settings.reports_prefix}{ingestion_id}/rejects.csv")
