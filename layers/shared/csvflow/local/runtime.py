"""The csvflow stack inside moto: bucket, topic, queue, DLQ, functions, state machine.

The event takes the path it takes in AWS: S3 notification -> SNS -> SQS -> starter
Lambda (fed by a poller that does what Lambda's SQS event source mapping does) ->
Step Functions, which executes the real ASL with the real handlers.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import secrets
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import psycopg2.extensions

import csvflow
from csvflow.domain.model import SourceObject
from csvflow.exceptions import ConfigurationError
from csvflow.local.account_folder import AccountFolder
from csvflow.local.lambda_runner import InProcessLambdaRunner, InvocationLog
from csvflow.operations import execution_history

REGION = "us-east-1"
FUNCTIONS = ("starter", "validate", "summarize", "persist", "migrate")
APPLICATION_ROLE = "csvflow_app"
MAX_RECEIVE_COUNT = 3
FINISHED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}


@dataclass(frozen=True)
class StackNames:
    """Names of the emulated resources (the IaC's defaults)."""

    bucket: str = "csvflow-local"
    topic: str = "csvflow-uploads"
    queue: str = "csvflow-starter"
    dead_letter_queue: str = "csvflow-starter-dlq"
    state_machine: str = "csvflow-ingest"
    prefix: str = "csvflow-"


def project_root() -> Path:
    """The source checkout the package was installed from (functions/ and statemachine/)."""
    root = Path(csvflow.__file__).resolve().parents[3]
    if not (root / "statemachine").is_dir() or not (root / "functions").is_dir():
        raise ConfigurationError(
            "the local runtime needs the project's functions/ and statemachine/ folders: "
            "install csvflow from a source checkout with `pip install -e .`"
        )
    return root


def render_definition(text: str, substitutions: dict[str, str]) -> str:
    """Apply DefinitionSubstitutions as Step Functions does: ${Name} -> value."""
    for name, value in substitutions.items():
        text = text.replace("${" + name + "}", value)
    if "${" in text:
        raise ConfigurationError("the state machine definition has an unsubstituted ${...}")
    return text


def function_zip(folder: Path) -> bytes:
    """The function's deployment package: its folder, as SAM zips it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.py")):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


@dataclass
class Upload:
    """One file put into the bucket, and (once found) the execution it started."""

    file: str
    source: SourceObject
    execution_arn: str = ""


@dataclass
class ExecutionResult:
    upload: Upload
    status: str
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cause: str | None = None


class LocalRuntime:
    """A running emulated stack; use as a context manager."""

    def __init__(
        self,
        *,
        database_url: str,
        names: StackNames = StackNames(),
        root: Path | None = None,
        data_dir: Path | None = None,
    ) -> None:
        """``data_dir`` keeps the account's outputs on disk across runs (account_folder.py)."""
        self.names = names
        self.folder = AccountFolder(data_dir) if data_dir else None
        self.database_url = database_url
        self.root = root or project_root()
        self.runner = InProcessLambdaRunner()
        self._stack = ExitStack()
        self.s3: Any = None
        self.sqs: Any = None
        self.sfn: Any = None
        self.lam: Any = None
        self.queue_url = ""
        self.dlq_url = ""
        self.state_machine_arn = ""
        self.function_arns: dict[str, str] = {}
        self._inputs: dict[str, dict[str, Any]] = {}
        # The persist function's login (the application role), created with the stack.
        self.application_secret_arn: str | None = None

    def __enter__(self) -> LocalRuntime:
        from moto import mock_aws

        self._stack.enter_context(
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        )
        self._stack.enter_context(self.runner.installed())
        self._stack.enter_context(_integrity_checks_left_to_real_s3())
        session = boto3.session.Session(region_name=REGION)
        self.s3, self.sqs = session.client("s3"), session.client("sqs")
        self.sfn, self.lam = session.client("stepfunctions"), session.client("lambda")
        self._create(session)
        self.runner.log_sinks.append(CloudWatchLogsSink(session.client("logs")))
        if self.folder:
            self.folder.restore(self.s3, self.names.bucket)
            self._stack.callback(self.folder.keep, self.s3, self.names.bucket)
            self.runner.log_sinks.append(self.folder.append_log)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()

    def _create(self, session: Any) -> None:
        names = self.names
        sns, iam = session.client("sns"), session.client("iam")
        self.s3.create_bucket(Bucket=names.bucket)
        self.s3.put_bucket_versioning(
            Bucket=names.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        topic_arn = sns.create_topic(Name=names.topic)["TopicArn"]
        self.dlq_url = self.sqs.create_queue(QueueName=names.dead_letter_queue)["QueueUrl"]
        dlq_arn = self._queue_arn(self.dlq_url)
        self.queue_url = self.sqs.create_queue(
            QueueName=names.queue,
            Attributes={
                "VisibilityTimeout": "0",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
                ),
            },
        )["QueueUrl"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=self._queue_arn(self.queue_url))
        self.s3.put_bucket_notification_configuration(
            Bucket=names.bucket,
            NotificationConfiguration={
                "TopicConfigurations": [
                    {
                        "TopicArn": topic_arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {
                            "Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}
                        },
                    }
                ]
            },
        )
        role_arn = iam.create_role(
            RoleName=f"{names.prefix}local",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        account = role_arn.split(":")[4]
        self.state_machine_arn = (
            f"arn:aws:states:{REGION}:{account}:stateMachine:{names.state_machine}"
        )
        # As deployed: persist logs in as the application's role with its own secret; the
        # migration step, as the owner, creates the schema and that role before any upload.
        self.application_secret_arn = application_secret = session.client(
            "secretsmanager"
        ).create_secret(
            Name=f"{names.prefix}application-database",
            SecretString=json.dumps(
                {"username": APPLICATION_ROLE, "password": secrets.token_urlsafe(30)}
            ),
        )["ARN"]
        sslmode = psycopg2.extensions.parse_dsn(self.database_url).get("sslmode", "prefer")
        environments = {
            "starter": {
                "CSVFLOW_STATE_MACHINE_ARN": self.state_machine_arn,
                "CSVFLOW_BUCKET": names.bucket,
            },
            "persist": {"CSVFLOW_DB_SECRET_ARN": application_secret, "CSVFLOW_DB_SSLMODE": sslmode},
            "migrate": {
                "DATABASE_URL": self.database_url,
                "CSVFLOW_DB_SECRET_ARN": application_secret,
            },
        }
        for name in FUNCTIONS:
            self.function_arns[name] = self.lam.create_function(
                FunctionName=f"{names.prefix}{name}",
                Runtime="python3.12",
                Role=role_arn,
                Handler="app.lambda_handler",
                Code={"ZipFile": function_zip(self.root / "functions" / name)},
                Timeout=900,
                MemorySize=2048,
                Environment={"Variables": environments.get(name, {})},
            )["FunctionArn"]
        definition = render_definition(
            (self.root / "statemachine" / "ingest.asl.json").read_text(encoding="utf-8"),
            {
                "ValidateFunctionArn": self.function_arns["validate"],
                "SummarizeFunctionArn": self.function_arns["summarize"],
                "PersistFunctionArn": self.function_arns["persist"],
            },
        )
        self.sfn.create_state_machine(
            name=names.state_machine, definition=definition, roleArn=role_arn, type="STANDARD"
        )
        self.migrate()
        self._drain_test_events()

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

    def _queue_arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arn: str = attributes["Attributes"]["QueueArn"]
        return arn

    def _drain_test_events(self) -> None:
        # S3 sends an s3:TestEvent when notifications are configured; the starter skips it.
        self.pump()

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
    ) -> Upload:
        """Put a file under incoming/, as a user would; S3 notifies SNS, SNS feeds SQS.

        ``on_progress(sent, total)`` hears how many bytes have gone, as the emulator reads them.
        """
        key = key or (f"incoming/{dataset}/{path.name}" if dataset else f"incoming/{path.name}")
        with path.open("rb") as file:
            body = _ReportingReader(file, path.stat().st_size, on_progress) if on_progress else file
            response = self.s3.put_object(Bucket=self.names.bucket, Key=key, Body=body)
        return self._upload(str(path), key, response)

    def upload_bytes(self, data: bytes, key: str) -> Upload:
        """Put ``data`` at ``key`` (tests and generated files)."""
        response = self.s3.put_object(Bucket=self.names.bucket, Key=key, Body=data)
        return self._upload(f"s3://{self.names.bucket}/{key}", key, response)

    @property
    def dead_letter_queue_arn(self) -> str:
        return self._queue_arn(self.dlq_url)

    def move_dead_letters(self) -> int:
        """What SQS's StartMessageMoveTask does: the DLQ's messages back to their queue."""
        moved = 0
        for message in self._receive_dead_letters():
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=message["Body"])
            self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
        return moved

    def dead_letters(self) -> list[dict[str, Any]]:
        """The messages the queue gave up on (received MAX_RECEIVE_COUNT times)."""
        return list(self._receive_dead_letters())

    def _receive_dead_letters(self) -> Iterator[dict[str, Any]]:
        """Every message in the DLQ once: each stays hidden for 30 s after it is received."""
        while batch := self.sqs.receive_message(
            QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=30
        ).get("Messages", []):
            yield from batch

    def _upload(self, file: str, key: str, response: dict[str, Any]) -> Upload:
        source = SourceObject(
            bucket=self.names.bucket,
            key=key,
            version_id=response.get("VersionId"),
            etag=str(response.get("ETag", "")).strip('"'),
        )
        return Upload(file=file, source=source)

    def _find_executions(self, uploads: list[Upload]) -> None:
        """Match uploads to the executions the starter started, by key and ETag.

        moto's S3 notifications omit versionId, so the execution name cannot be
        computed ahead as it could be in AWS; the execution's input says which it is.
        """
        wanted = {(u.source.key, u.source.etag): u for u in uploads if not u.execution_arn}
        if not wanted:
            return
        paginator = self.sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.state_machine_arn):
            for execution in page["executions"]:
                arn = execution["executionArn"]
                if arn in self._inputs:
                    source = self._inputs[arn]
                else:
                    described = self.sfn.describe_execution(executionArn=arn)
                    source = json.loads(described["input"])["source"]
                    self._inputs[arn] = source
                upload = wanted.get((source["key"], source.get("etag")))
                if upload is not None:
                    upload.execution_arn = arn
                    upload.source = SourceObject.from_dict(source)

    def pump(self, *, max_rounds: int = 100) -> int:
        """Deliver queued messages to the starter in batches, as Lambda's SQS poller does.

        Messages the starter reports as failed stay in the queue; after
        MAX_RECEIVE_COUNT receives SQS moves them to the dead-letter queue.
        """
        delivered = 0
        for _ in range(max_rounds):
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return delivered
            failed = self._invoke_starter(messages)
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )
            delivered += len(done)
        return delivered

    def _invoke_starter(self, messages: list[dict[str, Any]]) -> set[str]:
        queue_arn = self._queue_arn(self.queue_url)
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue_arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }
        response = self.lam.invoke(
            FunctionName=self.function_arns["starter"], Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            return {m["MessageId"] for m in messages}
        return {item["itemIdentifier"] for item in payload.get("batchItemFailures", [])}

    def wait(
        self,
        uploads: list[Upload],
        *,
        timeout: float = 3600,
        on_state: Callable[[Upload, str], None] | None = None,
    ) -> list[ExecutionResult]:
        """Wait for each upload's execution to finish, reporting state changes."""
        deadline = time.monotonic() + timeout
        results: dict[str, ExecutionResult] = {}
        shown: dict[str, str] = {}
        while len(results) < len(uploads):
            self._find_executions(uploads)
            # One listing per round for every status: describing each unfinished execution
            # every 50 ms is, in a burst, hundreds of calls into moto beside the functions.
            statuses = self._statuses()
            for upload in uploads:
                if not upload.execution_arn or upload.execution_arn in results:
                    continue
                if on_state is not None and upload.execution_arn in statuses:
                    state = self.current_state(upload.execution_arn)
                    if state and shown.get(upload.execution_arn) != state:
                        shown[upload.execution_arn] = state
                        on_state(upload, state)
                if statuses.get(upload.execution_arn) in FINISHED:
                    described = self._describe(upload.execution_arn)
                    if described is not None and described["status"] in FINISHED:
                        results[upload.execution_arn] = _result(upload, described)
            if time.monotonic() > deadline:
                raise TimeoutError("executions did not finish in time")
            if len(results) < len(uploads):
                time.sleep(0.05)
        return [results[u.execution_arn] for u in uploads]

    def redrive(self, execution_arn: str, *, timeout: float = 3600) -> ExecutionResult:
        """RedriveExecution, which moto lacks: resume at the failed state, same ARN."""
        from csvflow.local.redrive import redrive_execution

        redrive_execution(execution_arn)  # the execution is RUNNING again when this returns
        described = self.sfn.describe_execution(executionArn=execution_arn)
        source = SourceObject.from_dict(json.loads(described["input"])["source"])
        upload = Upload(file=source.key, source=source, execution_arn=execution_arn)
        (result,) = self.wait([upload], timeout=timeout)
        return result

    def _statuses(self) -> dict[str, str]:
        pages = self.sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.state_machine_arn, PaginationConfig={"PageSize": 1000}
        )
        return {e["executionArn"]: e["status"] for page in pages for e in page["executions"]}

    def _describe(self, arn: str) -> dict[str, Any] | None:
        try:
            described: dict[str, Any] = self.sfn.describe_execution(executionArn=arn)
            return described
        except self.sfn.exceptions.ExecutionDoesNotExist:
            return None

    def current_state(self, arn: str) -> str | None:
        events = self.history(arn)
        for event in reversed(events):
            details = event.get("stateEnteredEventDetails")
            if details:
                return str(details["name"])
        return None

    def history(self, arn: str) -> list[dict[str, Any]]:
        return execution_history(self.sfn, arn)

    def run(
        self,
        paths: list[Path],
        *,
        dataset: str | None = None,
        on_state: Callable[[Upload, str], None] | None = None,
        on_upload_progress: Callable[[Path, int, int], None] | None = None,
    ) -> list[ExecutionResult]:
        uploads = [
            self.upload(
                path,
                dataset=dataset,
                on_progress=(
                    partial(on_upload_progress, path) if on_upload_progress is not None else None
                ),
            )
            for path in paths
        ]
        self.pump()
        return self.wait(uploads, on_state=on_state)


class CloudWatchLogsSink:
    """Puts each invocation's log where Lambda does: group /aws/lambda/<function>, a
    stream per invocation, so `aws logs` against `csvflow local serve` reads them."""

    def __init__(self, logs: Any) -> None:
        self._logs = logs
        self._groups: set[str] = set()

    def __call__(self, log: InvocationLog) -> None:
        group = f"/aws/lambda/{log.function_name}"
        if group not in self._groups:
            try:
                self._logs.create_log_group(logGroupName=group)
            except self._logs.exceptions.ResourceAlreadyExistsException:
                pass
            self._groups.add(group)
        today = dt.datetime.now(tz=dt.UTC)
        stream = f"{today:%Y/%m/%d}/[$LATEST]{log.request_id.replace('-', '')}"
        self._logs.create_log_stream(logGroupName=group, logStreamName=stream)
        millis = int(today.timestamp() * 1000)
        self._logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": millis, "message": line} for line in log.lines],
        )


@contextmanager
def _integrity_checks_left_to_real_s3() -> Iterator[None]:
    """Send and read S3 bodies plainly, without botocore's default CRC32 trailers.

    botocore (1.36+) streams every upload as aws-chunked with a CRC32 trailer, which moto
    decodes in Python: 300 MB took over a minute to upload, and the functions' Parquet as long
    again. Real S3 checks those checksums; the emulator has nothing to check them against.
    Set for the clients that the runtime and the functions create while it runs.
    """
    variables = ("AWS_REQUEST_CHECKSUM_CALCULATION", "AWS_RESPONSE_CHECKSUM_VALIDATION")
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(dict.fromkeys(variables, "when_required"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _ReportingReader:
    """A file whose reads report the bytes read so far: an upload's progress."""

    def __init__(self, file: BinaryIO, size: int, report: Callable[[int, int], None]) -> None:
        self._file, self._size, self._report = file, size, report

    def read(self, size: int = -1) -> bytes:
        chunk = self._file.read(size)
        self._report(self._file.tell(), self._size)
        return chunk

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def _result(upload: Upload, described: dict[str, Any]) -> ExecutionResult:
    output = json.loads(described.get("output") or "{}")
    return ExecutionResult(
        upload=upload,
        status=described["status"],
        output=output,
        error=described.get("error"),
        cause=described.get("cause"),
    )


def iter_states(history: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """(event type, state name) pairs of an execution history, for display and tests."""
    for event in history:
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            if key in event:
                yield event["type"], event[key]["name"]
