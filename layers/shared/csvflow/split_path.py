"""The split path: a file too big for one Lambda, validated in byte ranges side by side.

``plan_parts`` reads the head once (dialect, contract, the columns' types) and cuts the table
into byte ranges; a Distributed Map runs ``validate_part`` on each range (typed Parquet, a
reject report and a summary state per part); ``merge_parts`` checks that the parts' readings
fit together, has the ones that guessed wrong read again, and otherwise merges them into the
whole file's outcome, reject report and summary, which persist records as for one pass.
Why and how: docs/adr/0018.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from csvflow.bucket_layout import (
    SummaryStateRefs,
    load_contract,
    pending_rejects_report_ref,
    rejects_report_ref,
    save_dialect,
)
from csvflow.commands import MergeParts, PlanParts, ValidatePart
from csvflow.config import Settings
from csvflow.domain.chunks import (
    ChunkBytes,
    ChunkReading,
    check_contiguous,
    misread_ranges,
    open_quote_at_end,
    plan_ranges,
    true_states,
    unsplittable_reason,
)
from csvflow.domain.dialect import Dialect
from csvflow.domain.model import ColumnSpec, ColumnType, Contract, ObjectRef, SourceObject
from csvflow.domain.rejects import REPORT_HEADER, Reject, RejectReport
from csvflow.domain.summarizing import Summarizer
from csvflow.domain.unique import key_array, key_hashes
from csvflow.domain.validation import ValidationOutcome, raise_if_too_many_rejected
from csvflow.exceptions import InvalidContract, InvalidCsv, PermanentError, RejectedRowsExceeded
from csvflow.fetching import fetched_in_order
from csvflow.observability import phase
from csvflow.parquet_files import RowGroups, read_parquet_columns, write_parquet_table
from csvflow.ports import ObjectStore
from csvflow.summary_state_files import (
    merged_summary_state,
    write_finished_summary,
    write_summary_state,
)
from csvflow.validating import read_dialect, validator_for, write_and_summarize

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The permanent errors a part records instead of raising: whether they are the file's fault
# is known only once the merge has checked the part read its bytes in the right state.
_RECORDED_ERRORS: dict[str, type[PermanentError]] = {
    "InvalidCsv": InvalidCsv,
    "InvalidContract": InvalidContract,
    "RejectedRowsExceeded": RejectedRowsExceeded,
}


@dataclasses.dataclass(frozen=True)
class _Layout:
    """Where one ingestion's split-path objects live."""

    bucket: str
    work: str

    @classmethod
    def of(cls, settings: Settings, bucket: str, ingestion_id: str) -> _Layout:
        return cls(bucket, f"{settings.work_prefix}{ingestion_id}")

    @property
    def plan(self) -> ObjectRef:
        return ObjectRef(self.bucket, f"{self.work}/plan.json")

    @property
    def parts(self) -> ObjectRef:
        """The ranges, one JSON object each: what the Distributed Map's ItemReader reads."""
        return ObjectRef(self.bucket, f"{self.work}/parts.json")

    @property
    def rereads(self) -> ObjectRef:
        return ObjectRef(self.bucket, f"{self.work}/reread-parts.json")

    def part(self, index: int, name: str) -> ObjectRef:
        return ObjectRef(self.bucket, f"{self.work}/parts/{index:05d}/{name}")

    def part_state(self, index: int) -> SummaryStateRefs:
        return SummaryStateRefs.under(self.bucket, f"{self.work}/parts/{index:05d}/summary-state")


def plan_parts(cmd: PlanParts, store: ObjectStore, settings: Settings) -> dict[str, Any]:
    """Settle how to read the file and its columns' types once for all parts; cut its table
    into ranges of about ``part_bytes``, or say why it takes the single path."""
    source = cmd.source
    layout = _Layout.of(settings, source.bucket, cmd.ingestion_id)
    with phase("read"):
        contract = load_contract(store, settings, source.bucket, cmd.dataset)
        # No CSVFLOW_MAX_FILE_BYTES here: it bounds what one validate does in one pass, and a
        # part does only its own rows (a file that falls back to one pass is checked there).
        # The event's size (S3's own), else one more request for it.
        size = source.size if source.size is not None else store.read_tail(source.ref, 1)[1]
        dialect = read_dialect(store, settings, source, contract)
        save_dialect(store, settings, source.bucket, cmd.ingestion_id, dialect.to_dict())
    table_end = dialect.end_byte if dialect.end_byte is not None else size
    ranges = plan_ranges(dialect.data_byte, table_end, cmd.part_bytes)
    reason = unsplittable_reason(dialect) or (
        "its table fits in one part" if len(ranges) < 2 else None
    )
    if reason:
        logger.info("single path", extra={"object_key": source.key, "reason": reason})
        return {"path": "single", "reason": reason}
    with phase("types"):
        specs = _settle_types(store, settings, source, dialect, contract)
    plan = {
        "dialect": dialect.to_dict(),
        # Detected once: the parts read the file as the plan did, without its head again.
        "dialect_fields": dialect.to_exact_dict(),
        "data_byte": dialect.data_byte,
        "data_line": dialect.data_line,
        "table_end": table_end,
        "size": size,
        "part_bytes": cmd.part_bytes,
        "parts": len(ranges),
        # Inferred types; a column the contract declares keeps its declaration.
        "columns": [None if contract.column(s.name) else _spec_to_dict(s) for s in specs],
    }
    items = [{"index": i, "start": s, "end": e} for i, (s, e) in enumerate(ranges)]
    with phase("upload"):
        _put_json(store, layout.plan, plan)
        _put_json(store, layout.parts, items)
    logger.info("planned", extra={"object_key": source.key, "parts": len(ranges)})
    return {
        "path": "parts",
        "parts": layout.parts.to_dict(),
        "count": len(ranges),
        "part_bytes": cmd.part_bytes,
    }


def _settle_types(
    store: ObjectStore,
    settings: Settings,
    source: SourceObject,
    dialect: Dialect,
    contract: Contract,
) -> list[ColumnSpec]:
    """The columns' types as one pass settles them: from the table's first block.

    One ranged GET of the head: the first block, and a second one so that the first is not
    taken for the table's last (whose unfinished last line would count as a row).
    """
    head = store.read_head(source.ref, dialect.data_byte + 2 * settings.max_line_bytes)
    with io.BytesIO(head) as stream:
        validator = validator_for(
            stream,
            file=source.key,
            dialect=dialect,
            contract=contract,
            report=RejectReport(io.StringIO()),
            settings=settings,
        )
        with closing(validator.batches()) as batches:
            next(batches, None)
    specs = validator.column_specs
    assert specs is not None  # settled by the first block, as the header's at the least
    return specs


def validate_part(cmd: ValidatePart, store: ObjectStore, settings: Settings) -> dict[str, Any]:
    """Validate and summarize the records that start in one range; record what was read.

    A part that finished before (a redrive of the map, a retry after a timeout) answers
    from its record instead of reading again.
    """
    source = cmd.source
    layout = _Layout.of(settings, source.bucket, cmd.ingestion_id)
    asked = {
        "start": cmd.start,
        "end": cmd.end,
        "inside_quotes": cmd.inside_quotes,
        "earlier_keys": cmd.earlier_keys,
    }
    record_ref = layout.part(cmd.index, "result.json")
    done = _get_json(store, record_ref)
    if done is not None and done["asked"] == asked:
        return _part_answer(done)
    try:
        with phase("read"):
            plan = _get_json(store, layout.plan)
            if plan is None:
                raise InvalidCsv("the split file has no plan; plan it again", file=source.key)
            contract = load_contract(store, settings, source.bucket, cmd.dataset)
            dialect = (
                Dialect.from_exact_dict(plan["dialect_fields"])
                if "dialect_fields" in plan
                # A plan written before plans kept the exact dialect (a redrive of an
                # execution started by the earlier release): detect it from the head again.
                else read_dialect(store, settings, source, contract)
            )
            earlier = _read_earlier_keys(store, cmd.earlier_keys)
    except PermanentError as e:
        # Before any byte of the range was read (the contract changed since the plan, the
        # upload was deleted): the file's failure, for the merge to record.
        record = {"asked": asked, "index": cmd.index, "reading": None, "error": _error_of(e)}
        _put_json(store, record_ref, record)
        return _part_answer(record)
    specs = [
        contract.column(name) or _spec_from_dict(stored)
        for name, stored in zip(dialect.header, plan["columns"], strict=True)
    ]
    # Each part numbers its lines from 1; the merge adds the lines before it.
    part_dialect = dataclasses.replace(dialect, data_byte=0, end_byte=None, data_line=1)
    with (
        tempfile.TemporaryDirectory(prefix="csvflow-") as tmp,
        # Sent in parts as the pass writes it (docs/adr/0026); made only by commit below.
        store.create(layout.part(cmd.index, "validated.parquet")) as parquet,
    ):
        folder = Path(tmp)
        report_path = folder / "rejects.csv"
        error: dict[str, Any] | None = None
        with (
            phase("validate"),
            report_path.open("w", newline="", encoding="utf-8") as report_file,
            store.open(source.ref, start=cmd.start) as stream,
        ):
            part = ChunkBytes(
                stream,
                start=cmd.start,
                end=cmd.end,
                table_end=plan["table_end"],
                quote=dialect.quote,
                delimiter=dialect.delimiter,
                line_ending=dialect.line_ending,
                at_record_start=cmd.index == 0,
                # None: guessed from the quotes after the cut, checked by the merge.
                inside_quotes=cmd.inside_quotes,
                max_record_bytes=settings.max_line_bytes,
            )
            report = RejectReport(report_file)
            validator = validator_for(
                part,  # type: ignore[arg-type]  # a raw stream of bytes, as BinaryIO reads
                file=source.key,
                dialect=part_dialect,
                contract=contract,
                report=report,
                settings=settings,
                specs=specs,
                earlier_keys=earlier,
                # The merge checks the quotes from the parities ChunkBytes counted.
                check_quotes_closed=False,
            )
            summarizer: Summarizer | None = None
            try:
                # The part function has one vCPU (1,769 MB): summarizing stays on the
                # writer's thread, as a third thread would only take turns (docs/adr/0021).
                # Row groups gathered: the merge reads a part's unique columns by row group.
                summarizer = write_and_summarize(
                    validator,
                    contract,
                    parquet,
                    summarizing_thread=False,
                    row_groups=RowGroups.GATHERED,
                )
            except PermanentError as e:
                error = _error_of(e)
                parquet.close()  # what was sent of a Parquet no one will read: thrown away
            while part.read(1 << 20):  # what a failed parse left: the reading needs it all
                pass
        reading = part.reading(cmd.index)
        outcome = validator.outcome
        with phase("upload"):
            rejects = layout.part(cmd.index, "rejects.csv") if report.problems else None
            if rejects is not None:
                store.upload_file(report_path, rejects)
            if summarizer is not None:
                parquet.commit()
                write_summary_state(store, summarizer, layout.part_state(cmd.index), folder)
            record = {
                "asked": asked,
                "index": cmd.index,
                "reading": reading.to_dict(),
                "rows": outcome.rows,
                "rejected_rows": outcome.rejected_rows,
                "empty_rows": outcome.empty_rows,
                "header_repeats": outcome.header_repeats,
                "header_repeat_lines": outcome.header_repeat_lines,
                "rejects": rejects.to_dict() if rejects else None,
                "first_reject": dataclasses.asdict(report.first) if report.first else None,
                "error": error,
            }
            _put_json(store, record_ref, record)
    return _part_answer(record)


def _part_answer(record: dict[str, Any]) -> dict[str, Any]:
    """A part's small answer for the map's results; the merge reads the full record."""
    return {
        "index": record["index"],
        "rows": record.get("rows", 0),
        "rejected_rows": record.get("rejected_rows", 0),
        "error": record["error"]["type"] if record["error"] else None,
    }


def _error_of(error: PermanentError) -> dict[str, Any]:
    return {
        "type": type(error).__name__,
        "message": str(error),
        "reason": getattr(error, "reason", None),
        "line": getattr(error, "line", None),
    }


def merge_parts(cmd: MergeParts, store: ObjectStore, settings: Settings) -> dict[str, Any]:
    """The whole file's outcome from its parts, or the parts to read again first.

    Two things only the whole can tell: whether each part guessed the quote state at its
    start right (the quote parities of the parts before it say), and whether a unique key
    kept in one part repeats one kept in an earlier part. Parts wrong on either are read
    again (``reread``); the state machine then merges again.
    """
    source = cmd.source
    layout = _Layout.of(settings, source.bucket, cmd.ingestion_id)
    with phase("read"):
        plan = _get_json(store, layout.plan)
        assert plan is not None
        contract = load_contract(store, settings, source.bucket, cmd.dataset)
        records = list(
            fetched_in_order(
                lambda i: _get_json(store, layout.part(i, "result.json")), plan["parts"]
            )
        )
    missing = [i for i, record in enumerate(records) if record is None]
    if missing:
        raise InvalidCsv(f"parts {missing} of the split file were never read", file=source.key)
    parts: list[dict[str, Any]] = [r for r in records if r is not None]
    unread = [r for r in parts if r["reading"] is None]
    if unread:  # failed before reading its range: nothing about the cuts to check first
        _raise_first_error(unread, [0] * len(unread), source.key, quote_left_open=False)
    readings = [ChunkReading.from_dict(r["reading"]) for r in parts]
    misread = misread_ranges(readings)
    if misread:
        states = true_states(readings)
        return _reread(
            store,
            layout,
            [{"index": i, "inside_quotes": states[i], "earlier_keys": None} for i in misread],
            parts,
            file=source.key,
            why="quote state",
        )
    check_contiguous(readings, plan["data_byte"], plan["table_end"], file=source.key)
    offsets = _line_offsets(plan["data_line"], readings)
    _raise_first_error(parts, offsets, source.key, open_quote_at_end(readings))
    repeats = _repeated_keys(store, layout, contract, parts)
    if repeats:
        return _reread(store, layout, repeats, parts, file=source.key, why="unique keys")
    outcome = ValidationOutcome(
        rows=sum(r["rows"] for r in parts),
        rejected_rows=sum(r["rejected_rows"] for r in parts),
        empty_rows=sum(r["empty_rows"] for r in parts),
    )
    report_ref = rejects_report_ref(settings, source.bucket, cmd.ingestion_id)
    # Written where it waits for persist (or the failure's record) to commit its outcome.
    pending_report = pending_rejects_report_ref(settings, source.bucket, cmd.ingestion_id)
    with tempfile.TemporaryDirectory(prefix="csvflow-") as tmp:
        folder = Path(tmp)
        first = _merge_reports(store, parts, offsets, pending_report, folder)
        raise_if_too_many_rejected(
            file=source.key,
            outcome=outcome,
            contract=contract,
            first=first,
            report_uri=report_ref.uri if first else None,
            default_share=settings.max_rejected_share,
            default_rows=settings.max_rejected_rows,
        )
        with phase("summarize"):
            parts_states = [layout.part_state(index) for index in range(len(parts))]
            summarizer = merged_summary_state(store, parts_states, contract, folder)
        summary = write_finished_summary(
            store,
            settings,
            summarizer,
            bucket=source.bucket,
            ingestion_id=cmd.ingestion_id,
            folder=folder,
        )
    dialect = _dialect_read(plan, parts, offsets) | {
        "split": {"parts": len(parts), "part_bytes": plan["part_bytes"]}
    }
    logger.info(
        "merged",
        extra={"object_key": source.key, "parts": len(parts), "rows": outcome.rows},
    )
    return {
        "reread": None,
        "validation": {
            "validated": ObjectRef(source.bucket, f"{layout.work}/parts/").to_dict(),
            "rejects_report": report_ref.to_dict() if first else None,
            "rows": outcome.rows,
            "rejected_rows": outcome.rejected_rows,
            "empty_rows": outcome.empty_rows,
            "bytes_read": plan["size"],
            "columns": len(plan["columns"]),
            "encoding": dialect["encoding"],
            "delimiter": dialect["delimiter"],
            "dialect": dialect,
        },
        "summary": summary | {"parts": len(parts)},
    }


def _dialect_read(
    plan: dict[str, Any], parts: list[dict[str, Any]], offsets: list[int]
) -> dict[str, Any]:
    """The plan's dialect with what its parts found, as one pass finds it: the header's
    repeats (the plan saw the head's), counted over the parts, the first lines in the file's
    numbering."""
    if "dialect_fields" not in plan:  # a plan from before they were kept, and counted
        return dict(plan["dialect"])
    lines = [
        line + offset
        for record, offset in zip(parts, offsets, strict=True)
        for line in record.get("header_repeat_lines", [])
    ]
    count = sum(record.get("header_repeats", 0) for record in parts)
    dialect = Dialect.from_exact_dict(plan["dialect_fields"])
    return dialect.with_header_repeats(count, lines).to_dict()


def _reread(
    store: ObjectStore,
    layout: _Layout,
    rereads: list[dict[str, Any]],
    parts: list[dict[str, Any]],
    *,
    file: str,
    why: str,
) -> dict[str, Any]:
    items = []
    for reread in rereads:
        index = reread["index"]
        asked = parts[index]["asked"]
        if asked["inside_quotes"] is not None and reread["earlier_keys"] is None:
            # Read in its true state already, and still not fitting: a quote the parity
            # cannot follow (one standing in unquoted text past the sampled head).
            raise InvalidCsv(
                f"the quoting around byte {asked['start']:,} cannot be followed: a quote "
                "character inside an unquoted field? Quote such fields, or declare quote: none",
                file=file,
            )
        inside = reread.get("inside_quotes")
        if inside is None:  # read again for its keys: in the state it was read in, now known
            inside = parts[index]["reading"]["inside_quotes"]
        items.append(
            {
                "index": index,
                "start": asked["start"],
                "end": asked["end"],
                "inside_quotes": inside,
                "earlier_keys": reread["earlier_keys"],
            }
        )
    _put_json(store, layout.rereads, items)
    logger.info("parts to read again", extra={"parts": [i["index"] for i in items], "why": why})
    return {"reread": {"parts": layout.rereads.to_dict(), "count": len(items), "why": why}}


def _line_offsets(data_line: int, readings: list[ChunkReading]) -> list[int]:
    """What to add to a part's own line numbers (from 1) to give the file's."""
    offsets, lines = [], data_line - 1
    for reading in readings:
        offsets.append(lines)
        lines += reading.lines
    return offsets


def _raise_first_error(
    parts: list[dict[str, Any]], offsets: list[int], file: str, quote_left_open: bool
) -> None:
    """The first part's error (in the file's order), now known to be the file's fault."""
    for record, offset in zip(parts, offsets, strict=True):
        error = record["error"]
        if error is None:
            continue
        kind = _RECORDED_ERRORS.get(error["type"], InvalidCsv)
        if kind is InvalidCsv and error.get("reason"):
            line = error["line"] + offset if error.get("line") else None
            raise InvalidCsv(error["reason"], file=file, line=line)
        raise kind(error["message"])
    if quote_left_open:
        raise InvalidCsv("a quoted field is opened and never closed", file=file)


def _repeated_keys(
    store: ObjectStore, layout: _Layout, contract: Contract, parts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Parts keeping a unique key an earlier part kept: each with those keys, to reject.

    Bounded in memory whatever the file's size: every part's kept keys go to local files by
    their hash, in as many buckets as it takes for one bucket of every part to hold about
    ``KEYS_IN_MEMORY`` keys, and the buckets are compared one at a time (a key and its repeats
    share a bucket). Keys are compared as the validator compares them (``key_array``: NaN
    and null repeat nothing, -0.0 is 0.0).
    """
    columns = [spec.name for spec in contract.columns if spec.unique]
    if not columns or len(parts) < 2:
        return []
    buckets = key_buckets(sum(record["rows"] for record in parts))
    repeated: dict[tuple[int, int], list[pa.Array]] = {}
    with tempfile.TemporaryDirectory(prefix="csvflow-") as tmp:
        spilled = _spill_keys_by_hash(
            store, layout, columns=columns, count=len(parts), buckets=buckets, folder=Path(tmp)
        )
        for position in range(len(columns)):
            for bucket in range(buckets):
                keys = spilled.read(position, bucket)
                if keys is None:
                    continue
                # Sorted by key, then part: a row whose key is the row before's repeats a key
                # an earlier part kept (a part keeps each key once). A join of each key with
                # its first part took four times the memory (1.3 GB for 14 million keys).
                ordered = keys.sort_by([("key", "ascending"), ("part", "ascending")])
                key = ordered["key"].combine_chunks()
                again = pc.equal(key.slice(1), key.slice(0, len(key) - 1))
                later = ordered.slice(1).filter(again)
                for index in sorted(set(later["part"].to_pylist())):
                    # As keys: the validator compares what it is given through key_array too.
                    keys_here = later.filter(pc.equal(later["part"], index))["key"]
                    repeated.setdefault((index, position), []).append(keys_here.combine_chunks())
    rereads: dict[int, dict[str, Any]] = {}
    for (index, position), values in sorted(repeated.items()):
        ref = layout.part(index, f"earlier-keys/{position}.parquet")
        with tempfile.TemporaryDirectory(prefix="csvflow-") as tmp:
            path = Path(tmp, "keys.parquet")
            write_parquet_table(pa.table({"key": pa.chunked_array(values)}), path)
            store.upload_file(path, ref)
        entry = rereads.setdefault(index, {"index": index, "earlier_keys": {}})
        entry["earlier_keys"][columns[position]] = ref.to_dict()
    for index in rereads:
        if parts[index]["asked"]["earlier_keys"] is not None:
            # It was given those keys: repeating one now would be csvflow's mistake.
            raise RuntimeError(f"part {index} repeats earlier parts' keys it was given")
    return [rereads[i] for i in sorted(rereads)]


# Keys of all the parts the merge compares at once, per unique column: a key and its part's
# number, 12 bytes for a number's, and sorting them takes about as much again (the merge runs
# in the summarize function's 3,008 MB).
KEYS_IN_MEMORY = 8_000_000
# Each bucket is a file the merge keeps open while it reads the parts' keys: well below
# Lambda's 1,024 file descriptors. /tmp fills first (about 113 buckets' worth of keys).
_KEY_BUCKETS_AT_MOST = 512


def key_buckets(kept_rows: int) -> int:
    """How many hash buckets the merge spreads ``kept_rows`` keys over."""
    return max(1, min(_KEY_BUCKETS_AT_MOST, -(-kept_rows // KEYS_IN_MEMORY)))


@dataclasses.dataclass(frozen=True)
class _SpilledKeys:
    """Local Arrow files of (key, part): one per unique column and hash bucket."""

    folder: Path

    def path(self, position: int, bucket: int) -> Path:
        return self.folder / f"{position}-{bucket}.arrow"

    def read(self, position: int, bucket: int) -> pa.Table | None:
        path = self.path(position, bucket)
        if not path.exists():  # no part kept a key in this bucket
            return None
        with pa.OSFile(str(path)) as source:
            return pa.ipc.open_stream(source).read_all()


def _spill_keys_by_hash(
    store: ObjectStore,
    layout: _Layout,
    *,
    columns: list[str],
    count: int,
    buckets: int,
    folder: Path,
) -> _SpilledKeys:
    """Every part's kept keys, read from its Parquet, appended to their buckets' files."""
    spilled = _SpilledKeys(folder)
    writers: dict[tuple[int, int], pa.ipc.RecordBatchStreamWriter] = {}

    def kept_keys(index: int) -> pa.Table:
        # Only the unique columns' chunks are read (ranged GETs), and only the keys stay:
        # hundreds of parts' Parquet would not fit in /tmp, nor need downloading.
        return read_parquet_columns(store, layout.part(index, "validated.parquet"), columns)

    try:
        for index, kept in enumerate(fetched_in_order(kept_keys, count)):
            for position, column in enumerate(columns):
                keys = key_array(kept[column].combine_chunks())
                keys = keys.filter(pc.is_valid(keys))
                bucket_of = (key_hashes(keys) % np.uint64(buckets)).astype(np.intp)
                order = np.argsort(bucket_of, kind="stable")
                ends = np.cumsum(np.bincount(bucket_of, minlength=buckets))
                keys = keys.take(order)
                for bucket in map(int, np.flatnonzero(np.diff(ends, prepend=0))):
                    start = int(ends[bucket - 1]) if bucket else 0
                    rows = int(ends[bucket]) - start
                    batch = pa.record_batch(
                        {
                            "key": keys.slice(start, rows),
                            "part": pa.array(np.full(rows, index, np.int32)),
                        }
                    )
                    writer = writers.get((position, bucket))
                    if writer is None:
                        sink = str(spilled.path(position, bucket))
                        writer = writers[(position, bucket)] = pa.ipc.new_stream(sink, batch.schema)
                    writer.write_batch(batch)
    finally:
        for writer in writers.values():
            writer.close()
    return spilled


def _read_earlier_keys(
    store: ObjectStore, refs: dict[str, Any] | None
) -> dict[str, pa.Array] | None:
    if not refs:
        return None
    keys = {}
    with tempfile.TemporaryDirectory(prefix="csvflow-") as tmp:
        for column, ref in refs.items():
            path = Path(tmp, "keys.parquet")
            store.download_file(ObjectRef.from_dict(ref), path)
            keys[column] = pq.read_table(path)["key"].combine_chunks()
    return keys


def _merge_reports(
    store: ObjectStore,
    parts: list[dict[str, Any]],
    offsets: list[int],
    report_ref: ObjectRef,
    folder: Path,
) -> Reject | None:
    """The parts' reject reports as one, numbered by the file's lines; its first reject."""
    first: Reject | None = None
    merged = folder / "rejects.csv"
    with merged.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(REPORT_HEADER)
        for record, offset in zip(parts, offsets, strict=True):
            if record["rejects"] is None:
                continue
            if first is None and record["first_reject"]:
                stored = record["first_reject"]
                first = Reject(**(stored | {"line": stored["line"] + offset}))
            path = folder / "part-rejects.csv"
            store.download_file(ObjectRef.from_dict(record["rejects"]), path)
            with path.open(newline="", encoding="utf-8") as part_report:
                rows = csv.reader(part_report)
                next(rows)  # its header
                for line, *rest in rows:
                    writer.writerow((int(line) + offset, *rest))
    if first is not None:
        store.upload_file(merged, report_ref)
    return first


def _spec_to_dict(spec: ColumnSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "type": spec.type.value,
        "precision": spec.precision,
        "scale": spec.scale,
        "format": spec.format,
        "decimal_separator": spec.decimal_separator,
        "thousands_separator": spec.thousands_separator,
    }


def _spec_from_dict(stored: dict[str, Any] | None) -> ColumnSpec:
    assert stored is not None  # None only for columns the contract declares
    return ColumnSpec(**(stored | {"type": ColumnType(stored["type"])}))


def _put_json(store: ObjectStore, ref: ObjectRef, value: Any) -> None:
    store.write_text(ref, json.dumps(value))


def _get_json(store: ObjectStore, ref: ObjectRef) -> Any:
    text = store.read_text(ref)
    return None if text is None else json.loads(text)
