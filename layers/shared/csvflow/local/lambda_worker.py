"""A worker process of the local runtime: hosts functions as the runtime's own process does, one
invocation at a time, and stays warm between them (worker_pool.py starts and feeds it).

``python -m csvflow.local.lambda_worker FD``: FD is the worker's end of a socket to the runner,
carrying ``multiprocessing.connection`` messages. The runner sends ``("invoke", spec, event,
request_id, overrides)``; the worker answers with a ``("record", fields)`` for each record its
function's threads log (the runner's listeners hear them as they come: `csvflow run` shows the
validate step's progress) and one ``("done", outcome, lines)``. The functions reach the
emulated AWS over HTTP, at the server the runner names in ``overrides`` (AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from csvflow.local.function_host import FunctionHost

# The attributes of a LogRecord a listener reads, sent as they are (logging.makeLogRecord).
_RECORD_FIELDS = ("name", "levelno", "levelname", "pathname", "lineno", "funcName", "created")


def serve(connection: Connection) -> None:
    """Run the invocations the runner sends until it closes the connection."""
    host = FunctionHost()
    sending = threading.Lock()  # a function's threads log side by side

    def send(message: tuple[Any, ...]) -> None:
        with sending:
            connection.send(message)

    def forward(function_name: str, record: logging.LogRecord) -> None:
        send(("record", record_fields(record)))

    try:
        while True:
            try:
                message = connection.recv()
            except EOFError:
                return
            _, spec, event, request_id, overrides = message
            lines: list[str] = []
            outcome = host.invoke(spec, event, request_id, lines, [forward], overrides=overrides)
            send(("done", outcome, lines))
    finally:
        host.close()


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What of a record crosses to the runner: its message formatted, except figures logged as
    a mapping, which stay a mapping (plain JSON values) for listeners to read."""
    fields = {name: getattr(record, name) for name in _RECORD_FIELDS}
    if isinstance(record.args, dict):
        fields["msg"] = str(record.msg)
        fields["args"] = json.loads(json.dumps(record.args, default=str))
    else:
        try:
            fields["msg"] = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format
            fields["msg"] = str(record.msg)
        fields["args"] = None
    return fields


def main() -> None:
    serve(Connection(int(sys.argv[1])))


if __name__ == "__main__":
    main()
