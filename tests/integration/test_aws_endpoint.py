"""The served account (local/aws_endpoint.py) keeps its requests off the terminal: werkzeug's
access line for each request goes to csvflow's endpoint logger at DEBUG, which the CLI shows
with --verbose only."""

import logging

import boto3
import pytest
from moto import mock_aws

from csvflow.cli.main import _configure_logging
from csvflow.local.aws_endpoint import REQUESTS_LOGGER, account_served


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


@pytest.fixture
def cli_logging():
    """The CLI configures the process's logging: give the test's back afterwards."""
    root, requests = logging.getLogger(), logging.getLogger(REQUESTS_LOGGER)
    handlers, level, requests_level = list(root.handlers), root.level, requests.level
    yield
    root.handlers, root.level = handlers, level
    requests.setLevel(requests_level)


@mock_aws
@pytest.mark.parametrize("verbose", [False, True])
def test_the_cli_shows_the_access_lines_only_when_verbose(verbose, cli_logging, capsys):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="data")
    _configure_logging(verbose)
    with account_served("127.0.0.1", 0, name="test") as url:
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
        s3.put_object(Bucket="data", Key="k", Body=b"x")

    printed = capsys.readouterr()
    assert ('"PUT /data/k HTTP/1.1" 200' in printed.err) is verbose
    assert printed.out == ""
