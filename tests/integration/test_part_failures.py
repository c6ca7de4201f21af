"""A split file's part (validate-part) whose pass fails half-way, on moto's S3 through the real
S3 adapter: its Parquet was going up in parts during the pass (docs/adr/0026), so the failure
must abort that multipart upload (no parts left for S3 to keep and bill), leave no Parquet and
no record of the part, and reach the state machine as an error its *Validate a part* retries;
the part's event sent again (the retry, or a redrive of the map) then makes the part a clean
run makes, byte for byte."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.response import StreamingBody
from moto import mock_aws
from urllib3.exceptions import ProtocolError

import csvflow.domain.validation
import csvflow.parquet_files
from csvflow.adapters.s3 import S3ObjectStore
from csvflow.bootstrap import bootstrap
from csvflow.commands import PlanParts, ValidatePart
from csvflow.config import Settings
from csvflow.domain.model import SourceObject
from tests.integration.test_streamed_parquet import high_entropy_csv

ROOT = Path(__file__).parents[2]
BUCKET = "data"
KEY = "incoming/t/big.csv"
MIB = 1 << 20
PIECES = 5 * MIB  # S3's smallest multipart piece: a part's Parquet goes up in several

CONTRACT = b"""
columns:
  - {name: id, type: int, unique: true}
  - {name: amount, type: float}
  - {name: code, type: string}
max_rejected_share: 0.5
"""


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="contracts/t.yaml", Body=CONTRACT)
        # Two parts of 11.6 MB, each 10 MB of Parquet (two pieces); a reject every 997 rows.
        data = high_entropy_csv(600_000, bad_every=997)
        client.put_object(Bucket=BUCKET, Key=KEY, Body=data)
        yield client, SourceObject(BUCKET, KEY, None, None, size=len(data))


@pytest.fixture(autouse=True)
def row_groups_of_a_big_part(monkeypatch):
    """Row groups a few times smaller than a piece, as a 512 MiB part's (about 15 MB of
    Parquet each) are against its 64 MiB pieces: the Parquet goes up during the pass. The
    blocks are checked as they come, not joined to 16,384 rows: joined, the pass would run
    a fifth of this small part ahead of its writer (a 512 MiB part's lead is under 2 %), and
    under load could read its whole stream before the Parquet's first piece went up."""
    monkeypatch.setattr(csvflow.parquet_files, "ROW_GROUP_ROWS", 65_536)
    monkeypatch.setattr(csvflow.domain.validation, "CHECKED_ROWS", 1)


def _handle(client):
    # Blocks of 256 KiB: the pass reads only a few blocks ahead of its Parquet writer, so the
    # upload's stream is still being read when the Parquet's first piece goes up.
    settings = Settings(s3_multipart_bytes=PIECES, max_line_bytes=MIB // 4)
    return bootstrap(settings=settings, store=S3ObjectStore(client, multipart_bytes=PIECES))


def _planned_part(client, source, ingestion_id: str) -> dict:
    """The event of the plan's last part, as the Distributed Map hands it to validate-part."""
    handle = _handle(client)
    payload = {"source": source.to_dict(), "dataset": "t", "ingestion_id": ingestion_id}
    plan = handle(PlanParts.from_event(payload | {"split": {"part_bytes": source.size // 2}}))
    assert plan["path"] == "parts", plan
    items = json.loads(client.get_object(Bucket=BUCKET, Key=plan["parts"]["key"])["Body"].read())
    return payload | {"part": items[-1]}


def _objects(client, prefix: str) -> dict[str, bytes]:
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        o["Key"].removeprefix(prefix): client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
        for o in listed
    }


def _pending_uploads(client) -> list:
    return client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])


def _retried_by_validate_a_part() -> set[str]:
    """The error names the state machine's *Validate a part* retries in its own iteration."""
    asl = json.loads((ROOT / "statemachine" / "ingest.asl.json").read_text())
    pending = [asl]
    while pending:
        states = pending.pop().get("States", {})
        for name, state in states.items():
            if name == "Validate a part":
                return {error for rule in state["Retry"] for error in rule["ErrorEquals"]}
            for nested in (state.get("ItemProcessor"), *state.get("Branches", [])):
                if nested:
                    pending.append(nested)
    raise AssertionError("no state 'Validate a part' in the ASL")


class _StreamCut(io.RawIOBase):
    """An S3 body whose connection drops, as urllib3 reports it, once ``drop()`` is true."""

    def __init__(self, body: StreamingBody, drop: Callable[[], bool]) -> None:
        self._body, self._drop = body, drop

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        if self._drop():
            raise ProtocolError("Connection broken: ConnectionResetError(104)")
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _stream_dropped_once_the_parquet_goes_up(client, uploads: list[int]) -> None:
    """A part's stream of the upload loses its connection once its Parquet's multipart
    upload has begun (its first piece is full); the small reads (plan, dialect) stay whole."""

    def cut(parsed, **_):  # type: ignore[no-untyped-def]
        length = parsed.get("ContentLength", 0)
        if "ContentRange" in parsed and length > 4 * MIB:
            parsed["Body"] = StreamingBody(
                _StreamCut(parsed["Body"], lambda: bool(uploads)), length
            )

    client.meta.events.register("after-call.s3.GetObject", cut)


def _second_piece_lost(client, uploads: list[int]) -> None:
    from botocore.exceptions import EndpointConnectionError

    def lost(params, **_):  # type: ignore[no-untyped-def]
        if params["PartNumber"] == 2:
            raise EndpointConnectionError(endpoint_url="https://s3.amazonaws.com")

    client.meta.events.register("provide-client-params.s3.UploadPart", lost)


FAILURES = {
    "the upload's stream drops half-way": _stream_dropped_once_the_parquet_goes_up,
    "a piece of the Parquet is lost on the way": _second_piece_lost,
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_part_whose_pass_fails_half_way_aborts_its_upload_and_is_redone_whole(s3, failure):
    client, source = s3
    clean_event = _planned_part(client, source, "clean")
    clean = _handle(client)(ValidatePart.from_event(clean_event))
    clean_objects = _objects(client, "work/clean/parts/")
    assert "00001/validated.parquet" in clean_objects and clean["rejected_rows"] > 0

    event = _planned_part(client, source, "failed")
    uploads: list[int] = []
    client.meta.events.register(
        "after-call.s3.CreateMultipartUpload", lambda **_: uploads.append(1)
    )
    FAILURES[failure](client, uploads)
    with pytest.raises(Exception) as raised:
        _handle(client)(ValidatePart.from_event(event))

    assert type(raised.value).__name__ in _retried_by_validate_a_part(), raised.value
    assert uploads, "the Parquet's multipart upload had not begun when the pass failed"
    assert _pending_uploads(client) == []
    # No Parquet, whole or half, and no record a retry would answer from. A reject report
    # uploaded before the Parquet's last piece failed may stay: the retry writes it again.
    assert set(_objects(client, "work/failed/parts/")) <= {"00001/rejects.csv"}

    # The same event again, as the ASL's retry or a redrive of the map sends it.
    fresh = boto3.client("s3", region_name="us-east-1")  # the same moto S3, no failure
    again = _handle(fresh)(ValidatePart.from_event(event))
    assert again == clean
    redone = _objects(client, "work/failed/parts/")
    record = json.loads(redone.pop("00001/result.json"))
    clean_record = json.loads(clean_objects.pop("00001/result.json"))
    assert record["rejects"]["key"] == clean_record["rejects"]["key"].replace("clean", "failed")
    assert {**record, "rejects": None} == {**clean_record, "rejects": None}
    # The summary state as a clean run leaves it, but for the quantile sketches: KLL's
    # compactions flip coins, so no two runs make the same sketch (within its stated error).
    state, clean_state = (
        pq.read_table(io.BytesIO(objects.pop("00001/summary-state/columns.parquet")))
        for objects in (redone, clean_objects)
    )
    assert state.drop_columns(["quantile_sketch"]) == clean_state.drop_columns(["quantile_sketch"])
    assert redone == clean_objects  # the Parquet byte for byte, the reject report, aggregates
    assert _pending_uploads(client) == []
