"""The migration step's reply to CloudFormation, sent over real HTTP to a local listener."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from csvflow.adapters.cloudformation import REPLY_SECONDS, answer_custom_resource
from csvflow.exceptions import DatabaseUnavailable
from tests.support.iac import ROOT


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


def test_work_still_running_when_only_the_reply_time_is_left_is_answered_failed(
    cloudformation,
):
    url, replies = cloudformation
    release = threading.Event()
    started = time.monotonic()

    answer_custom_resource(
        _event(url, "Update"),
        lambda: {"done": release.wait(30)},
        seconds_left=lambda: REPLY_SECONDS + 0.5,  # half a second of work, then reply
    )

    release.set()
    (reply,) = replies
    assert reply["Status"] == "FAILED"
    assert reply["Reason"].startswith("WorkTimedOut: still running")
    assert time.monotonic() - started < 10


def test_the_migration_function_answers_a_configuration_error_instead_of_dying(
    cloudformation, monkeypatch
):
    """A cold start that cannot wire the function (no database named) must still reply."""
    url, replies = cloudformation
    for name in ("DATABASE_URL", "CSVFLOW_DB_ADMIN_SECRET_ARN", "CSVFLOW_DB_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    app = _load_function("migrate")

    class Context:
        function_name = "csvflow-migrate"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:csvflow-migrate"
        aws_request_id = "request-1"

        def get_remaining_time_in_millis(self):
            return 300_000

    app.lambda_handler(_event(url, "Create"), Context())

    (reply,) = replies
    assert reply["Status"] == "FAILED"
    assert reply["Reason"].startswith("ConfigurationError: ")


def _load_function(name: str):
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"csvflow_test_{name}_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
