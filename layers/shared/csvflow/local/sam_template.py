"""The functions as template.yaml declares them, for the local stack to create.

The local stack reads each function's name, handler, code, timeout, memory, environment and
reserved concurrency from the SAM template (its Globals merged in, its parameters, conditions
and references resolved against the local account), so the emulation cannot drift from what
is deployed. Only what the local account provides is given here: the values of the template's
parameters and of the resources it refers to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from csvflow.exceptions import ConfigurationError

FUNCTION_TYPE = "AWS::Serverless::Function"
_NO_VALUE = object()  # AWS::NoValue: the property is left out


@dataclass(frozen=True)
class FunctionDefinition:
    """One function of the template, resolved."""

    logical_id: str
    name: str  # its FunctionName
    handler: str
    runtime: str
    code_uri: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    reserved_concurrency: int | None


# libyaml's parser where PyYAML was built with it: the same documents, a tenth of the CPU (a
# run reads the template twice, 0.05 s each in pure Python).
try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _TemplateLoader(_SafeLoader):
    """YAML with CloudFormation's short forms: !Ref X is {"Ref": X}, !Sub s is {"Fn::Sub": s}.
    (A SafeLoader: the tags build plain mappings, nothing else.)"""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def read_template(path: Path) -> dict[str, Any]:
    """template.yaml as data, its intrinsic functions in their long form."""
    text = path.read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.load(text, _TemplateLoader)  # nosec B506 - a SafeLoader

    return document


def resolve(
    template: Mapping[str, Any],
    value: Any,
    *,
    parameters: Mapping[str, str],
    resources: Mapping[str, str],
) -> Any:
    """``value`` (a piece of ``template``) with its intrinsic functions resolved."""
    return _Resolver(template, {**parameter_defaults(template), **parameters}, resources).resolve(
        value
    )


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    return {
        name: str(spec["Default"])
        for name, spec in template.get("Parameters", {}).items()
        if "Default" in spec
    }


def function_definitions(
    template: Mapping[str, Any],
    *,
    parameters: Mapping[str, str],
    resources: Mapping[str, str],
) -> dict[str, FunctionDefinition]:
    """Every function of ``template`` by logical id, with Globals merged in.

    ``parameters`` overrides the parameters' defaults; ``resources`` gives what a reference
    to a resource (``!Ref Name``, ``!GetAtt Name.Attribute``) stands for in the local account.
    A reference to anything else is a ConfigurationError naming it, so a variable the template
    gains is either resolved here or refused, never silently left out.
    """
    resolver = _Resolver(template, {**parameter_defaults(template), **parameters}, resources)
    globals_ = template.get("Globals", {}).get("Function", {})
    definitions = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != FUNCTION_TYPE:
            continue
        properties = _merged(globals_, resource.get("Properties", {}))
        environment = resolver.resolve(properties.get("Environment", {}).get("Variables", {}))
        reserved = resolver.resolve(properties.get("ReservedConcurrentExecutions", _NO_VALUE))
        definitions[logical_id] = FunctionDefinition(
            logical_id=logical_id,
            name=str(resolver.resolve(properties["FunctionName"])),
            handler=str(properties["Handler"]),
            runtime=str(properties["Runtime"]),
            code_uri=str(properties["CodeUri"]),
            timeout=int(properties["Timeout"]),
            memory_size=int(properties["MemorySize"]),
            environment={k: str(v) for k, v in environment.items() if v is not _NO_VALUE},
            reserved_concurrency=None if reserved is _NO_VALUE else int(reserved),
        )
    return definitions


def _merged(globals_: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals: a function's own property wins; maps (Environment.Variables) merge."""
    merged = dict(globals_)
    for key, value in properties.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Resolver:
    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str],
        resources: Mapping[str, str],
    ) -> None:
        self._conditions = template.get("Conditions", {})
        self._parameters = parameters
        self._resources = resources

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            intrinsic = self._intrinsics.get(key)
            if intrinsic is not None:
                return intrinsic(argument)
        return {key: self.resolve(item) for key, item in value.items()}

    @property
    def _intrinsics(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": lambda name: self._reference(str(name)),
            "Fn::GetAtt": lambda path: self._reference(".".join(path)),
            "Fn::Sub": lambda text: re.sub(
                r"\$\{([^}!]+)\}", lambda m: str(self._reference(m.group(1))), text
            ),
            "Fn::If": lambda branches: self.resolve(
                branches[1] if self._condition(branches[0]) else branches[2]
            ),
        }

    def _reference(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self._parameters:
            return self._parameters[name]
        if name in self._resources:
            return self._resources[name]
        raise ConfigurationError(
            f"template.yaml refers to {name}, which the local stack does not provide"
        )

    def _condition(self, name: str) -> bool:
        return self._truth(self._conditions[name])

    def _truth(self, expression: Any) -> bool:
        ((key, argument),) = expression.items()
        if key == "Condition":
            return self._condition(argument)
        if key == "Fn::Equals":
            left, right = (self.resolve(side) for side in argument)
            return bool(left == right)
        if key == "Fn::Not":
            return not self._truth(argument[0])
        if key == "Fn::And":
            return all(self._truth(item) for item in argument)
        if key == "Fn::Or":
            return any(self._truth(item) for item in argument)
        raise ConfigurationError(f"template.yaml: a condition the local stack cannot read: {key}")
