"""A big file's split path (a Distributed Map over byte ranges, docs/adr/0018) gives the single
path's answer: the same rows, rejects with the same lines, the same summary.

The file is cut into parts of a few hundred bytes, so that quoted line breaks, CRLF endings,
multi-byte characters, rejected rows and a unique key repeated far apart all straddle or sit
near the cuts. The state machine, its Map and the handlers are the real ones, in moto.
"""

import csv
import io
import json
import random
from pathlib import Path

import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.local.executions import iter_states
from csvflow.local.stack import function_zip
from csvflow.operations.execution_graph import state_machine_svg
from csvflow.operations.execution_text import format_execution
from csvflow.operations.executions import describe_execution
from tests.support.emulated_lambda import app_zip

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]

CONTRACT = """
columns:
  - {name: id, type: int, unique: true}
  - {name: amount, type: decimal, precision: 12, scale: 2}
max_rejected_share: 0.2
aggregates:
  - name: by_city
    group_by: [city]
    metrics:
      - {column: amount, op: sum}
      - {column: id, op: distinct_count}
"""

SINGLE = {"CSVFLOW_SPLIT_BYTES": "0"}
SPLIT = {"CSVFLOW_SPLIT_BYTES": "1000", "CSVFLOW_PART_BYTES": "300"}


def messy_csv(rows: int = 220, seed: int = 11) -> bytes:
    rng = random.Random(seed)
    cities = ["Zürich", "東京", "São Paulo", "Kraków", "Reykjavík 🌋", "Lyon"]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["id", "city", "amount", "note"])
    for i in range(1, rows + 1):
        note = rng.choice(
            [
                "plain",
                "two\r\nlines, with a comma",
                'a "quoted" word',
                "three\nshort\nlines",
                "",
                "ünïcödé, again",
            ]
        )
        amount = f"{rng.randint(0, 99999) / 100:.2f}"
        row = [str(i), rng.choice(cities), amount, note]
        if i % 37 == 0:
            row[2] = "n/a?"  # not a decimal: rejected with its line and column
        if i % 53 == 0:
            row = row[:3]  # a short row: rejected as the wrong width
        if i == 190:
            row[0] = "7"  # id 7 again, parts later: a duplicate of an earlier row
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _by_line(report: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(report)))
    return [rows[0], *sorted(rows[1:], key=lambda row: int(row[0]))]


def _configure_starter(runtime, variables):
    arn = runtime.function_arns["starter"]
    config = runtime.lam.get_function_configuration(FunctionName=arn)
    environment = config["Environment"]["Variables"] | variables
    runtime.lam.update_function_configuration(
        FunctionName=arn, Environment={"Variables": environment}
    )


def _ingest(runtime, database_url, data, key, variables):
    _configure_starter(runtime, variables)
    upload = runtime.upload_bytes(data, key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=300)
    summary = PostgresSummaryQueries(connector(database_url)).summary(key)
    entered = [
        name
        for kind, name in iter_states(runtime.history(upload.execution_arn))
        if kind.endswith("StateEntered")
    ]
    history = runtime.history(upload.execution_arn)
    rereads = [
        json.loads(event["stateExitedEventDetails"]["output"]).get("merge", {}).get("result", {})
        for event in history
        if event["type"] == "TaskStateExited"
        and event["stateExitedEventDetails"]["name"] == "Merge the parts"
    ]
    entered.append({"rereads": [r["reread"]["why"] for r in rereads if r.get("reread")]})
    report = None
    if summary.get("rejects_report"):
        bucket, _, report_key = summary["rejects_report"].removeprefix("s3://").partition("/")
        report = runtime.s3.get_object(Bucket=bucket, Key=report_key)["Body"].read().decode()
    return result, summary, entered, report


def test_a_file_split_into_many_parts_summarizes_as_one_pass(runtime, database_url, tmp_path):
    contract = tmp_path / "messy.yaml"
    contract.write_text(CONTRACT)
    runtime.put_contract("messy", contract)
    data = messy_csv()
    one, one_summary, one_states, one_report = _ingest(
        runtime, database_url, data, "incoming/messy/one.csv", SINGLE
    )
    many, many_summary, many_states, many_report = _ingest(
        runtime, database_url, data, "incoming/messy/many.csv", SPLIT
    )

    assert (one.status, many.status) == ("SUCCEEDED", "SUCCEEDED"), many.cause
    assert "Plan the parts" not in one_states
    # id 7 kept in an early part and again in a late one: that part was read again,
    # told the earlier keys, and its row became a duplicate, as in one pass.
    assert many_states[-1] == {"rereads": ["unique keys"]}
    assert many_states.count("Validate the parts") == 2
    assert many_summary["dialect"]["split"]["parts"] >= 20
    assert (many_summary["rows"], many_summary["rejected_rows"]) == (
        one_summary["rows"],
        one_summary["rejected_rows"],
    )
    # The same rejects, each on the file's own line. (One pass lists a block's rows of the
    # wrong width before its values' problems; parts are smaller blocks: ordered by line.)
    assert _by_line(many_report) == _by_line(one_report)
    assert many_report.splitlines()[1:] == sorted(
        many_report.splitlines()[1:], key=lambda row: int(row.split(",")[0])
    )
    assert "duplicate of an earlier row" in many_report
    assert "expected 4 fields, found 3" in many_report
    for mine, theirs in zip(many_summary["columns"], one_summary["columns"], strict=True):
        for field, expected in theirs.items():
            if isinstance(expected, float):
                assert mine[field] == pytest.approx(expected), (theirs["name"], field)
            else:
                assert mine[field] == expected, (theirs["name"], field)
    assert many_summary["aggregates"] == one_summary["aggregates"]


def test_a_joined_file_split_into_parts_sets_its_repeated_headers_aside_as_one_pass(
    runtime, database_url, tmp_path
):
    contract = tmp_path / "messy.yaml"
    contract.write_text(CONTRACT)
    runtime.put_contract("messy", contract)
    # Exports appended to: the header again before rows 100 (after a blank line) and 160.
    data = messy_csv()
    header = data[: data.index(b"\r\n") + 2]
    for at, before in ((b"\r\n160,", b""), (b"\r\n100,", b"\r\n")):
        cut = data.index(at) + 2
        data = data[:cut] + before + header + data[cut:]
    one, one_summary, _, one_report = _ingest(
        runtime, database_url, data, "incoming/messy/joined-one.csv", SINGLE
    )
    many, many_summary, _, many_report = _ingest(
        runtime, database_url, data, "incoming/messy/joined-many.csv", SPLIT
    )

    assert (one.status, many.status) == ("SUCCEEDED", "SUCCEEDED"), many.cause
    assert many_summary["dialect"]["split"]["parts"] >= 20
    repeats = one_summary["dialect"]["header_repeats"]
    assert repeats["count"] == 2 and len(repeats["lines"]) == 2
    assert many_summary["dialect"]["header_repeats"] == repeats
    assert (many_summary["rows"], many_summary["rejected_rows"]) == (
        one_summary["rows"],
        one_summary["rejected_rows"],
    )
    assert _by_line(many_report) == _by_line(one_report)
    assert ",id,id," not in one_report  # the repeats are no rejects
    assert [c["type"] for c in many_summary["columns"]] == [
        c["type"] for c in one_summary["columns"]
    ]


def test_the_split_path_records_a_part_error_with_the_files_own_line(runtime, database_url):
    # A quote opened in the last rows and never closed: only the whole file can tell.
    data = messy_csv(120) + b'999,Lyon,1.00,"never closed\r\n121,Lyon,2.00,x\r\n'
    result, summary, entered, _ = _ingest(
        runtime, database_url, data, "incoming/messy/open-quote.csv", SPLIT
    )
    assert (result.status, result.error) == ("FAILED", "InvalidCsv"), result.cause
    assert "never closed" in result.cause
    assert entered[-4:-1] == ["Merge the parts", "Record the failure", "Ingestion failed"]
    assert summary["status"] == "FAILED"


def test_the_starter_puts_the_choice_in_the_executions_input(runtime):
    _configure_starter(runtime, SPLIT)
    upload = runtime.upload_bytes(messy_csv(60), "incoming/messy/choice.csv")
    runtime.pump()
    runtime.wait([upload], timeout=300)
    execution = runtime.sfn.describe_execution(executionArn=upload.execution_arn)
    split = json.loads(execution["input"])["split"]
    assert split == {
        "path": "parts",
        "split_bytes": 1000,
        "part_bytes": 300,
        "max_concurrency": 100,
    }


PART_ONE_FAILS = '''
"""The part function, except that part 1 of a split file fails as a bug would."""

from csvflow.bootstrap import storage_function
from csvflow.commands import ValidatePart

handle = storage_function()


def lambda_handler(event, context):
    if event["part"]["index"] == 1:
        raise RuntimeError("part 1 met a bug")
    return handle(ValidatePart.from_event(event))
'''


def _split_upload_run_with(runtime, function, code, key):
    """A split upload of messy rows at ``key``, run while ``function`` runs ``code`` instead of
    its own (put back after): the upload, and how its execution ended."""
    arn = runtime.function_arns[function]
    package = function_zip(ROOT / "functions" / function)
    runtime.lam.update_function_code(FunctionName=arn, ZipFile=app_zip(code))
    try:
        _configure_starter(runtime, SPLIT)
        upload = runtime.upload_bytes(messy_csv(120), key)
        runtime.pump()
        (result,) = runtime.wait([upload], timeout=300)
    finally:
        runtime.lam.update_function_code(FunctionName=arn, ZipFile=package)
    return upload, result


def test_a_redrive_after_a_part_failed_reads_only_the_parts_not_finished(runtime, database_url):
    key = "incoming/messy/redriven.csv"
    upload, failed = _split_upload_run_with(runtime, "validate-part", PART_ONE_FAILS, key)
    # Not the file's fault: nothing recorded, the execution waits on the map for a redrive.
    assert (failed.status, failed.error) == ("FAILED", "States.ExceedToleratedFailureThreshold"), (
        failed.cause
    )
    queries = PostgresSummaryQueries(connector(database_url))
    assert queries.summary(key) is None
    bucket = runtime.names.bucket
    parts = f"work/{upload.execution_arn.rsplit(':', 1)[-1]}/parts/"
    records = runtime.s3.list_objects_v2(Bucket=bucket, Prefix=parts)["Contents"]
    finished = {r["Key"]: r["LastModified"] for r in records if r["Key"].endswith("/result.json")}
    assert finished and not any("/parts/00001/" in k for k in finished)

    redriven = runtime.redrive(upload.execution_arn, timeout=300)
    assert redriven.status == "SUCCEEDED", redriven.cause
    assert queries.summary(key)["status"] == "SUCCEEDED"
    records = runtime.s3.list_objects_v2(Bucket=bucket, Prefix=parts)["Contents"]
    after = {r["Key"]: r["LastModified"] for r in records if r["Key"].endswith("/result.json")}
    assert any("/parts/00001/" in k for k in after)  # read now
    assert {k: after[k] for k in finished} == finished  # the others answered from their record


def test_the_execution_shows_its_map_runs_and_parts_and_draws_the_map(runtime):
    _configure_starter(runtime, SPLIT)
    data = messy_csv(60)
    before = len(runtime.runner.invocations)
    upload = runtime.upload_bytes(data, "incoming/messy/shown.csv")
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=300)
    assert result.status == "SUCCEEDED", result.cause
    # The plan in validate, every part in the part function (docs/adr/0025), the merge in
    # summarize.
    invoked = [name for name, _ in runtime.runner.invocations[before:]]
    prefix = runtime.names.prefix
    assert invoked.count(f"{prefix}validate") == 1
    view = describe_execution(runtime.sfn, upload.execution_arn, runtime.s3)
    assert view.map_runs and view.map_runs[0]["status"] == "SUCCEEDED"
    assert view.map_runs[0]["items"]["total"] == len(view.parts) >= 5
    assert invoked.count(f"{prefix}validate-part") == len(view.parts)
    assert invoked.count(f"{prefix}summarize") == 1
    assert [p["index"] for p in view.parts] == list(range(len(view.parts)))
    assert view.parts[0]["bytes"][0] == data.index(b"\r\n") + 2  # after the header
    assert view.parts[-1]["bytes"][1] == len(data)
    assert sum(p["rows"] for p in view.parts) == view.output["validation"]["result"]["rows"]
    text = format_execution(view)
    assert "map run" in text and f"items: {len(view.parts)} succeeded" in text
    definition = json.loads(
        runtime.sfn.describe_state_machine_for_execution(executionArn=upload.execution_arn)[
            "definition"
        ]
    )
    svg = state_machine_svg(definition, view.steps, view.map_runs)
    assert f"Validate a part: {len(view.parts)} of {len(view.parts)} items" in svg


PLANNED_BY_A_NEWER_RELEASE = '''
"""The validate function, except that a split file's plan reads as a newer release's would:
its dialect with a setting this release does not know (a rollback during the execution)."""

import json

import boto3

from csvflow.bootstrap import storage_function
from csvflow.commands import validate_command

handle = storage_function()
s3 = boto3.client("s3")


def lambda_handler(event, context):
    answer = handle(validate_command(event))
    if event.get("step") == "plan" and answer["path"] == "parts":
        bucket, key = event["source"]["bucket"], f"work/{event['ingestion_id']}/plan.json"
        plan = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        plan["dialect_fields"]["comment_prefix"] = "#"
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(plan).encode())
    return answer
'''


def test_a_plan_from_a_newer_release_stops_the_map_unrecorded_for_a_redrive(runtime, database_url):
    # The parts refuse a reading they do not know (PlanFromNewerRelease), rather than misread
    # the file or record it as failed: the execution waits on the map, and a redrive finishes
    # it once the parts can read the plan (here: the setting taken out, as the release that
    # wrote it would read it back).
    before = len(runtime.runner.invocations)
    key = "incoming/messy/rolled-back.csv"
    upload, failed = _split_upload_run_with(runtime, "validate", PLANNED_BY_A_NEWER_RELEASE, key)
    assert (failed.status, failed.error) == ("FAILED", "States.ExceedToleratedFailureThreshold"), (
        failed.cause
    )
    parts = [
        ended
        for name, ended in runtime.runner.invocations[before:]
        if name == f"{runtime.names.prefix}validate-part"
    ]
    assert parts and set(parts) == {"PlanFromNewerRelease"}, parts
    queries = PostgresSummaryQueries(connector(database_url))
    assert queries.summary(key) is None

    plan_key = f"work/{upload.execution_arn.rsplit(':', 1)[-1]}/plan.json"
    bucket = runtime.names.bucket
    plan = json.loads(runtime.s3.get_object(Bucket=bucket, Key=plan_key)["Body"].read())
    del plan["dialect_fields"]["comment_prefix"]
    runtime.s3.put_object(Bucket=bucket, Key=plan_key, Body=json.dumps(plan).encode())
    redriven = runtime.redrive(upload.execution_arn, timeout=300)
    assert redriven.status == "SUCCEEDED", redriven.cause
    assert queries.summary(key)["rows"] > 100
