"""Read the infrastructure code as data: the Terraform HCL and the SAM template."""

from __future__ import annotations

import re
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
