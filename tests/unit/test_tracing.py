"""Each step's phases are X-Ray subsegments, recorded by the X-Ray SDK that Powertools' Tracer
drives: the real recorder, with an emitter that keeps what it would send to the daemon."""

import pytest
from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.context import Context

# Imported before the recorder is switched on: its Tracer() switches the SDK off outside Lambda.
import csvflow.handlers  # noqa: F401
from csvflow.bootstrap import bootstrap
from csvflow.commands import PersistSummary, SummarizeDataset, ValidateCsv
from csvflow.config import Settings
from csvflow.domain.model import SourceObject
from tests.support.fakes import InMemoryObjectStore, InMemoryRepository

BUCKET = "data"
CONTRACT = b"""
max_rejected_share: 0.5
columns:
  - {name: id, type: int}
  - {name: amount, type: float}
aggregates:
  - {name: by_region, group_by: [region], metrics: [{column: amount, op: sum}]}
"""


class KeptSegments:
    """An X-Ray emitter that keeps each finished segment instead of sending it over UDP."""

    def __init__(self):
        self.segments = []

    def send_entity(self, entity):
        self.segments.append(entity)

    def set_daemon_address(self, address):
        pass


@pytest.fixture
def recorder():
    saved = (global_sdk_config.sdk_enabled(), xray_recorder.emitter, xray_recorder.context)
    saved_sampling, saved_threshold = xray_recorder.sampling, xray_recorder.streaming_threshold
    kept = KeptSegments()
    # Tracer() outside Lambda switches the SDK off; a recording needs it on.
    global_sdk_config.set_sdk_enabled(True)
    xray_recorder.configure(
        emitter=kept, context=Context(), sampling=False, streaming_threshold=1000
    )
    try:
        yield kept
    finally:
        enabled, emitter, context = saved
        xray_recorder.configure(
            emitter=emitter,
            context=context,
            sampling=saved_sampling,
            streaming_threshold=saved_threshold,
        )
        global_sdk_config.set_sdk_enabled(enabled)


def traced(step, handle, command):
    """Run ``command`` inside a segment, as Lambda's facade segment wraps an invocation."""
    segment = xray_recorder.begin_segment(step)
    try:
        result = handle(command)
    finally:
        xray_recorder.end_segment()
    return result, [subsegment.name for subsegment in segment.subsegments]


def test_each_step_traces_its_phases_as_subsegments(recorder):
    store, repository = InMemoryObjectStore(), InMemoryRepository()
    handle = bootstrap(settings=Settings(), store=store, repository=repository)
    store.put(BUCKET, "contracts/sales.yaml", CONTRACT)
    store.put(BUCKET, "incoming/sales/a.csv", b"id,amount,region\n1,2.5,north\n2,x,south\n")
    source = SourceObject(bucket=BUCKET, key="incoming/sales/a.csv", version_id="v1", etag="e1")
    payload = {"source": source.to_dict(), "dataset": "sales", "ingestion_id": "a-1"}

    validation, phases = traced("validate", handle, ValidateCsv.from_event(payload))
    assert phases == ["## read", "## validate", "## upload"]
    payload |= {"validation": validation}
    summary, phases = traced("summarize", handle, SummarizeDataset.from_event(payload))
    assert phases == ["## read", "## summarize", "## write", "## upload"]
    payload |= {"summary": summary, "execution_arn": "arn:x"}
    _, phases = traced("persist", handle, PersistSummary.from_event(payload))
    assert phases == ["## read", "## persist"]
    # What the daemon would have received: the three segments, their subsegments closed.
    assert [segment.name for segment in recorder.segments] == ["validate", "summarize", "persist"]
    assert all(
        sub.end_time >= sub.start_time for seg in recorder.segments for sub in seg.subsegments
    )
