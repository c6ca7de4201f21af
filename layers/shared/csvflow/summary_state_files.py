"""The summary state a validation leaves in the bucket, and the summarizing on its way there.

The validate step (or each part of a file split across a Distributed Map) summarizes the
batches it writes, in the same pass, and stores the summarizer's state as two small Parquet
files; the summarize step reads them back and merges them (docs/adr/0018).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from csvflow.bucket_layout import SummaryStateRefs
from csvflow.config import Settings
from csvflow.domain.model import Contract, ObjectRef
from csvflow.domain.summarizing import Summarizer, coalesced
from csvflow.domain.summary import profiles_to_table
from csvflow.domain.summary_state import summarizer_from_tables, summarizer_tables
from csvflow.fetching import fetched_in_order
from csvflow.observability import phase
from csvflow.parquet_files import write_parquet_table
from csvflow.ports import ObjectStore


class SummarizingBatches:
    """The batches of a stream, passed on as they come (joined into longer ones) after each
    has been summarized. The schema is asked for once the first batch exists: the validator
    settles the columns' types on it."""

    def __init__(
        self,
        batches: Iterable[pa.RecordBatch],
        schema: Callable[[], pa.Schema],
        contract: Contract,
    ) -> None:
        self._batches = batches
        self._schema = schema
        self._contract = contract
        self._summarizer: Summarizer | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in coalesced(self._batches):
            self.summarizer().update(batch)
            yield batch

    def summarizer(self) -> Summarizer:
        """The summary so far (of no rows, with the header's columns, before any batch)."""
        if self._summarizer is None:
            self._summarizer = Summarizer(self._schema(), self._contract)
        return self._summarizer


def write_summary_state(
    store: ObjectStore, summarizer: Summarizer, refs: SummaryStateRefs, folder: Path
) -> None:
    columns, aggregates = summarizer_tables(summarizer)
    for table, ref, name in (
        (columns, refs.columns, "state-columns.parquet"),
        (aggregates, refs.aggregates, "state-aggregates.parquet"),
    ):
        write_parquet_table(table, folder / name)
        store.upload_file(folder / name, ref)


def read_summary_state(
    store: ObjectStore, refs: SummaryStateRefs, contract: Contract, folder: Path
) -> Summarizer:
    columns_path = folder / "state-columns.parquet"
    aggregates_path = folder / "state-aggregates.parquet"
    store.download_file(refs.columns, columns_path)
    store.download_file(refs.aggregates, aggregates_path)
    return summarizer_from_tables(
        pq.read_table(columns_path), pq.read_table(aggregates_path), contract
    )


def merged_summary_state(
    store: ObjectStore, refs: Sequence[SummaryStateRefs], contract: Contract, folder: Path
) -> Summarizer:
    """The summary states at ``refs`` (one per part of a file) merged into one, read several
    at a time, merged in order."""

    def read(index: int) -> Summarizer:
        into = folder / f"state-{index}"
        into.mkdir()
        return read_summary_state(store, refs[index], contract, into)

    states = fetched_in_order(read, len(refs))
    merged = next(states)
    for state in states:
        merged.merge(state)
    return merged


def write_finished_summary(
    store: ObjectStore,
    settings: Settings,
    summarizer: Summarizer,
    *,
    bucket: str,
    ingestion_id: str,
    folder: Path,
) -> dict[str, Any]:
    """Every column's profile and each aggregate's groups as the Parquet persist reads."""
    base = f"{settings.work_prefix}{ingestion_id}/summary"
    # Each table written, then all uploaded: (local path, where it goes, its listing).
    outputs: list[tuple[Path, ObjectRef, dict[str, Any] | None]] = []
    with phase("write"):
        columns_ref = ObjectRef(bucket, f"{base}/columns.parquet")
        columns_path = folder / "columns.parquet"
        write_parquet_table(profiles_to_table(summarizer.profiler.profiles()), columns_path)
        outputs.append((columns_path, columns_ref, None))
        for state in summarizer.aggregates:
            ref = ObjectRef(bucket, f"{base}/aggregates/{state.spec.name}.parquet")
            path = folder / f"{state.spec.name}.parquet"
            write_parquet_table(state.result(), path)
            listing = {"name": state.spec.name, "group_by": list(state.keys)} | ref.to_dict()
            outputs.append((path, ref, listing))
    with phase("upload"):
        for path, ref, _ in outputs:
            store.upload_file(path, ref)
    return {
        "columns": columns_ref.to_dict(),
        "aggregates": [listing for _, _, listing in outputs if listing is not None],
        "rows": summarizer.profiler.rows,
    }
