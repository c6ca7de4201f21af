"""The csvflow stack inside moto, as one object the CLI and the tests drive.

The event takes the path it takes in AWS: S3 notification -> SNS -> SQS -> starter
Lambda (fed by a poller that does what Lambda's SQS event source mapping does) ->
Step Functions, which executes the real ASL with the real handlers. The jobs live in their
own modules: `stack` builds the resources, `delivery` polls SQS and keeps the DLQ,
`executions` follows what uploads started, `logs_sink` writes CloudWatch Logs.
"""

from __future__ import annotations

import gc
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import boto3

from csvflow.config import Settings
from csvflow.domain.model import SourceObject, s3_uri
from csvflow.events import MalformedMessage, start_commands
from csvflow.exceptions import ConfigurationError
from csvflow.local.account_folder import AccountFolder
from csvflow.local.asl_parses import definitions_parsed_once_for_their_first_execution
from csvflow.local.botocore_data import service_data_loaded_once
from csvflow.local.delivery import StarterDelivery
from csvflow.local.executions import NOT_STARTED, ExecutionResult, ExecutionTracker, Upload
from csvflow.local.lambda_endpoint import LambdaEndpointRunner
from csvflow.local.lambda_runner import InProcessLambdaRunner
from csvflow.local.logs_sink import CloudWatchLogsSink
from csvflow.local.map_runs import map_runs_fail_past_their_tolerance
from csvflow.local.moto_imports import defer_batch_backend
from csvflow.local.s3_bodies import large_bodies_written_to_disk, put_file
from csvflow.local.s3_ranges import gets_streamed_from_disk, ranged_gets_read_their_range
from csvflow.local.sam_template import read_template
from csvflow.local.sns_signing import signing_key_made_ahead
from csvflow.local.spilled_bodies import BodiesAhead, SpilledBody
from csvflow.local.stack import (
    REGION,
    TEMPLATE,
    UPLOAD_PREFIX,
    StackNames,
    build_stack,
    project_root,
)
from csvflow.progress import PROGRESS_LOGGER


class LocalRuntime:
    """A running emulated stack; use as a context manager."""

    def __init__(
        self,
        *,
        database_url: str,
        names: StackNames | None = None,
        root: Path | None = None,
        data_dir: Path | None = None,
        lambda_endpoint: str | None = None,
        container_aws_port: int | None = None,
        side_by_side: int | None = None,
    ) -> None:
        """``data_dir`` keeps the account's outputs on disk across runs (account_folder.py).

        ``side_by_side``: how many Lambda invocations may run at once (CSVFLOW_LOCAL_WORKERS
        by default; lambda_runner.py).

        ``lambda_endpoint`` (`sam local start-lambda`'s URL) runs the workflow's functions
        there, in Lambda runtime containers, instead of in this process (containers.py);
        ``container_aws_port`` is where they reach the emulated AWS (env.json: 4566).
        """
        self.root = root or project_root()
        self.names = names or StackNames.from_template(read_template(self.root / TEMPLATE))
        self.folder = AccountFolder(data_dir) if data_dir else None
        self.database_url = database_url
        self.runner = InProcessLambdaRunner(
            side_by_side=side_by_side or invocations_side_by_side(Settings.from_environ(os.environ))
        )
        self.lambda_endpoint = lambda_endpoint
        self.container_aws_port = container_aws_port
        # Set while the functions run at lambda_endpoint: each invocation's time, by function.
        self.endpoint_runner: LambdaEndpointRunner | None = None
        self._stack = ExitStack()
        self.s3: Any = None
        self.sqs: Any = None
        self.sfn: Any = None
        self.lam: Any = None
        self.queue_url = ""
        self.dlq_url = ""
        self.state_machine_arn = ""
        self.function_arns: dict[str, str] = {}
        # The persist function's login (the application role), created with the stack.
        self.application_secret_arn: str | None = None
        self._delivery: StarterDelivery | None = None
        self._executions: ExecutionTracker | None = None

    def __enter__(self) -> LocalRuntime:
        try:
            self._start()
        except BaseException:
            # What was entered is left as it was (moto's mock, the runners' patches), so a
            # next runtime in this process starts clean.
            self._stack.close()
            raise
        return self

    def _start(self) -> None:
        # What this process holds for as long as the stack runs (the emulator's and the
        # functions' modules, moto's backends, botocore's models) is kept out of the
        # collector's full passes while it runs (docs/adr/0028, its amendment), and given
        # back to them when the stack closes.
        self._stack.callback(gc.unfreeze)
        gc.freeze()
        # Before moto's Step Functions loads, at the stack's first request (moto_imports.py).
        defer_batch_backend()
        from moto import mock_aws

        # First: its key is made on a thread beside the rest of the start (sns_signing.py).
        self._stack.enter_context(signing_key_made_ahead())
        # Before any session: moto's backends, the runtime's and the functions' clients.
        self._stack.enter_context(service_data_loaded_once())
        self._stack.enter_context(
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        )
        self._stack.enter_context(self.runner.installed())
        self._stack.enter_context(_integrity_checks_left_to_real_s3())
        self._stack.enter_context(map_runs_fail_past_their_tolerance())
        self._stack.enter_context(definitions_parsed_once_for_their_first_execution())
        self._stack.enter_context(ranged_gets_read_their_range())
        self._stack.enter_context(gets_streamed_from_disk())
        self._stack.enter_context(large_bodies_written_to_disk())
        session = boto3.session.Session(region_name=REGION)
        self.s3, self.sqs = session.client("s3"), session.client("sqs")
        self.sfn, self.lam = session.client("stepfunctions"), session.client("lambda")
        self._create(session)
        self.runner.log_sinks.append(CloudWatchLogsSink(session.client("logs")))
        if self.folder:
            self.folder.restore(self.s3, self.names.bucket)
            self._stack.callback(self.folder.keep, self.s3, self.names.bucket)
            self.runner.log_sinks.append(self.folder.append_log)
        if self.lambda_endpoint:
            self._send_functions_to(self.lambda_endpoint, session)
        gc.freeze()  # the stack as built, with its first two functions warm

    def _send_functions_to(self, endpoint_url: str, session: Any) -> None:
        from csvflow.local.containers import CONTAINER_AWS_PORT, functions_in_containers

        assert self.application_secret_arn is not None
        self.endpoint_runner = self._stack.enter_context(
            functions_in_containers(
                endpoint_url=endpoint_url,
                names=self.names,
                session=session,
                database_url=self.database_url,
                application_secret_arn=self.application_secret_arn,
                log_sinks=self.runner.log_sinks,
                aws_port=self.container_aws_port or CONTAINER_AWS_PORT,
            )
        )

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def _create(self, session: Any) -> None:
        stack = build_stack(session, self.names, self.root, self.database_url)
        self.runner.provide_variables(stack.function_variables)  # before any of them runs
        self.queue_url, self.dlq_url = stack.queue_url, stack.dlq_url
        self.state_machine_arn = stack.state_machine_arn
        self.function_arns = stack.function_arns
        self.application_secret_arn = stack.application_secret_arn
        self._delivery = StarterDelivery(
            sqs=self.sqs,
            lam=self.lam,
            queue_url=self.queue_url,
            dlq_url=self.dlq_url,
            starter_arn=self.function_arns["starter"],
        )
        self._executions = ExecutionTracker(self.sfn, self.state_machine_arn)
        # Each invocation's start and end (its log, as Lambda sends it on) tell a wait to look
        # again; between them it does not read the execution's history.
        self.runner.start_listeners.append(lambda _: self.executions.step_started())
        self.runner.log_sinks.append(lambda _: self.executions.step_ended())
        self.migrate()
        # S3 sends an s3:TestEvent when notifications are configured; the starter skips it.
        self.pump()

    @property
    def delivery(self) -> StarterDelivery:
        assert self._delivery is not None, "the runtime is not started (use it as `with`)"
        return self._delivery

    @property
    def executions(self) -> ExecutionTracker:
        assert self._executions is not None, "the runtime is not started (use it as `with`)"
        return self._executions

    def migrate(self) -> dict[str, Any]:
        """Run the migration function, as a deploy does; its result."""
        response = self.lam.invoke(FunctionName=self.function_arns["migrate"], Payload=b"{}")
        result: dict[str, Any] = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise ConfigurationError(
                "the migration step failed: "
                f"{result.get('errorType')}: {result.get('errorMessage')}"
            )
        return result

    def put_contract(self, dataset: str, path: Path) -> None:
        suffix = path.suffix if path.suffix in (".yaml", ".yml", ".json") else ".yaml"
        self.s3.put_object(
            Bucket=self.names.bucket, Key=f"contracts/{dataset}{suffix}", Body=path.read_bytes()
        )

    def upload(
        self,
        path: Path,
        *,
        dataset: str | None = None,
        key: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        body: SpilledBody | None = None,
    ) -> Upload:
        """Put a file under incoming/, as a user would; S3 notifies SNS, SNS feeds SQS.

        ``on_progress(sent, total)`` hears how many bytes have gone, as the emulator reads them;
        ``body``: the file's copy made ahead (BodiesAhead), which tells its own progress.
        """
        key = key or (
            f"{UPLOAD_PREFIX}{dataset}/{path.name}" if dataset else f"{UPLOAD_PREFIX}{path.name}"
        )
        # Straight into the emulator's S3, as its PUT handler stores it, without the copies of
        # the request body its HTTP layer makes (s3_bodies.py; docs/adr/0016).
        response = put_file(self.names.bucket, key, path, on_progress, body=body)
        return self._upload(str(path), key, response)

    def upload_bytes(self, data: bytes, key: str) -> Upload:
        """Put ``data`` at ``key`` (tests and generated files)."""
        response = self.s3.put_object(Bucket=self.names.bucket, Key=key, Body=data)
        return self._upload(s3_uri(self.names.bucket, key), key, response)

    def _upload(self, file: str, key: str, response: dict[str, Any]) -> Upload:
        source = SourceObject(
            bucket=self.names.bucket,
            key=key,
            version_id=response.get("VersionId"),
            etag=str(response.get("ETag", "")).strip('"'),
        )
        return Upload(file=file, source=source)

    def pump(self, *, max_rounds: int = 100) -> int:
        """Deliver queued messages to the starter (see StarterDelivery.pump)."""
        return self.delivery.pump(max_rounds=max_rounds)

    @property
    def dead_letter_queue_arn(self) -> str:
        return self.delivery.dead_letter_queue_arn

    def move_dead_letters(self) -> int:
        return self.delivery.move_dead_letters()

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.delivery.dead_letters()

    def wait(
        self,
        uploads: list[Upload],
        *,
        timeout: float = 3600,
        on_state: Callable[[Upload, str], None] | None = None,
    ) -> list[ExecutionResult]:
        """Wait for each upload's execution to finish, reporting state changes."""
        return self.executions.wait(uploads, timeout=timeout, on_state=on_state)

    def redrive(self, execution_arn: str, *, timeout: float = 3600) -> ExecutionResult:
        return self.executions.redrive(execution_arn, timeout=timeout)

    def current_state(self, arn: str) -> str | None:
        return self.executions.current_state(arn)

    def history(self, arn: str) -> list[dict[str, Any]]:
        return self.executions.history(arn)

    def run(
        self,
        paths: list[Path],
        *,
        dataset: str | None = None,
        on_state: Callable[[Upload, str], None] | None = None,
        on_upload_progress: Callable[[Path, int, int], None] | None = None,
        on_validation_progress: Callable[[Upload, Mapping[str, Any]], None] | None = None,
        bodies: BodiesAhead | None = None,
    ) -> list[ExecutionResult]:
        """Upload the files and wait for their executions, telling how far each has got:
        bytes uploaded, the state reached, and the validate step's own progress lines.
        ``bodies``: the files' copies, begun before the stack started."""
        if bodies is not None and on_upload_progress is not None:
            bodies.tell(on_upload_progress)
        uploads = [
            self.upload(
                path,
                dataset=dataset,
                on_progress=(
                    partial(on_upload_progress, path) if on_upload_progress is not None else None
                ),
                body=bodies.take(path) if bodies is not None else None,
            )
            for path in paths
        ]
        by_key = {upload.source.key: upload for upload in uploads}

        def heard(function: str, record: logging.LogRecord) -> None:
            if record.name == PROGRESS_LOGGER and isinstance(record.args, Mapping):
                upload = by_key.get(str(record.args.get("object_key")))
                if upload is not None and on_validation_progress is not None:
                    on_validation_progress(upload, record.args)

        with self.runner.listening(heard):
            self.pump()
            # An upload whose event the starter never took has no execution to wait for.
            self.executions.find_executions(uploads)
            dead = self._dead_lettered_sources()
            stranded = [
                not u.execution_arn and (u.source.key, u.source.etag) in dead for u in uploads
            ]
            waited = iter(
                self.wait(
                    [u for u, lost in zip(uploads, stranded, strict=True) if not lost],
                    on_state=on_state,
                )
            )
        # wait() answers in the order it was asked.
        return [
            _not_started(u) if lost else next(waited)
            for u, lost in zip(uploads, stranded, strict=True)
        ]

    def _dead_lettered_sources(self) -> set[tuple[str, str | None]]:
        """(key, ETag) of the S3 events the starter failed until SQS gave up on them."""
        sources = set()
        for body in self.delivery.undelivered.values():
            try:
                commands = start_commands(body, incoming_prefix=UPLOAD_PREFIX)
            except MalformedMessage:
                continue
            sources |= {(c.source.key, c.source.etag) for c in commands}
        return sources


def invocations_side_by_side(settings: Settings) -> int:
    """How many Lambda invocations run at once locally: CSVFLOW_LOCAL_WORKERS, else one per
    core, at most 4 (each beyond the first is a worker process holding its own imports)."""
    workers = settings.local_workers
    if workers < 0:
        raise ConfigurationError(
            f"CSVFLOW_LOCAL_WORKERS must be 1 or more (0: one per core), not {workers}"
        )
    if workers:
        return workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 4))


def _not_started(upload: Upload) -> ExecutionResult:
    return ExecutionResult(
        upload=upload,
        status=NOT_STARTED,
        error="DeadLettered",
        cause=(
            f"the starter did not start a workflow for {upload.source.key}: its event is in the "
            "dead-letter queue (`csvflow logs starter` says why)"
        ),
    )


@contextmanager
def _integrity_checks_left_to_real_s3() -> Iterator[None]:
    """Send and read S3 bodies plainly, without botocore's default CRC32 trailers, and without
    signing their bytes.

    botocore (1.36+) streams every upload as aws-chunked with a CRC32 trailer, which moto
    decodes in Python: 300 MB took over a minute to upload, and the functions' Parquet as long
    again. Real S3 checks those checksums; the emulator has nothing to check them against.
    Set for the clients that the runtime and the functions create while it runs.

    Without a checksum, botocore signs an S3 body's SHA-256 instead (its rule for a PUT that
    carries none), reading the whole body through Python before sending it: the validate
    step's Parquet, tens of MB, read once more on the step's own thread after the pass. In AWS
    the trailer's PUT is signed as an unsigned payload; moto checks no signature. So bodies
    are sent as unsigned payloads here, as S3's `payload_signing_enabled = false` does.
    """
    from botocore.handlers import BUILTIN_HANDLERS

    variables = ("AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION")
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(dict.fromkeys(variables, "when_required"))
    # Every session made meanwhile registers the built-in handlers (moto's stubber is one).
    unsigned = (SIGNING_S3_REQUEST, _payload_left_unsigned)
    BUILTIN_HANDLERS.append(unsigned)
    try:
        yield
    finally:
        BUILTIN_HANDLERS.remove(unsigned)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


SIGNING_S3_REQUEST = "before-sign.s3"  # botocore's event, before it signs a request to S3


def _payload_left_unsigned(request: Any, **_: Any) -> None:
    """Sign this S3 request as one whose client says `payload_signing_enabled = false`."""
    from botocore.config import Config

    config = request.context.get("client_config")
    if config is None:
        return
    s3: Any = dict(config.s3 or {}) | {"payload_signing_enabled": False}
    request.context["client_config"] = config.merge(Config(s3=s3))
