"""Read the infrastructure code as data: the Terraform HCL and the SAM template."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).parents[2]
TERRAFORM = ROOT / "terraform"
TEMPLATE = ROOT / "template.yaml"


def unwrap(value: Any) -> Any:
    """python-hcl2 wraps attribute values and blocks in one-element lists."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


@dataclass
class Terraform:
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def resource(self, address: str) -> dict[str, Any]:
        kind, name = address.split(".")
        return self.resources[kind][name]


def load_terraform(folder: Path = TERRAFORM) -> Terraform:
    parsed = Terraform()
    for path in sorted(folder.glob("*.tf")):
        text = path.read_text(encoding="utf-8")
        parsed.text += text
        document = hcl2.loads(text)
        for block in document.get("resource", []):
            for kind, named in block.items():
                parsed.resources.setdefault(kind, {}).update(named)
        for block in document.get("data", []):
            for kind, named in block.items():
                parsed.data.setdefault(kind, {}).update(named)
        for block in document.get("variable", []):
            parsed.variables.update(block)
        for block in document.get("output", []):
            parsed.outputs.update(block)
        for block in document.get("locals", []):
            parsed.locals.update({k: v for k, v in block.items() if not k.startswith("__")})
    return parsed


_DATA_REF = re.compile(r"\bdata\.([a-z0-9_]+)\.([a-z0-9_]+)")
_RESOURCE_REF = re.compile(r"(?<![\w.])(aws_[a-z0-9_]+)\.([a-z0-9_]+)")
_VAR_REF = re.compile(r"\bvar\.([a-z0-9_]+)")
_LOCAL_REF = re.compile(r"\blocal\.([a-z0-9_]+)")


def references(text: str) -> dict[str, set[tuple[str, ...]]]:
    """Every data source, resource, variable and local that HCL ``text`` refers to."""
    without_data = _DATA_REF.sub("", text)
    return {
        "data": set(_DATA_REF.findall(text)),
        "resource": set(_RESOURCE_REF.findall(without_data)),
        "var": {(name,) for name in _VAR_REF.findall(text)},
        "local": {(name,) for name in _LOCAL_REF.findall(text)},
    }


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml with its intrinsic functions (!Ref, !Sub, ...) as CloudFormation JSON."""
    document: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return document


# --- The template as CloudFormation would read it with given parameter values -------------
# Just enough of CloudFormation's evaluation (parameters, Conditions, Rules, Fn::If,
# AWS::NoValue) to ask what a deployment with some parameters would create; SSM-typed
# parameters keep their SSM names, as CloudFormation has not resolved them yet.

NO_VALUE = object()


class MissingParameter(KeyError):
    """A template parameter without a default was given no value."""


def parameter_values(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """Each parameter's value: the override, else its default; lists split as CloudFormation does."""
    unknown = set(overrides) - set(template["Parameters"])
    if unknown:
        raise KeyError(f"not parameters of the template: {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, declared in template["Parameters"].items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in declared:
            value = declared["Default"]
        else:
            raise MissingParameter(name)
        if declared["Type"] == "CommaDelimitedList" or declared["Type"].startswith("List<"):
            value = value.split(",") if isinstance(value, str) else value
        values[name] = str(value) if isinstance(value, int | float) else value
    return values


def evaluate(node: Any, values: dict[str, Any], conditions: dict[str, bool]) -> Any:
    """``node`` with Ref (to parameters), Fn::If, the condition functions and AWS::NoValue
    evaluated; other intrinsic functions are left as they are."""
    if isinstance(node, list):
        items = [evaluate(item, values, conditions) for item in node]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((function, argument),) = node.items()
        if function in _INTRINSICS:
            return _INTRINSICS[function](
                argument, lambda inner: evaluate(inner, values, conditions), values, conditions
            )
    evaluated = {key: evaluate(value, values, conditions) for key, value in node.items()}
    return {key: value for key, value in evaluated.items() if value is not NO_VALUE}


def _ref(name: str, _evaluate: Any, values: dict[str, Any], _conditions: Any) -> Any:
    if name == "AWS::NoValue":
        return NO_VALUE
    return values.get(name, {"Ref": name})  # a resource or a pseudo parameter stays a Ref


def _if(argument: list[Any], evaluate_: Any, _values: Any, conditions: dict[str, bool]) -> Any:
    condition, when_true, when_false = argument
    return evaluate_(when_true if conditions[condition] else when_false)


_INTRINSICS = {
    "Ref": _ref,
    "Fn::If": _if,
    "Condition": lambda name, _e, _v, conditions: conditions[name],
    "Fn::Equals": lambda pair, ev, _v, _c: str(ev(pair[0])) == str(ev(pair[1])),
    "Fn::Not": lambda argument, ev, _v, _c: not ev(argument[0]),
    "Fn::And": lambda argument, ev, _v, _c: all(ev(a) for a in argument),
    "Fn::Or": lambda argument, ev, _v, _c: any(ev(a) for a in argument),
}


@dataclass
class Deployment:
    """What the template creates with some parameter values."""

    values: dict[str, Any]
    conditions: dict[str, bool]
    resources: dict[str, dict[str, Any]]
    failed_rules: dict[str, str]  # rule name -> the AssertDescription CloudFormation would show


def deployment(template: dict[str, Any], overrides: dict[str, str] | None = None) -> Deployment:
    values = parameter_values(template, overrides or {})
    conditions: dict[str, bool] = {}
    pending = dict(template.get("Conditions", {}))
    while pending:  # conditions may refer to conditions declared after them
        progress = len(pending)
        for name, expression in list(pending.items()):
            try:
                conditions[name] = bool(evaluate(expression, values, conditions))
            except KeyError:
                continue
            del pending[name]
        if len(pending) == progress:
            raise KeyError(f"conditions refer to undeclared ones: {sorted(pending)}")
    failed_rules = {}
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], values, conditions):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"], values, conditions):
                failed_rules[name] = assertion["AssertDescription"]
    resources = {
        name: evaluate(resource, values, conditions)
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or conditions[resource["Condition"]]
    }
    return Deployment(values, conditions, resources, failed_rules)


def parameter_overrides(text: str) -> dict[str, str]:
    """samconfig.toml's ``parameter_overrides`` string as a mapping."""
    return dict(item.split("=", 1) for item in shlex.split(text))
