"""One behaviour suite for the ObjectStore port, run on the S3 adapter (moto) and the fake."""

import io

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.response import StreamingBody
from moto import mock_aws
from urllib3.exceptions import ProtocolError

from csvflow.adapters.s3 import S3ObjectStore
from csvflow.domain.model import ObjectRef
from csvflow.exceptions import SourceObjectMissing, StorageUnavailable
from csvflow.parquet_files import read_parquet_columns, write_parquet
from tests.support.fakes import InMemoryObjectStore

BUCKET = "store-test"


@pytest.fixture(params=["s3", "s3-in-ranges", "fake"])
def store_and_put(request):
    if request.param == "fake":
        fake = InMemoryObjectStore()
        yield fake, lambda key, data: fake.put(BUCKET, key, data)
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)

        def put(key, data):
            client.put_object(Bucket=BUCKET, Key=key, Body=data)
            return ObjectRef(BUCKET, key)

        # In ranges of 3 bytes: every stream crosses several GETs (the local stack's reading).
        ranges = 3 if request.param == "s3-in-ranges" else 0
        yield S3ObjectStore(client, read_range_bytes=ranges), put


class TestObjectStoreContract:
    def test_reads_head_stream_and_text(self, store_and_put):
        store, put = store_and_put
        ref = put("a.csv", b"a,b\n1,2\n")
        assert store.read_head(ref, 3) == b"a,b"
        # (S3 ignores a Range it cannot parse, such as bytes=0--1, and sends the whole object)
        assert store.read_head(ref, 0) == b""
        with store.open(ref) as stream:
            assert stream.read() == b"a,b\n1,2\n"
        with store.open(ref, start=4) as stream:  # a part of a split file starts mid-object
            assert stream.read() == b"1,2\n"
        assert store.read_text(ref) == "a,b\n1,2\n"
        assert store.read_text(ObjectRef(BUCKET, "none.yaml")) is None

    def test_round_trips_text(self, store_and_put):
        store, _ = store_and_put
        ref = ObjectRef(BUCKET, "work/x/dialect.json")
        store.write_text(ref, '{"encoding": "cp1252", "delimiter": "§"}')
        assert store.read_text(ref) == '{"encoding": "cp1252", "delimiter": "§"}'

    def test_the_head_of_an_empty_object_is_empty(self, store_and_put):
        store, put = store_and_put
        assert store.read_head(put("empty.csv", b""), 1024) == b""
        with store.open(put("empty.csv", b"")) as stream:
            assert stream.read() == b""

    def test_reads_the_tail_and_the_size(self, store_and_put):
        store, put = store_and_put
        ref = put("a.csv", b"a,b\n1,2\nTotal,3\n")
        assert store.read_tail(ref, 8) == (b"Total,3\n", 16)
        assert store.read_tail(ref, 1000) == (b"a,b\n1,2\nTotal,3\n", 16)

    def test_a_tail_of_no_bytes_is_empty_and_still_tells_the_size(self, store_and_put):
        store, put = store_and_put
        assert store.read_tail(put("a.csv", b"a,b\n1,2\n"), 0) == (b"", 8)
        assert store.read_tail(put("empty.csv", b""), 0) == (b"", 0)
        with pytest.raises(SourceObjectMissing):
            store.read_tail(ObjectRef(BUCKET, "nope.csv"), 0)

    def test_reads_a_range_and_less_past_the_end(self, store_and_put):
        store, put = store_and_put
        ref = put("a.bin", bytes(range(100)))
        assert store.read_range(ref, 10, 14) == bytes(range(10, 14))
        assert store.read_range(ref, 95, 120) == bytes(range(95, 100))
        assert store.read_range(ref, 100, 110) == b""
        assert store.read_range(ref, 7, 7) == b""

    def test_round_trips_files(self, store_and_put, tmp_path):
        store, _ = store_and_put
        source = tmp_path / "in.bin"
        source.write_bytes(bytes(range(256)) * 100)
        ref = ObjectRef(BUCKET, "work/x/in.bin")
        store.upload_file(source, ref)
        store.download_file(ref, tmp_path / "out.bin")
        assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()

    def test_an_object_written_as_a_stream_exists_once_committed(self, store_and_put):
        store, _ = store_and_put
        ref = ObjectRef(BUCKET, "work/x/validated.parquet")
        with store.create(ref) as sink:
            for piece in (b"PAR1", memoryview(bytes(range(256)) * 40), b"", b"PAR1"):
                assert sink.write(piece) == len(piece)
            assert store.read_text(ref) is None
            sink.commit()
        assert store.read_range(ref, 0, 10**6) == b"PAR1" + bytes(range(256)) * 40 + b"PAR1"

    def test_an_empty_stream_makes_an_empty_object(self, store_and_put):
        store, _ = store_and_put
        ref = ObjectRef(BUCKET, "work/x/empty")
        with store.create(ref) as sink:
            sink.commit()
        assert store.read_tail(ref, 10) == (b"", 0)

    def test_a_stream_left_before_its_commit_makes_no_object(self, store_and_put):
        store, _ = store_and_put
        ref = ObjectRef(BUCKET, "work/x/validated.parquet")
        with pytest.raises(RuntimeError, match="the pass failed"), store.create(ref) as sink:
            sink.write(b"rows")
            raise RuntimeError("the pass failed")
        assert store.read_text(ref) is None
        with store.create(ref) as sink:
            sink.write(b"rows")
            sink.close()  # closing first: the step refuses the file after its pass
        assert store.read_text(ref) is None

    def test_copies_an_object_over_another(self, store_and_put):
        store, put = store_and_put
        source = put("work/x/rejects.csv", b"line,reason\n3,bad\n")
        target = put("reports/x/rejects.csv", b"an older report")
        store.copy(source, target)
        assert store.read_text(target) == "line,reason\n3,bad\n"
        assert store.read_text(source) == "line,reason\n3,bad\n"
        with pytest.raises(SourceObjectMissing):
            store.copy(ObjectRef(BUCKET, "work/none.csv"), ObjectRef(BUCKET, "reports/none.csv"))
        assert store.read_text(ObjectRef(BUCKET, "reports/none.csv")) is None

    def test_missing_object_is_source_object_missing(self, store_and_put, tmp_path):
        store, _ = store_and_put
        missing = ObjectRef(BUCKET, "nope.csv")
        with pytest.raises(SourceObjectMissing):
            store.read_head(missing, 10)
        with pytest.raises(SourceObjectMissing):
            store.open(missing).read()
        with pytest.raises(SourceObjectMissing):
            store.download_file(missing, tmp_path / "nope.csv")


@mock_aws
def test_the_version_in_the_event_is_the_version_read():
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = client.put_object(Bucket=BUCKET, Key="k.csv", Body=b"first")
    client.put_object(Bucket=BUCKET, Key="k.csv", Body=b"second")
    store = S3ObjectStore(client)
    assert store.read_head(ObjectRef(BUCKET, "k.csv", first["VersionId"]), 100) == b"first"


def _overwritten(*, versioned: bool) -> tuple[S3ObjectStore, ObjectRef]:
    """A key written twice; the ref is the first upload's, as its event named it (ETag only)."""
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    if versioned:
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = client.put_object(Bucket=BUCKET, Key="k.csv", Body=b"first")
    client.put_object(Bucket=BUCKET, Key="k.csv", Body=b"second")
    return S3ObjectStore(client), ObjectRef(BUCKET, "k.csv", etag=first["ETag"].strip('"'))


@mock_aws
def test_an_object_replaced_since_the_event_is_a_clear_error():
    store, ref = _overwritten(versioned=False)
    with pytest.raises(SourceObjectMissing, match="changed after the upload event"):
        store.read_head(ref, 100)


@mock_aws
def test_in_a_versioned_bucket_an_event_without_version_id_reads_its_own_version():
    store, ref = _overwritten(versioned=True)
    assert store.read_head(ref, 100) == b"first"
    with store.open(ref) as stream:
        assert stream.read() == b"first"


def test_throttling_is_transient():
    from botocore.stub import Stubber

    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_client_error("get_object", service_error_code="SlowDown", http_status_code=503)
        with pytest.raises(StorageUnavailable, match="SlowDown"):
            S3ObjectStore(client).read_head(ObjectRef(BUCKET, "k"), 1)


def test_access_denied_is_never_read_as_a_missing_contract():
    """S3 answers 403 for a missing key to a role without s3:ListBucket (terraform/iam.tf
    grants it, so a missing contract is 404 and reads as "no contract"). A 403 that still
    comes is a permission or key problem: proceeding without the contract would validate the
    file against the wrong rules, so it fails the step, to be redriven once fixed."""
    from botocore.stub import Stubber

    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
        with pytest.raises(StorageUnavailable, match="AccessDenied"):
            S3ObjectStore(client).read_text(ObjectRef(BUCKET, "contracts/sales.yaml"))


class _ResetMidway(io.RawIOBase):
    """A connection that delivers ``good`` bytes, then is reset, as urllib3 reports it."""

    def __init__(self, good: bytes) -> None:
        self._good = io.BytesIO(good)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self._good.readinto(buffer)
        if count:
            return count
        raise ProtocolError("Connection broken", ConnectionResetError(104, "reset by peer"))


class _OneObjectClient:
    """get_object of an S3 client whose body breaks off after ``good``."""

    def __init__(self, good: bytes, size: int) -> None:
        self._good, self._size = good, size

    def get_object(self, **_address):
        raw = _ResetMidway(self._good)
        return {"Body": StreamingBody(raw, self._size)}


def test_a_body_broken_off_while_it_is_read_is_transient_not_the_files_fault():
    good = b"id,amount\n" + b"1,2.5\n" * 1000
    store = S3ObjectStore(_OneObjectClient(good, size=len(good) * 4))
    ref = ObjectRef("bucket", "incoming/big.csv")

    with store.open(ref) as body:
        assert body.read(len(good)) == good
        with pytest.raises(StorageUnavailable, match="s3://bucket/incoming/big.csv"):
            body.read(100)


def test_the_validate_step_retries_a_broken_body_instead_of_recording_it(monkeypatch):
    from csvflow.bootstrap import bootstrap
    from csvflow.commands import ValidateCsv
    from csvflow.config import Settings
    from csvflow.domain.model import SourceObject

    good = b"id,amount\n" + b"1,2.5\n" * 50_000
    store = S3ObjectStore(_OneObjectClient(good, size=len(good) * 4))
    handle = bootstrap(settings=Settings.from_environ({}), store=_Contracts(store))
    source = SourceObject(bucket="bucket", key="incoming/big.csv", version_id="v1", etag=None)

    with pytest.raises(StorageUnavailable):
        handle(ValidateCsv(source=source, dataset="default", ingestion_id="big"))


class _Contracts:
    """The broken store, with no contract (read_text) and the head read from the body."""

    def __init__(self, store: S3ObjectStore) -> None:
        self._store = store
        self.written: dict[str, str] = {}

    def read_text(self, ref):
        return None

    def write_text(self, ref, text):
        self.written[ref.key] = text

    def read_head(self, ref, size):
        with self._store.open(ref) as body:
            return body.read(size)

    def read_tail(self, ref, size):
        return self._store.read_tail(ref, size)

    def open(self, ref, start=0):
        return self._store.open(ref, start)

    def create(self, ref):
        return self._store.create(ref)


@pytest.mark.parametrize(("multipart_bytes", "parts"), [(5 << 20, 3), (5 << 30, 1)])
def test_files_move_in_parts_of_the_size_the_store_is_given(tmp_path, multipart_bytes, parts):
    # S3's ETag of a multipart upload ends in -<parts>; a single PUT's has no suffix.
    path = tmp_path / "validated.parquet"
    path.write_bytes(b"x" * (11 << 20))
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        store = S3ObjectStore(client, multipart_bytes=multipart_bytes)
        ref = ObjectRef(BUCKET, "work/validated.parquet")

        store.upload_file(path, ref)
        etag = client.head_object(Bucket=BUCKET, Key=ref.key)["ETag"].strip('"')
        store.download_file(ref, tmp_path / "back.parquet")

    assert (etag.rsplit("-", 1)[1] if "-" in etag else "1") == str(parts)
    assert (tmp_path / "back.parquet").read_bytes() == path.read_bytes()


MIB = 1 << 20


def _s3_client():
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


def _pending_uploads(client) -> list:
    return client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


@pytest.mark.parametrize(
    ("size", "parts", "multipart_bytes"),
    [
        (0, 1, 5 * MIB),
        (5 * MIB - 1, 1, 5 * MIB),
        (5 * MIB, 1, 5 * MIB),
        (5 * MIB + 1, 2, 5 * MIB),
        (17 * MIB + 3, 4, 5 * MIB),
        (20 * MIB, 4, 5 * MIB),
        (11 * MIB, 3, 1 * MIB),  # below S3's smallest part: both take 5 MiB
    ],
)
def test_a_stream_is_the_object_upload_file_makes_of_the_same_bytes(
    tmp_path, size, parts, multipart_bytes
):
    # The same parts (S3's ETag of a multipart upload is the MD5 of its parts' MD5s, -<parts>;
    # a single PUT's is the bytes' MD5): the steps after validate see the same object.
    data = np.random.default_rng(size).bytes(size)
    path = tmp_path / "validated.parquet"
    path.write_bytes(data)
    with mock_aws():
        client = _s3_client()
        store = S3ObjectStore(client, multipart_bytes=multipart_bytes)
        store.upload_file(path, ObjectRef(BUCKET, "from-file"))
        with store.create(ObjectRef(BUCKET, "streamed")) as sink:
            for start in range(0, size, 3 * MIB + 7):  # writes that straddle the parts
                sink.write(data[start : start + 3 * MIB + 7])
            sink.commit()
        streamed = client.get_object(Bucket=BUCKET, Key="streamed")
        from_file = client.head_object(Bucket=BUCKET, Key="from-file")
        assert streamed["Body"].read() == data
        assert streamed["ETag"] == from_file["ETag"]
        assert (streamed["ETag"].strip('"') + "-1").split("-")[1] == str(parts)
        assert _pending_uploads(client) == []


def test_a_part_that_fails_to_go_up_aborts_the_upload_and_is_transient():
    from botocore.exceptions import EndpointConnectionError

    def third_part_fails(params, **_):
        if params["PartNumber"] == 3:
            raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    with mock_aws():
        client = _s3_client()
        client.meta.events.register("provide-client-params.s3.UploadPart", third_part_fails)
        store = S3ObjectStore(client, multipart_bytes=5 * MIB)
        ref = ObjectRef(BUCKET, "work/x/validated.parquet")
        with pytest.raises(StorageUnavailable, match="s3://store-test/work/x/validated.parquet"):
            with store.create(ref) as sink:
                for _ in range(40):  # the error reaches a later write, or the commit
                    sink.write(b"x" * MIB)
                sink.commit()
        assert _pending_uploads(client) == []
        assert client.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_part_that_failed_to_go_up_fails_the_next_write_not_a_part_later():
    # The pass stops as soon as it writes again, not once it has made another part's worth
    # of Parquet (64 MiB, some seconds of a part's CPU) to be thrown away.
    import time

    from botocore.exceptions import EndpointConnectionError

    def first_part_fails(**_):
        raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    with mock_aws():
        client = _s3_client()
        client.meta.events.register("provide-client-params.s3.UploadPart", first_part_fails)
        store = S3ObjectStore(client, multipart_bytes=5 * MIB)
        written = 0
        with pytest.raises(StorageUnavailable), store.create(ObjectRef(BUCKET, "k")) as sink:
            sink.write(b"x" * (5 * MIB))  # the first part, handed to its thread
            written = 5 * MIB
            while written < 10 * MIB - 64 * 1024:  # short of the second part
                time.sleep(0.05)  # the first part's thread fails meanwhile
                written += sink.write(b"x" * (64 * 1024))
        assert written < 10 * MIB - 64 * 1024
        assert _pending_uploads(client) == []


def test_a_writer_that_fails_after_parts_went_up_leaves_no_parts_behind():
    with mock_aws():
        client = _s3_client()
        store = S3ObjectStore(client, multipart_bytes=5 * MIB)
        with pytest.raises(ValueError, match="a bad row"):
            with store.create(ObjectRef(BUCKET, "work/x/validated.parquet")) as sink:
                sink.write(b"x" * (12 * MIB))
                assert len(_pending_uploads(client)) == 1  # two parts sent, or being sent
                raise ValueError("a bad row")
        assert _pending_uploads(client) == []
        assert client.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_no_more_parts_are_held_than_the_store_sends_at_once():
    import threading
    import time

    sending, most = 0, 0
    lock = threading.Lock()

    def slow_part(**_):
        nonlocal sending, most
        with lock:
            sending += 1
            most = max(most, sending)
        time.sleep(0.05)
        with lock:
            sending -= 1

    with mock_aws():
        client = _s3_client()
        client.meta.events.register("before-call.s3.UploadPart", slow_part)
        store = S3ObjectStore(client, multipart_bytes=5 * MIB, parts_in_flight=2)
        with store.create(ObjectRef(BUCKET, "k")) as sink:
            for _ in range(8):
                sink.write(b"y" * (5 * MIB))
            sink.commit()
        assert client.head_object(Bucket=BUCKET, Key="k")["ContentLength"] == 40 * MIB
    assert most == 2


def test_parquet_written_to_a_stream_is_the_file_written_to_disk(tmp_path):
    table = _keys_and_values(400_000)
    path = tmp_path / "validated.parquet"
    write_parquet(table.to_batches(max_chunksize=20_000), lambda: table.schema, path)
    assert path.stat().st_size > 10 * MIB  # more than two parts of 5 MiB
    with mock_aws():
        client = _s3_client()
        store = S3ObjectStore(client, multipart_bytes=5 * MIB)
        ref = ObjectRef(BUCKET, "work/x/validated.parquet")
        with store.create(ref) as sink:
            write_parquet(table.to_batches(max_chunksize=20_000), lambda: table.schema, sink)
            sink.commit()
        assert client.head_object(Bucket=BUCKET, Key=ref.key)["ETag"].endswith('-3"')
        assert client.get_object(Bucket=BUCKET, Key=ref.key)["Body"].read() == path.read_bytes()


def _keys_and_values(rows: int) -> pa.Table:
    """A part's Parquet's columns: a key among wider columns."""
    rng = np.random.default_rng(3)
    return pa.table(
        {
            "city": pa.array([f"city {i % 97} with a longer name" for i in range(rows)]),
            "id": pa.array(rng.permutation(rows)),
            "amount": pa.array(rng.random(rows)),
            "note": pa.array([f"note {i}" * 3 for i in rng.integers(0, 10**9, rows)]),
        }
    )


@mock_aws
def test_a_parquet_objects_columns_are_read_from_their_chunks_only(tmp_path):
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    served: list[int] = []
    client.meta.events.register(
        "after-call.s3.GetObject",
        lambda parsed, **_: served.append(parsed["ContentLength"]),
    )
    table = _keys_and_values(60_000)
    path = tmp_path / "validated.parquet"
    # Row groups of 5,000 rows: a part's Parquet of hundreds of MB in miniature.
    batches = table.to_batches(max_chunksize=5_000)
    write_parquet(batches, lambda: table.schema, path, row_group_rows=5_000)
    ref = ObjectRef(BUCKET, "work/x/parts/00001/validated.parquet")
    store = S3ObjectStore(client)
    store.upload_file(path, ref)
    size = path.stat().st_size
    assert pq.read_metadata(path).num_row_groups == 12

    keys = read_parquet_columns(store, ref, ["id"])

    assert keys.equals(pq.read_table(path, columns=["id"]))
    assert sum(served) < size / 3, (sum(served), size)
    assert len(served) == 1 + 12  # the tail with the footer, then each row group's chunk
    served.clear()
    both = read_parquet_columns(store, ref, ["id", "city"])
    assert both.equals(pq.read_table(path, columns=["id", "city"]))
    # city and id lie side by side in each row group: one GET each, not two
    assert len(served) == 1 + 12
    served.clear()
    store.download_file(ref, tmp_path / "whole.parquet")
    assert sum(served) == size  # what the merge downloaded for the keys before
