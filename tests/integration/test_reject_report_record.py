"""A reject report under its own name (reports/) tells of the outcome the database has: the
steps write it under work/, and persist (or the failure's record) copies it once its
transaction has committed. On moto's S3 and a real PostgreSQL."""

import boto3
import psycopg2
import pytest
from moto import mock_aws

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.adapters.postgres.repository import PostgresIngestionRepository
from csvflow.adapters.s3 import S3ObjectStore
from csvflow.bootstrap import bootstrap
from csvflow.commands import PersistSummary, SummarizeDataset, ValidateCsv
from csvflow.config import Settings
from csvflow.domain.model import SourceObject
from csvflow.exceptions import DatabaseUnavailable

BUCKET = "data"
KEY = "incoming/sales/a.csv"
DATA = b"id,region,amount\n1,north,1.5\n2,north,2\n3,south,x\n4,south,4.5\n"
AMOUNTS_AS = "columns: [{{name: amount, type: {}}}]\nmax_rejected_share: 0.9\n"


@pytest.fixture
def steps(clean_database):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=DATA)
        repository = PostgresIngestionRepository(
            connector(clean_database), statement_timeout_seconds=1
        )
        handle = bootstrap(settings=Settings(), store=S3ObjectStore(s3), repository=repository)
        try:
            yield handle, s3, clean_database
        finally:
            repository.close()


def _validated_and_summarized(handle, s3, amount_type):
    """The steps before persist, with the dataset's contract saying ``amount_type``."""
    s3.put_object(Bucket=BUCKET, Key="contracts/sales.yaml", Body=AMOUNTS_AS.format(amount_type))
    source = SourceObject(bucket=BUCKET, key=KEY, version_id=None, etag=None)
    payload = {"source": source.to_dict(), "dataset": "sales", "ingestion_id": "a-1"}
    validation = handle(ValidateCsv.from_event(payload))
    summary = handle(SummarizeDataset.from_event(payload | {"validation": validation}))
    return PersistSummary.from_event(
        payload | {"validation": validation, "summary": summary, "execution_arn": "arn:x"}
    )


def _report_lines(s3):
    body = s3.get_object(Bucket=BUCKET, Key="reports/a-1/rejects.csv")["Body"].read()
    return [line.split(",")[0] for line in body.decode().splitlines()[1:]]


def _recorded(url):
    summary = PostgresSummaryQueries(connector(url)).summary(KEY)
    return summary["rejected_rows"], summary["rejects_report"]


def test_a_replay_whose_commit_fails_leaves_the_report_of_the_committed_outcome(steps):
    handle, s3, url = steps
    handle(_validated_and_summarized(handle, s3, "float"))  # "x" rejected, on line 4
    assert _report_lines(s3) == ["4"]
    assert _recorded(url) == (1, f"s3://{BUCKET}/reports/a-1/rejects.csv")

    # Replayed under a stricter contract; the database is locked while its persist runs.
    persist = _validated_and_summarized(handle, s3, "int")  # 1.5, x and 4.5 rejected
    locker = psycopg2.connect(url)
    try:
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE csvflow.ingestions IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(DatabaseUnavailable):
                handle(persist)
    finally:
        locker.rollback()
        locker.close()
    assert _recorded(url)[0] == 1
    assert _report_lines(s3) == ["4"]  # the committed outcome's, not the replay's

    handle(persist)  # the state machine's retry
    assert _recorded(url)[0] == 3
    assert _report_lines(s3) == ["2", "4", "5"]
