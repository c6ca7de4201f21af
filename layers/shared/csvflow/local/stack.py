"""Building the emulated stack: bucket, topic, queue, DLQ, functions, state machine.

The resources are wired as the IaC wires them: S3 notification -> SNS -> SQS (with its DLQ)
-> the starter function -> Step Functions, running the real ASL with the real handlers. The
functions are template.yaml's (sam_template.py): their names, handlers, timeouts, memory,
environment and reserved concurrency, resolved against this account; the local database is,
to the template, an existing database whose owner's secret the stack creates.
"""

from __future__ import annotations

import getpass
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
from csvflow.local.sam_template import (
    FunctionDefinition,
    function_definitions,
    parameter_defaults,
    read_template,
    resolve,
)

REGION = "us-east-1"
# The functions' folders under functions/ (`csvflow logs FUNCTION`); a test holds them to the
# template's functions.
FUNCTIONS = ("starter", "validate", "validate-part", "summarize", "persist", "migrate")
APPLICATION_ROLE = "csvflow_app"
MAX_RECEIVE_COUNT = 3
UPLOAD_PREFIX = "incoming/"
STATE_MACHINE = "IngestStateMachine"  # the template's logical id
# The functions move whole objects in one request here: moto reads an object whole for each
# ranged GET and copies the parts again to complete a multipart upload (ADR 0016).
WHOLE_OBJECTS = {"CSVFLOW_S3_MULTIPART_BYTES": str(5 << 30)}  # S3's largest single PUT
# ...but read an upload in ranges: in this process any GET streams from the object's file
# (s3_ranges.py), but a function in a worker process or a container reads over HTTP, where moto
# holds a whole object in memory for a plain GET and a ranged GET reads only its range.
READ_IN_RANGES = {"CSVFLOW_S3_READ_RANGE_BYTES": str(64 << 20)}


SPLIT_VARIABLES = ("CSVFLOW_SPLIT_BYTES", "CSVFLOW_PART_BYTES", "CSVFLOW_PART_CONCURRENCY")


def local_variables(function: str) -> dict[str, str]:
    """What the local account adds to a function's environment from the template, on purpose
    (and only this: a test holds the rest to the template)."""
    # Locally someone watches the terminal: validation's progress every second (AWS: 10 s),
    # unless the variable says otherwise where csvflow runs.
    validating = {
        "CSVFLOW_PROGRESS_LOG_SECONDS": os.environ.get("CSVFLOW_PROGRESS_LOG_SECONDS", "1")
    }
    added = {
        "validate": validating | WHOLE_OBJECTS | READ_IN_RANGES,
        "validate-part": validating | WHOLE_OBJECTS | READ_IN_RANGES,
        "summarize": WHOLE_OBJECTS,
        "persist": WHOLE_OBJECTS,
        # Where a file is split (docs/adr/0018), as set where csvflow runs: to see the split
        # path on a small file (README: Big files).
        "starter": {name: os.environ[name] for name in SPLIT_VARIABLES if os.environ.get(name)},
    }
    return added.get(function, {})


@dataclass(frozen=True)
class StackNames:
    """Names of the emulated resources, after the stack's name prefix (template.yaml's
    NamePrefix; Terraform names the bucket, topic and queues after the same name)."""

    name_prefix: str

    @classmethod
    def from_template(cls, template: dict[str, Any]) -> StackNames:
        """The names a deployment with the template's default NamePrefix has."""
        return cls(parameter_defaults(template)["NamePrefix"])

    @property
    def prefix(self) -> str:
        """What every resource's name starts with."""
        return f"{self.name_prefix}-"

    @property
    def bucket(self) -> str:
        return f"{self.name_prefix}-local"

    @property
    def topic(self) -> str:
        return f"{self.name_prefix}-uploads"

    @property
    def queue(self) -> str:
        return f"{self.name_prefix}-starter"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name_prefix}-starter-dlq"


@dataclass
class Stack:
    """What building the stack created: the addresses the rest of the runtime works with."""

    queue_url: str = ""
    dlq_url: str = ""
    state_machine_arn: str = ""
    function_arns: dict[str, str] = field(default_factory=dict)
    # Every variable a function's environment declares (the runner provides them all).
    function_variables: set[str] = field(default_factory=set)
    # The persist function's login (the application role), created with the stack.
    application_secret_arn: str | None = None


def project_root() -> Path:
    """The source checkout the package was installed from (functions/ and statemachine/)."""
    root = Path(csvflow.__file__).resolve().parents[3]
    if not all((root / part).exists() for part in ("statemachine", "functions", TEMPLATE)):
        raise ConfigurationError(
            f"the local runtime needs the project's functions/, statemachine/ and {TEMPLATE}: "
            "install csvflow from a source checkout with `pip install -e .`"
        )
    return root


TEMPLATE = "template.yaml"


def local_parameters(names: StackNames, database_url: str, owner_secret_arn: str) -> dict[str, str]:
    """The template's parameters in the local account: Terraform's outputs (the bucket, the
    upload prefix) and the local database, as an existing one."""
    login = psycopg2.extensions.parse_dsn(database_url)
    return {
        "NamePrefix": names.name_prefix,
        "BucketName": names.bucket,
        "IncomingPrefix": UPLOAD_PREFIX,
        "ExistingDatabaseSecretArn": owner_secret_arn,
        "ExistingDatabaseHost": login.get("host", ""),
        "DatabaseName": login.get("dbname", ""),
        "DatabaseSslMode": login.get("sslmode", "prefer"),
    }


def owner_login(database_url: str) -> dict[str, Any]:
    """DATABASE_URL as the secret RDS keeps for the owner (username, password, endpoint)."""
    login = psycopg2.extensions.parse_dsn(database_url)
    secret: dict[str, Any] = {
        "username": login.get("user") or getpass.getuser(),  # libpq's default user
        "password": login.get("password", ""),
    }
    for key in ("host", "port", "dbname"):
        if login.get(key):
            secret[key] = login[key]
    return secret


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
    template = read_template(root / TEMPLATE)
    # As deployed: persist logs in as the application's role with its own secret; the
    # migration step, as the owner (with the owner's secret, as RDS keeps one), creates the
    # schema and that role before any upload.
    secrets_manager = session.client("secretsmanager")
    stack.application_secret_arn = application_secret = secrets_manager.create_secret(
        Name=f"{names.prefix}application-database",
        SecretString=json.dumps(
            {"username": APPLICATION_ROLE, "password": secrets.token_urlsafe(30)}
        ),
    )["ARN"]
    owner_secret = secrets_manager.create_secret(
        Name=f"{names.prefix}database-owner", SecretString=json.dumps(owner_login(database_url))
    )["ARN"]
    parameters = local_parameters(names, database_url, owner_secret)
    state_machine_name = resolve(
        template,
        template["Resources"][STATE_MACHINE]["Properties"]["Name"],
        parameters=parameters,
        resources={},
    )
    stack.state_machine_arn = f"arn:aws:states:{REGION}:{account}:stateMachine:{state_machine_name}"
    definitions = function_definitions(
        template,
        parameters=parameters,
        resources={
            STATE_MACHINE: stack.state_machine_arn,
            "ApplicationDatabaseSecret": application_secret,
        },
    )
    lam = session.client("lambda")
    for function in definitions.values():
        folder = root / function.code_uri
        environment = function.environment | local_variables(folder.name)
        stack.function_variables |= set(environment)
        stack.function_arns[folder.name] = _create_function(
            lam, function, environment, folder, role_arn
        )
    definition = render_definition(
        (root / "statemachine" / "ingest.asl.json").read_text(encoding="utf-8"),
        {
            "ValidateFunctionArn": stack.function_arns["validate"],
            "ValidatePartFunctionArn": stack.function_arns["validate-part"],
            "SummarizeFunctionArn": stack.function_arns["summarize"],
            "PersistFunctionArn": stack.function_arns["persist"],
            "BucketName": names.bucket,
        },
    )
    session.client("stepfunctions").create_state_machine(
        name=state_machine_name, definition=definition, roleArn=role_arn, type="STANDARD"
    )
    return stack


def _create_function(
    lam: Any, definition: FunctionDefinition, environment: dict[str, str], folder: Path, role: str
) -> str:
    arn: str = lam.create_function(
        FunctionName=definition.name,
        Runtime=definition.runtime,
        Role=role,
        Handler=definition.handler,
        Code={"ZipFile": function_zip(folder)},
        Timeout=definition.timeout,
        MemorySize=definition.memory_size,
        Environment={"Variables": environment},
    )["FunctionArn"]
    if definition.reserved_concurrency is not None:
        lam.put_function_concurrency(
            FunctionName=definition.name,
            ReservedConcurrentExecutions=definition.reserved_concurrency,
        )
    return arn
