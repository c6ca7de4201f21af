"""Runs moto's Lambda functions in this process, where moto would start Docker.

This is the one place csvflow reaches into moto's internals: every Lambda
invocation in moto (direct, or a Step Functions task) goes through
``LambdaFunction._invoke_lambda``, which returns ``(payload, errored, logs)``.
moto is pinned in pyproject.toml; ``tests/integration/test_lambda_runner.py``
fails loudly if an upgrade moves this seam.

Each function logs as it would in its own process in AWS (function_logging.py): its
Powertools JSON lines, the runtime's JSON for other libraries' records, the EMF documents
its Metrics print, framed by START, END and REPORT.

Like Lambda, the runner refuses an invocation beyond the function's reserved concurrency
with ``TooManyRequestsException`` (HTTP 429), which Step Functions reports as
``Lambda.TooManyRequestsException``.
"""

from __future__ import annotations

import ctypes
import importlib.util
import io
import itertools
import json
import logging
import os
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.exceptions import JsonRESTError

from csvflow.config import CONFIGURATION_VARIABLES
from csvflow.local.function_logging import FunctionLogging, RecordListener

logger = logging.getLogger(__name__)

# What a function that does not declare them sees: Powertools' own defaults, and no X-Ray
# (no daemon listens here; `sam local` disables tracing too).
_POWERTOOLS_DEFAULTS = {
    "POWERTOOLS_SERVICE_NAME": "service_undefined",
    "POWERTOOLS_METRICS_NAMESPACE": "",
    "POWERTOOLS_LOG_LEVEL": "",
}
_LOCAL_ONLY = {"POWERTOOLS_TRACE_DISABLED": "true"}

# Set by the runner around each invocation (with each function's own, declared variables).
_FUNCTION_VARIABLES = (
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    *CONFIGURATION_VARIABLES,
    *_POWERTOOLS_DEFAULTS,
    *_LOCAL_ONLY,
)


@dataclass
class LambdaContext:
    """The attributes of AWS's context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    timeout_seconds: int
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


class InProcessLambdaRunner:
    """Imports each function's code from its deployment zip and calls its handler."""

    def __init__(self) -> None:
        # Each function's warm execution environment, by function name.
        self._environments: dict[str, _ExecutionEnvironment] = {}
        self._cold_starts = itertools.count()
        # Handlers read configuration from os.environ, which is process-wide: one
        # invocation at a time keeps each function's environment its own.
        self._lock = threading.RLock()
        # Each function's invocations in flight: running, or waiting for the lock (in AWS
        # they would run side by side, each holding one unit of the function's concurrency).
        self._in_flight: Counter[str] = Counter()
        self._admission = threading.Lock()
        self._code_root = tempfile.TemporaryDirectory(prefix="csvflow-lambda-")
        self.invocations: list[tuple[str, str]] = []
        self.throttled: Counter[str] = Counter()  # invocations refused, by function name
        # Each finished invocation's log, as Lambda sends it to CloudWatch Logs.
        self.log_sinks: list[Callable[[InvocationLog], None]] = []
        # Each record a function logs (on its threads), with the function's name, as it is
        # logged: `csvflow run` shows the validate step's progress from them.
        self.record_listeners: list[RecordListener] = []
        self._provided: list[str] = []  # variables added to os.environ, removed at the end

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
            self._code_root.cleanup()
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
        name = function.function_name
        with self._admitted(function), self._lock, self._environment(function):
            request_id = str(uuid.uuid4())
            environment = self._execution_environment(function)
            with (
                self._logged(name, request_id) as log,
                environment.logging.invocation(log, self.record_listeners),
            ):
                payload, errored, _ = self._run(function, environment, event, request_id)
                if errored:  # Lambda logs what the handler raised
                    log.append(payload)
            # moto answers `Invoke --log-type Tail` with these lines, as Lambda does.
            return payload, errored, "\n".join(log)

    def _run(
        self,
        function: LambdaFunction,
        environment: _ExecutionEnvironment,
        event: Any,
        request_id: str,
    ) -> tuple[str, bool, str]:
        name = function.function_name
        self.invocations.append((name, "start"))
        try:
            module = environment.module or self._cold_start(function, environment)
            handler_name = _handler(function).rsplit(".", 1)[1]
            context = LambdaContext(
                function_name=name,
                function_version=str(function.version),
                invoked_function_arn=function.function_arn,
                memory_limit_in_mb=int(function.memory_size),
                aws_request_id=request_id,
                timeout_seconds=int(function.timeout),
            )
            with _deadline(context.timeout_seconds):
                result = getattr(module, handler_name)(event, context)
            self.invocations[-1] = (name, "ok")
            return json.dumps(result, default=str), False, ""
        except FunctionTimedOut:
            # Lambda discards the execution environment of a timed-out invocation.
            self._environments.pop(name, None)
            message = f"Task timed out after {context.timeout_seconds:.2f} seconds"
            return self._failed(name, "Sandbox.Timedout", message)
        except HandlerImportFailed as error:
            return self._failed(name, "Runtime.ImportModuleError", str(error))
        except Exception as error:  # a Lambda reports any exception to its caller
            trace = traceback.format_exception(error)
            return self._failed(name, type(error).__name__, str(error), trace)

    @contextmanager
    def _logged(self, name: str, request_id: str) -> Iterator[list[str]]:
        """Collect what the invocation logs, framed as Lambda frames it, for the sinks."""
        lines = [f"START RequestId: {request_id} Version: $LATEST"]
        started = time.monotonic()
        try:
            yield lines
        finally:
            milliseconds = (time.monotonic() - started) * 1000
            lines.append(f"END RequestId: {request_id}")
            lines.append(f"REPORT RequestId: {request_id}\tDuration: {milliseconds:.2f} ms")
            log = InvocationLog(function_name=name, request_id=request_id, lines=lines)
            for sink in self.log_sinks:
                sink(log)

    def _failed(
        self, name: str, error_type: str, message: str, trace: list[str] | None = None
    ) -> tuple[str, bool, str]:
        """The invocation's outcome as Lambda reports an error to its caller."""
        self.invocations[-1] = (name, error_type)
        payload: dict[str, Any] = {"errorType": error_type, "errorMessage": message}
        if trace is not None:
            payload["stackTrace"] = trace
        return json.dumps(payload), True, ""

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

    @contextmanager
    def _environment(self, function: LambdaFunction) -> Iterator[None]:
        variables = {
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            **_POWERTOOLS_DEFAULTS,
            **{k: str(v) for k, v in function.environment_vars.items()},
            **_LOCAL_ONLY,
        }
        # The function sees only its own configuration: csvflow's variables that it does not
        # declare (a DATABASE_URL of the calling shell, say) are empty while it runs (empty
        # is unset to Settings); nothing is deleted, for the reason given in installed().
        hidden = {name: "" for name in CONFIGURATION_VARIABLES if name not in variables}
        saved = {name: os.environ.get(name, "") for name in [*variables, *hidden]}
        os.environ.update(hidden)
        os.environ.update(variables)
        try:
            yield
        finally:
            os.environ.update(saved)

    def _execution_environment(self, function: LambdaFunction) -> _ExecutionEnvironment:
        """The function's warm execution environment, or a new one (its module imported at
        the invocation's cold start) when its code, handler, environment or timeout changed
        since the last one, as AWS starts new execution environments then."""
        code, configuration = function.code_sha_256, function.environment_vars
        started_from = json.dumps(
            [code, _handler(function), configuration, function.timeout], sort_keys=True
        )
        warm = self._environments.get(function.function_name)
        if warm is not None and warm.started_from == started_from:
            return warm
        service = os.environ["POWERTOOLS_SERVICE_NAME"]  # as _environment() set it
        environment = _ExecutionEnvironment(
            started_from, FunctionLogging(function.function_name, service)
        )
        self._environments[function.function_name] = environment
        return environment

    def _cold_start(
        self, function: LambdaFunction, environment: _ExecutionEnvironment
    ) -> ModuleType:
        """Import the function's handler module from its deployment package."""
        cold_start = next(self._cold_starts)
        target = Path(self._code_root.name, str(cold_start))
        with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
            archive.extractall(target)
        module_file, _ = _handler(function).rsplit(".", 1)
        path = target / (module_file.replace(".", "/") + ".py")
        name = f"csvflow_lambda_{cold_start}_{module_file}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except ImportError as error:
            message = f"Unable to import module '{module_file}': {error}"
            raise HandlerImportFailed(message) from error
        environment.module = module
        environment.logging.adopt_handlers()  # those its Logger() just made
        return module


@dataclass
class _ExecutionEnvironment:
    """What a warm function keeps between invocations: its logging, its imported module."""

    started_from: str
    logging: FunctionLogging
    module: ModuleType | None = None


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


class HandlerImportFailed(Exception):
    """The handler's module (or one it imports at cold start) could not be imported: what
    Lambda's Python runtime reports as Runtime.ImportModuleError."""


class FunctionTimedOut(BaseException):  # noqa: N818 - named for what Lambda reports
    """Raised inside a handler that outran its Timeout. A BaseException, so that the
    handler's own ``except Exception`` cannot swallow it; its with-blocks unwind (an
    open transaction rolls back), as when Lambda stops the sandbox."""


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Stop the calling thread's Python code after ``seconds``, as Lambda's Timeout would.

    The exception is raised at the thread's next Python instruction: code blocked in C
    (a socket read) is stopped when the call returns. That is why the database adapter
    bounds its own statements (CSVFLOW_DB_STATEMENT_TIMEOUT_SECONDS).
    """
    target = threading.get_ident()
    guard = threading.Lock()
    running = True

    def stop() -> None:
        with guard:
            if running:
                _raise_in(target, FunctionTimedOut)

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with guard:
            running = False
        timer.cancel()
        _raise_in(target, None)  # withdraw one raised too late to be delivered


def _raise_in(thread_id: int, error: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(error) if error else None
    )


def _handler(function: LambdaFunction) -> str:
    """The function's "module.function" handler (container images have none; we run zips)."""
    if not function.handler:
        raise ValueError(f"{function.function_name} has no handler: only zip packages run locally")
    return str(function.handler)
