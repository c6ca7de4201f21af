"""Command handlers: one per step of the workflow. They see ports, never adapters."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from csvflow.bucket_layout import (
    SummaryStateRefs,
    load_contract,
    load_dialect,
    pending_rejects_report_ref,
    record_rejects_report,
    rejects_report_ref,
    save_dialect,
)
from csvflow.commands import (
    MergeParts,
    PersistSummary,
    PlanParts,
    RecordFailure,
    StartIngestion,
    SummarizeDataset,
    ValidateCsv,
    ValidatePart,
)
from csvflow.config import Settings
from csvflow.domain.dialect import check_size
from csvflow.domain.model import ObjectRef, SourceObject
from csvflow.domain.rejects import RejectReport
from csvflow.domain.summary import (
    Failure,
    IngestionRecord,
    Summary,
    profiles_from_table,
)
from csvflow.exceptions import RejectedRowsExceeded, SourceObjectMissing
from csvflow.observability import phase
from csvflow.parquet_files import RowGroups
from csvflow.ports import IngestionRepository, ObjectStore
from csvflow.progress import PROGRESS_LOGGER
from csvflow.split_path import merge_parts, plan_parts, validate_part
from csvflow.starting import start_ingestion
from csvflow.summary_state_files import (
    merged_summary_state,
    write_finished_summary,
    write_summary_state,
)
from csvflow.validating import read_dialect, validator_for, write_and_summarize

logger = logging.getLogger(__name__)
# Progress of long steps, on a logger of its own: its records carry their figures as a
# mapping, which `csvflow run` shows as they come (local/lambda_runner.py).
progress_logger = logging.getLogger(PROGRESS_LOGGER)
# Progress is worth its line wherever the package's level is set (Lambda's root: WARNING).
progress_logger.setLevel(logging.INFO)


def validate_csv(cmd: ValidateCsv, store: ObjectStore, settings: Settings) -> dict[str, Any]:
    """Stream the upload once: typed good rows to Parquet, every rejected row to a report."""
    source = cmd.source
    if source.size is not None:
        check_size(source.size, file=source.key, max_bytes=settings.max_file_bytes)
    with phase("read"):
        contract = load_contract(store, settings, source.bucket, cmd.dataset)
        dialect = read_dialect(store, settings, source, contract)
        save_dialect(store, settings, source.bucket, cmd.ingestion_id, dialect.to_dict())
    work = f"{settings.work_prefix}{cmd.ingestion_id}"
    validated = ObjectRef(source.bucket, f"{work}/validated.parquet")
    state_refs = SummaryStateRefs.under(source.bucket, f"{work}/summary-state")
    report_ref = rejects_report_ref(settings, source.bucket, cmd.ingestion_id)
    with (
        tempfile.TemporaryDirectory(prefix="csvflow-") as tmp,
        # The Parquet leaves for S3 in parts while the pass writes it (docs/adr/0026): no
        # wait for the whole file after the pass, and no copy of it in /tmp. Made only by
        # commit below; any error before it leaves no object and no parts behind.
        store.create(validated) as parquet,
    ):
        report_path = Path(tmp, "rejects.csv")
        # One streaming pass: the summarize step never reads the rows back (docs/adr/0018).
        with (
            phase("validate"),
            report_path.open("w", newline="", encoding="utf-8") as report_file,
            store.open(source.ref) as stream,
        ):
            report = RejectReport(report_file)
            validator = validator_for(
                stream,
                file=source.key,
                dialect=dialect,
                contract=contract,
                report=report,
                settings=settings,
            )
            summarizer = write_and_summarize(
                validator,
                contract,
                parquet,
                progress=lambda: log_validation_progress(source, validator.progress()),
                every_seconds=settings.progress_log_seconds,
                row_groups=RowGroups.BATCH_EACH,
            )
        outcome = validator.outcome
        has_rejects = report.problems > 0
        with phase("upload"):
            if has_rejects:  # under its own name once persist (or the failure's record) commits
                pending = pending_rejects_report_ref(settings, source.bucket, cmd.ingestion_id)
                store.upload_file(report_path, pending)
            validator.raise_if_too_many_rejected(report_ref.uri if has_rejects else None)
            parquet.commit()
            write_summary_state(store, summarizer, state_refs, Path(tmp))
    logger.info(
        "validated",
        extra={
            "object_key": source.key,
            "rows": outcome.rows,
            "rejected_rows": outcome.rejected_rows,
        },
    )
    return {
        "validated": validated.to_dict(),
        "summary_state": state_refs.to_dict(),
        "rejects_report": report_ref.to_dict() if has_rejects else None,
        "rows": outcome.rows,
        "rejected_rows": outcome.rejected_rows,
        "empty_rows": outcome.empty_rows,
        "bytes_read": validator.bytes_read,
        "columns": len(outcome.columns),
        "encoding": dialect.encoding,
        "delimiter": dialect.delimiter,
        # How the file was read and what was assumed, to persist with the ingestion.
        "dialect": validator.dialect_read.to_dict(),
    }


def log_validation_progress(source: SourceObject, progress: dict[str, int]) -> None:
    figures = progress | {"object_key": source.key, "bytes_total": source.size or 0}
    progress_logger.info(
        "%(object_key)s: %(rows)d rows validated, %(rejected_rows)d rejected, "
        "%(bytes_read)d of %(bytes_total)d bytes read",
        figures,
        extra=figures,  # fields of the JSON line too, for Logs Insights
    )


def summarize_dataset(
    cmd: SummarizeDataset, store: ObjectStore, settings: Settings
) -> dict[str, Any]:
    """Merge the summary states the validation left (one, or one per part of the file) and
    write the finished profile and aggregates."""
    with tempfile.TemporaryDirectory(prefix="csvflow-") as tmp:
        with phase("read"):
            contract = load_contract(store, settings, cmd.bucket, cmd.dataset)
        with phase("summarize"):
            summarizer = merged_summary_state(store, cmd.states, contract, Path(tmp))
        summary = write_finished_summary(
            store,
            settings,
            summarizer,
            bucket=cmd.bucket,
            ingestion_id=cmd.ingestion_id,
            folder=Path(tmp),
        )
    return summary | {"parts": len(cmd.states)}


def persist_summary(
    cmd: PersistSummary, store: ObjectStore, repository: IngestionRepository, settings: Settings
) -> dict[str, Any]:
    """Record the ingestion and its summary in one transaction, then give its reject report
    its own name; a replay replaces, not adds."""
    with phase("read"), tempfile.TemporaryDirectory(prefix="csvflow-") as tmp:
        columns_path = Path(tmp, "columns.parquet")
        store.download_file(ObjectRef.from_dict(cmd.summary["columns"]), columns_path)
        profiles = profiles_from_table(pq.read_table(columns_path))
        aggregates, group_by = {}, {}
        for item in cmd.summary["aggregates"]:
            path = Path(tmp, f"{item['name']}.parquet")
            store.download_file(ObjectRef.from_dict(item), path)
            aggregates[item["name"]] = pq.read_table(path)
            group_by[item["name"]] = list(item["group_by"])
    report = cmd.validation.get("rejects_report")
    summary = Summary(
        rows=cmd.validation["rows"],
        rejected_rows=cmd.validation["rejected_rows"],
        empty_rows=cmd.validation.get("empty_rows", 0),
        columns=profiles,
        aggregates=aggregates,
        group_by=group_by,
        rejects_report=ObjectRef.from_dict(report).uri if report else None,
        dialect=cmd.validation.get("dialect"),
    )
    record = IngestionRecord(cmd.source, cmd.dataset, cmd.ingestion_id, cmd.execution_arn)
    with phase("persist"):
        repository.save_summary(record, summary)
    if report:
        # Only now: a commit that failed leaves the report of the outcome committed before.
        # (Failing here, the step is retried: the replay commits the same rows again.)
        record_rejects_report(store, settings, cmd.source.bucket, cmd.ingestion_id)
    return {
        "ingestion_id": cmd.ingestion_id,
        "status": "SUCCEEDED",
        "rows": summary.rows,
        "rejected_rows": summary.rejected_rows,
    }


def record_failure(
    cmd: RecordFailure, store: ObjectStore, repository: IngestionRepository, settings: Settings
) -> dict[str, Any]:
    """Record a permanent failure so the file shows as failed, with its reason and how the
    file was read when detection got that far."""
    record = IngestionRecord(cmd.source, cmd.dataset, cmd.ingestion_id, cmd.execution_arn)
    # Too many rejects means at least one: validate (or the merge) wrote its report before
    # raising, under the name it keeps until this record commits.
    has_report = cmd.error == RejectedRowsExceeded.__name__ and _pending_report_exists(
        store, settings, cmd.source.bucket, cmd.ingestion_id
    )
    rejects_report = (
        rejects_report_ref(settings, cmd.source.bucket, cmd.ingestion_id).uri
        if has_report
        else None
    )
    dialect = load_dialect(store, settings, cmd.source.bucket, cmd.ingestion_id)
    with phase("persist"):
        repository.record_failure(
            record,
            Failure(
                step=cmd.step,
                error=cmd.error,
                cause=cmd.cause,
                rejects_report=rejects_report,
                dialect=dialect,
            ),
        )
    if has_report:
        record_rejects_report(store, settings, cmd.source.bucket, cmd.ingestion_id)
    return {
        "ingestion_id": cmd.ingestion_id,
        "status": "FAILED",
        "error": cmd.error,
        "cause": cmd.cause,
    }


def _pending_report_exists(
    store: ObjectStore, settings: Settings, bucket: str, ingestion_id: str
) -> bool:
    """Whether a reject report waits for its record (a split file's part that exceeded the
    limit on its own fails the merge before any report of the file's is written)."""
    try:
        store.read_tail(pending_rejects_report_ref(settings, bucket, ingestion_id), 0)
    except SourceObjectMissing:
        return False
    return True


COMMAND_HANDLERS: dict[type, Callable[..., dict[str, Any]]] = {
    StartIngestion: start_ingestion,
    ValidateCsv: validate_csv,
    SummarizeDataset: summarize_dataset,
    PlanParts: plan_parts,
    ValidatePart: validate_part,
    MergeParts: merge_parts,
    PersistSummary: persist_summary,
    RecordFailure: record_failure,
}
