"""What went wrong, in one line for the terminal, and the exit code that goes with it.

A user who typed a wrong path, or asked for executions with no `csvflow local serve` running,
gets a sentence saying so; the traceback is for `--verbose`.
"""

from __future__ import annotations

import sys

from csvflow.exceptions import CsvflowError, DatabaseNotReady
from csvflow.local import EXTRA, missing_extra_module

# Exit codes: 1 for a run that did its work and found failures (or an unforeseen error), 2 for
# a command that could not do its work as asked (as argparse does for bad arguments).
USAGE_OR_ENVIRONMENT = 2
UNEXPECTED = 1


def explain(error: BaseException) -> tuple[str, int]:
    """The sentence (without the `csvflow: ` prefix) and exit code for an error."""
    if isinstance(error, DatabaseNotReady):
        # Its own message speaks to a deployed stack (the migration function, a redrive).
        cause = error.__cause__ or error
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        return (
            f"the database has no csvflow tables yet ({reason}): "
            "`csvflow migrate` creates them (`csvflow run` does too)",
            USAGE_OR_ENVIRONMENT,
        )
    if isinstance(error, CsvflowError):
        return str(error), USAGE_OR_ENVIRONMENT
    if isinstance(error, FileNotFoundError) and error.filename:
        return f"no such file: {error.filename}", USAGE_OR_ENVIRONMENT
    if isinstance(error, OSError) and error.filename:
        return f"{error.strerror}: {error.filename}", USAGE_OR_ENVIRONMENT
    for explain_library_error in (_local_extra_missing, _aws_error, _database_error):
        explained = explain_library_error(error)
        if explained:
            return explained, USAGE_OR_ENVIRONMENT
    return (
        f"unexpected {type(error).__name__}: {error} (--verbose shows the traceback)",
        UNEXPECTED,
    )


def _local_extra_missing(error: BaseException) -> str | None:
    missing = missing_extra_module(error)
    if missing is None:
        return None
    return (
        f"this command runs csvflow's local runtime, which is not installed (no module "
        f'{missing!r}): pip install "csvflow[{EXTRA}]" (from a clone: pip install -e ".[{EXTRA}]")'
    )


def _aws_error(error: BaseException) -> str | None:
    # Looked up, not imported: a command that never loaded botocore cannot have raised its errors.
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None:
        return None
    if isinstance(error, exceptions.EndpointConnectionError):
        return (
            f"cannot reach {error.kwargs.get('endpoint_url')}: start `csvflow local serve`, "
            "or pass --endpoint-url URL, or --aws for AWS itself"
        )
    if isinstance(error, exceptions.ClientError):
        details = error.response.get("Error", {})
        return (
            f"AWS refused {error.operation_name}: "
            f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
        )
    if isinstance(error, exceptions.BotoCoreError):
        return f"AWS: {error}"
    return None


def _database_error(error: BaseException) -> str | None:
    psycopg2 = sys.modules.get("psycopg2")
    if psycopg2 is None:
        return None
    if isinstance(error, psycopg2.OperationalError):
        # libpq's first line says what failed (host, port, socket); never the password.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else "no reason given"
        return f"cannot reach PostgreSQL: {reason}"
    return None
