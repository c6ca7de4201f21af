"""Errors csvflow raises on purpose.

A Python Lambda reports an exception's class name as the error type, and the state
machine's Retry and Catch match on those names: the leaf class names below are a
contract with ``statemachine/ingest.asl.json`` (``tests/unit/test_error_contract.py``
holds the two together). Rename one and the ASL must change with it.
"""

from __future__ import annotations

from typing import Any


class CsvflowError(Exception):
    """Base of every error csvflow raises on purpose."""


class PermanentError(CsvflowError):
    """Retrying cannot help: the input or its contract must change first."""


class TransientError(CsvflowError):
    """A dependency did not answer; the same call may succeed later."""


class InvalidCsv(PermanentError):
    """The file is not a CSV csvflow can read; names the file and, where known, line and column."""

    def __init__(
        self,
        reason: str,
        *,
        file: str,
        line: int | None = None,
        column: int | str | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
        super().__init__(_locate(reason, file=file, line=line, column=column))


class RejectedRowsExceeded(PermanentError):
    """More rows were rejected than the dataset contract allows."""


class InvalidContract(PermanentError):
    """The dataset contract itself is malformed; names the file, the field's path, the value
    and what was expected, where known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        path: str | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        self.file = file
        self.path = path
        self.value = value
        self.expected = expected
        super().__init__(message)

    @classmethod
    def at(
        cls, file: str, path: str, value: Any, expected: str, *, missing: bool = False
    ) -> InvalidContract:
        """A mistake at ``path`` (``columns[2].scale``) of the contract ``file``."""
        shown = "missing" if missing else f"not {value!r}"
        return cls(
            f"{file}: {path}: {expected}, {shown}",
            file=file,
            path=path,
            value=value,
            expected=expected,
        )


class SourceObjectMissing(PermanentError):
    """The uploaded object (or the version named in the event) no longer exists."""


class UnexpectedError(PermanentError):
    """An exception csvflow did not raise on purpose (a library's, say), met while a handler ran.

    It reaches the state machine under this one name, which the ASL catches like any
    permanent error, and carries the original's type and message ("Type: message") so
    that *Record the failure* records those.
    """

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message
        super().__init__(f"{error_type}: {message}")

    @classmethod
    def wrapping(cls, error: Exception) -> UnexpectedError:
        return cls(type(error).__name__, str(error))

    @staticmethod
    def original(message: str) -> tuple[str, str] | None:
        """The (type, message) an UnexpectedError's message carries; None if it carries none."""
        error_type, separator, original_message = message.partition(": ")
        if not separator or not error_type.isidentifier():
            return None
        return error_type, original_message


class StorageUnavailable(TransientError):
    """S3 throttled or failed the request."""


class DatabaseUnavailable(TransientError):
    """PostgreSQL could not be reached or dropped the connection."""


class ConfigurationError(CsvflowError):
    """The function's environment is incomplete; raised at cold start."""


class DatabaseNotReady(ConfigurationError):
    """The database lacks what this version of csvflow needs (a table, a column, a grant):
    the deployment must change (run the migration), not the file. Neither retried nor
    caught, so the execution ends on its step and is redriven once the database is ready."""


class PlanFromNewerRelease(ConfigurationError):
    """A split file's plan was written by a newer release of csvflow and asks for a reading
    this release does not know (a rollback while the execution ran): the deployment must
    change, not the file. Neither retried nor caught, so the execution ends on its step and
    is redriven once that release is back (or the file is uploaded again, and planned anew)."""


def _locate(reason: str, *, file: str, line: int | None, column: int | str | None) -> str:
    where = [file]
    if line is not None:
        where.append(f"line {line}")
    if column is not None:
        where.append(f"column {column}")
    return f"{', '.join(where)}: {reason}"


def leaf_classes(base: type[CsvflowError]) -> set[type[CsvflowError]]:
    """The concrete error classes under ``base``: the names the ASL can match."""
    found: set[type[CsvflowError]] = set()
    for sub in base.__subclasses__():
        children = leaf_classes(sub)
        found |= children or {sub}
    return found
