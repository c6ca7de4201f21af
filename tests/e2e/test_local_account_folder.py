"""What a local run wrote outlives it: reports and Parquet on disk, back in the next account."""

from __future__ import annotations

import boto3
import pytest

from csvflow.cli import main
from csvflow.local.account_folder import AccountFolder, local_data_dir
from csvflow.local.runtime import LocalRuntime
from csvflow.local.stack import REGION
from csvflow.operations.function_logs import log_lines

pytestmark = pytest.mark.e2e

# Two rows of four short: more than a file without a contract may have rejected.
RAGGED = b"id,amount\n1,2.5\n2\n3\n4,4.5\n"


def test_the_reject_report_is_kept_on_disk_and_put_back_in_the_next_account(database_url, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(RAGGED)
    with LocalRuntime(database_url=database_url, data_dir=tmp_path / "data") as first:
        (result,) = first.run([path])
    assert result.status == "FAILED"

    uri = _rejects_uri(result)
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    kept = AccountFolder(tmp_path / "data").object_path(bucket, key)
    assert kept.read_text().splitlines()[1].startswith("3,")

    with LocalRuntime(database_url=database_url, data_dir=tmp_path / "data") as second:
        body = second.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == kept.read_bytes()


def test_the_validated_parquet_stays_on_disk_and_is_not_put_back(database_url, tmp_path):
    # Putting every earlier run's Parquet back into the in-memory emulator made each start
    # slower and bigger than the last; no execution of an earlier run is left to read it.
    path = tmp_path / "kept.csv"
    path.write_bytes(b"id,amount\n1,2.5\n")
    with LocalRuntime(database_url=database_url, data_dir=tmp_path / "data") as first:
        (result,) = first.run([path])
    assert result.status == "SUCCEEDED"
    validated = result.output["validation"]["result"]["validated"]
    kept = AccountFolder(tmp_path / "data").object_path(validated["bucket"], validated["key"])
    assert kept.read_bytes().startswith(b"PAR1")

    with LocalRuntime(database_url=database_url, data_dir=tmp_path / "data") as second:
        listed = second.s3.list_objects_v2(Bucket=validated["bucket"], Prefix="work/")
    assert listed.get("KeyCount", 0) == 0
    assert kept.is_file()  # and the next run's keeping leaves it there


def test_csvflow_rejects_prints_the_report_of_a_file_run_earlier(database_url, tmp_path, capfd):
    path = tmp_path / "ragged-cli.csv"
    path.write_bytes(RAGGED)
    assert main(["run", str(path), "--database-url", database_url]) == 1
    capfd.readouterr()

    code = main(["rejects", "ragged-cli.csv", "--database-url", database_url])

    out, _ = capfd.readouterr()
    assert code == 0
    assert out.splitlines() == [
        "line,column,value,reason",
        '3,,2,"expected 2 fields, found 1"',
        '4,,3,"expected 2 fields, found 1"',
    ]
    assert (local_data_dir() / "s3").is_dir()


def test_function_logs_are_kept_on_disk_and_served_as_cloudwatch_logs(database_url, tmp_path):
    path = tmp_path / "good.csv"
    path.write_bytes(b"id,amount\n1,2.5\n")
    with LocalRuntime(database_url=database_url, data_dir=tmp_path / "data") as running:
        (result,) = running.run([path])
        logs = boto3.client("logs", region_name=REGION)
        served = log_lines(logs, "/aws/lambda/csvflow-validate")
    assert result.status == "SUCCEEDED"
    assert served[0][1].startswith("START RequestId: ")
    assert served[-1][1].startswith("REPORT RequestId: ")
    kept = AccountFolder(tmp_path / "data").log_path("csvflow-validate").read_text()
    assert [line.split("\t", 1)[1] for line in kept.splitlines()] == [m for _, m in served]


def test_csvflow_logs_prints_the_kept_lines_of_a_function(database_url, tmp_path, capfd):
    path = tmp_path / "logged.csv"
    path.write_bytes(b"id,amount\n1,2.5\n")
    assert main(["run", str(path), "--database-url", database_url]) == 0
    capfd.readouterr()

    assert main(["logs", "persist"]) == 0
    out = capfd.readouterr().out
    assert "START RequestId: " in out and "REPORT RequestId: " in out

    assert main(["logs", "persist", "--since", "2999-01-01"]) == 0
    assert capfd.readouterr().out == ""


def test_an_object_key_cannot_lead_out_of_the_folder(tmp_path):
    with pytest.raises(ValueError, match="leads out"):
        AccountFolder(tmp_path).object_path("bucket", "../../etc/passwd")


def _rejects_uri(result) -> str:
    cause = result.cause or ""
    return next(word for word in cause.split() if word.startswith("s3://"))
