"""`csvflow dlq`: the starter queue's dead letters, listed or moved back."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from csvflow.cli.target import add_target_options, client
from csvflow.operations.dead_letters import dead_letters


def register(
    command: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    dlq = command("dlq", help="the starter queue's dead letters")
    dlq.add_argument("action", choices=["list", "redrive"])
    dlq.add_argument("--json", action="store_true")
    add_target_options(dlq)
    dlq.set_defaults(func=cmd_dlq)


def cmd_dlq(args: argparse.Namespace) -> int:
    sqs = client(args, "sqs")
    dlq_url = sqs.get_queue_url(QueueName=f"{args.name}-starter-dlq")["QueueUrl"]
    if args.action == "list":
        messages = dead_letters(sqs, dlq_url)
        if args.json:
            print(json.dumps(messages, indent=2))
            return 0
        if not messages:
            print("no dead letters", file=sys.stderr)
        for message in messages:
            print(f"{message['id']}  receives={message['receives']}  {message['body'][:120]}")
        return 0
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    task = sqs.start_message_move_task(SourceArn=dlq_arn)
    print(f"moving the dead letters back to their queue: task {task['TaskHandle']}")
    return 0
