"""A validate Lambda that outruns its Timeout: the execution fails on that step (no retry, as
another attempt would outrun it again), and once the limit is raised a redrive finishes it."""

import io
import zipfile
from pathlib import Path

import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.local.executions import iter_states
from csvflow.local.runtime import LocalRuntime
from csvflow.local.stack import function_zip

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
CSV = b"id,amount\n" + b"".join(b"%d,%d.5\n" % (i, i) for i in range(300))

# The real handler, behind Python work that takes longer than the 1 s Timeout given to it:
# the stand-in for a file too big for the function's limit.
SLOW_ENTRY = """
import importlib.util
import time
from pathlib import Path

# The local runner imports each function's modules by path (every function has an app.py).
_spec = importlib.util.spec_from_file_location("validate_app", Path(__file__).with_name("app.py"))
_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_app)
real_handler = _app.lambda_handler


def lambda_handler(event, context):
    started = time.monotonic()
    while time.monotonic() - started < 5:
        time.sleep(0.01)
    return real_handler(event, context)
"""


def _with_slow_entry(package: bytes) -> bytes:
    buffer = io.BytesIO(package)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("slow_app.py", SLOW_ENTRY)
    return buffer.getvalue()


@pytest.fixture
def runtime(database_url):
    with LocalRuntime(database_url=database_url) as running:
        yield running


def test_a_timed_out_validate_fails_on_its_step_and_a_redrive_after_raising_the_limit_succeeds(
    runtime, database_url
):
    validate = runtime.function_arns["validate"]
    package = function_zip(ROOT / "functions" / "validate")
    runtime.lam.update_function_code(FunctionName=validate, ZipFile=_with_slow_entry(package))
    runtime.lam.update_function_configuration(
        FunctionName=validate, Handler="slow_app.lambda_handler", Timeout=1
    )
    key = "incoming/limits/too-slow.csv"
    upload = runtime.upload_bytes(CSV, key)
    runtime.pump()
    (failed,) = runtime.wait([upload], timeout=120)

    assert (failed.status, failed.error) == ("FAILED", "Sandbox.Timedout")
    assert "Task timed out after 1.00 seconds" in failed.cause
    history = runtime.history(upload.execution_arn)
    failures = [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]
    assert failures == ["Sandbox.Timedout"]  # not retried
    entered = [n for kind, n in iter_states(history) if kind.endswith("StateEntered")]
    assert entered == ["Choose the path", "Validate CSV"]
    queries = PostgresSummaryQueries(connector(database_url))
    assert queries.summary(key) is None

    # The operator gives the function the limit the file needs, then redrives.
    runtime.lam.update_function_code(FunctionName=validate, ZipFile=package)
    runtime.lam.update_function_configuration(
        FunctionName=validate, Handler="app.lambda_handler", Timeout=900
    )
    result = runtime.redrive(upload.execution_arn, timeout=120)

    assert result.status == "SUCCEEDED", result.cause
    summary = queries.summary(key)
    assert (summary["status"], summary["rows"], summary["execution_arn"]) == (
        "SUCCEEDED",
        300,
        upload.execution_arn,
    )
