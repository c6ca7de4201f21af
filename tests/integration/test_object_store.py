"""One behaviour suite for the ObjectStore port, run on the S3 adapter (moto) and the fake."""

import boto3
import pytest
from moto import mock_aws

from csvflow.adapters.s3 import S3ObjectStore
from csvflow.domain.model import ObjectRef
from csvflow.exceptions import SourceObjectMissing, StorageUnavailable
from tests.support.fakes import InMemoryObjectStore

BUCKET = "store-test"


@pytest.fixture(params=["s3", "fake"])
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

        yield S3ObjectStore(client), put


def test_reads_head_stream_and_text(store_and_put):
    store, put = store_and_put
    ref = put("a.csv", b"a,b\n1,2\n")
    assert store.read_head(ref, 3) == b"a,b"
    with store.open(ref) as stream:
        assert stream.read() == b"a,b\n1,2\n"
    assert store.read_text(ref) == "a,b\n1,2\n"
    assert store.read_text(ObjectRef(BUCKET, "none.yaml")) is None


def test_the_head_of_an_empty_object_is_empty(store_and_put):
    store, put = store_and_put
    assert store.read_head(put("empty.csv", b""), 1024) == b""


def test_round_trips_files(store_and_put, tmp_path):
    store, _ = store_and_put
    source = tmp_path / "in.bin"
    source.write_bytes(bytes(range(256)) * 100)
    ref = ObjectRef(BUCKET, "work/x/in.bin")
    store.upload_file(source, ref)
    store.download_file(ref, tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()


def test_missing_object_is_source_object_missing(store_and_put):
    store, _ = store_and_put
    with pytest.raises(SourceObjectMissing):
        store.read_head(ObjectRef(BUCKET, "nope.csv"), 10)


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
