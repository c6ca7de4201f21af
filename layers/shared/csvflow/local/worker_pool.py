"""Worker processes that run the local runtime's functions beside its own process.

Each worker is ``python -m csvflow.local.lambda_worker``: it hosts functions as the runtime's
process does (function_host.py), one invocation at a time, and keeps them warm between
invocations, as a Lambda execution environment stays warm. Its functions reach the emulated
account over HTTP, at a moto server on a thread of the runtime's process sharing its in-memory
backends (aws_endpoint.py), started with the first worker.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess  # nosec B404 - our own worker module, with fixed arguments
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from multiprocessing.connection import Connection
from typing import Any

from csvflow.local.aws_endpoint import account_served
from csvflow.local.function_host import FunctionSpec, Outcome, timed_out_message
from csvflow.local.function_logging import RecordListener

logger = logging.getLogger(__name__)

# How long past its Timeout a worker may take to answer before it is stopped: the worker stops
# its handler at the Timeout itself; this bounds code blocked in C, which no exception
# reaches, and a worker's own start (Python and the handler's imports) before its first call.
STOP_GRACE_SECONDS = 30.0


class WorkerPool:
    """Up to ``size`` worker processes, started when first needed, kept until closed.

    ``take`` and ``give_back`` are called under the runner's lock of its slots.
    """

    def __init__(self, size: int, environ: Callable[[], dict[str, str]]) -> None:
        """``environ()``: the environment a new worker starts with (the caller's)."""
        self.size = size
        self._environ = environ
        self._idle: list[Worker] = []
        self._workers: list[Worker] = []
        self._stack = ExitStack()
        self._endpoint: str | None = None
        self._endpoint_lock = threading.Lock()
        self.started = 0  # worker processes started so far
        self._starting = threading.Lock()

    def take(self, function_name: str, *, start: bool) -> Worker | None:
        """An idle worker, one where the function is warm first; else, when ``start`` and the
        pool has room, a new one (its process starts at its first invocation); else None."""
        for worker in self._idle:
            if function_name in worker.warm:
                self._idle.remove(worker)
                return worker
        if self._idle:
            return self._idle.pop()
        self._workers = [worker for worker in self._workers if not worker.stopped]
        if start and len(self._workers) < self.size:
            worker = Worker(self)
            self._workers.append(worker)
            return worker
        return None

    def give_back(self, worker: Worker) -> None:
        if not worker.stopped:
            self._idle.append(worker)

    def endpoint(self) -> str:
        """The emulated account's URL for the workers' functions (served from the first call)."""
        with self._endpoint_lock:
            if self._endpoint is None:
                self._endpoint = self._stack.enter_context(
                    account_served("127.0.0.1", 0, name="csvflow-for-workers")
                )
            return self._endpoint

    def new_process_environ(self) -> dict[str, str]:
        # The worker imports what this process imports (csvflow from its source tree, the
        # test's modules): the same module search path.
        return self._environ() | {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers.clear()
        self._idle.clear()
        self._stack.close()


class Worker:
    """One worker process and the runner's end of its connection."""

    def __init__(self, pool: WorkerPool) -> None:
        self._pool = pool
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self.warm: set[str] = set()  # the functions it has run (and still keeps)
        self.stopped = False

    def invoke(
        self,
        spec: FunctionSpec,
        event: Any,
        request_id: str,
        lines: list[str],
        listeners: list[RecordListener],
    ) -> Outcome:
        """Run the invocation in the worker (started first if it is not running): its
        records to ``listeners`` as they come, its log lines appended to ``lines``."""
        if self._connection is None:
            self._start()
        assert self._connection is not None
        overrides = {"AWS_ENDPOINT_URL": self._pool.endpoint()}
        self._connection.send(("invoke", spec, event, request_id, overrides))
        deadline = time.monotonic() + spec.timeout_seconds + STOP_GRACE_SECONDS
        connection = self._connection
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not connection.poll(left):
                    self.stop()  # as Lambda stops a sandbox past its Timeout
                    message = timed_out_message(spec.timeout_seconds)
                    return Outcome.failed("Sandbox.Timedout", message)
                kind, *body = connection.recv()
            except (EOFError, OSError):  # the process ended, or the pool stopped it
                status = self._exit_status()
                self.stop()
                message = f"RequestId: {request_id} Error: Runtime exited with error: {status}"
                return Outcome.failed("Runtime.ExitError", message)
            if kind == "record":
                record = logging.makeLogRecord(body[0])
                for listener in list(listeners):
                    listener(spec.name, record)
                continue
            outcome, logged = body
            lines.extend(logged)
            if outcome.ended == "Sandbox.Timedout":
                self.stop()  # Lambda discards a timed-out invocation's environment
            else:
                self.warm.add(spec.name)
            return outcome  # type: ignore[no-any-return]

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(  # nosec B603 - sys.executable, our module
                [sys.executable, "-m", "csvflow.local.lambda_worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=self._pool.new_process_environ(),
                stdin=subprocess.DEVNULL,
                # What the worker writes outside its functions' logs goes to stderr, never
                # into the output of the command it serves (`csvflow run --json`).
                stdout=sys.__stderr__.fileno() if sys.__stderr__ else subprocess.DEVNULL,
            )
        self._connection = Connection(ours.detach())
        with self._pool._starting:
            self._pool.started += 1
        logger.debug("started worker process %s", self._process.pid)

    def _exit_status(self) -> str:
        """How the process ended, as Lambda words it ("exit status 1", "signal: killed")."""
        assert self._process is not None
        try:
            code = self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "unknown"
        if code < 0:
            name = signal.Signals(-code).name.removeprefix("SIG").lower()
            return f"signal: {'killed' if name == 'kill' else name}"
        return f"exit status {code}"

    def stop(self) -> None:
        """End the process (whatever it runs) and forget what it kept warm."""
        self.stopped = True
        self.warm.clear()
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
