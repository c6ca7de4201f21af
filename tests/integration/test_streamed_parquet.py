"""The validate step sends its Parquet to S3 in parts during its pass (docs/adr/0026), through
the real S3 adapter on moto: the object is what writing the file and uploading it made, byte for
byte and ETag for ETag; a step that fails or refuses the file leaves no object and no parts."""

from __future__ import annotations

import random
import tracemalloc

import boto3
import pytest
from moto import mock_aws

from csvflow.adapters.s3 import S3ObjectStore
from csvflow.bootstrap import bootstrap
from csvflow.bucket_layout import load_contract
from csvflow.commands import ValidateCsv
from csvflow.config import Settings
from csvflow.domain.model import ObjectRef, SourceObject
from csvflow.domain.rejects import RejectReport
from csvflow.exceptions import RejectedRowsExceeded, StorageUnavailable
from csvflow.parquet_files import RowGroups
from csvflow.validating import read_dialect, validator_for, write_and_summarize

BUCKET = "data"
MIB = 1 << 20
PARTS = 5 * MIB  # S3's smallest part: a small file already goes up in several


def high_entropy_csv(rows: int, *, bad_every: int = 0) -> bytes:
    """About as much Parquet as CSV: random numbers and text compress little."""
    rng = random.Random(11)
    lines = ["id,amount,code"]
    for i in range(rows):
        amount = "not a number" if bad_every and i % bad_every == 0 else f"{rng.random():.12f}"
        lines.append(f"{i},{amount},{rng.getrandbits(64):016x}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


CONTRACT = b"""
columns:
  - {name: id, type: int}
  - {name: amount, type: float}
  - {name: code, type: string}
"""


def validate(client, data: bytes, key: str = "incoming/big.csv"):
    client.put_object(Bucket=BUCKET, Key="contracts/default.yaml", Body=CONTRACT)
    client.put_object(Bucket=BUCKET, Key=key, Body=data)
    settings = Settings(s3_multipart_bytes=PARTS)
    store = S3ObjectStore(client, multipart_bytes=PARTS)
    source = SourceObject(BUCKET, key, None, None, size=len(data))
    handle = bootstrap(settings=settings, store=store)
    return handle(ValidateCsv(source, "default", "ingestion-1")), store, source, settings


def pending_uploads(client) -> list:
    return client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def test_the_parquet_object_is_the_file_the_old_path_uploaded(s3, tmp_path):
    data = high_entropy_csv(300_000)
    result, store, source, settings = validate(s3, data)

    # The old path: the same pass written to a file, then uploaded.
    contract = load_contract(store, settings, BUCKET, "default")
    with store.open(source.ref) as stream, (tmp_path / "r.csv").open("w") as report:
        validator = validator_for(
            stream,
            file=source.key,
            dialect=read_dialect(store, settings, source, contract),
            contract=contract,
            report=RejectReport(report),
            settings=settings,
        )
        write_and_summarize(
            validator, contract, tmp_path / "v.parquet", row_groups=RowGroups.BATCH_EACH
        )
    store.upload_file(tmp_path / "v.parquet", ObjectRef(BUCKET, "old-path/validated.parquet"))

    streamed = s3.get_object(Bucket=BUCKET, Key=result["validated"]["key"])
    uploaded = s3.head_object(Bucket=BUCKET, Key="old-path/validated.parquet")
    assert streamed["Body"].read() == (tmp_path / "v.parquet").read_bytes()
    assert streamed["ETag"] == uploaded["ETag"]
    assert int(streamed["ETag"].strip('"').rsplit("-", 1)[1]) >= 2  # went up in parts
    assert result["rows"] == 300_000
    assert pending_uploads(s3) == []


def test_a_file_refused_for_its_rejects_after_its_parts_went_up_leaves_none(s3):
    # 2 % of rows rejected, over the 1 % allowed: known at the end of the pass.
    data = high_entropy_csv(300_000, bad_every=50)
    sent: list[int] = []
    s3.meta.events.register("after-call.s3.UploadPart", lambda **_: sent.append(1))
    with pytest.raises(RejectedRowsExceeded):
        validate(s3, data)
    assert sent  # parts had gone up before the file was refused
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert "work/ingestion-1/validated.parquet" not in keys
    # For the failure's record, which gives it its name under reports/ once committed.
    assert "work/ingestion-1/rejects.csv" in keys
    assert pending_uploads(s3) == []


def test_a_part_lost_on_the_way_is_the_transient_error_the_state_machine_retries(s3):
    from botocore.exceptions import EndpointConnectionError

    def second_part_fails(params, **_):
        if params["PartNumber"] == 2:
            raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    s3.meta.events.register("provide-client-params.s3.UploadPart", second_part_fails)
    with pytest.raises(StorageUnavailable):
        validate(s3, high_entropy_csv(300_000))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert "work/ingestion-1/validated.parquet" not in keys
    assert pending_uploads(s3) == []


def test_a_stream_whose_part_may_be_large_is_written_to_disk_not_held(s3):
    # The local stack's parts are S3's largest PUT: spooled, the first 64 MiB of the Parquet
    # stayed in memory and were copied out whole when the part rolled over to disk.
    block = random.Random(7).randbytes(MIB)
    ref = ObjectRef(BUCKET, "work/large.parquet")
    sink = S3ObjectStore(s3, multipart_bytes=5 << 30).create(ref)
    tracemalloc.start()
    try:
        for _ in range(16):
            sink.write(block)
        held = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    sink.commit()
    assert held < MIB, held
    stored = s3.get_object(Bucket=BUCKET, Key=ref.key)["Body"].read()
    assert stored == block * 16
