"""`csvflow local serve`: the emulated stack as an HTTP endpoint any AWS client can use.

moto's own server, set up as for the workers and containers (aws_endpoint.py), answers the
AWS APIs from the same in-memory account the local runtime builds; two APIs moto lacks are
answered here, with the semantics AWS documents: ``states:RedriveExecution``
(csvflow.local.redrive) and ``sqs:StartMessageMoveTask`` (the dead-letter queue's messages
moved back to their source queue). A delivery thread does what Lambda's SQS event source
mapping does: it feeds the starter function.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import Any

from csvflow.local.aws_endpoint import account_served
from csvflow.local.redrive import NotRedrivable, redrive_execution
from csvflow.local.runtime import LocalRuntime

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
DELIVERY_INTERVAL = 0.2  # seconds between polls of the queue, as an event source mapping


class LocalServer:
    """Serves a running LocalRuntime on ``host:port`` (0: a free port) while entered."""

    def __init__(self, runtime: LocalRuntime, *, host: str = "127.0.0.1", port: int = 4566):
        self.runtime = runtime
        self._host, self._port = host, port
        self._url: str | None = None
        self._stop = threading.Event()
        self._served = ExitStack()
        self._delivery = threading.Thread(
            target=self._deliver, name="csvflow-delivery", daemon=True
        )

    @property
    def endpoint_url(self) -> str:
        if self._url is None:
            raise RuntimeError("the endpoint serves only while the server is entered")
        return self._url

    def __enter__(self) -> LocalServer:
        self._url = self._served.enter_context(
            account_served(
                self._host,
                self._port,
                name="csvflow-endpoint",
                middleware=lambda moto: _MissingApis(moto, self.runtime),
            )
        )
        self._delivery.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._delivery.join(timeout=10)
        self._served.close()

    def _deliver(self) -> None:
        while not self._stop.wait(DELIVERY_INTERVAL):
            self.runtime.pump()


class _MissingApis:
    """WSGI middleware: the two APIs moto lacks, everything else to moto."""

    def __init__(self, moto: Any, runtime: LocalRuntime) -> None:
        self._moto = moto
        self._runtime = runtime

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target == "AWSStepFunctions.RedriveExecution":
            return self._redrive(_body(environ), start_response)
        if target == "AmazonSQS.StartMessageMoveTask":
            return self._move_messages(_body(environ), start_response)
        result: Iterable[bytes] = self._moto(environ, start_response)
        return result

    @staticmethod
    def _redrive(body: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            redrive_execution(body["executionArn"])
        except NotRedrivable as e:
            return _json(
                start_response,
                "400 Bad Request",
                {"__type": "ExecutionNotRedrivable", "message": str(e)},
            )
        return _json(start_response, "200 OK", {"redriveDate": time.time()})

    def _move_messages(
        self, body: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        source = body.get("SourceArn", "")
        if source != self._runtime.dead_letter_queue_arn:
            return _json(
                start_response,
                "400 Bad Request",
                {
                    "__type": "com.amazonaws.sqs#InvalidParameterValueException",
                    "message": f"{source} is not a dead-letter queue of this stack",
                },
            )
        moved = self._runtime.move_dead_letters()
        return _json(start_response, "200 OK", {"TaskHandle": f"{uuid.uuid4()}:{moved}"})


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b"{}"
    parsed: dict[str, Any] = json.loads(raw or b"{}")
    return parsed


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data)))]
    )
    return [data]
