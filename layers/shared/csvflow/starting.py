"""The start command's handler, apart from the data handlers: the starter function loads
only this, so it needs neither pandas nor pyarrow (it has no layer that provides them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from csvflow.commands import StartIngestion
from csvflow.config import Settings
from csvflow.domain.model import SourceObject
from csvflow.ports import WorkflowStarter

logger = logging.getLogger(__name__)


def start_ingestion(
    cmd: StartIngestion, starter: WorkflowStarter, settings: Settings
) -> dict[str, Any]:
    """Start one execution per object version; a repeated event starts nothing."""
    source = cmd.source
    payload = {
        "source": source.to_dict(),
        "dataset": cmd.dataset,
        "ingestion_id": source.ingestion_id,
        "split": split_choice(source, settings),
    }
    arn = starter.start(source.ingestion_id, payload)
    logger.info(
        "execution started" if arn else "execution already exists",
        extra={"object_key": source.key, "execution": arn, "ingestion_id": source.ingestion_id},
    )
    return {"ingestion_id": source.ingestion_id, "execution_arn": arn, "started": arn is not None}


def split_choice(source: SourceObject, settings: Settings) -> dict[str, Any]:
    """Which path the state machine takes, and with what sizes: in the input, for the
    console to show. A big file goes in byte ranges through a Distributed Map."""
    size = source.size or 0
    split = 0 < settings.split_bytes <= size
    return {
        "path": "parts" if split else "single",
        "split_bytes": settings.split_bytes,
        "part_bytes": settings.part_bytes,
        "max_concurrency": settings.part_concurrency,
    }


START_HANDLERS: dict[type, Callable[..., dict[str, Any]]] = {StartIngestion: start_ingestion}
