import json
from pathlib import Path

import pytest

from csvflow.events import MalformedMessage, dataset_of, start_commands

EVENTS = Path(__file__).parents[1] / "events"


def body(name: str) -> str:
    return (EVENTS / name).read_text()


@pytest.mark.parametrize("name", ["s3_put.json", "s3_put_sns.json"])
def test_raw_and_sns_enveloped_events_give_the_same_command(name):
    (command,) = start_commands(body(name), incoming_prefix="incoming/")
    assert command.source.key == "incoming/sales/March 2026 (final).csv"
    assert command.source.version_id == "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
    assert command.source.sequencer == "0065A1B2C3D4E5F601"
    assert command.dataset == "sales"


def test_s3_test_event_starts_nothing():
    assert start_commands(body("s3_test_event.json"), incoming_prefix="incoming/") == []


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        json.dumps({"Type": "Notification", "Message": "nope"}),
        json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}),
        "{}",
    ],
)
def test_malformed_messages_are_refused(text):
    with pytest.raises(MalformedMessage):
        start_commands(text, incoming_prefix="incoming/")


def test_events_about_another_bucket_or_outside_the_prefix_are_refused():
    assert start_commands(body("s3_put.json"), incoming_prefix="incoming/", bucket="csvflow-data")
    with pytest.raises(MalformedMessage, match="event for bucket 'csvflow-data', not 'ours'"):
        start_commands(body("s3_put.json"), incoming_prefix="incoming/", bucket="ours")
    with pytest.raises(MalformedMessage, match="outside 'uploads/'"):
        start_commands(body("s3_put.json"), incoming_prefix="uploads/")


def test_execution_name_is_stable_valid_and_version_specific():
    (command,) = start_commands(body("s3_put.json"), incoming_prefix="incoming/")
    name = command.source.ingestion_id
    assert len(name) <= 80 and name.replace("-", "").replace("_", "").isalnum()
    assert name.startswith("March-2026-final-")
    (again,) = start_commands(body("s3_put_sns.json"), incoming_prefix="incoming/")
    assert again.source.ingestion_id == name
    other = json.loads(body("s3_put.json"))
    other["Records"][0]["s3"]["object"]["versionId"] = "another-version"
    (newer,) = start_commands(json.dumps(other), incoming_prefix="incoming/")
    assert newer.source.ingestion_id != name


def test_long_keys_still_give_valid_names():
    event = json.loads(body("s3_put.json"))
    event["Records"][0]["s3"]["object"]["key"] = "incoming/x/" + "ü" * 300 + ".csv"
    (command,) = start_commands(json.dumps(event), incoming_prefix="incoming/")
    assert len(command.source.ingestion_id) <= 80


@pytest.mark.parametrize(
    ("key", "dataset"),
    [
        ("incoming/sales/a.csv", "sales"),
        ("incoming/a.csv", "default"),
        ("incoming/sales/2026/a.csv", "sales"),
    ],
)
def test_dataset_comes_from_the_key_prefix(key, dataset):
    assert dataset_of(key, "incoming/") == dataset
