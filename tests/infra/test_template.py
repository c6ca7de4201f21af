"""template.yaml, samconfig.toml, events/ and env.json: linted, scanned and held to the code."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import csvflow
from csvflow.commands import SummarizeDataset, ValidateCsv, persist_command
from csvflow.events import start_commands
from tests.support.iac import ROOT, TEMPLATE, TERRAFORM, deployment, load_template

pytestmark = pytest.mark.infra
TOOLS = Path(sys.executable).parent  # the linters are installed beside this Python
OFFLINE = {
    **os.environ,
    "SAM_CLI_TELEMETRY": "0",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "BC_SKIP_MAPPING": "TRUE",  # checkov: no download of the Bridgecrew mapping
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
}


def _run(*command):
    return subprocess.run(
        [str(TOOLS / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=OFFLINE,
        check=False,
        timeout=600,
    )


LAYER = "arn:aws:lambda:eu-west-2:336392948345:layer:AWSSDKPandas-Python312:16"
# Lambda keeps this much of the account's concurrency limit unreserved.
UNRESERVED_MINIMUM = 100
STEPS = (
    "StarterFunction",
    "ValidateFunction",
    "ValidatePartFunction",
    "SummarizeFunction",
    "PersistFunction",
)


@pytest.fixture(scope="module")
def template():
    return load_template()


def _functions(deployed):
    return {
        name: resource["Properties"]
        for name, resource in deployed.resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


@pytest.mark.slow
def test_sam_validate_lint_is_clean():
    result = _run("sam", "validate", "--lint", "--template-file", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_cfn_lint_is_clean():
    result = _run("cfn-lint", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "framework"), [(TEMPLATE, "cloudformation"), (TERRAFORM, "terraform")]
)
def test_checkov_finds_nothing_unexplained(target, framework):
    flag = "-f" if target.is_file() else "-d"
    result = _run(
        "checkov",
        flag,
        str(target),
        "--framework",
        framework,
        "--compact",
        "--quiet",
        "--skip-download",
        "-o",
        "json",
    )
    report = json.loads(result.stdout)
    summary = (report[0] if isinstance(report, list) else report)["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["failed"] == 0, result.stdout[:5000]
    assert summary["passed"] > 20


def test_every_checkov_skip_carries_a_reason(template):
    for path in TERRAFORM.glob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip=" in line:
                assert re.search(r"checkov:skip=CKV\w+: \S.{20,}", line), (path.name, line)
    for name, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 20, (name, skip)


def test_each_function_has_its_code_and_the_layer_its_requirements(template):
    for name, resource in template["Resources"].items():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::Serverless::Function":
            module, _ = template["Globals"]["Function"]["Handler"].split(".")
            assert (ROOT / properties["CodeUri"] / f"{module}.py").is_file(), name
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            assert (ROOT / properties["ContentUri"] / "requirements.txt").is_file()
            assert (ROOT / properties["ContentUri"] / "csvflow" / "__init__.py").is_file()


def test_every_function_logs_as_the_package_and_publishes_metrics_under_one_namespace(template):
    """The Powertools service is the package's root logger, so each module's records reach
    the function's JSON formatter and keys (docs/adr/0015); X-Ray is on for every function."""
    function_globals = template["Globals"]["Function"]
    variables = function_globals["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == csvflow.__name__
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == csvflow.__name__
    assert function_globals["Tracing"] == "Active"
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            own = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert not {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"} & set(own), name


def test_the_state_machine_is_standard_traced_and_logged(template):
    machine = template["Resources"]["IngestStateMachine"]["Properties"]
    assert machine["Type"] == "STANDARD"
    assert machine["Tracing"] == {"Enabled": True}
    assert machine["Logging"]["Level"] == "ALL"
    definition = (ROOT / machine["DefinitionUri"]).read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", definition))
    assert placeholders == set(machine["DefinitionSubstitutions"])


def test_the_starter_reports_partial_batch_failures(template):
    starter = template["Resources"]["StarterFunction"]["Properties"]
    (event,) = starter["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "Layers" not in starter  # no pandas layer: the starter stays small and starts fast


def test_alarms_watch_dead_letters_failed_executions_errors_and_throttles(template):
    watched = {
        metric["MetricStat"]["Metric"]["MetricName"] if "MetricStat" in metric else None
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for metric in resource["Properties"].get("Metrics", [])
    } | {
        resource["Properties"].get("MetricName")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert {
        "ApproximateNumberOfMessagesVisible",
        "ExecutionsFailed",
        "Errors",
        "Throttles",
        "NumberOfNotificationsFailedToRedriveToDlq",
    } <= watched


def test_every_alarm_notifies_the_alarms_topic_terraform_publishes(template):
    """An alarm without an action only changes colour in a console nobody is watching."""
    deployed = deployment(template, {"PandasLayerArn": LAYER})
    alarms = {
        name: resource["Properties"]
        for name, resource in deployed.resources.items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert len(alarms) >= 6
    for name, alarm in alarms.items():
        assert alarm.get("AlarmActions") == ["/csvflow/alarm-topic-arn"], name
    assert template["Parameters"]["AlarmTopicArn"]["Type"] == "AWS::SSM::Parameter::Value<String>"


def test_undelivered_upload_events_raise_an_alarm(template):
    """SNS's dead-letter queue (and SNS failing to reach even that) each have an alarm."""
    dimensions = {
        (resource["Properties"].get("MetricName"), dimension["Value"]["Ref"])
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
        for dimension in resource["Properties"].get("Dimensions", [])
    }
    assert ("ApproximateNumberOfMessagesVisible", "UndeliveredQueueName") in dimensions
    assert ("NumberOfNotificationsFailedToRedriveToDlq", "UploadTopicName") in dimensions


def test_no_function_reserves_concurrency_by_default(template):
    """A new account's limit (often 10) cannot leave Lambda its 100 unreserved executions."""
    functions = _functions(deployment(template, {"PandasLayerArn": LAYER}))
    assert set(STEPS) <= set(functions)
    for name, properties in functions.items():
        assert "ReservedConcurrentExecutions" not in properties, name


def test_reserved_concurrency_is_a_switch_and_the_docs_give_the_limit_it_needs(template):
    functions = _functions(
        deployment(template, {"PandasLayerArn": LAYER, "ReserveConcurrency": "true"})
    )
    reserved = {
        name: p["ReservedConcurrentExecutions"]
        for name, p in functions.items()
        if "ReservedConcurrentExecutions" in p
    }
    assert set(STEPS) <= set(reserved)
    assert all(isinstance(n, int) and n > 0 for n in reserved.values()), reserved
    guide = " ".join((ROOT / "docs" / "deploy.md").read_text().split())
    assert f"at least {sum(reserved.values()) + UNRESERVED_MINIMUM}" in guide
    # The starter's SQS poller may not run more instances than the function may have,
    # and SQS accepts no MaximumConcurrency below 2.
    (uploads,) = functions["StarterFunction"]["Events"].values()
    maximum = uploads["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    assert 2 <= maximum <= reserved["StarterFunction"]
    # A split file's parts run at most this many at a time: fewer than their function may
    # run, or the map's iterations are throttled (docs/adr/0018).
    starter = functions["StarterFunction"]["Environment"]["Variables"]
    assert 0 < int(starter["CSVFLOW_PART_CONCURRENCY"]) < reserved["ValidatePartFunction"]


def test_the_map_runs_its_parts_in_the_part_function_sized_for_one_vcpu(template):
    """The single path's validate keeps more than a core busy and a whole file waits on it; a
    part keeps about one busy, so it runs in its own function at one vCPU (docs/adr/0025)."""
    resources = template["Resources"]
    machine = resources["IngestStateMachine"]["Properties"]
    substitutions = machine["DefinitionSubstitutions"]
    assert substitutions["ValidatePartFunctionArn"] == {
        "Fn::GetAtt": ["ValidatePartFunction", "Arn"]
    }
    definition = json.loads((ROOT / machine["DefinitionUri"]).read_text())
    (mapped,) = [s for s in definition["States"].values() if s["Type"] == "Map"]
    tasks = mapped["ItemProcessor"]["States"].values()
    assert {t["Parameters"]["FunctionName"] for t in tasks if t["Type"] == "Task"} == {
        "${ValidatePartFunctionArn}"
    }
    part = resources["ValidatePartFunction"]["Properties"]
    validate = resources["ValidateFunction"]["Properties"]
    assert part["MemorySize"] == 1769  # "the equivalent of one vCPU"
    assert validate["MemorySize"] == 3008
    # validate's code, layers and limits, where a part needs them; logs of its own.
    assert part["Layers"] == validate["Layers"]
    assert part["Timeout"] == validate["Timeout"]
    assert part["EphemeralStorage"]["Size"] >= 2048
    assert part["Role"] == {"Ref": "ValidatePartRoleArn"}
    log_group = resources[part["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${NamePrefix}-validate-part"}
    # Both alarms on every function count the part function's errors and throttles.
    for alarm in ("FunctionErrorsAlarm", "FunctionThrottlesAlarm"):
        metrics = resources[alarm]["Properties"]["Metrics"]
        watched = {
            m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]: m["Id"]
            for m in metrics
            if "MetricStat" in m
        }
        assert set(STEPS) <= set(watched), alarm
        (total,) = [m["Expression"] for m in metrics if "Expression" in m]
        assert set(total.split(" + ")) == set(watched.values()), alarm


def test_the_persist_function_reaches_s3_with_default_parameters(template):
    """Without a route to S3 the persist function's reads hang until it times out."""
    deployed = deployment(template, {"PandasLayerArn": LAYER})
    endpoints = [
        r["Properties"]
        for r in deployed.resources.values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
        and r["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    (s3,) = endpoints
    assert s3["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}
    # the route tables come from Terraform, through SSM: never empty
    assert s3["RouteTableIds"] == "/csvflow/private-route-table-ids"
    assert template["Parameters"]["PrivateRouteTableIds"]["Type"].startswith(
        "AWS::SSM::Parameter::Value"
    )
    opted_out = deployment(template, {"PandasLayerArn": LAYER, "VpcHasS3GatewayEndpoint": "true"})
    assert "S3Endpoint" not in opted_out.resources


def test_an_existing_database_is_opened_to_persist_or_the_deploy_stops(template):
    existing = {
        "PandasLayerArn": LAYER,
        "ExistingDatabaseSecretArn": "arn:aws:secretsmanager:eu-west-2:123456789012:secret:db-AbCdEf",
        "ExistingDatabaseHost": "db.internal",
    }
    stopped = deployment(template, existing)
    (description,) = stopped.failed_rules.values()
    assert "ExistingDatabaseSecurityGroupId" in description

    opened = deployment(
        template, {**existing, "ExistingDatabaseSecurityGroupId": "sg-0123456789abcdef0"}
    )
    assert opened.failed_rules == {}
    egress = [
        r["Properties"]
        for r in opened.resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupEgress"
        and r["Properties"]["GroupId"] == {"Ref": "PersistSecurityGroup"}
    ]
    assert [(e["FromPort"], e["DestinationSecurityGroupId"]) for e in egress] == [
        (5432, "sg-0123456789abcdef0")
    ]
    ingress = [
        r["Properties"]
        for r in opened.resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
    ]
    assert [(i["GroupId"], i["SourceSecurityGroupId"]) for i in ingress] == [
        ("sg-0123456789abcdef0", {"Ref": "PersistSecurityGroup"})
    ]
    created = deployment(template, {"PandasLayerArn": LAYER})
    assert created.failed_rules == {}


def test_samconfig_has_two_environments_with_the_layer_for_their_region():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert {"default", "prod"} <= set(config)
    for environment in ("default", "prod"):
        region = config[environment]["global"]["parameters"]["region"]
        overrides = config[environment]["deploy"]["parameters"]["parameter_overrides"]
        layer = re.search(r"PandasLayerArn=(\S+)", overrides).group(1)
        assert layer.split(":")[3] == region
    prod = config["prod"]["deploy"]["parameters"]["parameter_overrides"]
    assert "DbMultiAz=true" in prod and "DbDeletionProtection=true" in prod


def test_the_local_events_are_what_the_functions_accept():
    events = ROOT / "events"
    (command,) = [
        c
        for record in json.loads((events / "starter.json").read_text())["Records"]
        for c in start_commands(record["body"], incoming_prefix="incoming/")
    ]
    assert command.source.key.startswith("incoming/")
    ValidateCsv.from_event(json.loads((events / "validate.json").read_text()))
    SummarizeDataset.from_event(json.loads((events / "summarize.json").read_text()))
    assert (
        type(persist_command(json.loads((events / "persist.json").read_text()))).__name__
        == "PersistSummary"
    )
    failure = persist_command(json.loads((events / "record_failure.json").read_text()))
    assert (failure.step, failure.error) == ("validate", "InvalidCsv")


def test_env_json_names_the_template_functions(template):
    functions = {
        n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }
    assert set(json.loads((ROOT / "env.json").read_text())) == functions


def _policies_on(template, role_parameter):
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Policy"
        and resource["Properties"]["Roles"] == [{"Ref": role_parameter}]
    }


def test_each_deploy_migrates_through_a_custom_resource_after_the_database_and_its_network(
    template,
):
    resources = template["Resources"]
    (name,) = [n for n, r in resources.items() if r["Type"] == "Custom::DatabaseMigration"]
    migration = resources[name]
    properties = migration["Properties"]
    assert properties["ServiceToken"] == {"Fn::GetAtt": ["MigrationFunction", "Arn"]}
    assert properties["ServiceTimeout"] <= 900  # a lost reply fails the deploy, not in an hour
    # The migrations ship in the shared layer: a new layer version runs them again.
    assert properties["Migrations"] == {"Ref": "SharedLayer"}
    # References order the creation: the database, then the egress rule to it, first.
    assert properties["Database"]["Fn::If"][:2] == ["CreateDatabase", {"Ref": "Database"}]
    assert migration["DependsOn"] == "MigrationReadsDatabaseSecrets"
    # and the new persist code runs only once the schema it expects is there.
    assert resources["PersistFunction"]["DependsOn"] == name


def test_the_migration_function_runs_in_the_vpc_as_the_owner(template):
    function = template["Resources"]["MigrationFunction"]["Properties"]
    persist = template["Resources"]["PersistFunction"]["Properties"]
    assert function["VpcConfig"] == persist["VpcConfig"]
    assert function["Role"] == {"Ref": "MigrateRoleArn"}
    variables = function["Environment"]["Variables"]
    assert variables["CSVFLOW_DB_ADMIN_SECRET_ARN"]["Fn::If"][1] == {
        "Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]
    }
    assert variables["CSVFLOW_DB_SECRET_ARN"] == {"Ref": "ApplicationDatabaseSecret"}


def test_persist_logs_in_with_the_application_secret_only(template):
    resources = template["Resources"]
    variables = resources["PersistFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["CSVFLOW_DB_SECRET_ARN"] == {"Ref": "ApplicationDatabaseSecret"}
    assert "CSVFLOW_DB_ADMIN_SECRET_ARN" not in variables
    (policy,) = _policies_on(template, "PersistRoleName").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (
        "secretsmanager:GetSecretValue",
        {"Ref": "ApplicationDatabaseSecret"},
    )
    secret = resources["ApplicationDatabaseSecret"]["Properties"]
    assert secret["KmsKeyId"] == {"Ref": "KmsKeyArn"}
    assert json.loads(secret["GenerateSecretString"]["SecretStringTemplate"]) == {
        "username": "csvflow_app"
    }
    # Password logins only: IAM authentication, which nothing used, is off (docs/adr/0009).
    assert resources["Database"]["Properties"]["EnableIAMDatabaseAuthentication"] is False


def test_the_migration_grants_name_each_secret_and_key_and_nothing_more(template):
    policies = _policies_on(template, "MigrateRoleName")
    statements = [
        s for p in policies.values() for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    for statement in statements:
        assert "*" not in json.dumps(statement["Resource"]), statement
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert set(actions) <= {
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "kms:Decrypt",
        }
        if "secretsmanager:PutSecretValue" in actions:
            assert statement["Resource"] == {"Ref": "ApplicationDatabaseSecret"}
    (key_grant,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert key_grant["Resource"] == {"Ref": "ExistingDatabaseSecretKmsKeyArn"}
    assert key_grant["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
        }
    }
    (key_policy,) = [p for p in policies.values() if "kms:Decrypt" in json.dumps(p["Properties"])]
    assert key_policy["Condition"] == "ExistingSecretHasItsOwnKey"
    owner = [s for s in statements if s.get("Sid") == "OwnerLogin"]
    assert owner[0]["Resource"]["Fn::If"][2] == {"Ref": "ExistingDatabaseSecretArn"}


def _depends_on(resources: dict[str, Any], name: str) -> set[str]:
    """Every resource ``name`` waits for on create (and outlives on delete): its Refs,
    GetAtts and DependsOn, followed through."""
    found: set[str] = set()
    pending = [name]
    while pending:
        node = resources[pending.pop()]
        direct = set(_referenced(node)) & set(resources)
        depends = node.get("DependsOn", [])
        direct |= {depends} if isinstance(depends, str) else set(depends)
        pending += sorted(direct - found)
        found |= direct
    return found


def _referenced(node: Any) -> list[str]:
    if isinstance(node, list):
        return [name for item in node for name in _referenced(item)]
    if not isinstance(node, dict):
        return []
    if set(node) == {"Ref"}:
        return [node["Ref"]]
    if set(node) == {"Fn::GetAtt"}:
        target = node["Fn::GetAtt"]
        return [target[0] if isinstance(target, list) else target.split(".")[0]]
    return [name for value in node.values() for name in _referenced(value)]


@pytest.mark.parametrize(
    ("mode", "overrides", "network"),
    [
        ("a new database", {}, {"Database", "PersistToDatabase", "DatabaseSecurityGroup"}),
        (
            "an existing database",
            {
                "ExistingDatabaseSecretArn": "arn:aws:secretsmanager:eu-west-2:1:secret:db",
                "ExistingDatabaseHost": "db.internal",
                "ExistingDatabaseSecurityGroupId": "sg-0123",
            },
            {"PersistToExistingDatabase", "ExistingDatabaseFromPersist"},
        ),
    ],
)
def test_the_migration_can_reach_the_database_and_reply_from_create_to_delete(
    template, mode, overrides, network
):
    """Created after, deleted before, everything its function needs: the database and both
    sides of the rule to it, and the endpoints through which it reads the owner's secret
    and replies to CloudFormation (a reply that cannot leave the VPC holds a stack delete
    or a rollback for the ServiceTimeout, then fails it)."""
    deployed = deployment(template, {"PandasLayerArn": LAYER, **overrides})
    assert not deployed.failed_rules, mode
    (migration,) = [
        n for n, r in deployed.resources.items() if r["Type"] == "Custom::DatabaseMigration"
    ]
    needed = _depends_on(deployed.resources, migration)
    assert {"S3Endpoint", "SecretsManagerEndpoint", "MigrationFunction"} <= needed, mode
    assert network <= needed, mode


def test_env_json_sets_only_variables_the_template_declares(template):
    """`sam local` passes a function only the variables its template declares (its own and
    the Globals'): any other in env.json would be dropped without a word."""
    globals_ = template["Globals"]["Function"]["Environment"]["Variables"]
    assert "AWS_ENDPOINT_URL" in globals_  # how the functions reach the local stack
    for function, variables in json.loads((ROOT / "env.json").read_text()).items():
        own = template["Resources"][function]["Properties"].get("Environment", {})
        declared = set(globals_) | set(own.get("Variables", {}))
        assert set(variables) <= declared, (function, set(variables) - declared)
        assert variables["AWS_ENDPOINT_URL"] == "http://host.docker.internal:4566"
