"""Large bodies reach moto's S3 on disk, without the request body's copies in memory
(local/s3_bodies.py): the local upload, as moto's PUT handler stores it, and a function's
PutObject through boto3 and that handler; the same object, ETag, version and event either way."""

import hashlib
import inspect
import io
import json
import os
import threading
import tracemalloc
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from csvflow.local.runtime import _integrity_checks_left_to_real_s3 as _integrity_checks_as_locally
from csvflow.local.s3_bodies import large_bodies_written_to_disk, put_file
from csvflow.local.spilled_bodies import BodiesAhead

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


def test_a_put_file_copies_through_this_process_where_the_kernel_cannot(s3, tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refused)
    path = tmp_path / "upload.csv"
    path.write_bytes(os.urandom((6 << 20) + 7))
    answer = put_file(BUCKET, "incoming/elsewhere.csv", path)
    stored = s3.get_object(Bucket=BUCKET, Key="incoming/elsewhere.csv")
    assert stored["Body"].read() == path.read_bytes()
    assert answer["ETag"] == stored["ETag"] == f'"{hashlib.md5(path.read_bytes()).hexdigest()}"'


def _peak(upload) -> int:
    tracemalloc.start()
    try:
        upload()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_upload_holds_no_copy_of_the_file(s3, tmp_path):
    size = 40 << 20
    path = tmp_path / "large.csv"
    path.write_bytes(b"x" * size)

    def through_put_object():
        with path.open("rb") as body:
            s3.put_object(Bucket=BUCKET, Key="incoming/put.csv", Body=body)

    as_put_object = _peak(through_put_object)
    as_put_file = _peak(lambda: put_file(BUCKET, "incoming/large.csv", path))
    # PutObject: the request body read whole twice, and once more into the object's buffer;
    # put_file: a block of the file at a time, its bytes copied by the kernel.
    assert as_put_object > 2.5 * size, as_put_object
    assert as_put_file < 4 << 20, as_put_file
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


# A function's PutObject of a large body (its Parquet) still goes through boto3 and moto's own
# PUT handler; only the body reaches the handler on disk (s3_bodies.py).

LARGE = 12 << 20  # above moto's in-memory buffer (5 MB): what is spilled to disk


@pytest.fixture
def versioned_with_events():
    """A versioned bucket whose ObjectCreated events go to a queue, as the stack's does."""
    with (
        mock_aws(),
        _integrity_checks_as_locally(),
        large_bodies_written_to_disk(),
    ):
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        queue = sqs.create_queue(QueueName="events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": arn["Attributes"]["QueueArn"],
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "work/"}]}},
                    }
                ]
            },
        )
        yield s3, sqs, queue


@pytest.fixture
def parquet_file(tmp_path):
    """A real Parquet file above moto's buffer (random values: it does not compress)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = np.random.default_rng(7).integers(0, 1 << 62, LARGE // 8 + 1000)
    path = tmp_path / "validated.parquet"
    pq.write_table(pa.table({"value": values}), path, compression="none")
    assert path.stat().st_size > LARGE
    return path


def _store(s3):
    from csvflow.adapters.s3 import S3ObjectStore
    from csvflow.local.stack import WHOLE_OBJECTS

    # As the local stack configures the functions' adapter: whole objects, one PutObject.
    return S3ObjectStore(s3, multipart_bytes=int(WHOLE_OBJECTS["CSVFLOW_S3_MULTIPART_BYTES"]))


def test_a_functions_large_put_is_the_object_s3_serves_back(versioned_with_events, parquet_file):
    from csvflow.domain.model import ObjectRef

    s3, sqs, queue = versioned_with_events
    data = parquet_file.read_bytes()
    _store(s3).upload_file(parquet_file, ObjectRef(BUCKET, "work/run-1/validated.parquet"))

    stored = s3.get_object(Bucket=BUCKET, Key="work/run-1/validated.parquet")
    assert stored["Body"].read() == data
    assert stored["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert stored["ContentLength"] == len(data)
    ranged = s3.get_object(
        Bucket=BUCKET, Key="work/run-1/validated.parquet", Range="bytes=-8"
    )  # Parquet's footer length and magic, as a reader asks for them first
    assert ranged["Body"].read() == data[-8:] == ranged_tail(data)
    assert ranged["ContentRange"] == f"bytes {len(data) - 8}-{len(data) - 1}/{len(data)}"
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix="work/")["Versions"]
    assert [v["VersionId"] for v in versions] == [stored["VersionId"]]

    import pyarrow.parquet as pq

    assert pq.read_table(io.BytesIO(data)).num_rows == LARGE // 8 + 1000
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    records = [r for m in messages for r in json.loads(m["Body"]).get("Records", [])]
    assert [r["eventName"] for r in records] == ["ObjectCreated:Put"]
    assert unquote_plus(records[0]["s3"]["object"]["key"]) == "work/run-1/validated.parquet"
    assert records[0]["s3"]["object"]["size"] == len(data)
    assert records[0]["s3"]["object"]["eTag"] == hashlib.md5(data).hexdigest()


def ranged_tail(data: bytes) -> bytes:
    assert data[-4:] == b"PAR1"
    return data[-8:]


def test_a_functions_large_put_holds_no_copy_of_its_body(versioned_with_events, parquet_file):
    from csvflow.domain.model import ObjectRef

    s3, _, _ = versioned_with_events
    ref = ObjectRef(BUCKET, "work/run-2/validated.parquet")
    peak = _peak(lambda: _store(s3).upload_file(parquet_file, ref))
    # Through werkzeug and into the key's buffer the body was held two to three times.
    assert peak < LARGE // 4, peak
    assert s3.head_object(Bucket=BUCKET, Key=ref.key)["ContentLength"] == (
        parquet_file.stat().st_size
    )


def test_a_put_that_fails_a_condition_stores_nothing(versioned_with_events, parquet_file):
    s3, _, _ = versioned_with_events
    key = "work/run-3/validated.parquet"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"first")
    with parquet_file.open("rb") as body, pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key=key, Body=body, IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"first"
    # ...and the next request on this thread is an ordinary one.
    s3.put_object(Bucket=BUCKET, Key="work/small", Body=b"small")
    assert s3.get_object(Bucket=BUCKET, Key="work/small")["Body"].read() == b"small"


def test_moto_still_sends_a_put_object_where_the_patch_expects_it():
    # When this fails, moto has moved where it takes a PUT's body: revisit s3_bodies.py.
    from moto.core.botocore_stubber import BotocoreStubber
    from moto.s3.responses import S3Response

    from csvflow.local.s3_bodies import PUT_OBJECT_EVENT

    assert callable(BotocoreStubber.__call__) and callable(S3Response.put_object)
    assert "self.body" in inspect.getsource(S3Response.put_object)
    assert PUT_OBJECT_EVENT == "before-send.s3.PutObject"


def test_a_body_copied_ahead_is_the_object_put_and_tells_its_progress_as_it_is_made(s3, tmp_path):
    paths = [tmp_path / "first.csv", tmp_path / "second.csv"]
    for size, path in zip((7 << 20, 3 << 20), paths, strict=True):
        path.write_bytes(os.urandom(size))
    heard: list[tuple[str, int, int]] = []
    both_copied = threading.Event()

    def told(path, sent, total):
        heard.append((path.name, sent, total))
        if path == paths[-1] and sent == total:
            both_copied.set()

    with BodiesAhead(paths) as bodies:
        bodies.tell(told)
        assert both_copied.wait(60)  # made ahead, in order, before anyone takes them
        bodies_taken = [bodies.take(path) for path in paths]
        assert bodies.take(paths[0]) is None  # each body once
    answers = [
        put_file(BUCKET, f"incoming/{path.name}", path, body=body)
        for path, body in zip(paths, bodies_taken, strict=True)
    ]

    for path, answer in zip(paths, answers, strict=True):
        stored = s3.get_object(Bucket=BUCKET, Key=f"incoming/{path.name}")
        assert stored["Body"].read() == path.read_bytes()
        assert answer["ETag"] == stored["ETag"] == f'"{hashlib.md5(path.read_bytes()).hexdigest()}"'
        sent = [sent for name, sent, _ in heard if name == path.name]
        assert sent[-1] == path.stat().st_size and sent == sorted(sent)
    assert not any(t.name.startswith("upload-ahead") for t in threading.enumerate())


def test_a_copy_ahead_that_failed_raises_when_its_body_is_taken(tmp_path):
    folder = tmp_path / "a folder, not a file"
    folder.mkdir()
    with BodiesAhead([folder]) as bodies, pytest.raises(IsADirectoryError):
        bodies.take(folder)


def test_a_copy_ahead_tells_its_progress_only_once_asked_and_then_how_far_it_got(tmp_path):
    path = tmp_path / "told late.csv"
    path.write_bytes(os.urandom(3 << 20))
    heard: list[tuple[str, int, int]] = []

    with BodiesAhead([path]) as bodies:
        body = bodies.take(path)  # copied, and nobody told
        assert heard == []
        bodies.tell(lambda path, sent, total: heard.append((path.name, sent, total)))

    assert body is not None and body.size == path.stat().st_size
    assert heard == [("told late.csv", body.size, body.size)]


def test_a_put_is_sent_as_an_unsigned_payload_its_body_read_once(versioned_with_events):
    """Without checksums botocore would sign the body's SHA-256, reading all of it before the
    request is sent; the emulator checks no signature (runtime.py)."""
    s3, _, _ = versioned_with_events
    sent = []
    s3.meta.events.register_first(
        "before-send.s3.PutObject",
        lambda request, **_: sent.append(request.headers["X-Amz-Content-SHA256"]),
    )
    body = _CountingReads(os.urandom(LARGE))
    s3.put_object(Bucket=BUCKET, Key="work/run-3/validated.parquet", Body=body)

    assert sent == [b"UNSIGNED-PAYLOAD"]
    assert body.read_bytes == LARGE  # by the emulator's copy alone
    stored = s3.get_object(Bucket=BUCKET, Key="work/run-3/validated.parquet")
    assert stored["ETag"] == f'"{hashlib.md5(body.getvalue()).hexdigest()}"'


class _CountingReads(io.BytesIO):
    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        self.read_bytes += len(block)
        return block

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = super().readinto(buffer)
        self.read_bytes += count
        return count


def test_a_put_of_a_body_on_disk_is_copied_by_the_kernel(versioned_with_events, monkeypatch):
    """A function's Parquet waits in a spooled file rolled over to disk (MultipartSink): its
    bytes reach the emulator's object by the kernel's copy, hashed once on the way."""
    import tempfile

    s3, _, _ = versioned_with_events
    data = os.urandom(LARGE + 3)
    body = tempfile.SpooledTemporaryFile(max_size=1 << 20)
    body.write(data)  # past max_size: on disk, its last bytes maybe still in the buffer
    body.seek(0)
    kernel_copies = []
    copy_file_range = os.copy_file_range

    def counted(*args, **kwargs):
        copied = copy_file_range(*args, **kwargs)
        kernel_copies.append(copied)
        return copied

    monkeypatch.setattr(os, "copy_file_range", counted)
    s3.put_object(Bucket=BUCKET, Key="work/run-4/validated.parquet", Body=body)

    assert sum(kernel_copies) == len(data)
    stored = s3.get_object(Bucket=BUCKET, Key="work/run-4/validated.parquet")
    assert stored["Body"].read() == data
    assert stored["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
