"""Logs, traces and metrics, the Powertools way (docs/adr/0015).

The service and the metrics' namespace are named once, in template.yaml's Globals
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE). The service is the package's name
(tests/infra/test_template.py holds them equal), so
the function's Powertools ``Logger`` is the ``csvflow`` logger itself: every module's
``logging.getLogger(__name__)`` record reaches its JSON formatter, with the keys appended for
the step (``correlation_keys``). X-Ray traces each phase of a step (``phase``); each step
publishes its figures as an EMF document when the handler returns (``run_step``).

Each function makes its own ``Logger()``, ``Tracer()`` and ``Metrics()`` at cold start, when
its environment is there to read; Powertools shares a Tracer's provider and a Metrics' metric
set across the instances of a process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from csvflow.domain.model import SourceObject

# Tracing is off outside Lambda and wherever POWERTOOLS_TRACE_DISABLED is true (the local
# runtime sets it, as `sam local` does); a phase is then a subsegment of X-Ray's no-op kind.
_tracer = Tracer()


class StepCommand(Protocol):
    """What every step's command says about the ingestion it works on."""

    @property
    def execution_arn(self) -> str | None: ...
    @property
    def ingestion_id(self) -> str: ...
    @property
    def source(self) -> SourceObject | None: ...


def correlation_keys(command: StepCommand) -> dict[str, Any]:
    """The keys every log line of a step carries: which execution, ingestion and upload."""
    source = command.source
    return {
        "execution_arn": command.execution_arn,
        "ingestion_id": command.ingestion_id,
        "object_key": source.key if source else None,
        "object_version": source.version if source else None,
    }


@contextmanager
def phase(name: str) -> Iterator[None]:
    """An X-Ray subsegment around one phase of a step (read, validate, write, upload...)."""
    with _tracer.provider.in_subsegment(name=f"## {name}"):
        yield


# The figures a step's result carries, and the metric each becomes.
_FIGURES = {
    "rows": ("Rows", MetricUnit.Count),
    "rejected_rows": ("RejectedRows", MetricUnit.Count),
    "bytes_read": ("Bytes", MetricUnit.Bytes),
}


def run_step(
    step: str, handle: Callable[[Any], dict[str, Any]], command: Any, metrics: Metrics
) -> dict[str, Any]:
    """Run the step's command; add its figures and duration to the invocation's metrics,
    which the entry point's ``metrics.log_metrics`` prints as one EMF document."""
    started = time.perf_counter()
    metrics.add_dimension(name="step", value=step)
    try:
        result = handle(command)
    finally:  # a failed step's duration too
        milliseconds = (time.perf_counter() - started) * 1000
        metrics.add_metric(name="Duration", unit=MetricUnit.Milliseconds, value=milliseconds)
    for key, (name, unit) in _FIGURES.items():
        if isinstance(result.get(key), int):
            metrics.add_metric(name=name, unit=unit, value=result[key])
    return result
