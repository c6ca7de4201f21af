"""CloudFormation custom resources: run the work, then tell CloudFormation how it went.

CloudFormation waits for a reply at the event's ResponseURL (a presigned S3 URL; from
inside the VPC it is reached through the S3 gateway endpoint). A reply must be sent
whatever happened, or the stack waits until the resource's ServiceTimeout.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

_REASON_LIMIT = 1000


def answer_custom_resource(
    event: dict[str, Any],
    work: Callable[[], dict[str, Any]],
    *,
    seconds_left: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Run ``work`` for a Create or Update and reply to CloudFormation; a plain invoke
    (no ResponseURL) runs it and returns its result, raising what it raises.

    A Delete does nothing: the database and its schema outlive a deleted resource. With
    ``seconds_left`` (the Lambda's remaining time), work that is still running when only
    the time to reply is left is answered FAILED rather than never.
    """
    if "ResponseURL" not in event:
        return work()
    reply: dict[str, Any] = {"Status": "SUCCESS", "Data": {}}
    if event["RequestType"] in ("Create", "Update"):
        try:
            reply["Data"] = _attributes(_within(work, seconds_left))
        # CloudFormation must hear of any failure, a library's as much as ours.
        except Exception as e:  # noqa: BLE001
            logger.exception("custom resource failed")
            reply = {"Status": "FAILED", "Reason": f"{type(e).__name__}: {e}"[:_REASON_LIMIT]}
    reply |= {
        "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }
    send_reply(event["ResponseURL"], reply)
    return reply


# Kept back from the function's time for the reply itself (its PUT has a 30 s timeout).
REPLY_SECONDS = 35


class WorkTimedOut(Exception):  # noqa: N818 - what CloudFormation's reason then says
    """The work did not finish while there was still time to reply."""


def _within(
    work: Callable[[], dict[str, Any]], seconds_left: Callable[[], float] | None
) -> dict[str, Any]:
    if seconds_left is None:
        return work()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except Exception as e:  # noqa: BLE001 - handed to the caller's thread below
            outcome["error"] = e

    worker = threading.Thread(target=run, name="custom-resource-work", daemon=True)
    worker.start()
    worker.join(timeout=max(0.0, seconds_left() - REPLY_SECONDS))
    if worker.is_alive():
        raise WorkTimedOut(
            "still running when only the time to reply was left (the function's Timeout)"
        )
    if "error" in outcome:
        raise outcome["error"]
    result: dict[str, Any] = outcome["result"]
    return result


def send_reply(url: str, reply: dict[str, Any]) -> None:
    """PUT the reply, as the presigned URL expects it (no content type)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not a CloudFormation response URL: {url[:40]}")
    request = urllib.request.Request(
        url, data=json.dumps(reply).encode(), method="PUT", headers={"Content-Type": ""}
    )
    # (bandit B310: the URL's scheme is checked above)
    with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310
        answered = {"status": reply["Status"], "http_status": response.status}
    logger.info("custom resource answered", extra=answered)


def _attributes(result: dict[str, Any]) -> dict[str, str]:
    """The result as Fn::GetAtt attributes, which are strings."""
    return {
        key: ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")
        for key, value in result.items()
    }
