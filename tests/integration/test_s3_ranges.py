"""Ranged GETs read only their range from moto's object (local/s3_ranges.py): the answers are
moto's own, in this process and through the served account, and the whole object is not read.
Fails if a moto upgrade moves the seam."""

import hashlib
import tracemalloc

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.s3.models import FakeKey

from csvflow.local.aws_endpoint import account_served
from csvflow.local.s3_ranges import gets_streamed_from_disk, ranged_gets_read_their_range

BODY = bytes(range(256)) * 40  # 10 240 bytes, each offset's byte telling where it is

# Ranges as a reader of byte ranges asks for them, and the ones S3 answers whole or refuses.
RANGES = [
    "bytes=0-9",
    "bytes=100-199",
    "bytes=10000-",
    "bytes=-16",
    "bytes=10200-20000",  # past the end: up to the end
    "bytes=0-0",
    "bytes=-20000",  # a suffix longer than the object: the whole object, as a range
    "bytes=5-3",  # S3 answers such a range with the whole object
    "bytes=0-1,3-4",  # several ranges: the whole object
    "bytes=x-y",  # unreadable: the whole object
    "bytes=20000-",  # beyond the end: InvalidRange
    "bytes=-0",  # InvalidRange
]


def _answer(s3, **request):
    try:
        response = s3.get_object(Bucket="data", **request)
    except ClientError as error:
        return ("error", error.response["Error"]["Code"])
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response.get("ContentRange"),
        response["ContentLength"],
        response["Body"].read(),
    )


def _answers(s3, version_id):
    asked = [{"Key": "k", "Range": text} for text in RANGES]
    asked += [
        {"Key": "k", "Range": "bytes=3-5", "VersionId": version_id},  # the older version
        {"Key": "k", "Range": "bytes=3-5", "IfMatch": '"no-such-etag"'},
        {"Key": "empty", "Range": "bytes=0-9"},
        {"Key": "empty", "Range": "bytes=-9"},
        {"Key": "k"},
    ]
    return [_answer(s3, **request) for request in asked]


def _fill(s3):
    s3.create_bucket(Bucket="data")
    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    older = s3.put_object(Bucket="data", Key="k", Body=b"older version")["VersionId"]
    s3.put_object(Bucket="data", Key="k", Body=BODY)
    s3.put_object(Bucket="data", Key="empty", Body=b"")
    return older


@pytest.fixture
def whole_reads(monkeypatch):
    """How many times moto read an object's whole value."""
    reads = []
    whole = FakeKey.value

    def counted(key):
        reads.append(key.name)
        return whole.fget(key)

    monkeypatch.setattr(FakeKey, "value", property(counted, whole.fset))
    return reads


@mock_aws
def test_ranged_gets_answer_as_moto_does_without_reading_the_whole_object(whole_reads):
    s3 = boto3.client("s3", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    older = _fill(s3)
    expected = _answers(s3, older)
    assert expected[0] == (206, "bytes 0-9/10240", 10, BODY[:10])
    assert expected[3] == (206, "bytes 10224-10239/10240", 16, BODY[-16:])
    assert expected[-5] == (206, "bytes 3-5/13", 3, b"er ")

    with ranged_gets_read_their_range():
        whole_reads.clear()
        single = [_answer(s3, Key="k", Range=text) for text in ("bytes=0-9", "bytes=-16")]
        assert whole_reads == []  # neither range read the whole object
        answers = _answers(s3, older)
    assert single == [expected[0], expected[3]]
    assert answers == expected


@mock_aws
def test_ranged_gets_through_the_served_account_read_only_their_range(whole_reads):
    older = _fill(boto3.client("s3", region_name="us-east-1"))
    with ranged_gets_read_their_range(), account_served("127.0.0.1", 0, name="test") as url:
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
        whole_reads.clear()
        answer = _answer(s3, Key="k", Range="bytes=1000-1999")
        assert whole_reads == []
        assert answer == (206, "bytes 1000-1999/10240", 1000, BODY[1000:2000])
        assert _answers(s3, older)[-5] == (206, "bytes 3-5/13", 3, b"er ")


@mock_aws
def test_gets_streamed_from_disk_answer_as_moto_does_and_read_nothing_whole(whole_reads):
    s3 = boto3.client("s3", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    older = _fill(s3)
    s3.put_object(Bucket="data", Key="part", Body=BODY)
    expected = _answers(s3, older) + [_answer(s3, Key="part", PartNumber=1)]
    with ranged_gets_read_their_range(), gets_streamed_from_disk():
        whole_reads.clear()
        answers = _answers(s3, older) + [_answer(s3, Key="part", PartNumber=1)]
        assert whole_reads == []  # not even the GET of the whole object read it whole
    assert answers == expected
    assert expected[-2] == (200, None, len(BODY), BODY)


@mock_aws
def test_a_streamed_get_holds_a_block_of_the_object_not_the_object():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="data")
    size = 24 << 20
    s3.put_object(Bucket="data", Key="large", Body=b"z" * size)

    def read_in_blocks(**request):
        tracemalloc.start()
        try:
            body = s3.get_object(Bucket="data", Key="large", **request)["Body"]
            read = sum(len(block) for block in iter(lambda: body.read(1 << 20), b""))
            return read, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    with ranged_gets_read_their_range(), gets_streamed_from_disk():
        whole, whole_peak = read_in_blocks()
        ranged, ranged_peak = read_in_blocks(Range=f"bytes=1000-{size - 1001}")
    assert (whole, ranged) == (size, size - 2000)
    assert whole_peak < 4 << 20 and ranged_peak < 4 << 20, (whole_peak, ranged_peak)


@mock_aws
def test_a_stream_of_ranged_gets_is_read_into_the_readers_buffer():
    # The validator reads an upload into its own buffer: each block was first made a bytes
    # object, then copied into the buffer while holding the GIL.
    from csvflow.adapters.s3 import S3ObjectStore
    from csvflow.domain.model import ObjectRef

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="data")
    size = 24 << 20
    s3.put_object(Bucket="data", Key="large", Body=bytes(range(256)) * (size // 256))
    store = S3ObjectStore(s3, read_range_bytes=16 << 20)
    buffer = bytearray(8 << 20)
    read, held = hashlib.md5(), 0
    with ranged_gets_read_their_range(), gets_streamed_from_disk():
        stream = store.open(ObjectRef("data", "large"), start=1000)
        tracemalloc.start()
        try:
            while True:
                before = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
                count = stream.readinto(buffer)
                held = max(held, tracemalloc.get_traced_memory()[1] - before)
                if not count:
                    break
                read.update(memoryview(buffer)[:count])
        finally:
            tracemalloc.stop()
    assert read.digest() == hashlib.md5((bytes(range(256)) * (size // 256))[1000:]).digest()
    assert held < 1 << 20, held
