"""Upload -> S3 -> SNS -> SQS -> starter -> the real ASL with the real handlers -> PostgreSQL."""

import json
from pathlib import Path

import pandas as pd
import psycopg2
import pyarrow.parquet as pq
import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.local.executions import iter_states

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
SALES = ROOT / "examples" / "sales.csv"


def test_an_upload_ends_as_a_persisted_summary_that_matches_pandas(runtime, database_url):
    runtime.put_contract("sales", ROOT / "examples" / "contracts" / "sales.yaml")
    (result,) = runtime.run([SALES], dataset="sales")
    assert result.status == "SUCCEEDED", result.cause
    states = [
        name
        for kind, name in iter_states(runtime.history(result.upload.execution_arn))
        if kind.endswith("StateEntered")
    ]
    assert states == ["Choose the path", "Validate CSV", "Summarize columns", "Persist summary"]

    summary = PostgresSummaryQueries(connector(database_url)).summary("incoming/sales/sales.csv")
    assert (summary["status"], summary["rows"], summary["rejected_rows"]) == ("SUCCEEDED", 500, 2)
    # Independently: pandas on the same file, minus the two rows the report names.
    frame = pd.read_csv(SALES, dtype=str, keep_default_na=False)
    good = frame[frame["order_id"].astype(int) <= 500]
    columns = {c["name"]: c for c in summary["columns"]}
    quantity = good["quantity"].astype(int)
    assert columns["quantity"]["mean"] == pytest.approx(quantity.mean())
    assert columns["quantity"]["std"] == pytest.approx(quantity.std())
    assert columns["quantity"]["p50"] == pytest.approx(quantity.median())
    assert columns["region"]["distinct"] == good["region"].nunique()
    assert columns["unit_price"]["max"] == max(good["unit_price"], key=float)
    discount = pd.to_numeric(good["discount"].replace("", None))
    assert columns["discount"]["nulls"] == discount.isna().sum()
    by_region = {g["group"]["region"]: g["metrics"] for g in summary["aggregates"][0]["groups"]}
    expected = good.assign(q=quantity).groupby("region")["q"].sum().to_dict()
    assert {r: m["sum_quantity"] for r, m in by_region.items()} == expected

    report_key = result.output["validation"]["result"]["rejects_report"]["key"]
    report = (
        runtime.s3.get_object(Bucket=runtime.names.bucket, Key=report_key)["Body"].read().decode()
    )
    assert "quantity,lots,not a valid int" in report
    assert "expected 9 fields, found 6" in report


WAIT = 120  # seconds: a hang becomes a failure, not a stuck CI


def _ingestions_of(database_url, key):
    return [
        i
        for i in PostgresSummaryQueries(connector(database_url)).ingestions(limit=1000)
        if i["key"] == key
    ]


def _executions_for(runtime, key):
    arns = []
    for page in runtime.sfn.get_paginator("list_executions").paginate(
        stateMachineArn=runtime.state_machine_arn
    ):
        for execution in page["executions"]:
            described = runtime.sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described["input"])["source"]["key"] == key:
                arns.append(execution["executionArn"])
    return arns


def test_the_same_event_delivered_three_times_starts_one_execution_and_persists_one_row(
    runtime, database_url
):
    key = "incoming/sales/dupes.csv"
    # The contract allows the file's two bad rows; put here, not left by an earlier test.
    runtime.put_contract("sales", ROOT / "examples" / "contracts" / "sales.yaml")
    upload = runtime.upload_bytes(SALES.read_bytes(), key)
    (message,) = runtime.sqs.receive_message(QueueUrl=runtime.queue_url, MaxNumberOfMessages=10)[
        "Messages"
    ]
    for _ in range(2):  # SQS is at-least-once: the same body can arrive again
        runtime.sqs.send_message(QueueUrl=runtime.queue_url, MessageBody=message["Body"])
    delivered = runtime.pump()
    assert delivered == 3, runtime.runner.invocations
    (result,) = runtime.wait([upload], timeout=WAIT)
    assert result.status == "SUCCEEDED", result.cause
    assert _executions_for(runtime, key) == [upload.execution_arn]
    (row,) = _ingestions_of(database_url, key)
    assert (row["status"], row["rows"], row["execution_arn"]) == (
        "SUCCEEDED",
        500,
        upload.execution_arn,
    )


def test_a_new_upload_of_the_same_key_is_a_new_ingestion_and_the_newest_wins(runtime, database_url):
    key = "incoming/versions/prices.csv"
    first = runtime.upload_bytes(b"sku,price\na,1\nb,2\n", key)
    runtime.pump()
    runtime.wait([first], timeout=WAIT)
    second = runtime.upload_bytes(b"sku,price\na,1\nb,2\nc,3\n", key)
    runtime.pump()
    (result,) = runtime.wait([second], timeout=WAIT)
    assert result.status == "SUCCEEDED", result.cause
    assert second.execution_arn != first.execution_arn
    assert sorted(r["rows"] for r in _ingestions_of(database_url, key)) == [2, 3]
    assert PostgresSummaryQueries(connector(database_url)).summary(key)["rows"] == 3


@pytest.mark.parametrize(
    ("name", "content", "error", "message", "delimiter"),
    [
        ("empty.csv", b"", "InvalidCsv", "empty.csv: the file is empty", None),
        (
            "lookalike.csv",
            "id,n\u0430me\n1,a\n".encode(),  # a Cyrillic "а" in a Latin name
            "InvalidCsv",
            "lookalike.csv, line 1, column 2: the column name 'nаme' mixes Cyrillic and Latin",
            None,  # refused while detecting: no dialect to record
        ),
        ("zipped.csv", b"\x1f\x8b\x08\x00" + bytes(40), "InvalidCsv", "gzip", None),
        (
            "ragged.csv",
            b"a;b\n1;2\n1\n1;2;3\n",
            "RejectedRowsExceeded",
            "2 of 3 rows rejected",
            ";",  # detected, then failed: recorded with how it was read
        ),
    ],
)
def test_an_invalid_file_ends_failed_through_the_failure_branch_and_is_recorded(
    runtime, database_url, name, content, error, message, delimiter
):
    key = f"incoming/broken/{name}"
    upload = runtime.upload_bytes(content, key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=WAIT)
    assert (result.status, result.error) == ("FAILED", error)
    assert message in result.cause
    entered = [
        n
        for kind, n in iter_states(runtime.history(upload.execution_arn))
        if kind.endswith("StateEntered")
    ]
    assert entered == ["Choose the path", "Validate CSV", "Record the failure", "Ingestion failed"]
    (row,) = _ingestions_of(database_url, key)
    assert (row["status"], row["failed_step"], row["error"]) == ("FAILED", "validate", error)
    assert message in row["cause"]
    assert (row["dialect"] or {}).get("delimiter") == delimiter


def test_a_poison_message_goes_to_the_dead_letter_queue_and_the_rest_of_the_batch_runs(
    runtime, database_url
):
    runtime.sqs.send_message(QueueUrl=runtime.queue_url, MessageBody="{not json")
    other_bucket = (ROOT / "tests" / "events" / "s3_put.json").read_text()  # bucket csvflow-data
    runtime.sqs.send_message(QueueUrl=runtime.queue_url, MessageBody=other_bucket)
    key = "incoming/poison/fine.csv"
    upload = runtime.upload_bytes(b"x,y\n1,2\n", key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=WAIT)
    assert result.status == "SUCCEEDED", result.cause
    dead = runtime.dead_letters()
    assert sorted(m["Body"] for m in dead) == sorted(["{not json", other_bucket])
    assert (
        runtime.sqs.get_queue_attributes(
            QueueUrl=runtime.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def test_only_pointers_travel_in_the_state_payload(runtime):
    rows = "".join(f"{i},{'x' * 200}\n" for i in range(5000)).encode()  # ~1 MB
    upload = runtime.upload_bytes(b"id,text\n" + rows, "incoming/payload/wide.csv")
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=WAIT)
    assert result.status == "SUCCEEDED", result.cause
    for event in runtime.history(upload.execution_arn):
        for details in event.values():
            if isinstance(details, dict):
                for field in ("input", "output"):
                    assert len(details.get(field, "")) < 8 * 1024, (event["type"], field)


def test_hostile_column_names_reach_the_database_as_data_not_sql(runtime, database_url):
    hostile = (ROOT / "tests" / "data" / "hostile" / "hostile-header.csv").read_bytes()
    key = "incoming/hostile/header.csv"
    upload = runtime.upload_bytes(hostile, key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=WAIT)
    assert result.status == "SUCCEEDED", result.cause
    summary = PostgresSummaryQueries(connector(database_url)).summary(key)
    assert [c["name"] for c in summary["columns"]] == [
        "a; DROP TABLE csvflow.ingestions;--",
        "$(rm -rf /)",
        "`id`",
        "'q'",
    ]
    assert PostgresSummaryQueries(connector(database_url)).ingestions(
        limit=1
    )  # the table is still there


def test_two_versions_uploaded_back_to_back_are_both_ingested_and_the_newest_wins(
    runtime, database_url
):
    key = "incoming/versions/back-to-back.csv"
    first = runtime.upload_bytes(b"n\n1\n", key)
    second = runtime.upload_bytes(b"n\n1\n2\n", key)
    runtime.pump()  # both events in one batch
    results = runtime.wait([first, second], timeout=WAIT)
    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    assert sorted(r["rows"] for r in _ingestions_of(database_url, key)) == [1, 2]
    summary = PostgresSummaryQueries(connector(database_url)).summary(key)
    assert (summary["rows"], summary["execution_arn"]) == (2, second.execution_arn)


def test_a_contract_mistake_is_recorded_as_invalid_contract_with_its_field_path(
    runtime, database_url, tmp_path
):
    contract = tmp_path / "typo.yaml"
    contract.write_text("columns:\n  - {name: order_id, type: int, min: abc}\n")
    runtime.put_contract("typo", contract)
    key = "incoming/typo/sales.csv"
    upload = runtime.upload(SALES, key=key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=WAIT)
    assert (result.status, result.error) == ("FAILED", "InvalidContract")
    entered = [
        n
        for kind, n in iter_states(runtime.history(upload.execution_arn))
        if kind.endswith("StateEntered")
    ]
    assert entered == ["Choose the path", "Validate CSV", "Record the failure", "Ingestion failed"]
    (row,) = _ingestions_of(database_url, key)
    assert (row["status"], row["failed_step"], row["error"]) == (
        "FAILED",
        "validate",
        "InvalidContract",
    )
    assert "contracts/typo.yaml: columns[0].min: " in row["cause"]
    assert "'abc'" in row["cause"]


IDS = (123456789012345678, 123456789012345679, 923456789012345678)  # above 2**53


def test_18_digit_ids_stay_exact_in_parquet_summary_aggregates_and_postgresql(
    runtime, database_url, tmp_path
):
    contract = tmp_path / "ids.yaml"
    contract.write_text(
        "aggregates:\n"
        "  - {name: by_id, group_by: [id], metrics: [{column: id, op: max}, {column: n, op: sum}]}\n"
    )
    runtime.put_contract("ids", contract)
    key = "incoming/ids/accounts.csv"
    rows = "".join(f"{i},{n}\n" for n, i in enumerate(IDS, start=1))
    upload = runtime.upload_bytes(("id,n\n" + rows).encode(), key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=WAIT)
    assert result.status == "SUCCEEDED", result.cause

    validated = result.output["validation"]["result"]["validated"]["key"]
    parquet = tmp_path / "validated.parquet"
    parquet.write_bytes(
        runtime.s3.get_object(Bucket=runtime.names.bucket, Key=validated)["Body"].read()
    )
    assert pq.read_table(parquet)["id"].to_pylist() == list(IDS)
    summary = PostgresSummaryQueries(connector(database_url)).summary(key)
    ids = summary["columns"][0]
    assert (ids["type"], ids["min"], ids["max"]) == ("int", min(IDS), max(IDS))
    groups = summary["aggregates"][0]["groups"]
    assert [g["group"]["id"] for g in groups] == sorted(IDS)
    assert [g["metrics"]["max_id"] for g in groups] == sorted(IDS)
    # In PostgreSQL itself, as exact numbers (jsonb numerics), not rounded doubles.
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT p.max_value::text FROM csvflow.column_profiles p"
            " JOIN csvflow.ingestions i ON i.id = p.ingestion"
            " WHERE i.object_key = %s AND p.name = 'id'",
            (key,),
        )
        assert cur.fetchone() == (str(max(IDS)),)
        cur.execute(
            "SELECT (a.group_key->>'id')::numeric FROM csvflow.aggregates a"
            " JOIN csvflow.ingestions i ON i.id = a.ingestion WHERE i.object_key = %s"
            " ORDER BY 1",
            (key,),
        )
        assert [int(v) for (v,) in cur.fetchall()] == sorted(IDS)


def test_a_file_with_a_preamble_and_a_blank_header_name_succeeds_with_its_assumptions_recorded(
    runtime, database_url
):
    key = "incoming/exports/quarterly.csv"
    data = (
        b"Quarterly export\r\n"
        b"Created as New Dataset on 2024-04-01\r\n"
        b"\r\n"
        b",region,amount\r\n"
        b"0,north,1.5\r\n"
        b"1,south,2.5\r\n"
        b"2,east,3.5\r\n"
    )
    upload = runtime.upload_bytes(data, key)
    runtime.pump()
    (result,) = runtime.wait([upload], timeout=WAIT)
    assert result.status == "SUCCEEDED", result.cause

    summary = PostgresSummaryQueries(connector(database_url)).summary(key)
    assert [c["name"] for c in summary["columns"]] == ["column_1", "region", "amount"]
    assert summary["rows"] == 3
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT dialect FROM csvflow.ingestions WHERE object_key = %s", (key,))
        (dialect,) = cur.fetchone()
    assert (dialect["header_line"], dialect["data_line"], dialect["line_ending"]) == (4, 5, "CRLF")
    assert dialect["skipped"][0]["where"] == "preamble"
    assert dialect["skipped"][0]["text"] == [
        "Quarterly export",
        "Created as New Dataset on 2024-04-01",
    ]
    assert dialect["renamed"] == [{"position": 1, "name_in_file": "", "name": "column_1"}]
    assert dialect["assumptions"] == [
        "lines 1-3 above the table are a preamble (titles, notes or metadata), not rows",
        "column 1's name is blank: named column_1",
    ]
    assert summary["dialect"] == dialect
