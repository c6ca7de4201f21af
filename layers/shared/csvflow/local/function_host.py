"""Runs a function's handler in the current process, as Lambda's runtime runs it in its own.

What one process that hosts functions keeps: each function's warm execution environment (its
handler module, imported from its deployment zip at the cold start, and its logging), the
function's configuration in ``os.environ`` while it runs, its Timeout. The in-process runner
(lambda_runner.py) hosts functions in the local runtime's own process; each worker process
(lambda_worker.py) hosts them in its own. This module imports neither moto nor boto3: a
worker starts with only what its functions import.
"""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import io
import itertools
import json
import os
import sys
import tempfile
import threading
import traceback
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from csvflow.config import CONFIGURATION_VARIABLES
from csvflow.local.function_logging import FunctionLogging, RecordListener

# What a function that does not declare them sees: Powertools' own defaults, and no X-Ray
# (no daemon listens here; `sam local` disables tracing too).
POWERTOOLS_DEFAULTS = {
    "POWERTOOLS_SERVICE_NAME": "service_undefined",
    "POWERTOOLS_METRICS_NAMESPACE": "",
    "POWERTOOLS_LOG_LEVEL": "",
}
LOCAL_ONLY = {"POWERTOOLS_TRACE_DISABLED": "true"}

# What an invocation that ended without an error reports in the runner's record.
SUCCEEDED = "ok"


@dataclass(frozen=True)
class FunctionSpec:
    """What a host needs of a function to run it: its configuration and its zip."""

    name: str
    version: str
    arn: str
    region: str
    handler: str  # "module.function"; empty for a container image, which does not run here
    memory_mb: int
    timeout_seconds: int
    code_sha256: str
    code: bytes = field(repr=False)
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def started_from(self) -> str:
        """What an execution environment is made from: AWS starts new ones when it changes."""
        return json.dumps(
            [
                self.code_sha256,
                self.handler,
                dict(self.environment),
                self.timeout_seconds,
            ],
            sort_keys=True,
        )

    def variables(self) -> dict[str, str]:
        """The environment the function runs with, as Lambda sets it."""
        return {
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **POWERTOOLS_DEFAULTS,
            **self.environment,
            **LOCAL_ONLY,
        }


@dataclass(frozen=True)
class Outcome:
    """An invocation's answer as Lambda gives it to its caller, and how it ended."""

    payload: str
    errored: bool
    ended: str  # SUCCEEDED, or the error type

    @classmethod
    def failed(cls, error_type: str, message: str, trace: list[str] | None = None) -> Outcome:
        """The outcome as Lambda reports an error to its caller."""
        payload: dict[str, Any] = {"errorType": error_type, "errorMessage": message}
        if trace is not None:
            payload["stackTrace"] = trace
        return cls(json.dumps(payload), True, error_type)


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


class FunctionHost:
    """Each function's warm execution environment in this process, and its invocations.

    One invocation at a time: a function's configuration lives in ``os.environ``, which is the
    process's (the in-process runner holds a lock; a worker runs one invocation at a time).
    """

    def __init__(self) -> None:
        self._environments: dict[str, _ExecutionEnvironment] = {}
        self._cold_starts = itertools.count()
        self._code_root = tempfile.TemporaryDirectory(prefix="csvflow-lambda-")
        # The caller's values of the variables a running function has set, innermost last
        # (a function may invoke another in this process).
        self._swapped_out: list[dict[str, str]] = []
        self._environ_guard = threading.Lock()

    def close(self) -> None:
        self._code_root.cleanup()

    def callers_environ(self) -> dict[str, str]:
        """``os.environ`` as the caller has it, whatever function runs here meanwhile."""
        with self._environ_guard:
            environ = dict(os.environ)
            for saved in reversed(self._swapped_out):
                environ.update(saved)
            return environ

    def invoke(
        self,
        spec: FunctionSpec,
        event: Any,
        request_id: str,
        lines: list[str],
        listeners: list[RecordListener],
        *,
        overrides: Mapping[str, str] | None = None,
    ) -> Outcome:
        """Run the handler on ``event``; what the function logs is appended to ``lines``
        (with the error, when it raised, as Lambda logs it) and heard by ``listeners``.
        ``overrides`` are variables the host sets over the function's own."""
        with self._environment(spec, overrides or {}):
            environment = self._execution_environment(spec)
            with environment.logging.invocation(lines, listeners):
                outcome = self._run(spec, environment, event, request_id)
                if outcome.errored:  # Lambda logs what the handler raised
                    lines.append(outcome.payload)
        return outcome

    def _run(
        self,
        spec: FunctionSpec,
        environment: _ExecutionEnvironment,
        event: Any,
        request_id: str,
    ) -> Outcome:
        context = LambdaContext(
            function_name=spec.name,
            function_version=spec.version,
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_mb,
            aws_request_id=request_id,
            timeout_seconds=spec.timeout_seconds,
        )
        try:
            module = environment.module or self._cold_start(spec, environment)
            handler_name = _handler(spec).rsplit(".", 1)[1]
            with _deadline(context.timeout_seconds):
                result = getattr(module, handler_name)(event, context)
            return Outcome(json.dumps(result, default=str), False, SUCCEEDED)
        except FunctionTimedOut:
            # Lambda discards the execution environment of a timed-out invocation.
            self._environments.pop(spec.name, None)
            return Outcome.failed("Sandbox.Timedout", timed_out_message(spec.timeout_seconds))
        except HandlerImportFailed as error:
            return Outcome.failed("Runtime.ImportModuleError", str(error))
        except Exception as error:  # a Lambda reports any exception to its caller
            trace = traceback.format_exception(error)
            return Outcome.failed(type(error).__name__, str(error), trace)

    @contextmanager
    def _environment(self, spec: FunctionSpec, overrides: Mapping[str, str]) -> Iterator[None]:
        variables = spec.variables() | dict(overrides)
        # The function sees only its own configuration: csvflow's variables that it does not
        # declare (a DATABASE_URL of the calling shell, say) are empty while it runs (empty
        # is unset to Settings); nothing is deleted, for the reason given in
        # InProcessLambdaRunner.installed().
        hidden = {name: "" for name in CONFIGURATION_VARIABLES if name not in variables}
        with self._environ_guard:
            saved = {name: os.environ.get(name, "") for name in [*variables, *hidden]}
            os.environ.update(hidden)
            os.environ.update(variables)
            self._swapped_out.append(saved)
        try:
            yield
        finally:
            with self._environ_guard:
                os.environ.update(saved)
                self._swapped_out.remove(saved)

    def _execution_environment(self, spec: FunctionSpec) -> _ExecutionEnvironment:
        """The function's warm execution environment, or a new one (its module imported at
        the invocation's cold start) when its code, handler, environment or timeout changed
        since the last one, as AWS starts new execution environments then."""
        warm = self._environments.get(spec.name)
        if warm is not None and warm.started_from == spec.started_from:
            return warm
        service = os.environ["POWERTOOLS_SERVICE_NAME"]  # as _environment() set it
        environment = _ExecutionEnvironment(spec.started_from, FunctionLogging(spec.name, service))
        self._environments[spec.name] = environment
        return environment

    def _cold_start(self, spec: FunctionSpec, environment: _ExecutionEnvironment) -> ModuleType:
        """Import the function's handler module from its deployment package."""
        cold_start = next(self._cold_starts)
        target = Path(self._code_root.name, str(cold_start))
        with zipfile.ZipFile(io.BytesIO(spec.code)) as archive:
            archive.extractall(target)
        module_file, _ = _handler(spec).rsplit(".", 1)
        path = target / (module_file.replace(".", "/") + ".py")
        name = f"csvflow_lambda_{cold_start}_{module_file}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except ImportError as error:
            message = f"Unable to import module '{module_file}': {error}"
            raise HandlerImportFailed(message) from error
        environment.module = module
        environment.logging.adopt_handlers()  # those its Logger() just made
        # What a cold start imports lives as long as this process. In AWS each function has a
        # process of its own; here one holds the emulator and several functions' modules, and
        # CPython's full collections walk every object each time the heap grows by a quarter:
        # five of them, 0.1-0.17 s each, during a local run's start and its cold starts.
        # Frozen objects are freed as usual when unreferenced, but never walked.
        gc.freeze()
        return module


@dataclass
class _ExecutionEnvironment:
    """What a warm function keeps between invocations: its logging, its imported module."""

    started_from: str
    logging: FunctionLogging
    module: ModuleType | None = None


def timed_out_message(seconds: int) -> str:
    """What Lambda says of an invocation stopped at its Timeout."""
    return f"Task timed out after {seconds:.2f} seconds"


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
    bounds its own statements (CSVFLOW_DB_STATEMENT_TIMEOUT_SECONDS); a worker process that
    does not answer in time is stopped by the runner (worker_pool.py).
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


def _handler(spec: FunctionSpec) -> str:
    """The function's "module.function" handler (container images have none; we run zips)."""
    if not spec.handler:
        raise ValueError(f"{spec.name} has no handler: only zip packages run locally")
    return spec.handler
