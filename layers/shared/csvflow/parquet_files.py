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

PARQUET_CODEC = "snappy"


# pyarrow is imported where it is used: the benchmark's DuckDB peer reads PARQUET_CODEC, and
# loading pyarrow there would add to the peak memory it is measured by.
def parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A writer for batches of one schema, compressed with the one codec."""
    import pyarrow.parquet as pq

    return pq.ParquetWriter(path, schema, compression=PARQUET_CODEC)


def write_parquet_table(table: pa.Table, path: Path) -> None:
    """One table to one file, compressed with the one codec."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression=PARQUET_CODEC)


def write_parquet(
    batches: Iterable[pa.RecordBatch], schema: Callable[[], pa.Schema], path: Path
) -> None:
    """Write batches as they come; the schema is asked for once the first batch exists."""
    writer = None
    try:
        for batch in batches:
            if writer is None:
                writer = parquet_writer(path, schema())
            writer.write_batch(batch)
        if writer is None:  # a header-only file: zero rows, the header's columns
            writer = parquet_writer(path, schema())
    finally:
        if writer is not None:
            writer.close()
