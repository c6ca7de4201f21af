"""The PostgreSQL adapter against a real server."""

import psycopg2
import pyarrow as pa
import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.migrations import migrate
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.adapters.postgres.repository import PostgresIngestionRepository
from csvflow.domain.model import SourceObject
from csvflow.domain.summary import Failure, IngestionRecord, Summary
from csvflow.exceptions import DatabaseUnavailable


def record(version="v1", event_time="2026-11-28T10:00:00Z", key="incoming/d/a.csv"):
    source = SourceObject("bucket", key, version, "etag-" + version, 10, event_time, None)
    return IngestionRecord(source, "d", source.ingestion_id, "arn:aws:states:x")


def summary(rows=2):
    return Summary(
        rows=rows,
        rejected_rows=1,
        empty_rows=0,
        columns=[
            {
                "name": "n",
                "position": 1,
                "type": "int",
                "count": 2,
                "nulls": 0,
                "distinct": 2,
                "distinct_exact": True,
                "min": 1,
                "max": 5,
                "mean": 3.0,
                "std": 2.8,
                "p25": 2.0,
                "p50": 3.0,
                "p75": 4.0,
                "quantiles_exact": True,
            },
            {
                "name": "s",
                "position": 2,
                "type": "string",
                "count": 2,
                "nulls": 0,
                "distinct": 1,
                "distinct_exact": True,
                "min": "a",
                "max": "a",
                "min_length": 1,
                "max_length": 1,
                "top_values": [{"value": "a", "count": 2}],
                "top_values_exact": True,
            },
        ],
        aggregates={"by_s": pa.table({"s": ["a"], "sum_n": [6]})},
        group_by={"by_s": ["s"]},
        rejects_report="s3://bucket/reports/x/rejects.csv",
    )


def count(url, table):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM csvflow.{table}")
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_migrations_are_idempotent(database_url):
    assert migrate(connector(database_url)) == []


def test_saving_the_same_version_twice_leaves_one_copy(clean_database):
    repository = PostgresIngestionRepository(connector(clean_database))
    repository.save_summary(record(), summary())
    repository.save_summary(record(), summary(rows=3))
    assert count(clean_database, "ingestions") == 1
    assert count(clean_database, "column_profiles") == 2
    assert count(clean_database, "aggregates") == 1
    result = PostgresSummaryQueries(connector(clean_database)).summary("incoming/d/a.csv")
    assert result["rows"] == 3
    assert result["columns"][0] | {} == {
        "name": "n",
        "type": "int",
        "count": 2,
        "nulls": 0,
        "distinct": 2,
        "distinct_exact": True,
        "min": 1,
        "max": 5,
        "mean": 3.0,
        "std": 2.8,
        "p25": 2.0,
        "p50": 3.0,
        "p75": 4.0,
        "quantiles_exact": True,
    }
    assert result["columns"][1]["top_values"] == [{"value": "a", "count": 2}]
    assert result["aggregates"] == [
        {"name": "by_s", "groups": [{"group": {"s": "a"}, "metrics": {"sum_n": 6}}]}
    ]


def test_a_failure_is_recorded_with_step_and_cause(clean_database):
    repository = PostgresIngestionRepository(connector(clean_database))
    repository.record_failure(record(), Failure("validate", "InvalidCsv", "a.csv: empty"))
    queries = PostgresSummaryQueries(connector(clean_database))
    (row,) = queries.ingestions(status="FAILED")
    assert (row["status"], row["failed_step"], row["error"], row["cause"]) == (
        "FAILED",
        "validate",
        "InvalidCsv",
        "a.csv: empty",
    )
    assert queries.ingestions(status="SUCCEEDED") == []


def test_summary_shows_the_newest_version_of_a_key(clean_database):
    repository = PostgresIngestionRepository(connector(clean_database))
    repository.save_summary(record("v2", "2026-11-28T11:00:00Z"), summary(rows=20))
    repository.save_summary(record("v1", "2026-11-28T10:00:00Z"), summary(rows=10))
    result = PostgresSummaryQueries(connector(clean_database)).summary("incoming/d/a.csv")
    assert (result["version"], result["rows"]) == ("v2", 20)


def test_hostile_column_names_are_data_not_sql(clean_database):
    hostile = summary()
    hostile.columns[0]["name"] = "x'); DROP TABLE csvflow.ingestions; --"
    repository = PostgresIngestionRepository(connector(clean_database))
    repository.save_summary(record(), hostile)
    result = PostgresSummaryQueries(connector(clean_database)).summary("incoming/d/a.csv")
    assert result["columns"][0]["name"] == "x'); DROP TABLE csvflow.ingestions; --"


def test_an_unreachable_database_is_transient():
    repository = PostgresIngestionRepository(connector("postgresql://nobody@127.0.0.1:1/x"))
    with pytest.raises(DatabaseUnavailable, match="cannot connect"):
        repository.save_summary(record(), summary())


def test_a_summary_that_fails_midway_leaves_nothing_half_written(clean_database):
    repository = PostgresIngestionRepository(connector(clean_database))
    broken = summary()
    broken.columns[1]["count"] = "not a number"  # the second profile row fails to insert
    with pytest.raises(psycopg2.DataError):
        repository.save_summary(record(), broken)
    assert [count(clean_database, t) for t in ("ingestions", "column_profiles", "aggregates")] == [
        0,
        0,
        0,
    ]
    repository.save_summary(record(), summary())  # and the next attempt writes it whole
    assert [count(clean_database, t) for t in ("ingestions", "column_profiles", "aggregates")] == [
        1,
        2,
        1,
    ]


def test_decimal_aggregates_are_read_back_exactly(clean_database):
    """decimal(38,2) sums keep every cent and every digit from the batches to PostgreSQL."""
    from decimal import Decimal

    from csvflow.domain.aggregates import AggregateState
    from csvflow.domain.model import AggregateSpec, Metric

    amounts = pa.array(
        [Decimal("0.10"), Decimal("0.20"), Decimal("99999999999999999.99"), Decimal("0.01")],
        pa.decimal128(38, 2),
    )
    batch = pa.record_batch({"s": ["a", "a", "b", "b"], "amount": amounts})
    spec = AggregateSpec("by_s", ("s",), (Metric("amount", "sum"), Metric("amount", "max")))
    state = AggregateState(spec, batch.schema)
    state.update(batch)
    exact = Summary(
        rows=4,
        rejected_rows=0,
        empty_rows=0,
        columns=[],
        aggregates={"by_s": state.result()},
        group_by={"by_s": ["s"]},
    )
    PostgresIngestionRepository(connector(clean_database)).save_summary(record(), exact)

    result = PostgresSummaryQueries(connector(clean_database)).summary("incoming/d/a.csv")
    (aggregate,) = result["aggregates"]
    assert [g["metrics"] for g in aggregate["groups"]] == [
        {"sum_amount": Decimal("0.30"), "max_amount": Decimal("0.20")},
        {
            "sum_amount": Decimal("100000000000000000.00"),
            "max_amount": Decimal("99999999999999999.99"),
        },
    ]
    assert all(
        type(value) is Decimal for g in aggregate["groups"] for value in g["metrics"].values()
    )
    conn = psycopg2.connect(clean_database)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT (metrics->>'sum_amount')::numeric FROM csvflow.aggregates ORDER BY 1"
            )
            assert [row[0] for row in cur.fetchall()] == [
                Decimal("0.30"),
                Decimal("100000000000000000.00"),
            ]
    finally:
        conn.close()
