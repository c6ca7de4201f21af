"""A look at the dead-letter queue's messages without taking them off it."""

from __future__ import annotations

from typing import Any


def dead_letters(sqs: Any, queue_url: str, limit: int = 100) -> list[dict[str, Any]]:
    """A look at the DLQ's messages; they become visible again a few seconds later."""
    seen: dict[str, dict[str, Any]] = {}
    while len(seen) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=5, AttributeNames=["All"]
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen[message["MessageId"]] = {
                "id": message["MessageId"],
                "sent": message.get("Attributes", {}).get("SentTimestamp"),
                "receives": message.get("Attributes", {}).get("ApproximateReceiveCount"),
                "body": message["Body"][:500],
            }
    return list(seen.values())
