"""An exception that is not csvflow's (a library's), raised in any step, ends in *Record the
failure* with its own type and message in the ingestions row, as permanent errors do.

Each test deploys test code to one function, as one would in an AWS account to reproduce a
fault: validate runs with an object store (the real S3 adapter) whose reads fail as the
managed layer's pyarrow did (docs/adr/0008); summarize and persist run unchanged, after a
stand-in for the step before them that points them at a CSV where Parquet belongs, so Arrow
itself raises in the real handler. A function that cannot even start (a module left out of its
package) is the deployment's fault, not the file's: that execution waits on the step for a redrive.
"""

from pathlib import Path

import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.local.executions import iter_states
from csvflow.local.runtime import LocalRuntime
from csvflow.local.stack import function_zip
from tests.support.emulated_lambda import app_zip

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
CSV = b"id,amount\n1,2.5\n2,3.5\n"
WAIT = 120

VALIDATE_WITHOUT_THE_CODEC = '''
"""The validate function, with an object store whose reads fail as a layer without a codec."""

import os

import boto3
import pyarrow as pa

from csvflow.adapters.s3 import S3ObjectStore
from csvflow.bootstrap import bootstrap
from csvflow.commands import ValidateCsv
from csvflow.config import Settings


class CodecMissing(S3ObjectStore):
    def open(self, ref):
        raise pa.ArrowNotImplementedError("Support for codec 'zstd' not built")


handle = bootstrap(settings=Settings.from_environ(os.environ), store=CodecMissing(boto3.client("s3")))


def lambda_handler(event, context):
    return handle(ValidateCsv.from_event(event))
'''

VALIDATE_POINTING_AT_THE_CSV = '''
"""Answers as validate does, but its "summary state Parquet" is the uploaded CSV itself."""


def lambda_handler(event, context):
    source = event["source"]
    csv = {"bucket": source["bucket"], "key": source["key"], "version_id": None}
    return {
        "validated": csv,
        "summary_state": {"columns": csv, "aggregates": csv},
        "rejects_report": None,
        "rows": 2,
        "rejected_rows": 0,
    }
'''

SUMMARIZE_POINTING_AT_THE_CSV = '''
"""Answers as summarize does, but its "column profiles Parquet" is the uploaded CSV itself."""


def lambda_handler(event, context):
    source = event["source"]
    columns = {"bucket": source["bucket"], "key": source["key"], "version_id": None}
    return {"columns": columns, "aggregates": [], "rows": 2}
'''

NOT_PARQUET = "Parquet magic bytes not found in footer"


@pytest.fixture
def runtime(database_url):
    with LocalRuntime(database_url=database_url) as running:
        yield running


@pytest.mark.parametrize(
    ("replaced", "code", "step", "state", "error", "message"),
    [
        (
            "validate",
            VALIDATE_WITHOUT_THE_CODEC,
            "validate",
            "Validate CSV",
            "ArrowNotImplementedError",
            "Support for codec 'zstd' not built",
        ),
        (
            "validate",
            VALIDATE_POINTING_AT_THE_CSV,
            "summarize",
            "Summarize columns",
            "ArrowInvalid",
            NOT_PARQUET,
        ),
        (
            "summarize",
            SUMMARIZE_POINTING_AT_THE_CSV,
            "persist",
            "Persist summary",
            "ArrowInvalid",
            NOT_PARQUET,
        ),
    ],
    ids=["in-validate", "in-summarize", "in-persist"],
)
def test_an_unexpected_exception_in_a_step_is_recorded_with_its_type_and_message(
    runtime, database_url, replaced, code, step, state, error, message
):
    runtime.lam.update_function_code(
        FunctionName=runtime.function_arns[replaced], ZipFile=app_zip(code)
    )
    key = f"incoming/unexpected/{step}.csv"
    upload = runtime.upload_bytes(CSV, key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=WAIT)

    assert (result.status, result.error) == ("FAILED", error), result.cause
    assert message in result.cause
    history = runtime.history(upload.execution_arn)
    entered = [n for kind, n in iter_states(history) if kind.endswith("StateEntered")]
    assert entered[-3:] == [state, "Record the failure", "Ingestion failed"]
    failures = [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failures] == ["UnexpectedError"]  # caught at once, not retried
    assert f"{error}: " in failures[0]["cause"]
    (row,) = [
        i
        for i in PostgresSummaryQueries(connector(database_url)).ingestions(limit=1000)
        if i["key"] == key
    ]
    assert (row["status"], row["failed_step"], row["error"]) == ("FAILED", step, error)
    assert message in row["cause"]
    assert not row["cause"].startswith(error)  # the message alone: its type has its column


def test_a_function_that_cannot_start_fails_on_its_step_and_is_redriven_once_deployed_whole(
    runtime, database_url
):
    # The deployment's fault, not the file's: nothing recorded, the execution waits on the
    # step for a redrive (docs/adr/0008).
    validate = runtime.function_arns["validate"]
    package = function_zip(ROOT / "functions" / "validate")
    runtime.lam.update_function_code(
        FunctionName=validate, ZipFile=app_zip("import csvflow_layer_module_left_out\n")
    )
    key = "incoming/unexpected/cannot-start.csv"
    upload = runtime.upload_bytes(CSV, key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=WAIT)

    assert (result.status, result.error) == ("FAILED", "Runtime.ImportModuleError")
    assert "No module named 'csvflow_layer_module_left_out'" in result.cause
    entered = [
        n
        for kind, n in iter_states(runtime.history(upload.execution_arn))
        if kind.endswith("StateEntered")
    ]
    assert entered == ["Choose the path", "Validate CSV"]
    queries = PostgresSummaryQueries(connector(database_url))
    assert queries.summary(key) is None

    runtime.lam.update_function_code(FunctionName=validate, ZipFile=package)
    redriven = runtime.redrive(upload.execution_arn, timeout=WAIT)
    assert redriven.status == "SUCCEEDED", redriven.cause
    assert queries.summary(key)["rows"] == 2
