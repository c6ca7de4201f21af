"""The migration step's reply to CloudFormation, sent over real HTTP to a local listener."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from csvflow.adapters.cloudformation import answer_custom_resource
from csvflow.exceptions import DatabaseUnavailable


@pytest.fixture
def cloudformation():
    """Where CloudFormation's presigned ResponseURL points: records each PUT."""
    replies: list[dict] = []

    class Listener(BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            replies.append({"content_type": self.headers.get("Content-Type"), **json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/reply?signature=x", replies
    server.shutdown()
    server.server_close()


def _event(url, request_type, **extra):
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:eu-west-2:123456789012:stack/csvflow-dev/1",
        "RequestId": "request-1",
        "LogicalResourceId": "DatabaseMigration",
        "ResourceType": "Custom::DatabaseMigration",
        "ResourceProperties": {},
        **extra,
    }


def test_a_create_runs_the_work_and_answers_success_with_its_result(cloudformation):
    url, replies = cloudformation
    answer_custom_resource(
        _event(url, "Create"), lambda: {"applied": ["0001_initial.sql"], "role": "csvflow_app"}
    )
    (reply,) = replies
    assert reply["Status"] == "SUCCESS"
    assert reply["Data"] == {"applied": "0001_initial.sql", "role": "csvflow_app"}
    assert (reply["PhysicalResourceId"], reply["RequestId"]) == ("DatabaseMigration", "request-1")
    assert reply["content_type"] == ""  # the presigned URL was signed without one


def test_a_failure_is_answered_so_the_deploy_stops_instead_of_waiting(cloudformation):
    url, replies = cloudformation

    def fails():
        raise DatabaseUnavailable("cannot connect to PostgreSQL: timeout expired")

    answer_custom_resource(_event(url, "Update", PhysicalResourceId="DatabaseMigration"), fails)
    (reply,) = replies
    assert reply["Status"] == "FAILED"
    assert reply["Reason"] == "DatabaseUnavailable: cannot connect to PostgreSQL: timeout expired"
    assert reply["PhysicalResourceId"] == "DatabaseMigration"  # an update keeps its resource


def test_a_delete_leaves_the_database_alone(cloudformation):
    url, replies = cloudformation
    ran = []
    answer_custom_resource(
        _event(url, "Delete", PhysicalResourceId="DatabaseMigration"), lambda: ran.append(1) or {}
    )
    assert ran == []
    assert replies[0]["Status"] == "SUCCESS"


def test_a_plain_invoke_returns_the_result_or_raises():
    assert answer_custom_resource({}, lambda: {"applied": []}) == {"applied": []}

    def fails():
        raise DatabaseUnavailable("down")

    with pytest.raises(DatabaseUnavailable):
        answer_custom_resource({}, fails)
