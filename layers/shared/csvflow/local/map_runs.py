"""A Map Run fails once its failed child executions pass what it tolerates, as in AWS.

moto 5.2's Distributed Map counts the items whose child execution failed, but lets the Map
Run succeed whatever their number ("TODO: add support for failure toleration fields"): a part
of a split file that fails after its retries would pass unseen to the merge, where AWS fails
the map with ``States.ExceedToleratedFailureThreshold`` and leaves the execution to a redrive
(docs/adr/0018). This is the third place csvflow reaches into moto's internals (after the
Lambda hook and redrive.py); ``tests/integration/test_local_map_runs.py`` fails loudly if an
upgrade moves what it patches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (  # noqa: E501
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

EXCEEDED = StatesErrorNameType.StatesExceedToleratedFailureThreshold


@contextmanager
def map_runs_fail_past_their_tolerance() -> Iterator[None]:
    """While entered, every Distributed Map fails as AWS's does when too many items failed."""
    original = DistributedIterationComponent._map_run

    def map_run(component: Any, env: Any, eval_input: Any) -> None:
        original(component, env, eval_input)
        record = eval_input.map_run_record
        items = record.item_counter
        failed = items.failed.get() + items.timed_out.get() + items.aborted.get()
        if exceeds_tolerance(
            failed,
            items.total.get(),
            count=record.tolerated_failure_count,
            percentage=record.tolerated_failure_percentage,
        ):
            cause = (
                f"The specified tolerated failure threshold was exceeded: {failed} of "
                f"{items.total.get()} items failed"
            )
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=EXCEEDED),
                    event_type=HistoryEventType.ExecutionFailed,
                    event_details=EventDetails(  # type: ignore[typeddict-item]
                        executionFailedEventDetails=ExecutionFailedEventDetails(
                            error=EXCEEDED.to_name(), cause=cause
                        )
                    ),
                )
            )

    DistributedIterationComponent._map_run = map_run  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        DistributedIterationComponent._map_run = original  # type: ignore[method-assign]


def exceeds_tolerance(failed: int, total: int, *, count: int, percentage: float) -> bool:
    """Whether ``failed`` of ``total`` items fail the run: past the tolerated count and past the
    tolerated percentage (each 0 unless the state gives it), so with neither, as csvflow's
    map, at the first failure."""
    if not failed:
        return False
    over_count = failed > (count or 0)
    over_share = total > 0 and failed * 100 / total > (percentage or 0)
    return over_count and over_share
