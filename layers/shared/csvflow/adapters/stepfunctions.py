"""WorkflowStarter over Step Functions."""

from __future__ import annotations

import json
import uuid
from typing import Any

from botocore.exceptions import ClientError


class StepFunctionsStarter:
    """Starts executions of one state machine through a client it is given."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._sfn = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> str | None:
        # StartExecution is idempotent: the same name and input as a *running* execution
        # answers with that execution's ARN, as if it had just started; a finished one, or
        # other input, answers ExecutionAlreadyExists. An input of its own per call makes a
        # repeat always the latter, so a second delivery of an S3 event is told apart from
        # the first whether or not the first has finished. (botocore's own retries of one
        # call resend the same input, and so still get the ARN of the run they started.)
        execution_input = {**payload, "start_request": uuid.uuid4().hex}
        try:
            response = self._sfn.start_execution(
                stateMachineArn=self._arn, name=name, input=json.dumps(execution_input)
            )
        except ClientError as e:
            # Execution names are unique per state machine for 90 days: a second
            # delivery of the same S3 event lands here, and that is success.
            if e.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return None
            raise
        arn: str = response["executionArn"]
        return arn
