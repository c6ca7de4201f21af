"""template.yaml, samconfig.toml, events/ and env.json: linted, scanned and held to the code."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from csvflow.commands import SummarizeDataset, ValidateCsv, persist_command
from csvflow.events import start_commands
from tests.support.iac import ROOT, TEMPLATE, TERRAFORM, load_template

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


@pytest.fixture(scope="module")
def template():
    return load_template()


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
    } <= watched


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
