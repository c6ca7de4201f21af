"""The runner that sends invocations to a Lambda endpoint, and the relay containers reach
the database through: against a real HTTP endpoint and a real PostgreSQL, no Docker.

(tests/containers runs them with `sam local start-lambda` and real containers.)
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import pytest
from moto.awslambda.models import LambdaFunction

from csvflow.exceptions import ConfigurationError
from csvflow.local.container_network import Relay, database
from csvflow.local.lambda_endpoint import LambdaEndpointRunner

# What the Python runtime answers when a handler raised: `sam local start-lambda` passes it on
# without X-Amz-Function-Error, because of the requestId key.
RAISED = {
    "errorMessage": "bad header",
    "errorType": "InvalidCsv",
    "requestId": "r-1",
    "stackTrace": [],
}


class _Endpoint(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, body))
        name = self.path.split("/")[3]
        if name == "unknown":
            self._answer(404, {"Type": "User", "Message": "Function not found"})
        elif name == "raises":
            self._answer(200, RAISED)
        else:
            self._answer(200, {"echo": body})

    def do_GET(self):
        self._answer(404, {})  # sam local start-lambda lists no functions, but answers

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    _Endpoint.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_invocation_goes_to_the_endpoint_and_its_answer_comes_back(endpoint):
    runner = LambdaEndpointRunner(endpoint, ["ok"])
    runner.check(wait_seconds=0)

    payload, errored, _ = runner.invoke("ok", {"source": {"key": "incoming/a.csv"}})

    assert (json.loads(payload), errored) == (
        {"echo": {"source": {"key": "incoming/a.csv"}}},
        False,
    )
    assert _Endpoint.received == [
        ("/2015-03-31/functions/ok/invocations", {"source": {"key": "incoming/a.csv"}})
    ]
    assert len(runner.durations["ok"]) == 1


def test_a_handlers_error_is_an_error_though_the_endpoint_does_not_flag_it(endpoint):
    payload, errored, _ = LambdaEndpointRunner(endpoint, ["raises"]).invoke("raises", {})
    assert errored
    assert json.loads(payload)["errorType"] == "InvalidCsv"


def test_a_refused_or_unreachable_invocation_is_the_functions_error(endpoint):
    payload, errored, _ = LambdaEndpointRunner(endpoint, ["unknown"]).invoke("unknown", {})
    assert errored and json.loads(payload)["errorType"] == "Lambda.ServiceException"

    closed = LambdaEndpointRunner("http://127.0.0.1:9", ["ok"])
    payload, errored, _ = closed.invoke("ok", {})
    assert errored and "unreachable" in json.loads(payload)["errorMessage"]
    with pytest.raises(ConfigurationError, match=r"no Lambda endpoint at http://127.0.0.1:9"):
        closed.check(wait_seconds=0)


def test_only_the_endpoints_functions_leave_the_runner_installed_before(endpoint, monkeypatch):
    in_process = []

    def before(function, event=None):
        in_process.append(function.function_name)
        return "{}", False, ""

    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", before)

    class Function:
        def __init__(self, name):
            self.function_name = name

    with LambdaEndpointRunner(endpoint, ["csvflow-validate"]).installed():
        LambdaFunction._invoke_lambda(Function("csvflow-validate"), {"a": 1})
        LambdaFunction._invoke_lambda(Function("csvflow-migrate"), {})
    assert LambdaFunction._invoke_lambda is before
    assert in_process == ["csvflow-migrate"]
    assert [path for path, _ in _Endpoint.received] == [
        "/2015-03-31/functions/csvflow-validate/invocations"
    ]


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises(ConfigurationError, match="not an http"):
        LambdaEndpointRunner("file:///etc/passwd", ["ok"])


def test_the_relay_reaches_the_database_its_url_names(database_url):
    # The embedded server listens on a Unix socket only, the machine's on TCP: both relay.
    with Relay("127.0.0.1", 0, database(database_url)) as relay:
        parameters = psycopg2.extensions.parse_dsn(database_url)
        host, port = relay.address
        connection = psycopg2.connect(
            dbname=parameters["dbname"],
            user=parameters.get("user"),
            password=parameters.get("password"),
            host=host,
            port=port,
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_database()")
                assert cursor.fetchone() == (parameters["dbname"],)
        finally:
            connection.close()


@pytest.mark.parametrize("command", ["run", "serve"])
def test_the_cli_hands_its_lambda_endpoint_to_the_local_stack(command, database_url, capfd):
    from csvflow.cli import main

    arguments = ["run", "examples/sales.csv"] if command == "run" else ["local", "serve"]
    code = main([*arguments, "--database-url", database_url, "--lambda-endpoint", "ftp://x"])

    _, err = capfd.readouterr()
    assert code == 2
    assert err.strip().splitlines() == ["csvflow: --lambda-endpoint ftp://x: not an http(s) URL"]
