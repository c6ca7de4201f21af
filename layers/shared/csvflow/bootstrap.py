"""Wiring: the only place that builds clients and adapters and hands them to handlers."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any

from csvflow.config import Settings
from csvflow.exceptions import ConfigurationError, CsvflowError, UnexpectedError
from csvflow.ports import IngestionRepository, ObjectStore, SchemaMigrator, WorkflowStarter
from csvflow.process_memory import return_large_blocks

Handle = Callable[[Any], dict[str, Any]]
Handlers = Mapping[type, Callable[..., dict[str, Any]]]


def bootstrap(
    *,
    settings: Settings,
    store: ObjectStore | None = None,
    repository: IngestionRepository | None = None,
    starter: WorkflowStarter | None = None,
    migrator: SchemaMigrator | None = None,
    handlers: Handlers | None = None,
) -> Handle:
    """A ``handle(command)`` that runs the command's handler with what it asks for.

    ``handlers`` defaults to every command's; a function that needs fewer passes its own,
    so it imports only what those need. An exception that is not csvflow's leaves as an
    ``UnexpectedError`` naming it, which the state machine records as the file's failure.
    """
    if handlers is None:
        from csvflow.handlers import COMMAND_HANDLERS

        handlers = COMMAND_HANDLERS
    dependencies: dict[str, Any] = {
        "settings": settings,
        "store": store,
        "repository": repository,
        "starter": starter,
        "migrator": migrator,
    }

    def handle(command: Any) -> dict[str, Any]:
        handler = handlers[type(command)]
        wanted = list(inspect.signature(handler).parameters)[1:]
        missing = [name for name in wanted if dependencies[name] is None]
        if missing:
            raise ConfigurationError(f"{handler.__name__} needs {', '.join(missing)}")
        try:
            return handler(command, **{name: dependencies[name] for name in wanted})
        except (CsvflowError, *_FUNCTION_ENVIRONMENT_ERRORS):
            raise
        except Exception as error:
            raise UnexpectedError.wrapping(error) from error

    return handle


# The function's environment, not the file, is short of something: memory, or a module
# (what Lambda reports as Runtime.OutOfMemory or Runtime.ImportModuleError when it happens
# outside a handler). Left as they are, they end the execution on the failed step, to be
# redriven once the function has what it needs (docs/adr/0008).
_FUNCTION_ENVIRONMENT_ERRORS = (MemoryError, ImportError)


def _client(service: str, *, in_vpc: bool = False) -> Any:
    import boto3
    from botocore.config import Config

    # In a VPC an unreachable endpoint hangs rather than refuses: botocore's defaults (60 s
    # to connect, five legacy attempts) would outlast the function's Timeout. Fail within
    # seconds instead, as a retriable error the state machine (or CloudFormation) hears.
    config = (
        Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "max_attempts": 3})
        if in_vpc
        else None
    )
    # (boto3-stubs, where installed, types only literal service names)
    return boto3.client(service, config=config)  # type: ignore[call-overload,unused-ignore]


def starter_function(environ: Mapping[str, str] = os.environ) -> tuple[Handle, Settings]:
    """The starter Lambda: Step Functions only (it must not import pandas)."""
    from csvflow.adapters.stepfunctions import StepFunctionsStarter
    from csvflow.starting import START_HANDLERS

    settings = Settings.from_environ(environ, required=["state_machine_arn"])
    assert settings.state_machine_arn is not None
    starter = StepFunctionsStarter(_client("stepfunctions"), settings.state_machine_arn)
    return bootstrap(settings=settings, starter=starter, handlers=START_HANDLERS), settings


def storage_function(environ: Mapping[str, str] = os.environ) -> Handle:
    """The validate and summarize Lambdas: S3 only."""
    from csvflow.adapters.s3 import S3ObjectStore

    # They stream files through numpy and Arrow as `csvflow profile` does, at a memory size
    # that AWS bills and caps: freed arrays go back to the system.
    return_large_blocks()
    settings = Settings.from_environ(environ)
    return bootstrap(
        settings=settings,
        store=S3ObjectStore(
            _client("s3"),
            multipart_bytes=settings.s3_multipart_bytes,
            read_range_bytes=settings.s3_read_range_bytes,
        ),
    )


def persist_function(environ: Mapping[str, str] = os.environ) -> Handle:
    """The persist Lambda: S3 for the summary, PostgreSQL (the application role) for the record."""
    from csvflow.adapters.postgres.repository import PostgresIngestionRepository
    from csvflow.adapters.s3 import S3ObjectStore

    settings = Settings.from_environ(environ, one_of=[["database_url", "db_secret_arn"]])
    repository = PostgresIngestionRepository(
        database_connector(settings, settings.db_secret_arn),
        statement_timeout_seconds=settings.db_statement_timeout_seconds,
    )
    return bootstrap(
        settings=settings,
        store=S3ObjectStore(
            _client("s3", in_vpc=True), multipart_bytes=settings.s3_multipart_bytes
        ),
        repository=repository,
    )


def migration_function(environ: Mapping[str, str] = os.environ) -> Handle:
    """The migration Lambda (a deploy step): the owner's login, and the application's secret."""
    from csvflow.adapters.postgres.migrations import PostgresSchemaMigrator
    from csvflow.migrating import MIGRATE_HANDLERS

    settings = Settings.from_environ(environ, one_of=[["database_url", "db_admin_secret_arn"]])
    migrator = PostgresSchemaMigrator(
        database_connector(settings, settings.db_admin_secret_arn),
        _secret_login(settings, settings.db_secret_arn) if settings.db_secret_arn else None,
    )
    return bootstrap(settings=settings, migrator=migrator, handlers=MIGRATE_HANDLERS)


def database_connector(settings: Settings, secret_arn: str | None) -> Callable[[], Any]:
    """Connections from DATABASE_URL, else from the secret: read at the first connect
    (not at cold start, where a failure would be no retriable error) and again when
    a connect fails, so a rotated password is picked up."""
    from csvflow.adapters.postgres.connection import RefreshingConnector, connector

    if settings.database_url:
        return connector(settings.database_url)
    assert secret_arn is not None
    return RefreshingConnector(_secret_login(settings, secret_arn).read)


def _secret_login(settings: Settings, secret_arn: str) -> Any:
    from csvflow.adapters.secrets import SecretCredentials

    return SecretCredentials(
        _client("secretsmanager", in_vpc=True),
        secret_arn,
        host=settings.db_host,
        port=settings.db_port,
        dbname=settings.db_name,
        sslmode=settings.db_sslmode,
    )
