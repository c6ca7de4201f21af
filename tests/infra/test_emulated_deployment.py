"""The SAM stack deployed into moto's CloudFormation, then one CSV pushed through it.

Terraform's part (bucket, topic, queues, key, roles, the SSM parameters) is created
here with boto3 as terraform/ declares it; terraform itself cannot run without its
AWS provider. Gaps in moto, worked around here and nowhere else:
- samtranslator needs S3 URIs for code, as `sam package` would upload: the function
  folders are zipped and uploaded first; the state machine definition is inlined.
- moto ignores DefinitionSubstitutions: they are folded into the definition (Fn::Join).
- moto's CloudFormation creates state machines in its plain Step Functions backend, not
  in the one that executes them: the harness re-creates them there, same name and ARN.
- moto's CloudFormation has no AWS::CloudWatch::Alarm or AWS::EC2::SecurityGroupEgress:
  it skips them with a warning (cfn-lint, checkov and tests/infra/test_template.py
  check those), and runs no code: the in-process Lambda runner does.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from moto import mock_aws
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

from csvflow.adapters.postgres import PostgresSummaryQueries, connector
from csvflow.local.lambda_runner import InProcessLambdaRunner
from csvflow.local.runtime import function_zip
from tests.support.flaky_proxy import FlakyProxy
from tests.support.iac import ROOT, load_template, load_terraform, unwrap

pytestmark = [pytest.mark.infra, pytest.mark.slow]  # a whole stack created in moto
REGION = "eu-west-2"
NAME = "csvflow"
PANDAS_LAYER = "arn:aws:lambda:eu-west-2:336392948345:layer:AWSSDKPandas-Python312:16"


def package(session, sam_template: dict) -> dict:
    """What `sam package` does: code to S3, then the SAM -> CloudFormation transform."""
    s3 = session.client("s3")
    s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": REGION})
    for name, resource in sam_template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            s3.put_object(
                Bucket="artifacts", Key=name, Body=function_zip(ROOT / properties["CodeUri"])
            )
            properties["CodeUri"] = f"s3://artifacts/{name}"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            # The package is installed in this process; the layer's content is not run here.
            s3.put_object(
                Bucket="artifacts",
                Key=name,
                Body=function_zip(ROOT / "layers" / "shared" / "csvflow"),
            )
            properties["ContentUri"] = f"s3://artifacts/{name}"
        elif resource["Type"] == "AWS::Serverless::StateMachine":
            properties["Definition"] = json.loads(
                (ROOT / properties.pop("DefinitionUri")).read_text()
            )
    template = transform(sam_template, {}, ManagedPolicyLoader(session.client("iam")))
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if (
            resource["Type"] == "AWS::StepFunctions::StateMachine"
            and "DefinitionSubstitutions" in properties
        ):
            text = "\n".join(properties["DefinitionString"]["Fn::Join"][1])
            properties["DefinitionString"] = fold(text, properties.pop("DefinitionSubstitutions"))
    return template


def fold(text: str, substitutions: dict) -> dict:
    """${Name} -> its value, as an Fn::Join (moto's Fn::Sub would also turn $$ into $)."""
    parts = re.split(r"\$\{(\w+)\}", text)
    return {"Fn::Join": ["", [substitutions[p] if i % 2 else p for i, p in enumerate(parts)]]}


def terraform_equivalent(session, database_url: str) -> dict[str, str]:
    """Create what terraform/ creates; return the SSM parameters it publishes."""
    s3, sns, sqs = session.client("s3"), session.client("sns"), session.client("sqs")
    iam, ec2, ssm = session.client("iam"), session.client("ec2"), session.client("ssm")
    account = session.client("sts").get_caller_identity()["Account"]
    key_arn = session.client("kms").create_key()["KeyMetadata"]["Arn"]
    bucket = f"{NAME}-dev-{account}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    topic = sns.create_topic(Name=f"{NAME}-uploads")["TopicArn"]
    dlq = sqs.create_queue(QueueName=f"{NAME}-starter-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue = sqs.create_queue(
        QueueName=f"{NAME}-starter",
        Attributes={
            "VisibilityTimeout": "360",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "TopicConfigurations": [
                {
                    "TopicArn": topic,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}},
                }
            ]
        },
    )
    sqs.purge_queue(QueueUrl=queue)  # S3's s3:TestEvent, before the starter listens
    roles = {
        step: iam.create_role(RoleName=f"{NAME}-{step}", AssumeRolePolicyDocument="{}")["Role"]
        for step in ("starter", "validate", "summarize", "persist", "ingest")
    }
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{zone}"
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab")
    ]
    published = {
        "bucket-name": bucket,
        "kms-key-arn": key_arn,
        "queue-arn": queue_arn,
        "dead-letter-queue-name": f"{NAME}-starter-dlq",
        "starter-role-arn": roles["starter"]["Arn"],
        "validate-role-arn": roles["validate"]["Arn"],
        "summarize-role-arn": roles["summarize"]["Arn"],
        "persist-role-arn": roles["persist"]["Arn"],
        "persist-role-name": roles["persist"]["RoleName"],
        "state-machine-role-arn": roles["ingest"]["Arn"],
        "incoming-prefix": "incoming/",
        "vpc-id": vpc,
    }
    for key, value in published.items():
        ssm.put_parameter(Name=f"/{NAME}/{key}", Value=value, Type="String")
    ssm.put_parameter(
        Name=f"/{NAME}/private-subnet-ids", Value=",".join(subnets), Type="StringList"
    )
    return published


def move_state_machines_to_the_executing_backend(session) -> None:
    from moto.stepfunctions.models import stepfunctions_backends

    account = session.client("sts").get_caller_identity()["Account"]
    created = stepfunctions_backends[account][REGION]
    sfn = session.client("stepfunctions")
    for machine in list(created.state_machines):
        created.state_machines.remove(machine)
        sfn.create_state_machine(
            name=machine.name,
            definition=machine.definition,
            roleArn=machine.roleArn,
            type="STANDARD",
        )


def existing_database(session, database_url: str) -> str:
    """The test database as an "existing database" secret, in the RDS secret format
    (a host name and a TCP port: ``database_url`` must not name a Unix socket)."""
    parts = urlsplit(database_url)
    secret = {
        "username": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "host": parts.hostname,
        "port": parts.port or 5432,
        "dbname": parts.path.lstrip("/"),
    }
    client = session.client("secretsmanager")
    return client.create_secret(Name="csvflow/existing-db", SecretString=json.dumps(secret))["ARN"]


@pytest.fixture(scope="module")
def database_endpoint(database_url):
    """The test database at a host and a TCP port, as the functions reach RDS: the embedded
    server listens on a Unix socket only, so a proxy on 127.0.0.1 stands in front of it."""
    with FlakyProxy(database_url, drop_first=0) as proxy:
        yield proxy.url


@pytest.fixture(scope="module")
def stack(database_endpoint, monkeypatch_module):
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", REGION)
    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        InProcessLambdaRunner().installed() as runner,
    ):
        session = boto3.session.Session(region_name=REGION)
        published = terraform_equivalent(session, database_endpoint)
        template = package(session, load_template())
        cloudformation = session.client("cloudformation")
        parameters = {
            "PandasLayerArn": PANDAS_LAYER,
            "ExistingDatabaseSecretArn": existing_database(session, database_endpoint),
            "ExistingDatabaseHost": "",
            "DatabaseSslMode": "disable",
            "CreateSecretsManagerEndpoint": "false",
        }
        with warnings.catch_warnings(record=True) as skipped:
            warnings.simplefilter("always")
            cloudformation.create_stack(
                StackName=f"{NAME}-dev",
                TemplateBody=json.dumps(template),
                Parameters=[
                    {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()
                ],
                Capabilities=["CAPABILITY_IAM"],
            )
        described = cloudformation.describe_stacks(StackName=f"{NAME}-dev")["Stacks"][0]
        move_state_machines_to_the_executing_backend(session)
        yield {
            "session": session,
            "stack": described,
            "published": published,
            "runner": runner,
            "skipped": {str(w.message) for w in skipped},
            "template": template,
            "resources": cloudformation.list_stack_resources(StackName=f"{NAME}-dev")[
                "StackResourceSummaries"
            ],
        }


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_stack_is_created_with_its_resources(stack):
    assert stack["stack"]["StackStatus"] == "CREATE_COMPLETE"
    session = stack["session"]
    functions = {
        f["FunctionName"]: f for f in session.client("lambda").list_functions()["Functions"]
    }
    assert set(functions) == {
        f"{NAME}-{s}" for s in ("starter", "validate", "summarize", "persist")
    }
    assert functions[f"{NAME}-validate"]["Timeout"] == 900
    assert functions[f"{NAME}-persist"]["VpcConfig"]["SubnetIds"]
    assert functions[f"{NAME}-starter"]["Role"] == stack["published"]["starter-role-arn"]
    (mapping,) = session.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    assert mapping["EventSourceArn"] == stack["published"]["queue-arn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (machine,) = session.client("stepfunctions").list_state_machines()["stateMachines"]
    assert machine["name"] == f"{NAME}-ingest"
    groups = {g["logGroupName"] for g in session.client("logs").describe_log_groups()["logGroups"]}
    assert f"/aws/vendedlogs/states/{NAME}-ingest" in groups
    assert f"/aws/lambda/{NAME}-persist" in groups


def test_only_the_resources_moto_lacks_were_skipped(stack):
    lacking = {"AWS::CloudWatch::Alarm", "AWS::EC2::SecurityGroupEgress"}
    skipped = {
        m.split("parse ")[1].split(" but")[0] for m in stack["skipped"] if "not supported" in m
    }
    assert skipped <= lacking
    # (moto also lists the template's parameters, as entries without a type)
    created = {r["ResourceType"] for r in stack["resources"] if r["ResourceType"]}
    expected = {r["Type"] for r in stack["template"]["Resources"].values()} - lacking
    # conditional resources (the created database, endpoints) are off in this deployment
    assert (
        {
            "AWS::Lambda::Function",
            "AWS::StepFunctions::StateMachine",
            "AWS::Lambda::EventSourceMapping",
            "AWS::Lambda::LayerVersion",
            "AWS::Logs::LogGroup",
            "AWS::EC2::SecurityGroup",
        }
        <= created
        <= expected
    )


def test_a_csv_uploaded_to_the_stack_bucket_is_persisted(stack, database_url):
    session = stack["session"]
    bucket = stack["published"]["bucket-name"]
    key = "incoming/deployed/orders.csv"
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=b"id,amount\n1,2.5\n2,3.5\n3,\n")
    sfn = session.client("stepfunctions")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    deadline = time.monotonic() + 120
    while True:
        executions = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
        if executions and executions[0]["status"] != "RUNNING":
            break
        assert time.monotonic() < deadline, "no execution finished"
        time.sleep(0.1)
    (execution,) = executions
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert described["status"] == "SUCCEEDED", described.get("cause")
    summary = PostgresSummaryQueries(connector(database_url)).summary(key)
    assert (summary["status"], summary["rows"], summary["execution_arn"]) == (
        "SUCCEEDED",
        3,
        execution["executionArn"],
    )
    amount = {c["name"]: c for c in summary["columns"]}["amount"]
    assert (amount["nulls"], amount["mean"]) == (1, 3.0)
    assert [name for name, outcome in stack["runner"].invocations] == [
        f"{NAME}-starter",
        f"{NAME}-validate",
        f"{NAME}-summarize",
        f"{NAME}-persist",
    ]


def test_the_terraform_parameters_are_the_ones_the_harness_published(stack):
    terraform = load_terraform()
    assert set(unwrap(terraform.locals["sam_parameters"])) == set(stack["published"])
