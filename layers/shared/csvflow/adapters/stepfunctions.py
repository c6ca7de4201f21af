"""WorkflowStarter over Step Functions."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


class StepFunctionsStarter:
    """Starts executions of one state machine through a client it is given."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._sfn = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> str | None:
        try:
            response = self._sfn.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(payload)
            )
        except ClientError as e:
            # Execution names are unique per state machine for 90 days: a second
            # delivery of the same S3 event lands here, and that is success.
            if e.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return None
            raise
        arn: str = response["executionArn"]
        return arn
