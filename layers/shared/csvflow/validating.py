"""One streaming pass over an upload, or over one part of a split one: how to read it, from its
head; its rows validated, written as typed Parquet and summarized in the same pass
(docs/adr/0005, 0018). The single path's validate step and each part of the split path run it."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from csvflow.config import Settings
from csvflow.domain.dialect import HEAD_BYTES, TAIL_BYTES, Dialect, detect_dialect
from csvflow.domain.model import Contract, SourceObject
from csvflow.domain.read_ahead import read_ahead
from csvflow.domain.rejects import RejectReport
from csvflow.domain.summarizing import Summarizer
from csvflow.domain.validation import CsvValidator
from csvflow.parquet_files import RowGroups, write_parquet
from csvflow.ports import ObjectSink, ObjectStore
from csvflow.progress import telling_progress
from csvflow.summary_state_files import SummarizingBatches


def read_dialect(
    store: ObjectStore, settings: Settings, source: SourceObject, contract: Contract
) -> Dialect:
    """How to read the upload, from its head (and its tail, for a footer)."""
    head = store.read_head(source.ref, HEAD_BYTES)
    tail, size = (
        store.read_tail(source.ref, TAIL_BYTES) if len(head) >= HEAD_BYTES else (None, None)
    )
    return detect_dialect(
        head,
        file=source.key,
        tail=tail,
        size=size,
        rules=contract.reading,
        max_columns=settings.max_columns,
        columns=tuple(c.name for c in contract.columns),
    )


def validator_for(
    stream: BinaryIO,
    *,
    file: str,
    dialect: Dialect,
    contract: Contract,
    report: RejectReport,
    settings: Settings,
    **options: Any,
) -> CsvValidator:
    """A validator of ``stream`` with the deployment's limits (``options``: a split file's
    settled types and earlier parts' keys)."""
    return CsvValidator(
        stream,
        file=file,
        dialect=dialect,
        contract=contract,
        report=report,
        block_size=settings.max_line_bytes,
        default_rejected_share=settings.max_rejected_share,
        default_rejected_rows=settings.max_rejected_rows,
        **options,
    )


def write_and_summarize(
    validator: CsvValidator,
    contract: Contract,
    parquet: Path | ObjectSink,
    *,
    progress: Callable[[], None] | None = None,
    every_seconds: float = 0,
    summarizing_thread: bool = True,
    row_groups: RowGroups = RowGroups.GATHERED,
) -> Summarizer:
    """Run the validator's pass as a pipeline of threads, each a batch ahead of the next: its
    rows checked and parsed on a read-ahead thread, summarized on a second, written to
    ``parquet`` on this one (a sink sends its parts on threads of its own as they fill);
    ``progress`` told every ``every_seconds``, as checked blocks come (from the summarizing
    thread: one the function started, whose log is the function's). With
    ``summarizing_thread=False``, summarized on this thread before each write (for a function
    of one vCPU, where a third thread would only take turns). Row groups as ``row_groups``
    says."""
    checked = read_ahead(validator.batches())
    told: Iterator[pa.RecordBatch] = checked
    if progress is not None:
        told = telling_progress(checked, progress, every_seconds=every_seconds)
    summarizing = SummarizingBatches(told, lambda: validator.schema, contract)
    # Summarizing and encoding Parquet each cost about as much as checking: on one thread
    # they took turns, and the pass used little more than one core (docs/adr/0021). Both
    # release the GIL for most of their work.
    summarized: Generator[pa.RecordBatch, None, None] = (
        read_ahead(summarizing, name="summarize")
        if summarizing_thread
        else (batch for batch in summarizing)
    )
    try:
        write_parquet(summarized, lambda: validator.schema, parquet, row_groups=row_groups)
    finally:
        # A failed write stops both threads now, not when its traceback is let go: the
        # summarizing one first, as it reads from the checking one.
        summarized.close()
        checked.close()
    return summarizing.summarizer()
