"""Delivering the queue's messages to the starter, as Lambda's SQS event source mapping does,
and the dead-letter queue the messages it gives up on end in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from csvflow.local.stack import REGION, queue_arn


class StarterDelivery:
    """The SQS poller in front of the starter function, and its dead-letter queue."""

    def __init__(
        self, *, sqs: Any, lam: Any, queue_url: str, dlq_url: str, starter_arn: str
    ) -> None:
        self._sqs, self._lam = sqs, lam
        self._queue_url, self._dlq_url, self._starter_arn = queue_url, dlq_url, starter_arn
        # Bodies of messages the starter failed and has not taken since, by message id: once
        # the queue is empty, SQS has moved them to the dead-letter queue.
        self.undelivered: dict[str, str] = {}

    def pump(self, *, max_rounds: int = 100) -> int:
        """Deliver queued messages to the starter in batches, as Lambda's SQS poller does.

        Messages the starter reports as failed stay in the queue; after
        MAX_RECEIVE_COUNT receives SQS moves them to the dead-letter queue.
        """
        delivered = 0
        for _ in range(max_rounds):
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return delivered
            failed = self._invoke_starter(messages)
            done = [m for m in messages if m["MessageId"] not in failed]
            for message in messages:
                if message["MessageId"] in failed:
                    self.undelivered[message["MessageId"]] = message["Body"]
                else:
                    self.undelivered.pop(message["MessageId"], None)
            if done:
                self._sqs.delete_message_batch(
                    QueueUrl=self._queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )
            delivered += len(done)
        return delivered

    def _invoke_starter(self, messages: list[dict[str, Any]]) -> set[str]:
        source_arn = queue_arn(self._sqs, self._queue_url)
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": source_arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }
        response = self._lam.invoke(
            FunctionName=self._starter_arn, Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            return {m["MessageId"] for m in messages}
        return {item["itemIdentifier"] for item in payload.get("batchItemFailures", [])}

    @property
    def dead_letter_queue_arn(self) -> str:
        return queue_arn(self._sqs, self._dlq_url)

    def move_dead_letters(self) -> int:
        """What SQS's StartMessageMoveTask does: the DLQ's messages back to their queue."""
        moved = 0
        for message in self._receive_dead_letters():
            self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=message["Body"])
            self._sqs.delete_message(QueueUrl=self._dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
        return moved

    def dead_letters(self) -> list[dict[str, Any]]:
        """The messages the queue gave up on (received MAX_RECEIVE_COUNT times)."""
        return list(self._receive_dead_letters())

    def _receive_dead_letters(self) -> Iterator[dict[str, Any]]:
        """Every message in the DLQ once: each stays hidden for 30 s after it is received."""
        while batch := self._sqs.receive_message(
            QueueUrl=self._dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30
        ).get("Messages", []):
            yield from batch
