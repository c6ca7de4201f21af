"""The Secrets Manager credentials against moto (the Step Functions starter has its contract
suite, tests/integration/test_starter_contract.py)."""

import json

import boto3
import pytest
from moto import mock_aws

from csvflow.adapters.secrets import SecretCredentials
from csvflow.exceptions import ConfigurationError, DatabaseUnavailable


@mock_aws
def test_a_login_from_an_rds_secret():
    client = boto3.client("secretsmanager", region_name="us-east-1")
    arn = client.create_secret(
        Name="db",
        SecretString=json.dumps(
            {
                "username": "ingest",
                "password": "p@ss/word",
                "host": "db.internal",
                "port": 5432,
                "dbname": "csvflow",
            }
        ),
    )["ARN"]
    assert SecretCredentials(client, arn).read() == {
        "user": "ingest",
        "password": "p@ss/word",
        "host": "db.internal",
        "port": "5432",
        "dbname": "csvflow",
        "sslmode": "require",
    }


@mock_aws
def test_an_rds_managed_secret_holds_only_credentials_and_the_endpoint_comes_from_settings():
    client = boto3.client("secretsmanager", region_name="us-east-1")
    arn = client.create_secret(
        Name="rds!db-1234", SecretString=json.dumps({"username": "postgres", "password": "s3cr:t"})
    )["ARN"]
    login = SecretCredentials(client, arn, host="db.rds.internal", dbname="csvflow").read()
    assert (login["host"], login["dbname"], login["password"]) == (
        "db.rds.internal",
        "csvflow",
        "s3cr:t",
    )
    with pytest.raises(ConfigurationError, match="CSVFLOW_DB_HOST"):
        SecretCredentials(client, arn).read()


@mock_aws
def test_a_secret_that_cannot_be_read_is_a_retriable_database_error():
    client = boto3.client("secretsmanager", region_name="us-east-1")
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"
    with pytest.raises(DatabaseUnavailable, match="cannot read the database secret"):
        SecretCredentials(client, missing).read()


@mock_aws
def test_the_migration_step_completes_a_generated_secret_with_the_endpoint_once():
    client = boto3.client("secretsmanager", region_name="us-east-1")
    arn = client.create_secret(
        Name="app", SecretString=json.dumps({"username": "csvflow_app", "password": "pw"})
    )["ARN"]
    credentials = SecretCredentials(client, arn)
    assert credentials.record_endpoint("db.internal", "5432", "csvflow") is True
    assert credentials.record_endpoint("db.internal", "5432", "csvflow") is False
    assert json.loads(client.get_secret_value(SecretId=arn)["SecretString"]) == {
        "username": "csvflow_app",
        "password": "pw",
        "host": "db.internal",
        "port": 5432,
        "dbname": "csvflow",
    }
