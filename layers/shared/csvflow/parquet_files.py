"""The Parquet files the steps hand each other, all written with one codec.

The functions run on the AWS SDK for pandas layer, whose pyarrow is built with snappy and zlib
only (layers/managed-pandas-layer.toml): a codec it lacks fails every execution there while
passing on PyPI's pyarrow. Why snappy: docs/adr/0006-parquet-codec-and-managed-layer-parity.md.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


class RowGroups(enum.Enum):
    """How ``write_parquet`` makes row groups of the batches it is given."""

    # Batches gathered up to ROW_GROUP_ROWS rows or ROW_GROUP_BYTES of Arrow data: a split
    # file's parts, whose unique columns the merge reads with a GET per row group
    # (docs/adr/0031); the writer holds at most one row group's batches.
    GATHERED = "gathered"
    # Each batch its own row group, written as it comes: a whole file's Parquet (the single
    # pass) has no merge to read it by row group, and holding 64 MiB of batches raised the
    # local run's peak memory by a sixth (docs/adr/0031).
    BATCH_EACH = "batch each"


# A gathered row group's limits (Arrow's own default row group length, 1Mi rows).
ROW_GROUP_ROWS = 1 << 20
ROW_GROUP_BYTES = 64 << 20


def write_parquet(
    batches: Iterable[pa.RecordBatch],
    schema: Callable[[], pa.Schema],
    where: Path | ObjectSink,
    *,
    row_groups: RowGroups = RowGroups.GATHERED,
    row_group_rows: int | None = None,
) -> None:
    """Write batches as they come, in row groups as ``row_groups`` says (gathered ones of up
    to ``row_group_rows`` rows, by default ROW_GROUP_ROWS, or ROW_GROUP_BYTES of Arrow data);
    the schema is asked for once the first batch exists, and the columns that repeat in it
    are dictionary-encoded. A sink is left open: the caller commits it, or closes it to make
    nothing."""
    import pyarrow as pa

    row_group_rows = row_group_rows or ROW_GROUP_ROWS
    writer = None
    waiting: list[pa.RecordBatch] = []
    waiting_rows = waiting_bytes = 0

    def row_group_full() -> bool:
        if row_groups is RowGroups.BATCH_EACH:
            return True
        return waiting_rows >= row_group_rows or waiting_bytes >= ROW_GROUP_BYTES

    def write_row_group() -> None:
        nonlocal waiting, waiting_rows, waiting_bytes
        assert writer is not None
        # The batches as the chunks of one row group: no copy of them is made.
        writer.write_table(pa.Table.from_batches(waiting), row_group_size=max(1, waiting_rows))
        waiting, waiting_rows, waiting_bytes = [], 0, 0

    try:
        for batch in batches:
            if writer is None:
                writer = parquet_writer(where, schema(), dictionary=repeating_columns(batch))
            waiting.append(batch)
            waiting_rows += batch.num_rows
            waiting_bytes += batch.nbytes
            if row_group_full():
                write_row_group()
        if writer is None:  # a header-only file: zero rows, the header's columns
            writer = parquet_writer(where, schema())
        if waiting:
            write_row_group()
    finally:
        if writer is not None:
            writer.close()


# Parquet's own footer read (parquet-cpp's default): one GET holds the footer of most files.
FOOTER_READ_BYTES = 64 << 10


def read_parquet_columns(store: ObjectStore, ref: ObjectRef, columns: list[str]) -> pa.Table:
    """``columns`` of a Parquet object, reading only its footer and those columns' chunks.

    Parquet's own reader reads through a file whose reads are ranged GETs; pre-buffered, it
    reads each row group's wanted chunks as one range where they lie within 8 KiB of each
    other (Arrow's CacheOptions, its default for S3), up to 32 MiB a range. What it reads is
    held in memory until decoded: the chunks of ``columns`` and nothing else.
    """
    import pyarrow.parquet as pq

    with RangedObjectFile(store, ref) as source:
        return pq.ParquetFile(source, pre_buffer=True).read(columns=columns)


class RangedObjectFile(io.RawIOBase):
    """An object read as a seekable file, each read a ranged GET of exactly what it asks.

    Opening reads the object's tail (``FOOTER_READ_BYTES``), which also tells its size;
    reads inside the tail are answered from it, so a Parquet reader's footer costs that one
    GET. Not buffered: a reader that knows its ranges (Parquet's) asks for them whole.
    """

    def __init__(self, store: ObjectStore, ref: ObjectRef) -> None:
        super().__init__()
        self._store, self._ref = store, ref
        self._tail, self._size = store.read_tail(ref, FOOTER_READ_BYTES)
        self._tail_start = self._size - len(self._tail)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"{self._ref.uri}: seek to {base + offset}, before the start")
        self._position = base + offset
        return self._position

    def read(self, size: int = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._position + size)
        if end <= self._position:
            return b""
        if self._position >= self._tail_start:
            data = self._tail[self._position - self._tail_start : end - self._tail_start]
        else:
            data = self._store.read_range(self._ref, self._position, end)
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)
