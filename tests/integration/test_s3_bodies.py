"""A local upload goes into moto's S3 as its PUT handler stores it, without the request body's
copies (local/s3_bodies.py): the same object, ETag and event, with one copy of the file."""

import hashlib
import os
import tracemalloc

import boto3
import pytest
from moto import mock_aws

from csvflow.local.s3_bodies import large_bodies_written_to_disk, put_file

BUCKET = "bodies-bucket"


@pytest.fixture
def s3():
    with mock_aws(), large_bodies_written_to_disk():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_a_put_file_is_the_object_a_put_object_makes(s3, tmp_path):
    path = tmp_path / "upload.csv"
    path.write_bytes(os.urandom(3 << 20))
    heard = []
    answer = put_file(BUCKET, "incoming/upload.csv", path, lambda sent, total: heard.append(sent))
    stored = s3.get_object(Bucket=BUCKET, Key="incoming/upload.csv")
    assert stored["Body"].read() == path.read_bytes()
    assert answer["ETag"] == stored["ETag"] == f'"{hashlib.md5(path.read_bytes()).hexdigest()}"'
    assert heard[-1] == path.stat().st_size and heard == sorted(heard)


def _peak(upload) -> int:
    tracemalloc.start()
    try:
        upload()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_upload_holds_one_copy_of_the_file_not_three(s3, tmp_path):
    size = 40 << 20
    path = tmp_path / "large.csv"
    path.write_bytes(b"x" * size)

    def through_put_object():
        with path.open("rb") as body:
            s3.put_object(Bucket=BUCKET, Key="incoming/put.csv", Body=body)

    as_put_object = _peak(through_put_object)
    as_put_file = _peak(lambda: put_file(BUCKET, "incoming/large.csv", path))
    # PutObject: the request body read whole twice, and once more into the object's buffer;
    # put_file: the file once (and moto's 16 MB blocks as it computes the ETag).
    assert as_put_object > 2.5 * size, as_put_object
    assert as_put_file < size + (40 << 20), as_put_file
    head = s3.head_object(Bucket=BUCKET, Key="incoming/large.csv")
    assert head["ContentLength"] == size


def test_moto_still_stores_a_body_where_the_patch_expects_it(s3):
    # When this fails, moto has changed how FakeKey keeps its body: revisit s3_bodies.py.
    from moto.s3.models import FakeKey

    key = FakeKey(
        name="k",
        bucket_name=BUCKET,
        value=b"y" * (20 << 20),
        account_id="123456789012",
        region_name="us-east-1",
    )
    assert key._value_buffer._rolled  # on disk: written there, not through memory
    assert key.contentsize == 20 << 20 and key.value[:3] == b"yyy"
