"""The Parquet files the steps hand each other, all written with one codec.

The functions run on the AWS SDK for pandas layer, whose pyarrow is built with snappy and zlib
only (layers/managed-pandas-layer.toml): a codec it lacks fails every execution there while
passing on PyPI's pyarrow. Why snappy: docs/adr/0006-parquet-codec-and-managed-layer-parity.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from csvflow.domain.model import ObjectRef
    from csvflow.ports import ObjectSink, ObjectStore

PARQUET_CODEC = "snappy"


# pyarrow is imported where it is used: the benchmark's DuckDB peer reads PARQUET_CODEC, and
# loading pyarrow there would add to the peak memory it is measured by.
def parquet_writer(
    where: Path | ObjectSink, schema: pa.Schema, *, dictionary: bool | list[str] = True
) -> pq.ParquetWriter:
    """A writer for batches of one schema, compressed with the one codec, to a file or to an
    object written as a stream (the same bytes either way); ``dictionary``: the columns
    dictionary-encoded (True: all)."""
    import pyarrow.parquet as pq

    return pq.ParquetWriter(where, schema, compression=PARQUET_CODEC, use_dictionary=dictionary)


# A dictionary pays where values repeat. A column of mostly distinct values (an order id, a
# customer id) fills one that the encoder hashes every value into and Parquet then abandons
# at its size limit or keeps at a cost: on the benchmark file, encoding only the columns that
# repeat took 40 % less of the encoder's CPU and made the file 17 % smaller (docs/adr/0028).
DICTIONARY_DISTINCT_SHARE = 0.5


def repeating_columns(batch: pa.RecordBatch) -> list[str]:
    """The columns worth a dictionary, judged from a file's first batch: those with at most
    DICTIONARY_DISTINCT_SHARE as many distinct values as rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def repeats(column: pa.Array) -> bool:
        if pa.types.is_null(column.type):  # no values: Parquet's default, a dictionary
            return True
        distinct = pc.count_distinct(column, mode="all").as_py()
        return bool(distinct <= DICTIONARY_DISTINCT_SHARE * max(batch.num_rows, 1))

    return [
        name
        for name, column in zip(batch.schema.names, batch.columns, strict=True)
        if repeats(column)
    ]


def write_parquet_table(table: pa.Table, path: Path) -> None:
    """One table to one file, compressed with the one codec."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression=PARQUET_CODEC)


def write_parquet(
    batches: Iterable[pa.RecordBatch],
    schema: Callable[[], pa.Schema],
    where: Path | ObjectSink,
) -> None:
    """Write batches as they come; the schema is asked for once the first batch exists, and
    the columns that repeat in it are dictionary-encoded. A sink is left open: the caller
    commits it, or closes it to make nothing."""
    writer = None
    try:
        for batch in batches:
            if writer is None:
                writer = parquet_writer(where, schema(), dictionary=repeating_columns(batch))
            writer.write_batch(batch)
        if writer is None:  # a header-only file: zero rows, the header's columns
            writer = parquet_writer(where, schema())
    finally:
        if writer is not None:
            writer.close()


# Parquet's own footer read (parquet-cpp's default): one GET holds the footer of most files.
FOOTER_READ_BYTES = 64 << 10
# Ranges closer than this are read as one (Arrow's own default for S3, CacheOptions): a GET
# costs more than the few bytes between two column chunks. No range grows past the cap.
_HOLE_BYTES = 8 << 10
_RANGE_BYTES_AT_MOST = 32 << 20


def read_parquet_columns(
    store: ObjectStore, ref: ObjectRef, columns: list[str], folder: Path
) -> pa.Table:
    """``columns`` of a Parquet object, reading only its footer and those columns' chunks.

    What is read goes into a sparse local copy at the object's own offsets (the rest reads
    as zeros, takes no disk blocks, and is never looked at), from which Parquet's reader
    takes the columns as from the whole file. Deleted before returning.
    """
    import pyarrow.parquet as pq

    tail, size = store.read_tail(ref, FOOTER_READ_BYTES)
    if size < 12 or tail[-4:] != b"PAR1":
        raise ValueError(f"{ref.uri} is not a Parquet file")
    footer_start = size - 8 - int.from_bytes(tail[-8:-4], "little")
    tail_start = size - len(tail)
    if footer_start < tail_start:  # a footer longer than the first read: the rest of it
        tail = store.read_range(ref, footer_start, tail_start) + tail
        tail_start = footer_start
    path = folder / f"columns-of-{ref.key.replace('/', '_')}"
    try:
        with path.open("wb") as copy:
            copy.truncate(size)
            copy.seek(tail_start)
            copy.write(tail)
            copy.flush()  # the footer, for the reader that opens the copy by its path
            metadata = pq.read_metadata(path)
            for start, end in _coalesced(_column_chunks(metadata, columns, tail_start)):
                copy.seek(start)
                copy.write(store.read_range(ref, start, end))
        return pq.read_table(path, columns=columns)
    finally:
        path.unlink(missing_ok=True)


def _column_chunks(
    metadata: pq.FileMetaData, columns: list[str], before: int
) -> list[tuple[int, int]]:
    """The byte ranges of ``columns``' chunks in every row group, those not already read."""
    wanted = {i for i in range(metadata.num_columns) if metadata.schema.column(i).path in columns}
    missing = set(columns) - {metadata.schema.column(i).path for i in wanted}
    if missing:
        raise KeyError(f"no column {sorted(missing)} in the Parquet file")
    ranges = []
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in wanted:
            chunk = row_group.column(index)
            starts = [chunk.data_page_offset]
            if chunk.has_dictionary_page and chunk.dictionary_page_offset:
                starts.append(chunk.dictionary_page_offset)
            start = min(starts)
            end = min(start + chunk.total_compressed_size, before)
            if end > start:
                ranges.append((start, end))
    return ranges


def _coalesced(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if (
            merged
            and start - merged[-1][1] <= _HOLE_BYTES
            and end - merged[-1][0] <= _RANGE_BYTES_AT_MOST
        ):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
