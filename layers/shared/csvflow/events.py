"""S3 event notifications as they reach the starter: raw, or inside an SNS envelope."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from csvflow.commands import StartIngestion
from csvflow.domain.model import SourceObject


class MalformedMessage(ValueError):
    """An SQS message that is not an S3 notification: it belongs in the dead-letter queue."""


def start_commands(
    body: str, *, incoming_prefix: str, bucket: str | None = None
) -> list[StartIngestion]:
    """The ingestions one SQS message asks for (none for S3's test event).

    With ``bucket``, an event about any other bucket, or about a key outside the incoming
    prefix, is refused: the topic may have other publishers, and such a message must end
    in the dead-letter queue, not start a workflow on data csvflow does not own.
    """
    try:
        message = json.loads(body)
    except ValueError as e:
        raise MalformedMessage("message body is not JSON") from e
    if isinstance(message, dict) and message.get("Type") == "Notification":
        try:
            message = json.loads(message["Message"])
        except (KeyError, TypeError, ValueError) as e:
            raise MalformedMessage("SNS envelope without a JSON Message") from e
    if not isinstance(message, dict):
        raise MalformedMessage("message is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    if "Records" not in message:
        raise MalformedMessage("message has no S3 Records")
    commands = [
        _command(record, incoming_prefix)
        for record in message["Records"]
        if str(record.get("eventName", "")).startswith("ObjectCreated")
    ]
    for command in commands:
        if bucket is not None and command.source.bucket != bucket:
            raise MalformedMessage(f"event for bucket {command.source.bucket!r}, not {bucket!r}")
        if not command.source.key.startswith(incoming_prefix):
            raise MalformedMessage(f"event for {command.source.key!r}, outside {incoming_prefix!r}")
    return commands


def _command(record: dict[str, Any], incoming_prefix: str) -> StartIngestion:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        source = SourceObject(
            bucket=s3["bucket"]["name"],
            # S3 URL-encodes keys in notifications, with '+' for spaces.
            key=unquote_plus(obj["key"]),
            version_id=obj.get("versionId"),
            etag=obj.get("eTag"),
            size=obj.get("size"),
            event_time=record.get("eventTime"),
            sequencer=obj.get("sequencer"),
        )
    except (KeyError, TypeError) as e:
        raise MalformedMessage(f"S3 record lacks {e}") from e
    return StartIngestion(source=source, dataset=dataset_of(source.key, incoming_prefix))


def dataset_of(key: str, incoming_prefix: str) -> str:
    """``incoming/<dataset>/...`` names the dataset; a file right under the prefix is 'default'."""
    rest = key.removeprefix(incoming_prefix)
    head, sep, _ = rest.partition("/")
    return head if sep and head else "default"
