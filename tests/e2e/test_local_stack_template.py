"""The local stack's functions are the template's: read independently here (SAM's own YAML
loader, tests/support/iac.py's evaluation of the defaults), compared with what the emulated
Lambda holds. A change to template.yaml changes the local stack, or this fails."""

import os
from pathlib import PurePosixPath

import pytest

from csvflow.local.stack import FUNCTIONS, local_variables
from tests.support.iac import deployment, load_template
from tests.support.managed_layer import load_managed_layer

pytestmark = pytest.mark.e2e


def _deployed():
    """The template with its defaults (the one parameter without one: the pandas layer)."""
    return deployment(load_template(), {"PandasLayerArn": load_managed_layer().arn})


def _merged(globals_, properties):
    merged = dict(globals_)
    for key, value in properties.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _declared_functions():
    """Each function's properties by name, Globals merged in: as deployed with the defaults,
    and as written (where a literal value is told from a reference)."""
    template = load_template()
    deployed = _deployed()
    globals_ = template["Globals"]["Function"]
    prefix = deployed.values["NamePrefix"]
    functions = {}
    for logical_id, resource in deployed.resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = _merged(globals_, resource["Properties"])
        written = _merged(globals_, template["Resources"][logical_id]["Properties"])
        name = properties["FunctionName"]["Fn::Sub"].replace("${NamePrefix}", prefix)
        functions[name] = (properties, written)
    return functions


def test_each_local_function_has_the_templates_configuration(runtime):
    declared = _declared_functions()
    assert {PurePosixPath(p["CodeUri"]).name for p, _ in declared.values()} == set(FUNCTIONS)
    for name, (properties, written) in declared.items():
        configuration = runtime.lam.get_function_configuration(FunctionName=name)
        assert (
            configuration["Handler"],
            configuration["Runtime"],
            configuration["Timeout"],
            configuration["MemorySize"],
        ) == (
            properties["Handler"],
            properties["Runtime"],
            properties["Timeout"],
            properties["MemorySize"],
        ), name
        local = configuration["Environment"]["Variables"]
        variables = properties["Environment"]["Variables"]
        # The template's, and what the local account adds on purpose (stack.local_variables).
        added = local_variables(PurePosixPath(properties["CodeUri"]).name)
        assert {k: local[k] for k in added} == added, name
        assert set(local) == set(variables) | set(added), name
        assert not set(added) & set(variables), name  # an addition, never a replacement
        # Literal values are the template's; references are the local account's resources.
        written_variables = written["Environment"]["Variables"]
        literals = {k: v for k, v in written_variables.items() if isinstance(v, str)}
        assert {k: local[k] for k in literals} == literals, name
        # Reserved concurrency is off by default (ReserveConcurrency: "false").
        concurrency = runtime.lam.get_function_concurrency(FunctionName=name)
        assert "ReservedConcurrentExecutions" not in concurrency, name


def test_the_local_stack_is_named_after_the_templates_name_prefix(runtime):
    prefix = _deployed().values["NamePrefix"]
    assert runtime.names.prefix == f"{prefix}-"
    assert runtime.state_machine_arn.endswith(f":stateMachine:{prefix}-ingest")
    assert set(runtime.function_arns) == set(FUNCTIONS)


def test_every_variable_a_function_declares_exists_while_the_runtime_runs(runtime):
    """moto's threads iterate os.environ while functions run: none may appear under them, so
    whatever the template gives a function is there, empty if need be, from the start."""
    for name in _declared_functions():
        configuration = runtime.lam.get_function_configuration(FunctionName=name)
        missing = set(configuration["Environment"]["Variables"]) - set(os.environ)
        assert not missing, (name, missing)
