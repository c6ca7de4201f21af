"""Parse a dataset contract (YAML or JSON) into a Contract."""

from __future__ import annotations

import re
from typing import Any

import yaml

from csvflow.domain.model import (
    AGGREGATE_OPS,
    DEFAULT_NULL_VALUES,
    AggregateSpec,
    ColumnSpec,
    ColumnType,
    Contract,
    Metric,
)
from csvflow.exceptions import InvalidContract

_COLUMN_KEYS = {
    "name",
    "type",
    "required",
    "unique",
    "allowed",
    "min",
    "max",
    "pattern",
    "format",
    "scale",
    "precision",
    "decimal_separator",
    "thousands_separator",
}
_CONTRACT_KEYS = {
    "dataset",
    "columns",
    "aggregates",
    "delimiter",
    "encoding",
    "max_rejected_share",
    "null_values",
    "decimal_separator",
    "thousands_separator",
}
DECIMAL_SEPARATORS = (".", ",")
# Apostrophe (Swiss), space and the no-break spaces of French-style exports included.
THOUSANDS_SEPARATORS = ("", ",", ".", " ", "'", "\u00a0", "\u202f")
DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "|": "|"}


def parse_contract(text: str, *, source: str, dataset: str) -> Contract:
    """Parse and check a contract; every problem names ``source`` and where in it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidContract(f"{source}: not valid YAML or JSON: {e}") from e
    if not isinstance(data, dict):
        raise InvalidContract(f"{source}: expected a mapping at the top level")
    _no_unknown_keys(data, _CONTRACT_KEYS, f"{source}")
    separators = _separators(data, (".", ""), source)
    columns = tuple(
        _column(item, f"{source}: columns[{i}]", separators)
        for i, item in enumerate(data.get("columns") or [])
    )
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise InvalidContract(f"{source}: a column is declared twice")
    aggregates = tuple(
        _aggregate(item, f"{source}: aggregates[{i}]")
        for i, item in enumerate(data.get("aggregates") or [])
    )
    delimiter = data.get("delimiter")
    if delimiter is not None and delimiter not in DELIMITERS:
        raise InvalidContract(f"{source}: delimiter must be one of , ; | tab")
    share = data.get("max_rejected_share", 0.0)
    if not isinstance(share, int | float) or not 0 <= share <= 1:
        raise InvalidContract(f"{source}: max_rejected_share must be a number from 0 to 1")
    null_values = data.get("null_values", list(DEFAULT_NULL_VALUES))
    if not isinstance(null_values, list) or not all(isinstance(v, str) for v in null_values):
        raise InvalidContract(f"{source}: null_values must be a list of strings")
    return Contract(
        dataset=str(data.get("dataset", dataset)),
        columns=columns,
        aggregates=aggregates,
        delimiter=DELIMITERS[delimiter] if delimiter else None,
        encoding=data.get("encoding"),
        max_rejected_share=float(share),
        null_values=tuple(null_values),
        decimal_separator=separators[0],
        thousands_separator=separators[1],
    )


def _separators(data: dict[str, Any], default: tuple[str, str], where: str) -> tuple[str, str]:
    """(decimal, thousands) of a contract or a column, each defaulting to what it inherits."""
    decimal = data.get("decimal_separator", default[0])
    thousands = data.get("thousands_separator", default[1])
    if decimal not in DECIMAL_SEPARATORS:
        raise InvalidContract(f'{where}: decimal_separator must be "." or ",", not {decimal!r}')
    if thousands not in THOUSANDS_SEPARATORS:
        allowed = ", ".join(repr(t) for t in THOUSANDS_SEPARATORS)
        raise InvalidContract(f"{where}: thousands_separator must be one of {allowed}")
    if decimal == thousands:
        raise InvalidContract(
            f"{where}: decimal_separator and thousands_separator are both {decimal!r}"
        )
    return decimal, thousands


def _no_unknown_keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidContract(f"{where}: unknown key(s) {', '.join(unknown)}")


def _column(item: Any, where: str, separators: tuple[str, str]) -> ColumnSpec:
    if not isinstance(item, dict) or "name" not in item:
        raise InvalidContract(f"{where}: a column needs at least a name")
    _no_unknown_keys(item, _COLUMN_KEYS, where)
    try:
        column_type = ColumnType(item.get("type", "string"))
    except ValueError as e:
        allowed = ", ".join(t.value for t in ColumnType)
        raise InvalidContract(f"{where}: type must be one of {allowed}") from e
    pattern = item.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as e:
            raise InvalidContract(f"{where}: pattern does not compile: {e}") from e
    allowed_values = item.get("allowed")
    if allowed_values is not None and not isinstance(allowed_values, list):
        raise InvalidContract(f"{where}: allowed must be a list")
    scale, precision = int(item.get("scale", 2)), int(item.get("precision", 38))
    decimal, thousands = _separators(item, separators, where)
    if not 0 <= scale < precision <= 38:
        raise InvalidContract(f"{where}: decimal needs 0 <= scale < precision <= 38")
    return ColumnSpec(
        name=str(item["name"]),
        type=column_type,
        required=bool(item.get("required", False)),
        unique=bool(item.get("unique", False)),
        allowed=tuple(allowed_values) if allowed_values is not None else None,
        min=item.get("min"),
        max=item.get("max"),
        pattern=pattern,
        format=item.get("format"),
        scale=scale,
        precision=precision,
        decimal_separator=decimal,
        thousands_separator=thousands,
    )


def _aggregate(item: Any, where: str) -> AggregateSpec:
    if not isinstance(item, dict) or not {"name", "group_by", "metrics"} <= set(item):
        raise InvalidContract(f"{where}: an aggregate needs name, group_by and metrics")
    group_by = item["group_by"]
    if isinstance(group_by, str):
        group_by = [group_by]
    metrics = []
    for j, metric in enumerate(item["metrics"]):
        if not isinstance(metric, dict) or metric.get("op") not in AGGREGATE_OPS:
            raise InvalidContract(
                f"{where}.metrics[{j}]: op must be one of {', '.join(AGGREGATE_OPS)}"
            )
        if "column" not in metric:
            raise InvalidContract(f"{where}.metrics[{j}]: a metric needs a column")
        metrics.append(Metric(column=str(metric["column"]), op=metric["op"]))
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", str(item["name"])):
        raise InvalidContract(f"{where}: name may use letters, digits, '_', '.' and '-'")
    return AggregateSpec(
        name=str(item["name"]), group_by=tuple(map(str, group_by)), metrics=tuple(metrics)
    )
