"""A function's large PutObject in the local run (its validated Parquet) reaches moto on disk
through boto3 and moto's PUT handler (local/s3_bodies.py), and S3 serves back those bytes."""

from __future__ import annotations

import hashlib
import io
import random

import pyarrow.parquet as pq
import pytest

from csvflow.local.spilled_bodies import SpilledBody

pytestmark = pytest.mark.e2e

ROWS = 300_000


def test_the_validated_parquet_is_put_on_disk_and_read_back_byte_for_byte(
    runtime, tmp_path, monkeypatch
):
    spilled: list[int] = []
    read_from = SpilledBody.read_from.__func__  # type: ignore[attr-defined]

    def counted(cls, *args, **kwargs):
        body = read_from(cls, *args, **kwargs)
        spilled.append(body.size)
        return body

    monkeypatch.setattr(SpilledBody, "read_from", classmethod(counted))
    draw = random.Random(12)
    path = tmp_path / "wide.csv"
    # Values that do not compress: the Parquet is larger than moto's 5 MB in-memory buffer.
    path.write_text(
        "id,token,amount\n"
        + "".join(f"{i},{draw.getrandbits(96):024x},{draw.getrandbits(52)}\n" for i in range(ROWS))
    )

    (result,) = runtime.run([path])

    assert result.status == "SUCCEEDED", result.cause
    listed = runtime.s3.list_objects_v2(Bucket=runtime.names.bucket, Prefix="work/")["Contents"]
    (key,) = [item["Key"] for item in listed if item["Key"].endswith("/validated.parquet")]
    stored = runtime.s3.get_object(Bucket=runtime.names.bucket, Key=key)
    data = stored["Body"].read()
    assert len(data) > 5 << 20 and len(data) in spilled  # its PUT went to disk, as a body
    assert stored["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert pq.read_table(io.BytesIO(data)).num_rows == ROWS
    footer = runtime.s3.get_object(Bucket=runtime.names.bucket, Key=key, Range="bytes=-8")
    assert footer["Body"].read() == data[-8:] and data.endswith(b"PAR1")
