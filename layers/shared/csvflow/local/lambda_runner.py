"""Runs moto's Lambda functions here, where moto would start Docker: in this process, and in
worker processes when a function's invocations overlap.

This is the one place csvflow reaches into moto's internals: every Lambda
invocation in moto (direct, or a Step Functions task) goes through
``LambdaFunction._invoke_lambda``, which returns ``(payload, errored, logs)``.
moto is pinned in pyproject.toml; ``tests/integration/test_lambda_runner.py``
fails loudly if an upgrade moves this seam.

Each function logs as it would in its own process in AWS (function_logging.py): its
Powertools JSON lines, the runtime's JSON for other libraries' records, the EMF documents
its Metrics print, framed by START, END and REPORT.

An invocation runs in this process (function_host.py), one at a time, unless this process is
busy with an invocation of the same function: then it runs in a worker process
(worker_pool.py), as Lambda starts another execution environment for a function's concurrent
invocation, up to ``side_by_side`` invocations at once (docs/adr/0019). An invocation that
finds this process busy with another function waits for it, unless a worker is idle.

Like Lambda, the runner refuses an invocation beyond the function's reserved concurrency
with ``TooManyRequestsException`` (HTTP 429), which Step Functions reports as
``Lambda.TooManyRequestsException``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.exceptions import JsonRESTError

from csvflow.config import CONFIGURATION_VARIABLES
from csvflow.local.function_host import (
    LOCAL_ONLY,
    POWERTOOLS_DEFAULTS,
    FunctionHost,
    FunctionSpec,
)
from csvflow.local.function_logging import RecordListener
from csvflow.local.worker_pool import Worker, WorkerPool

logger = logging.getLogger(__name__)

# Set by the runner around each invocation (with each function's own, declared variables).
_FUNCTION_VARIABLES = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    *CONFIGURATION_VARIABLES,
    *POWERTOOLS_DEFAULTS,
    *LOCAL_ONLY,
)


class InProcessLambdaRunner:
    """Imports each function's code from its deployment zip and calls its handler, here or in
    a worker process."""

    def __init__(self, *, side_by_side: int = 1) -> None:
        """``side_by_side``: how many invocations may run at once, this process's one and
        the workers' (1: all here, one at a time)."""
        if side_by_side < 1:
            raise ValueError(f"side_by_side must be at least 1, not {side_by_side}")
        self._host = FunctionHost()
        self._pool = WorkerPool(side_by_side - 1, self._host.callers_environ)
        # Handlers read configuration from os.environ, which is process-wide: one
        # invocation at a time here keeps each function's environment its own. Reentrant: a
        # function may invoke another, which then runs here on the same thread.
        self._here = threading.RLock()
        self._running_here: list[str] = []  # the functions it holds, innermost last
        self._slots = threading.Condition()  # guards _here's taking, _running_here, _pool
        # Each function's invocations in flight: running, or waiting for a place (in AWS
        # they would run side by side, each holding one unit of the function's concurrency).
        self._in_flight: Counter[str] = Counter()
        self._admission = threading.Lock()
        self._record = threading.Lock()  # of invocations
        self._sinking = threading.Lock()  # sinks hear one finished invocation at a time
        self.invocations: list[tuple[str, str]] = []  # (function, "start", "ok" or error type)
        self.throttled: Counter[str] = Counter()  # invocations refused, by function name
        # Each invocation's start, with the function's name, once it has a place to run.
        self.start_listeners: list[Callable[[str], None]] = []
        # Each finished invocation's log, as Lambda sends it to CloudWatch Logs.
        self.log_sinks: list[Callable[[InvocationLog], None]] = []
        # Each record a function logs (on its threads), with the function's name, as it is
        # logged: `csvflow run` shows the validate step's progress from them.
        self.record_listeners: list[RecordListener] = []
        self._provided: list[str] = []  # variables added to os.environ, removed at the end

    @property
    def worker_processes_started(self) -> int:
        """How many worker processes this runner has started."""
        return self._pool.started

    @contextmanager
    def installed(self) -> Iterator[InProcessLambdaRunner]:
        """Route moto's Lambda invocations here for the duration of the block."""
        original = LambdaFunction._invoke_lambda
        runner = self

        def invoke(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
            return runner.invoke(function, event)

        # moto's worker threads read os.environ while a function runs here: a variable that
        # appears or disappears under them breaks their iteration (KeyError, or "changed size
        # during iteration"). So every variable a function may set exists, empty, for the
        # whole time the runner is installed; invocations only change values.
        self.provide_variables(_FUNCTION_VARIABLES)
        LambdaFunction._invoke_lambda = invoke  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]
            self._pool.close()
            self._host.close()
            for name in self._provided:
                os.environ.pop(name, None)
            self._provided.clear()

    def provide_variables(self, names: Iterable[str]) -> None:
        """Make the variables the functions declare exist (empty) until the runner is
        uninstalled: call before they run (see installed())."""
        for name in names:
            if name not in os.environ:
                os.environ[name] = ""
                self._provided.append(name)

    @contextmanager
    def listening(self, listener: RecordListener) -> Iterator[None]:
        """Hear each record the functions log, as it is made, for the block's duration."""
        self.record_listeners.append(listener)
        try:
            yield
        finally:
            self.record_listeners.remove(listener)

    def invoke(self, function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        if isinstance(event, str | bytes):
            event = json.loads(event or "{}")
        spec = _spec(function)
        with self._admitted(function), self._placed(spec.name) as worker:
            started = self._started(spec.name)
            request_id = str(uuid.uuid4())
            with self._logged(spec.name, request_id) as log:
                if worker is None:
                    outcome = self._host.invoke(spec, event, request_id, log, self.record_listeners)
                else:
                    outcome = worker.invoke(spec, event, request_id, log, self.record_listeners)
                self.invocations[started] = (spec.name, outcome.ended)
            # moto answers `Invoke --log-type Tail` with these lines, as Lambda does.
            return outcome.payload, outcome.errored, "\n".join(log)

    def _started(self, name: str) -> int:
        with self._record:
            self.invocations.append((name, "start"))
            return len(self.invocations) - 1

    @contextmanager
    def _placed(self, name: str) -> Iterator[Worker | None]:
        """Where the invocation runs: here (None), or a worker; waits for a place."""
        with self._slots:
            while True:
                if self._here.acquire(blocking=False):
                    self._running_here.append(name)
                    worker = None
                    break
                # A worker process starts only for a function already running here: the
                # common path (one step after another) never pays for one.
                worker = self._pool.take(name, start=name in self._running_here)
                if worker is not None:
                    break
                self._slots.wait()
        try:
            yield worker
        finally:
            with self._slots:
                if worker is None:
                    self._running_here.pop()
                    self._here.release()
                else:
                    self._pool.give_back(worker)
                self._slots.notify_all()

    @contextmanager
    def _logged(self, name: str, request_id: str) -> Iterator[list[str]]:
        """Collect what the invocation logs, framed as Lambda frames it, for the sinks."""
        lines = [f"START RequestId: {request_id} Version: $LATEST"]
        started = time.monotonic()
        try:
            for listener in self.start_listeners:  # each start has its end: the sinks below
                listener(name)
            yield lines
        finally:
            milliseconds = (time.monotonic() - started) * 1000
            lines.append(f"END RequestId: {request_id}")
            lines.append(f"REPORT RequestId: {request_id}\tDuration: {milliseconds:.2f} ms")
            log = InvocationLog(function_name=name, request_id=request_id, lines=lines)
            with self._sinking:
                for sink in self.log_sinks:
                    sink(log)

    @contextmanager
    def _admitted(self, function: LambdaFunction) -> Iterator[None]:
        """Hold one unit of the function's concurrency, or refuse as Lambda does when its
        reserved concurrency (put_function_concurrency) is all in use."""
        name, limit = function.function_name, function.reserved_concurrency
        with self._admission:
            if limit is not None and self._in_flight[name] >= int(limit):
                self.throttled[name] += 1
                raise TooManyRequestsException()
            self._in_flight[name] += 1
        try:
            yield
        finally:
            with self._admission:
                self._in_flight[name] -= 1


def _spec(function: LambdaFunction) -> FunctionSpec:
    """What a host needs of moto's function (read once, as the invocation starts)."""
    return FunctionSpec(
        name=function.function_name,
        version=str(function.version),
        arn=function.function_arn,
        region=function.region,
        handler=str(function.handler or ""),
        memory_mb=int(function.memory_size),
        timeout_seconds=int(function.timeout),
        code_sha256=function.code_sha_256,
        code=function.code_bytes,
        environment={k: str(v) for k, v in function.environment_vars.items()},
    )


@dataclass(frozen=True)
class InvocationLog:
    """One invocation's log lines: START, what the function logged, END and REPORT."""

    function_name: str
    request_id: str
    lines: list[str]


class TooManyRequestsException(JsonRESTError):  # noqa: N818 - Lambda's name for it
    """Lambda Invoke's answer beyond the function's reserved concurrency: HTTP 429, with
    the reason in the body as AWS gives it."""

    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps(
            {
                "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                "Type": "User",
                "message": "Rate Exceeded.",
            }
        )
