"""Each emulated function's logging, kept as its own process would keep it in Lambda.

In AWS a function is a process of its own. Its Powertools ``Logger`` configures the logger
named after its service (``csvflow``: the package's, so every module's records get its JSON
formatter and keys) with a handler that writes to stdout; Lambda's runtime owns the root
logger, whose handler writes the other libraries' records as JSON; and whatever the process
writes to stdout (those lines, and the EMF documents Metrics prints) is the invocation's log.

Here every function shares one process with the others and with the CLI. So around each
invocation the runner swaps in the function's own logging (its service logger as its cold
start configured it, the runtime's root handler, a stdout that is the invocation's log) and
swaps the caller's back afterwards: each function's log lines are exactly the ones it would
emit in AWS, with its own keys, and none of that configuration leaks into the CLI or into
another function. The function's threads are the invocation's and those started while it
runs (validation reads ahead on one); what the threads that were there before (the CLI's,
the emulator's) write or log meanwhile goes where it would have gone.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

RecordListener = Callable[[str, logging.LogRecord], None]

# What makes a logger itself rather than its configuration: never swapped.
_IDENTITY = frozenset({"name", "parent", "manager", "_cache"})


class FunctionLogging:
    """One function's logging environment: what its own process would hold between
    invocations (made at its cold start, kept while it stays warm)."""

    def __init__(self, function_name: str, service: str) -> None:
        self.function_name = function_name
        self.service = service
        self._stdout = _InvocationStdout()
        self._runtime_handler = _RuntimeHandler(self._stdout, function_name)
        self.threads = _FunctionThreads()  # of the invocation running, or the last one
        self._on_function_threads = _OnFunctionThreads(self)
        # The service logger as a fresh process has it; the cold start configures it.
        self._service_logger_state = _configuration(logging.Logger(service))

    @contextmanager
    def invocation(self, lines: list[str], listeners: list[RecordListener]) -> Iterator[None]:
        """While the block runs (on this thread), the function's logging is the process's,
        and what it writes is appended to ``lines``."""
        self.threads = threads = _FunctionThreads()
        service_logger, root = logging.getLogger(self.service), logging.getLogger()
        callers_service_logger = _configuration(service_logger)
        callers_root_handlers = list(root.handlers)
        shared_stdout = _SharedStdout(self._stdout, displaced=sys.stdout)
        self._stdout.begin(threads, lines)
        self._runtime_handler.begin(threads, callers_root_handlers, listeners)
        _configure(service_logger, self._service_logger_state)
        root.handlers = [self._runtime_handler]
        sys.stdout = shared_stdout
        self.adopt_handlers()
        try:
            yield
        finally:
            # Put back only what this invocation set. Others set sys.stdout too while it runs
            # (pytest's capsys for the next test, while a function the last test set off still
            # runs): theirs stays, and whoever later puts ours back writes on through it.
            if sys.stdout is shared_stdout:
                sys.stdout = shared_stdout.displaced
            root.handlers = _handlers_given_back(
                root.handlers, self._runtime_handler, callers_root_handlers
            )
            self._service_logger_state = _configuration(service_logger)
            _configure(service_logger, callers_service_logger)
            self._stdout.end()

    def adopt_handlers(self) -> None:
        """Keep the service logger's handlers (its Powertools handler, once the cold start
        made it) to the function's threads: a record another thread makes meanwhile on a
        logger of the package (the CLI's, the local runtime's) goes on to the root, and from
        there where the caller's logging sends it."""
        for handler in logging.getLogger(self.service).handlers:
            if self._on_function_threads not in handler.filters:
                handler.addFilter(self._on_function_threads)


class _OnFunctionThreads(logging.Filter):
    def __init__(self, logging_: FunctionLogging) -> None:
        super().__init__()
        self._logging = logging_

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread in self._logging.threads


class _FunctionThreads:
    """The threads of an invocation: the one that runs it and any started since."""

    def __init__(self) -> None:
        self._before = {thread.ident for thread in threading.enumerate()}
        self._before.discard(threading.get_ident())

    def __contains__(self, thread: int | None) -> bool:
        return thread not in self._before


class _InvocationStdout(io.TextIOBase):
    """The function's stdout: what its threads write becomes the invocation's log lines, one
    per line written (as Lambda reads a function's stdout)."""

    def __init__(self) -> None:
        self._threads: _FunctionThreads | None = None
        self._lines: list[str] = []
        self._partial = ""
        self._lock = threading.Lock()

    def begin(self, threads: _FunctionThreads, lines: list[str]) -> None:
        self._threads, self._lines, self._partial = threads, lines, ""

    def end(self) -> None:
        if self._partial:
            self._lines.append(self._partial)
        self._threads, self._lines, self._partial = None, [], ""

    def takes(self) -> bool:
        """Whether what this thread writes now is the invocation's."""
        return self._threads is not None and threading.get_ident() in self._threads

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not self.takes():
            return sys.stdout.write(text)
        with self._lock:
            *complete, self._partial = (self._partial + text).split("\n")
            self._lines.extend(line for line in complete if line)
        return len(text)


class _SharedStdout(io.TextIOBase):
    """``sys.stdout`` from an invocation's start: the function's threads write to its log,
    the others (the CLI's, the emulator's) on to the stdout this one displaced. After the
    invocation, all of it goes there: whoever still holds this one (a Logger made at a cold
    start, a capture that puts back what it found) writes where it would have written."""

    def __init__(self, invocation: _InvocationStdout, *, displaced: TextIO) -> None:
        self._invocation = invocation
        self.displaced = displaced

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._invocation.takes():
            return self._invocation.write(text)
        return self.displaced.write(text)

    def flush(self) -> None:
        self.displaced.flush()


class _RuntimeHandler(logging.Handler):
    """Lambda's runtime on the root logger (LogFormat JSON): a record that reaches the root
    becomes a JSON line of the invocation's log. Records made on other threads meanwhile
    (the emulator's, the CLI's) go to the handlers the root had, as if nothing were swapped.

    The runner's listeners hear every record of the function's threads that reaches the
    root, whether or not this handler writes it: Powertools filters the records its own
    handler has already written (its service's) out of the root's handlers."""

    def __init__(self, stdout: _InvocationStdout, function_name: str) -> None:
        super().__init__()
        self._stdout = stdout
        self._function_name = function_name
        self.threads = _FunctionThreads()  # of the invocation running, or the last one
        self._callers: list[logging.Handler] = []
        self._listeners: list[RecordListener] = []

    def begin(
        self,
        threads: _FunctionThreads,
        callers: list[logging.Handler],
        listeners: list[RecordListener],
    ) -> None:
        self._threads, self._callers, self._listeners = threads, callers, listeners

    def handle(self, record: logging.LogRecord) -> bool:
        if record.thread not in self._threads:
            for handler in self._callers:
                if record.levelno >= handler.level:
                    handler.handle(record)
            return False
        for listener in self._listeners:
            listener(self._function_name, record)
        return super().handle(record)

    def emit(self, record: logging.LogRecord) -> None:
        self._stdout.write(runtime_json_line(record) + "\n")


def _handlers_given_back(
    now: list[logging.Handler], swapped_in: logging.Handler, callers: list[logging.Handler]
) -> list[logging.Handler]:
    """The root's handlers once an invocation ends: the caller's where the runtime's handler
    stood, and any handler added meanwhile (by the caller's threads, or by a function that
    ran inside this one and gave back what it found) kept where it was put."""
    if swapped_in not in now:  # taken out meanwhile: the caller's go back first
        return [*callers, *(handler for handler in now if handler not in callers)]
    given_back: list[logging.Handler] = []
    for handler in now:
        given_back.extend(callers if handler is swapped_in else [handler])
    return given_back


def runtime_json_line(record: logging.LogRecord) -> str:
    """A record as Lambda's runtime writes it with LogFormat JSON."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit the format: log it as given
        message = str(record.msg)
    entry: dict[str, Any] = {
        "timestamp": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(),
        "level": record.levelname,
        "logger": record.name,
        "message": message,
    }
    # Figures logged as a mapping ("%(rows)d rows", {...}) are fields of the line too.
    if isinstance(record.args, Mapping):
        entry |= record.args
    if record.exc_info and record.exc_info[1] is not None:
        entry["errorType"] = type(record.exc_info[1]).__name__
    return json.dumps(entry, default=str)


def _configuration(logger: logging.Logger) -> dict[str, Any]:
    """A logger's configuration: level, handlers, filters, propagation, and what Powertools
    marks on it (that it is configured, its handler)."""
    return {
        key: list(value) if isinstance(value, list) else value
        for key, value in vars(logger).items()
        if key not in _IDENTITY
    }


def _configure(logger: logging.Logger, configuration: dict[str, Any]) -> None:
    for key in [key for key in vars(logger) if key not in _IDENTITY]:
        delattr(logger, key)
    for key, value in configuration.items():
        setattr(logger, key, list(value) if isinstance(value, list) else value)
    logger.setLevel(logger.level)  # which empties the loggers' caches of effective levels
