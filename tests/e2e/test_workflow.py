"""Upload -> S3 -> SNS -> SQS -> starter -> the real ASL with the real handlers -> PostgreSQL."""

from pathlib import Path

import pandas as pd
import pytest

from csvflow.adapters.postgres import PostgresSummaryQueries, connector
from csvflow.local.runtime import iter_states

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
SALES = ROOT / "examples" / "sales.csv"


def test_an_upload_ends_as_a_persisted_summary_that_matches_pandas(runtime, database_url):
    runtime.put_contract("sales", ROOT / "examples" / "contracts" / "sales.yaml")
    (result,) = runtime.run([SALES], dataset="sales")
    assert result.status == "SUCCEEDED", result.cause
    states = [name for kind, name in iter_states(runtime.history(result.upload.execution_arn))
              if kind.endswith("StateEntered")]
    assert states == ["Validate CSV", "Summarize columns", "Persist summary"]

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
    report = runtime.s3.get_object(Bucket=runtime.names.bucket, Key=report_key)["Body"].read().decode()
    assert "quantity,lots,not a valid int" in report
    assert "expected 9 fields, found 6" in report
