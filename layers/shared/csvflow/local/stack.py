"""Building the emulated stack: bucket, topic, queue, DLQ, functions, state machine.

The resources are wired as the IaC wires them: S3 notification -> SNS -> SQS (with its DLQ)
-> the starter function -> Step Functions, running the real ASL with the real handlers.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2.extensions

import csvflow
from csvflow.exceptions import ConfigurationError

REGION = "us-east-1"
FUNCTIONS = ("starter", "validate", "summarize", "persist", "migrate")
APPLICATION_ROLE = "csvflow_app"
MAX_RECEIVE_COUNT = 3
UPLOAD_PREFIX = "incoming/"
# The functions move whole objects in one request here: moto reads an object whole for each
# ranged GET and copies the parts again to complete a multipart upload (ADR 0016).
WHOLE_OBJECTS = {"CSVFLOW_S3_MULTIPART_BYTES": str(5 << 30)}  # S3's largest single PUT


@dataclass(frozen=True)
class StackNames:
    """Names of the emulated resources (the IaC's defaults)."""

    bucket: str = "csvflow-local"
    topic: str = "csvflow-uploads"
    queue: str = "csvflow-starter"
    dead_letter_queue: str = "csvflow-starter-dlq"
    state_machine: str = "csvflow-ingest"
    prefix: str = "csvflow-"


@dataclass
class Stack:
    """What building the stack created: the addresses the rest of the runtime works with."""

    queue_url: str = ""
    dlq_url: str = ""
    state_machine_arn: str = ""
    function_arns: dict[str, str] = field(default_factory=dict)
    # The persist function's login (the application role), created with the stack.
    application_secret_arn: str | None = None


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


def queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    arn: str = attributes["Attributes"]["QueueArn"]
    return arn


def build_stack(session: Any, names: StackNames, root: Path, database_url: str) -> Stack:
    """Create every resource in the (emulated) account ``session`` talks to."""
    stack = Stack()
    s3, sqs, sns, iam = (session.client(s) for s in ("s3", "sqs", "sns", "iam"))
    s3.create_bucket(Bucket=names.bucket)
    s3.put_bucket_versioning(Bucket=names.bucket, VersioningConfiguration={"Status": "Enabled"})
    topic_arn = sns.create_topic(Name=names.topic)["TopicArn"]
    stack.dlq_url = sqs.create_queue(QueueName=names.dead_letter_queue)["QueueUrl"]
    stack.queue_url = sqs.create_queue(
        QueueName=names.queue,
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": queue_arn(sqs, stack.dlq_url),
                    "maxReceiveCount": MAX_RECEIVE_COUNT,
                }
            ),
        },
    )["QueueUrl"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn(sqs, stack.queue_url))
    s3.put_bucket_notification_configuration(
        Bucket=names.bucket,
        NotificationConfiguration={
            "TopicConfigurations": [
                {
                    "TopicArn": topic_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": UPLOAD_PREFIX}]}
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
    stack.state_machine_arn = (
        f"arn:aws:states:{REGION}:{account}:stateMachine:{names.state_machine}"
    )
    # As deployed: persist logs in as the application's role with its own secret; the
    # migration step, as the owner, creates the schema and that role before any upload.
    stack.application_secret_arn = application_secret = session.client(
        "secretsmanager"
    ).create_secret(
        Name=f"{names.prefix}application-database",
        SecretString=json.dumps(
            {"username": APPLICATION_ROLE, "password": secrets.token_urlsafe(30)}
        ),
    )["ARN"]
    sslmode = psycopg2.extensions.parse_dsn(database_url).get("sslmode", "prefer")
    environments = {
        "starter": {
            "CSVFLOW_STATE_MACHINE_ARN": stack.state_machine_arn,
            "CSVFLOW_BUCKET": names.bucket,
        },
        # Locally someone watches the terminal: validation's progress every second (AWS: 10 s),
        # unless the variable says otherwise where csvflow runs.
        "validate": {
            "CSVFLOW_PROGRESS_LOG_SECONDS": os.environ.get("CSVFLOW_PROGRESS_LOG_SECONDS", "1")
        }
        | WHOLE_OBJECTS,
        "summarize": WHOLE_OBJECTS,
        "persist": {"CSVFLOW_DB_SECRET_ARN": application_secret, "CSVFLOW_DB_SSLMODE": sslmode}
        | WHOLE_OBJECTS,
        "migrate": {"DATABASE_URL": database_url, "CSVFLOW_DB_SECRET_ARN": application_secret},
    }
    lam = session.client("lambda")
    for name in FUNCTIONS:
        stack.function_arns[name] = lam.create_function(
            FunctionName=f"{names.prefix}{name}",
            Runtime="python3.12",
            Role=role_arn,
            Handler="app.lambda_handler",
            Code={"ZipFile": function_zip(root / "functions" / name)},
            Timeout=900,
            MemorySize=2048,
            Environment={"Variables": environments.get(name, {})},
        )["FunctionArn"]
    definition = render_definition(
        (root / "statemachine" / "ingest.asl.json").read_text(encoding="utf-8"),
        {
            "ValidateFunctionArn": stack.function_arns["validate"],
            "SummarizeFunctionArn": stack.function_arns["summarize"],
            "PersistFunctionArn": stack.function_arns["persist"],
        },
    )
    session.client("stepfunctions").create_state_machine(
        name=names.state_machine, definition=definition, roleArn=role_arn, type="STANDARD"
    )
    return stack
