"""What the functions emit, read as CloudWatch Logs gets it: every log line of a step is
Powertools JSON carrying the execution, ingestion, object key and version; each step prints
one EMF document of its figures. Read from the invocation's own output, not a log capture."""

import json
import logging
from pathlib import Path

import boto3
import pytest

from csvflow.local.runtime import LocalRuntime
from csvflow.local.stack import REGION

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
SALES = ROOT / "examples" / "sales.csv"
CORRELATION = ("execution_arn", "ingestion_id", "object_key", "object_version")


@pytest.fixture(scope="module")
def ran(database_url):
    """One upload of the example, with each invocation's log and each record heard."""
    logs, heard = [], []
    before = _callers_logging()
    with LocalRuntime(database_url=database_url) as runtime:
        runtime.runner.log_sinks.append(logs.append)
        runtime.runner.record_listeners.append(lambda name, record: heard.append((name, record)))
        runtime.put_contract("sales", ROOT / "examples" / "contracts" / "sales.yaml")
        (result,) = runtime.run([SALES], dataset="sales")
        assert result.status == "SUCCEEDED", result.cause
        cloudwatch = _cloudwatch_lines("csvflow-validate")
        during = _callers_logging()
    return (
        result,
        {log.function_name: log.lines for log in logs},
        heard,
        cloudwatch,
        (before, during),
    )


def _callers_logging():
    """This process's logging configuration: the package's logger, the root's handlers."""
    package, root = logging.getLogger("csvflow"), logging.getLogger()
    return (
        list(package.handlers),
        package.level,
        [(handler, list(handler.filters)) for handler in root.handlers],
    )


def _cloudwatch_lines(function):
    client = boto3.client("logs", region_name=REGION)  # the emulated account's
    events = client.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    return [event["message"] for event in events]


def _emitted(lines):
    """The JSON the function wrote between Lambda's START and END lines."""
    assert lines[0].startswith("START RequestId:")
    assert lines[-2].startswith("END RequestId:") and lines[-1].startswith("REPORT RequestId:")
    return [json.loads(line) for line in lines[1:-2]]


def test_every_line_of_a_validate_invocation_carries_execution_ingestion_key_and_version(ran):
    result, logs, *_ = ran
    source = result.upload.source
    emitted = _emitted(logs["csvflow-validate"])
    lines = [entry for entry in emitted if "_aws" not in entry]
    assert {entry["message"] for entry in lines} >= {"column types", "validated"}
    for entry in lines:
        assert {key: entry.get(key) for key in CORRELATION} == {
            "execution_arn": result.upload.execution_arn,
            "ingestion_id": source.ingestion_id,
            "object_key": source.key,
            "object_version": source.version,
        }, entry
        assert (entry["service"], entry["function_name"]) == ("csvflow", "csvflow-validate")
    validated = next(entry for entry in lines if entry["message"] == "validated")
    assert (validated["rows"], validated["rejected_rows"]) == (500, 2)


def test_each_step_prints_one_emf_document_of_its_figures(ran):
    _, logs, *_ = ran
    documents = {}
    for function in ("csvflow-validate", "csvflow-summarize", "csvflow-persist"):
        (document,) = [entry for entry in _emitted(logs[function]) if "_aws" in entry]
        documents[document["step"]] = document
    assert set(documents) == {"validate", "summarize", "persist"}
    for step, document in documents.items():
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "csvflow"
        assert [sorted(d) for d in directive["Dimensions"]] == [["service", "step"]]
        assert document["service"] == "csvflow"
        assert document["Duration"][0] > 0, step
        units = {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}
        assert units["Duration"] == "Milliseconds"
    validate = documents["validate"]
    assert (validate["Rows"], validate["RejectedRows"]) == ([500.0], [2.0])
    assert validate["Bytes"] == [float(SALES.stat().st_size)]
    assert documents["summarize"]["Rows"] == [500.0]
    assert documents["persist"]["Rows"] == [500.0]


def test_cloudwatch_logs_keep_the_lines_the_function_emitted(ran):
    _, logs, _, cloudwatch, _ = ran
    assert cloudwatch == logs["csvflow-validate"]


def test_listeners_hear_the_functions_records_and_the_callers_logging_is_left_alone(ran):
    _, _, heard, _, (before, during) = ran
    messages = {(name, record.name, record.getMessage()) for name, record in heard}
    assert ("csvflow-validate", "csvflow.handlers", "validated") in messages
    # The functions' Powertools configuration (a handler and a level on the package's logger,
    # a filter on the root's handlers) stayed in their invocations.
    assert during == before
