"""The served account (local/aws_endpoint.py) keeps its requests off the terminal: werkzeug's
access line for each of the workers' requests goes to csvflow's endpoint logger at DEBUG."""

import logging

import boto3
from moto import mock_aws

from csvflow.local.aws_endpoint import account_served


@mock_aws
def test_requests_to_the_served_account_are_logged_at_debug_not_printed(caplog):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="data")
    caplog.set_level(logging.DEBUG)
    with account_served("127.0.0.1", 0, name="test") as url:
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
        s3.put_object(Bucket="data", Key="k", Body=b"x")
        s3.get_object(Bucket="data", Key="k")

    werkzeug = [r for r in caplog.records if r.name == "werkzeug"]
    endpoint = [r for r in caplog.records if r.name == "csvflow.local.endpoint"]
    assert werkzeug == []
    assert [r.levelno for r in endpoint] == [logging.DEBUG, logging.DEBUG]
    assert '"PUT /data/k HTTP/1.1" 200' in endpoint[0].getMessage()
    assert '"GET /data/k HTTP/1.1" 200' in endpoint[1].getMessage()
