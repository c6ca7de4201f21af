"""The ports: what the handlers need from the outside world."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from csvflow.domain.model import ObjectRef

if TYPE_CHECKING:  # the summary types bring pyarrow, which the starter function lacks
    from csvflow.domain.summary import Failure, IngestionRecord, Summary


class ObjectSink(Protocol):
    """A new object written as a stream; it exists once ``commit`` returns, never before."""

    def write(self, data: bytes | memoryview) -> int:
        """Append ``data``; it may leave for the store before ``commit``."""
        ...

    def commit(self) -> None:
        """Send what is left and make the object; the store's errors are raised here at last."""
        ...

    def close(self) -> None:
        """Finish: before ``commit``, everything sent is thrown away and no object is made."""
        ...

    def __enter__(self) -> ObjectSink: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class ObjectStore(Protocol):
    """Objects in a bucket (S3 in AWS and locally through moto; a dict in unit tests)."""

    def read_head(self, ref: ObjectRef, size: int) -> bytes:
        """The first ``size`` bytes of the object."""
        ...

    def read_tail(self, ref: ObjectRef, size: int) -> tuple[bytes, int]:
        """The last ``size`` bytes of the object (none for 0), and its whole size in bytes."""
        ...

    def read_range(self, ref: ObjectRef, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` (exclusive) of the object, fewer past its end."""
        ...

    def open(self, ref: ObjectRef, start: int = 0) -> BinaryIO:
        """A stream of the object's bytes from byte ``start`` on, read as it is consumed."""
        ...

    def read_text(self, ref: ObjectRef) -> str | None:
        """A small text object, or None when there is none."""
        ...

    def write_text(self, ref: ObjectRef, text: str) -> None:
        """Store a small text object (UTF-8)."""
        ...

    def upload_file(self, path: Path, ref: ObjectRef) -> None:
        """Store a local file as the object."""
        ...

    def create(self, ref: ObjectRef) -> ObjectSink:
        """Write the object as a stream: it is sent as it comes, and made on ``commit``."""
        ...

    def download_file(self, ref: ObjectRef, path: Path) -> None:
        """Copy the object to a local file."""
        ...

    def copy(self, source: ObjectRef, target: ObjectRef) -> None:
        """Copy an object, whatever its size, to another key (replacing what is there)."""
        ...


class IngestionRepository(Protocol):
    """Where ingestions and their summaries are recorded (PostgreSQL)."""

    def save_summary(self, record: IngestionRecord, summary: Summary) -> None:
        """Record a successful ingestion and its summary, replacing any earlier copy."""
        ...

    def record_failure(self, record: IngestionRecord, failure: Failure) -> None:
        """Record that an ingestion failed, and why."""
        ...


class WorkflowStarter(Protocol):
    """Starts the ingestion workflow (Step Functions)."""

    def start(self, name: str, payload: dict[str, Any]) -> str | None:
        """Start an execution; its ARN, or None when one of that name already exists."""
        ...


class SchemaMigrator(Protocol):
    """The database's schema and the application's role (the migration step)."""

    def migrate(self) -> list[str]:
        """Apply the migrations not yet applied; their names."""

    def grant_application_role(self) -> str | None:
        """Create the application's role with its password and grants; its name, if it has one."""


class ApplicationLogin(Protocol):
    """The application role's login, kept in a secret."""

    def user_and_password(self) -> tuple[str, str]:
        """The role's name and its current password."""

    def record_endpoint(self, host: str, port: str, dbname: str) -> bool:
        """Store where the database is beside the login; True if that changed it."""
