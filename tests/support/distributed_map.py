"""A Distributed Map as the workflow's chunks run (issue 17): items listed in an S3 JSON object,
results written to S3, MaxConcurrency from the input, each iteration one Lambda invocation.
Run in moto's interpreter by tests/integration/test_lambda_workers.py and
bench/local_workers.py."""

from __future__ import annotations

import json
import time
from typing import Any


def map_definition(
    function: str, *, results_bucket: str, tolerance: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The state machine: each item of ``$.items`` (a key in ``$.bucket``) to ``function``;
    ``tolerance`` the Map's ToleratedFailureCount/Percentage, if any."""
    return {
        "StartAt": "Chunks",
        "States": {
            "Chunks": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.items"},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Work",
                    "States": {
                        "Work": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": function, "Payload.$": "$"},
                            "OutputPath": "$.Payload",
                            "End": True,
                        }
                    },
                },
                "MaxConcurrencyPath": "$.concurrency",
                # moto (5.2) evaluates these paths against the Map's results, not its input,
                # so they are literals; and it writes only the manifest, no result files.
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": results_bucket, "Prefix": "results"},
                },
                **(tolerance or {}),
                "End": True,
            }
        },
    }


def run_map(
    sfn: Any,
    s3: Any,
    role: str,
    items: list[Any],
    *,
    bucket: str,
    concurrency: int,
    tolerance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the map over ``items`` to its end; the execution, as DescribeExecution gives it."""
    s3.put_object(Bucket=bucket, Key="items.json", Body=json.dumps(items))
    machine = sfn.create_state_machine(
        name=f"chunks-{time.monotonic_ns()}",
        definition=json.dumps(map_definition("f", results_bucket=bucket, tolerance=tolerance)),
        roleArn=role,
    )["stateMachineArn"]
    arn = sfn.start_execution(
        stateMachineArn=machine,
        input=json.dumps({"bucket": bucket, "items": "items.json", "concurrency": concurrency}),
    )["executionArn"]
    deadline = time.monotonic() + 600
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{arn} did not end in 10 minutes")
        time.sleep(0.05)
    described_execution: dict[str, Any] = described
    return described_execution
