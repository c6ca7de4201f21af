"""The validate step's pass as a pipeline of threads (checking, summarizing, writing Parquet):
the same Parquet, byte for byte, and the same summary as the pass on one thread; every batch
in order; an error raised on the caller's thread; no thread outliving a failed pass."""

from __future__ import annotations

import io
import random
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from csvflow.domain.dialect import HEAD_BYTES, TAIL_BYTES, detect_dialect
from csvflow.domain.model import Contract
from csvflow.domain.rejects import RejectReport
from csvflow.domain.summarizing import Summarizer
from csvflow.domain.summary_state import summarizer_tables
from csvflow.domain.validation import CsvValidator
from csvflow.exceptions import InvalidCsv
from csvflow.parquet_files import write_parquet
from csvflow.summary_state_files import SummarizingBatches
from csvflow.validating import write_and_summarize
from tests.support.csv_helpers import contract

CONTRACT = contract(
    """
dataset: sales
columns:
  - {name: order_id, type: int, required: true}
  - {name: order_date, type: date}
  - {name: region, type: string}
  - {name: quantity, type: int}
  - {name: unit_price, type: float}
aggregates:
  - name: by_region
    group_by: [region]
    metrics:
      - {column: quantity, op: sum}
      - {column: unit_price, op: mean}
"""
)
ROWS = 80_000  # two coalesced batches of up to 65,536 rows, from blocks of 64 KB


def sales_csv(rows: int = ROWS, *, tail: bytes = b"") -> bytes:
    rng = random.Random(7)
    regions = ["north", "south", "east", "west", "central"]
    lines = [
        f"{i},2024-0{1 + i % 9}-{10 + i % 18},{rng.choice(regions)},"
        f"{rng.randint(1, 50)},{rng.uniform(1, 100):.2f}"
        if i % 997
        else f"{i},2024-13-01,north,x,1.0"  # rejected: a bad date and a bad quantity
        for i in range(rows)
    ]
    return (
        "order_id,order_date,region,quantity,unit_price\n" + "\n".join(lines) + "\n"
    ).encode() + tail


def validator_of(data: bytes, contract: Contract = CONTRACT) -> CsvValidator:
    dialect = detect_dialect(
        data[:HEAD_BYTES],
        file="sales.csv",
        tail=data[-TAIL_BYTES:],
        size=len(data),
        rules=contract.reading,
        columns=tuple(c.name for c in contract.columns),
    )
    return CsvValidator(
        io.BytesIO(data),
        file="sales.csv",
        dialect=dialect,
        contract=contract,
        report=RejectReport(io.StringIO()),
        block_size=64 << 10,
        default_rejected_share=1.0,
    )


def on_one_thread(data: bytes, parquet_path: Path) -> Summarizer:
    """The reference: the same pass, each batch checked, summarized and written in turn."""
    validator = validator_of(data)
    summarizing = SummarizingBatches(validator.batches(), lambda: validator.schema, CONTRACT)
    write_parquet(summarizing, lambda: validator.schema, parquet_path)
    return summarizing.summarizer()


def pipeline_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in ("read-ahead", "summarize")]


def test_the_pipeline_writes_the_same_parquet_and_summary_as_one_thread(tmp_path):
    data = sales_csv()
    reference = on_one_thread(data, tmp_path / "one-thread.parquet")

    validator = validator_of(data)
    summarizer = write_and_summarize(validator, CONTRACT, tmp_path / "pipeline.parquet")

    written = (tmp_path / "pipeline.parquet").read_bytes()
    assert written == (tmp_path / "one-thread.parquet").read_bytes()
    table = pq.read_table(tmp_path / "pipeline.parquet")
    assert table.num_rows == validator.outcome.rows == ROWS - len(range(0, ROWS, 997))
    assert table.column("order_id").to_pylist() == [i for i in range(ROWS) if i % 997]
    # Its 80,000 rows in one row group: fewer than ROW_GROUP_ROWS, and fewer bytes.
    assert pq.ParquetFile(tmp_path / "pipeline.parquet").metadata.num_row_groups == 1
    # Every figure of the summary's state but the quantile sketch, which draws at random
    # (two runs on one thread differ there too).
    ours, theirs = summarizer_tables(summarizer), summarizer_tables(reference)
    assert (
        ours[0]
        .drop_columns(["quantile_sketch"])
        .equals(theirs[0].drop_columns(["quantile_sketch"]))
    )
    assert ours[1].equals(theirs[1])
    assert summarizer.profiler.rows == table.num_rows
    assert pipeline_threads() == []


@pytest.fixture
def summarized_on(monkeypatch) -> set[str]:
    """The names of the threads Summarizer.update ran on, as the pass goes."""
    threads: set[str] = set()
    update = Summarizer.update

    def noting_the_thread(self, batch):
        threads.add(threading.current_thread().name)
        return update(self, batch)

    monkeypatch.setattr(Summarizer, "update", noting_the_thread)
    return threads


def test_batches_are_summarized_on_a_thread_beside_the_parquet_writers(tmp_path, summarized_on):
    write_and_summarize(validator_of(sales_csv(20_000)), CONTRACT, tmp_path / "v.parquet")

    assert summarized_on == {"summarize"}


def test_without_a_summarizing_thread_the_writers_thread_summarizes_the_same_parquet(
    tmp_path, summarized_on
):
    # The split path's parts: a function of one vCPU.
    data = sales_csv(20_000)
    on_one_thread(data, tmp_path / "one-thread.parquet")
    write_and_summarize(
        validator_of(data), CONTRACT, tmp_path / "v.parquet", summarizing_thread=False
    )

    assert summarized_on == {threading.current_thread().name}
    assert (tmp_path / "v.parquet").read_bytes() == (tmp_path / "one-thread.parquet").read_bytes()
    assert pipeline_threads() == []


def test_a_bad_file_raises_on_the_callers_thread_after_the_rows_before_it(tmp_path):
    # A quote left open at the end: the checking thread finds it last.
    data = sales_csv(20_000, tail=b'999999,2024-01-01,"north,1,1.0\n')
    validator = validator_of(data)

    with pytest.raises(InvalidCsv, match="quote"):
        write_and_summarize(validator, CONTRACT, tmp_path / "v.parquet")

    assert pipeline_threads() == []


def test_a_failed_write_stops_the_checking_and_summarizing_threads(tmp_path):
    validator = validator_of(sales_csv(20_000))
    nowhere = tmp_path / "no such folder" / "v.parquet"

    with pytest.raises(OSError) as raised:
        write_and_summarize(validator, CONTRACT, nowhere)

    # While the error (and its traceback, holding the pass's frames) is still about.
    assert raised.value is not None
    assert pipeline_threads() == []


def test_only_the_columns_whose_values_repeat_are_dictionary_encoded(tmp_path):
    # A unique key's dictionary holds every value once: the encoder hashes each row into it
    # for nothing (docs/adr/0028). Dates, regions, quantities and prices repeat.
    write_and_summarize(validator_of(sales_csv()), CONTRACT, tmp_path / "v.parquet")

    metadata = pq.read_metadata(tmp_path / "v.parquet")
    for group in range(metadata.num_row_groups):
        chunks = metadata.row_group(group)
        encoded = {
            chunks.column(i).path_in_schema: chunks.column(i).has_dictionary_page
            for i in range(chunks.num_columns)
        }
        assert encoded == {
            "order_id": False,
            "order_date": True,
            "region": True,
            "quantity": True,
            "unit_price": True,
        }
    table = pq.read_table(tmp_path / "v.parquet")
    assert table.column("order_id").to_pylist() == [i for i in range(ROWS) if i % 997]
