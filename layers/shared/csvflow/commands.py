"""Commands: what each step of the workflow is asked to do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from csvflow.bucket_layout import SummaryStateRefs
from csvflow.domain.model import SourceObject
from csvflow.exceptions import UnexpectedError


@dataclass(frozen=True)
class StartIngestion:
    """Start the workflow for one uploaded object version."""

    source: SourceObject
    dataset: str


@dataclass(frozen=True)
class ValidateCsv:
    """Read the uploaded CSV, check it against its contract, keep the good rows as Parquet."""

    source: SourceObject
    dataset: str
    ingestion_id: str
    execution_arn: str | None = None  # for the log lines; the step does not need it

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ValidateCsv:
        return cls(
            source=SourceObject.from_dict(event["source"]),
            dataset=event["dataset"],
            ingestion_id=event["ingestion_id"],
            execution_arn=event.get("execution_arn"),
        )


@dataclass(frozen=True)
class SummarizeDataset:
    """Finish the profile and the contract's aggregates from the validation's summary state
    (one, or one per part of a file that was split)."""

    states: tuple[SummaryStateRefs, ...]
    dataset: str
    ingestion_id: str
    bucket: str
    # Which upload and execution it is about, for the log lines; the step does not need them.
    source: SourceObject | None = None
    execution_arn: str | None = None

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> SummarizeDataset:
        return cls(
            states=(SummaryStateRefs.from_dict(event["validation"]["summary_state"]),),
            dataset=event["dataset"],
            ingestion_id=event["ingestion_id"],
            bucket=event["source"]["bucket"],
            source=SourceObject.from_dict(event["source"]),
            execution_arn=event.get("execution_arn"),
        )


@dataclass(frozen=True)
class PlanParts:
    """Read a big file's head once, settle how to read it and its columns' types, and cut
    its table into byte ranges for a Distributed Map (docs/adr/0018)."""

    source: SourceObject
    dataset: str
    ingestion_id: str
    part_bytes: int
    execution_arn: str | None = None

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> PlanParts:
        return cls(
            source=SourceObject.from_dict(event["source"]),
            dataset=event["dataset"],
            ingestion_id=event["ingestion_id"],
            part_bytes=int(event["split"]["part_bytes"]),
            execution_arn=event.get("execution_arn"),
        )


@dataclass(frozen=True)
class ValidatePart:
    """Validate and summarize the rows that start in one byte range of a planned file.

    ``inside_quotes`` is None on the first pass (the part guesses whether its range starts
    inside a quoted field); the merge step gives it when it re-runs a part that guessed
    wrong. ``earlier_keys`` points at unique keys that earlier parts kept, when the merge
    found this part repeating some."""

    source: SourceObject
    dataset: str
    ingestion_id: str
    index: int
    start: int
    end: int
    inside_quotes: bool | None = None
    earlier_keys: dict[str, Any] | None = None
    execution_arn: str | None = None

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ValidatePart:
        part = event["part"]
        return cls(
            source=SourceObject.from_dict(event["source"]),
            dataset=event["dataset"],
            ingestion_id=event["ingestion_id"],
            index=int(part["index"]),
            start=int(part["start"]),
            end=int(part["end"]),
            inside_quotes=part.get("inside_quotes"),
            earlier_keys=part.get("earlier_keys"),
            execution_arn=event.get("execution_arn"),
        )


@dataclass(frozen=True)
class MergeParts:
    """Check the parts' readings fit together, re-run those that do not, else merge their
    summaries and reject reports into the whole file's."""

    source: SourceObject
    dataset: str
    ingestion_id: str
    execution_arn: str | None = None

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> MergeParts:
        return cls(
            source=SourceObject.from_dict(event["source"]),
            dataset=event["dataset"],
            ingestion_id=event["ingestion_id"],
            execution_arn=event.get("execution_arn"),
        )


def validate_command(event: dict[str, Any]) -> ValidateCsv | PlanParts | ValidatePart:
    """The validate function serves the single path, and the split path's plan and parts."""
    if "part" in event:
        return ValidatePart.from_event(event)
    if event.get("step") == "plan":
        return PlanParts.from_event(event)
    return ValidateCsv.from_event(event)


def summarize_command(event: dict[str, Any]) -> SummarizeDataset | MergeParts:
    """The summarize function finishes the single path's summary and merges a split file's."""
    if event.get("step") == "merge":
        return MergeParts.from_event(event)
    return SummarizeDataset.from_event(event)


def step_name(command: Any) -> str:
    """The step a command is, as metrics and logs name it."""
    return _STEP_NAMES[type(command)]


@dataclass(frozen=True)
class PersistSummary:
    """Record the ingestion and its summary in PostgreSQL, in one transaction."""

    source: SourceObject
    dataset: str
    ingestion_id: str
    execution_arn: str | None
    validation: dict[str, Any]
    summary: dict[str, Any]

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> PersistSummary:
        return cls(
            source=SourceObject.from_dict(event["source"]),
            dataset=event["dataset"],
            ingestion_id=event["ingestion_id"],
            execution_arn=event.get("execution_arn"),
            validation=event["validation"],
            summary=event["summary"],
        )


@dataclass(frozen=True)
class RecordFailure:
    """Record that an ingestion failed permanently, at which step and why."""

    source: SourceObject
    dataset: str
    ingestion_id: str
    execution_arn: str | None
    step: str
    error: str
    cause: str

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> RecordFailure:
        # The ASL catches each step's error under $.failure.<step>.
        ((step, caught),) = event["failure"].items()
        error, cause = caught.get("Error", "Unknown"), _cause_message(caught.get("Cause", ""))
        if error == UnexpectedError.__name__:
            # Recorded as what it was (ArrowNotImplementedError, say), not as our wrapper.
            error, cause = UnexpectedError.original(cause) or (error, cause)
        return cls(
            source=SourceObject.from_dict(event["source"]),
            dataset=event["dataset"],
            ingestion_id=event["ingestion_id"],
            execution_arn=event.get("execution_arn"),
            step=step,
            error=error,
            cause=cause,
        )


@dataclass(frozen=True)
class MigrateDatabase:
    """Bring the schema up to date and grant the application's role what it needs."""


def _cause_message(cause: str) -> str:
    """A Lambda error's Cause is its JSON error payload: keep the message."""
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(payload, dict) and "errorMessage" in payload:
        return str(payload["errorMessage"])
    return cause


def persist_command(event: dict[str, Any]) -> PersistSummary | RecordFailure:
    """The persist function serves both the success path and the failure branch."""
    if "failure" in event:
        return RecordFailure.from_event(event)
    return PersistSummary.from_event(event)


_STEP_NAMES: dict[type, str] = {
    ValidateCsv: "validate",
    PlanParts: "plan",
    ValidatePart: "validate-part",
    SummarizeDataset: "summarize",
    MergeParts: "merge",
}
