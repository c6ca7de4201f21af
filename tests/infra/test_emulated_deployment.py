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
- moto's CloudFormation has no AWS::SecretsManager::Secret either, and a reference to a
  skipped resource is empty: the harness creates each such secret in moto's Secrets
  Manager as CloudFormation would (GenerateSecretString) and puts its ARN in the template.
- moto invokes a custom resource's function (the DatabaseMigration step, run here by the
  in-process runner) but tells it to reply to a moto server at host.docker.internal,
  which the in-process mock does not run: the harness listens for that reply itself
  and hands it to moto's CloudFormation backend, which then completes the stack. moto
  puts its model object, not an id, where a custom resource's property refers to a layer
  version (the migration step's trigger) or a security group ingress rule (its ordering):
  the harness names the resource there.
"""

from __future__ import annotations

import json
import re
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import botocore.client
import botocore.session
import pytest
from moto import mock_aws
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.local.lambda_runner import InProcessLambdaRunner
from csvflow.local.stack import function_zip
from tests.support.flaky_proxy import FlakyProxy
from tests.support.iac import ROOT, load_template, load_terraform, unwrap
from tests.support.managed_layer import load_managed_layer

pytestmark = [pytest.mark.infra, pytest.mark.slow]  # a whole stack created in moto
REGION = "eu-west-2"
NAME = "csvflow"
PANDAS_LAYER = load_managed_layer().arn


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
    create_secrets(session, template)
    objects = {
        name: kind
        for name, r in template["Resources"].items()
        if (kind := r["Type"]) in _REFS_MOTO_RESOLVES_TO_OBJECTS
    }
    for resource in template["Resources"].values():
        if resource["Type"].startswith("Custom::"):
            resource["Properties"] = _named(resource["Properties"], objects)
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if (
            resource["Type"] == "AWS::StepFunctions::StateMachine"
            and "DefinitionSubstitutions" in properties
        ):
            text = "\n".join(properties["DefinitionString"]["Fn::Join"][1])
            properties["DefinitionString"] = fold(text, properties.pop("DefinitionSubstitutions"))
    return template


# moto's Ref of these is its model object, which a custom resource's properties cannot carry.
_REFS_MOTO_RESOLVES_TO_OBJECTS = {"AWS::Lambda::LayerVersion", "AWS::EC2::SecurityGroupIngress"}


def _named(node, objects: dict[str, str]):
    """``node`` with each Ref to one of ``objects`` replaced by a string naming it."""
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in objects:
            return f"{objects[node['Ref']]} {node['Ref']}"
        return {key: _named(value, objects) for key, value in node.items()}
    if isinstance(node, list):
        return [_named(item, objects) for item in node]
    return node


def create_secrets(session, template: dict) -> None:
    """What CloudFormation does for AWS::SecretsManager::Secret, which moto's lacks."""
    client = session.client("secretsmanager")
    arns = {}
    for name, resource in list(template["Resources"].items()):
        if resource["Type"] != "AWS::SecretsManager::Secret":
            continue
        properties = template["Resources"].pop(name)["Properties"]
        generate = properties["GenerateSecretString"]
        password = client.get_random_password(
            PasswordLength=generate["PasswordLength"],
            ExcludePunctuation=generate["ExcludePunctuation"],
        )["RandomPassword"]
        secret = json.loads(generate["SecretStringTemplate"]) | {
            generate["GenerateStringKey"]: password
        }
        secret_name = properties["Name"]["Fn::Sub"].replace("${NamePrefix}", NAME)
        arns[name] = client.create_secret(Name=secret_name, SecretString=json.dumps(secret))["ARN"]
    for section in ("Resources", "Outputs"):
        template[section] = _replace_refs(template.get(section, {}), arns)


def _replace_refs(node, arns: dict):
    if isinstance(node, dict):
        if set(node) == {"Ref"} and node["Ref"] in arns:
            return arns[node["Ref"]]
        return {key: _replace_refs(value, arns) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_refs(item, arns) for item in node]
    return node


class CustomResourceReplies:
    """Where moto tells a custom resource's function to reply: handed to moto's backend."""

    def __init__(self, account: str) -> None:
        self.replies: list[dict] = []
        replies = self.replies

        class Listener(BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802 (http.server's naming)
                from moto.cloudformation.models import cloudformation_backends

                reply = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                replies.append(reply)
                if reply["Status"] == "SUCCESS":  # moto's own handler does just this
                    stack_id = parse_qs(urlsplit(self.path).query)["stack"][0]
                    stack = cloudformation_backends[account][REGION].get_stack(stack_id)
                    stack.get_custom_resource(reply["LogicalResourceId"]).set_data(reply["Data"])
                    stack.verify_readiness()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def wait_for_the_stack(cloudformation, replies: CustomResourceReplies) -> dict:
    deadline = time.monotonic() + 120
    while True:
        stack = cloudformation.describe_stacks(StackName=f"{NAME}-dev")["Stacks"][0]
        failed = [r for r in replies.replies if r["Status"] != "SUCCESS"]
        assert not failed, failed
        if stack["StackStatus"] != "CREATE_IN_PROGRESS":
            return stack
        assert time.monotonic() < deadline, "the stack waits for a custom resource's reply"
        time.sleep(0.1)


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
    undelivered = sqs.create_queue(QueueName=f"{NAME}-uploads-undelivered")["QueueUrl"]
    undelivered_arn = sqs.get_queue_attributes(QueueUrl=undelivered, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={
            "RawMessageDelivery": "true",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": undelivered_arn}),
        },
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
        for step in (
            "starter",
            "validate",
            "validate-part",
            "summarize",
            "persist",
            "migrate",
            "ingest",
        )
    }
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{zone}"
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate("ab")
    ]
    route_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=route_table, SubnetId=subnet)
    published = {
        "bucket-name": bucket,
        "kms-key-arn": key_arn,
        "queue-arn": queue_arn,
        "dead-letter-queue-name": f"{NAME}-starter-dlq",
        "starter-role-arn": roles["starter"]["Arn"],
        "validate-role-arn": roles["validate"]["Arn"],
        "validate-part-role-arn": roles["validate-part"]["Arn"],
        "summarize-role-arn": roles["summarize"]["Arn"],
        "persist-role-arn": roles["persist"]["Arn"],
        "persist-role-name": roles["persist"]["RoleName"],
        "migrate-role-arn": roles["migrate"]["Arn"],
        "migrate-role-name": roles["migrate"]["RoleName"],
        "state-machine-role-arn": roles["ingest"]["Arn"],
        "incoming-prefix": "incoming/",
        "vpc-id": vpc,
        "topic-name": f"{NAME}-uploads",
        "undelivered-queue-name": f"{NAME}-uploads-undelivered",
        "alarm-topic-arn": session.client("sns").create_topic(Name=f"{NAME}-alarms")["TopicArn"],
    }
    for key, value in published.items():
        ssm.put_parameter(Name=f"/{NAME}/{key}", Value=value, Type="String")
    for key, values in (
        ("private-subnet-ids", subnets),
        ("private-route-table-ids", [route_table]),
    ):
        ssm.put_parameter(Name=f"/{NAME}/{key}", Value=",".join(values), Type="StringList")
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


def existing_database(session, database_url: str, vpc: str) -> tuple[str, str]:
    """The test database as an "existing database": its secret, in the RDS secret format
    (a host name and a TCP port: ``database_url`` must not name a Unix socket), and its
    security group."""
    parts = urlsplit(database_url)
    secret = {
        "username": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "host": parts.hostname,
        "port": parts.port or 5432,
        "dbname": parts.path.lstrip("/"),
    }
    client = session.client("secretsmanager")
    arn = client.create_secret(Name="csvflow/existing-db", SecretString=json.dumps(secret))["ARN"]
    group = session.client("ec2").create_security_group(
        GroupName="existing-database", Description="the team's PostgreSQL", VpcId=vpc
    )["GroupId"]
    return arn, group


def record_calls(monkeypatch) -> list[tuple[str, str]]:
    """(function, service endpoint prefix) of every AWS call made by a client that a function
    created. The in-process runner runs a function's code on the invoking thread, so a client
    created there while it runs is that function's, whichever thread later uses it (S3's
    transfers run on a pool); os.environ would also name the function to the test's own calls."""
    calls: list[tuple[str, str]] = []
    running: dict[int, str] = {}
    owners: dict[int, str] = {}  # id(client) -> the function that created it
    invoke = InProcessLambdaRunner.invoke
    create_client = botocore.session.Session.create_client
    make_api_call = botocore.client.BaseClient._make_api_call

    def invoking(runner, function, *args, **kwargs):
        running[threading.get_ident()] = function.function_name
        try:
            return invoke(runner, function, *args, **kwargs)
        finally:
            running.pop(threading.get_ident(), None)

    def creating(session, *args, **kwargs):
        client = create_client(session, *args, **kwargs)
        if threading.get_ident() in running:
            owners[id(client)] = running[threading.get_ident()]
        return client

    def recorded(client, operation, params):
        if id(client) in owners:
            calls.append((owners[id(client)], client.meta.service_model.endpoint_prefix))
        return make_api_call(client, operation, params)

    monkeypatch.setattr(InProcessLambdaRunner, "invoke", invoking)
    monkeypatch.setattr(botocore.session.Session, "create_client", creating)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
    return calls


@pytest.fixture(scope="module")
def database_endpoint(database_url):
    """The test database at a host and a TCP port, as the functions reach RDS: the embedded
    server listens on a Unix socket only, so a proxy on 127.0.0.1 stands in front of it."""
    with FlakyProxy(database_url, drop_first=0) as proxy:
        yield proxy.url


@pytest.fixture(scope="module")
def stack(database_endpoint, monkeypatch_module):
    monkeypatch_module.setenv("AWS_DEFAULT_REGION", REGION)
    calls = record_calls(monkeypatch_module)
    replies = CustomResourceReplies(account="123456789012")
    monkeypatch_module.setattr("moto.settings.moto_server_host", lambda: "http://127.0.0.1")
    monkeypatch_module.setenv("MOTO_PORT", str(replies.port))
    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        InProcessLambdaRunner().installed() as runner,
    ):
        session = boto3.session.Session(region_name=REGION)
        published = terraform_equivalent(session, database_endpoint)
        template = package(session, load_template())
        cloudformation = session.client("cloudformation")
        secret, database_group = existing_database(session, database_endpoint, published["vpc-id"])
        parameters = {
            "PandasLayerArn": PANDAS_LAYER,
            "ExistingDatabaseSecretArn": secret,
            "ExistingDatabaseSecurityGroupId": database_group,
            "ExistingDatabaseHost": "",
            "DatabaseSslMode": "disable",
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
        described = wait_for_the_stack(cloudformation, replies)
        move_state_machines_to_the_executing_backend(session)
        yield {
            "session": session,
            "stack": described,
            "published": published,
            "runner": runner,
            "skipped": {str(w.message) for w in skipped},
            "replies": replies.replies,
            "template": template,
            "calls": calls,
            "resources": cloudformation.list_stack_resources(StackName=f"{NAME}-dev")[
                "StackResourceSummaries"
            ],
        }
    replies.close()


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
        f"{NAME}-{s}"
        for s in ("starter", "validate", "validate-part", "summarize", "persist", "migrate")
    }
    assert functions[f"{NAME}-validate"]["Timeout"] == 900
    part = functions[f"{NAME}-validate-part"]
    assert (part["MemorySize"], part["Role"]) == (
        1769,
        stack["published"]["validate-part-role-arn"],
    )
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


def test_the_deploy_ran_the_migration_step_and_persist_logs_in_as_the_application(stack):
    (reply,) = stack["replies"]
    assert reply["Status"] == "SUCCESS", reply.get("Reason")
    assert reply["Data"]["application_role"] == "csvflow_app"
    session = stack["session"]
    functions = session.client("lambda")
    persist = functions.get_function_configuration(FunctionName=f"{NAME}-persist")
    migrate = functions.get_function_configuration(FunctionName=f"{NAME}-migrate")
    application = persist["Environment"]["Variables"]["CSVFLOW_DB_SECRET_ARN"]
    assert migrate["Environment"]["Variables"]["CSVFLOW_DB_SECRET_ARN"] == application
    owner = migrate["Environment"]["Variables"]["CSVFLOW_DB_ADMIN_SECRET_ARN"]
    assert owner != application
    assert "CSVFLOW_DB_ADMIN_SECRET_ARN" not in persist["Environment"]["Variables"]
    secret = json.loads(
        session.client("secretsmanager").get_secret_value(SecretId=application)["SecretString"]
    )
    assert secret["username"] == "csvflow_app"
    assert secret["host"]  # written by the migration step: the generated secret had none


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


@pytest.fixture(scope="module")
def persisted(stack):
    """One CSV uploaded to the stack's bucket, and its finished execution."""
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
    return key, execution


def test_a_csv_uploaded_to_the_stack_bucket_is_persisted(stack, persisted, database_url):
    key, execution = persisted
    sfn = stack["session"].client("stepfunctions")
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
        f"{NAME}-migrate",  # the deploy step, at stack creation
        f"{NAME}-starter",
        f"{NAME}-validate",
        f"{NAME}-summarize",
        f"{NAME}-persist",
    ]


def test_the_terraform_parameters_are_the_ones_the_harness_published(stack):
    terraform = load_terraform()
    assert set(unwrap(terraform.locals["sam_parameters"])) == set(stack["published"])


def test_the_vpc_function_reaches_every_service_it_calls(stack, persisted):
    """In its private subnets the persist function reaches AWS only through the endpoints the
    stack creates (no NAT gateway is assumed): each service it called here has one. Logs
    (stdout) and X-Ray segments (UDP to Lambda's own daemon) leave through Lambda, not the VPC."""
    functions = stack["session"].client("lambda").list_functions()["Functions"]
    in_vpc = {f["FunctionName"] for f in functions if f.get("VpcConfig", {}).get("SubnetIds")}
    assert f"{NAME}-persist" in in_vpc
    called = {service for function, service in stack["calls"] if function in in_vpc}
    assert called >= {"s3", "secretsmanager"}
    endpoints = {
        resource["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1]
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::EC2::VPCEndpoint"
    }
    assert called <= endpoints


def test_the_endpoints_are_created_on_the_published_network(stack):
    """With the default parameters: S3's gateway on the route tables Terraform published,
    Secrets Manager's interface (private DNS) in the subnets it published."""
    session = stack["session"]
    ssm = session.client("ssm")
    published = {
        key: ssm.get_parameter(Name=f"/{NAME}/{key}")["Parameter"]["Value"].split(",")
        for key in ("private-route-table-ids", "private-subnet-ids")
    }
    endpoints = {
        e["ServiceName"].rsplit(".", 1)[1]: e
        for e in session.client("ec2").describe_vpc_endpoints()["VpcEndpoints"]
    }
    assert set(endpoints) == {"s3", "secretsmanager"}
    s3, secrets = endpoints["s3"], endpoints["secretsmanager"]
    assert (s3["VpcEndpointType"], s3["RouteTableIds"]) == (
        "Gateway",
        published["private-route-table-ids"],
    )
    assert (secrets["VpcEndpointType"], secrets["PrivateDnsEnabled"]) == ("Interface", True)
    assert sorted(secrets["SubnetIds"]) == sorted(published["private-subnet-ids"])


def test_no_function_reserves_concurrency_with_the_default_parameters(stack):
    client = stack["session"].client("lambda")
    for function in client.list_functions()["Functions"]:
        reserved = client.get_function_concurrency(FunctionName=function["FunctionName"])
        assert "ReservedConcurrentExecutions" not in reserved, function["FunctionName"]
