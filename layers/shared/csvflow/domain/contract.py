"""Parse a dataset contract (YAML or JSON) into a Contract.

The text is read into a typed schema (pydantic, strict: no "no" read as true, no "two" read
as a number, no unknown key), then the rules that span fields (bounds read as the column's
type, separators, scale within precision) are checked on the way to the domain's
dataclasses. Every mistake is an ``InvalidContract`` naming the file, the field's path
(``columns[2].scale``), the value and what was expected (ADR 0011).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from csvflow.domain.model import (
    AGGREGATE_OPS,
    DEFAULT_NULL_VALUES,
    AggregateSpec,
    ColumnSpec,
    ColumnType,
    Contract,
    Metric,
    ReadingRules,
)
from csvflow.exceptions import InvalidContract

DECIMAL_SEPARATORS = (".", ",")
# Apostrophe (Swiss), space and the no-break spaces of French-style exports included.
THOUSANDS_SEPARATORS = ("", ",", ".", " ", "'", "\u00a0", "\u202f")
DELIMITERS = {
    ",": ",",
    ";": ";",
    "\t": "\t",
    "tab": "\t",
    "|": "|",
    " ": " ",
    "space": " ",
    "#": "#",
    ":": ":",
}
# The text qualifiers detection also considers ("|", "~", "`"), so that a contract can pin them.
QUOTES = {'"': '"', "'": "'", "|": "|", "~": "~", "`": "`", "none": ""}
ESCAPES = {"double": "", "backslash": "\\"}
HEADER_MODES = ("auto", "required", "absent")
NAME_MODES = ("repair", "exact")
FOOTER_MODES = ("auto", "none")
SHORT_ROW_MODES = ("auto", "reject")
_AGGREGATE_NAME = r"[A-Za-z0-9_.-]{1,100}"


def _number_as_name(value: Any) -> Any:
    """YAML reads ``name: 2024`` as a number; a name is its text (a boolean is no name)."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _one_as_list(value: Any) -> Any:
    return (
        [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else value
    )


Name = Annotated[str, BeforeValidator(_number_as_name)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _ColumnSchema(_Schema):
    name: Name
    type: str = ColumnType.STRING.value
    required: bool = False
    unique: bool = False
    allowed: list[Any] | None = None
    min: Any = None
    max: Any = None
    pattern: str | None = None
    format: str | None = None
    scale: int = 2
    precision: int = 38
    decimal_separator: str | None = None
    thousands_separator: str | None = None


class _MetricSchema(_Schema):
    column: Name
    op: str


class _AggregateSchema(_Schema):
    name: Name
    group_by: Annotated[list[Name], BeforeValidator(_one_as_list)]
    metrics: list[_MetricSchema]


class _ContractSchema(_Schema):
    dataset: Name | None = None
    columns: list[_ColumnSchema] | None = None
    aggregates: list[_AggregateSchema] | None = None
    delimiter: str | None = None
    encoding: str | None = None
    quote: str | None = None
    escape: str | None = None
    skip_lines: int | None = Field(None, ge=0)
    header: str = "auto"
    names: str = "repair"
    footer: str = "auto"
    short_rows: str = "auto"
    max_rejected_share: float = Field(0.0, ge=0, le=1)
    null_values: list[str] = Field(default_factory=lambda: list(DEFAULT_NULL_VALUES))
    decimal_separator: str | None = None
    thousands_separator: str | None = None


# What each field expects, in the contract's words; pydantic's own text where none is given.
_EXPECTED = {
    "type": "must be one of " + ", ".join(t.value for t in ColumnType),
    "op": "must be one of " + ", ".join(AGGREGATE_OPS),
    "delimiter": "must be one of , ; | tab space # :",
    "quote": """must be one of '"', "'", '|', '~', '`' or none""",
    "escape": "must be double (a quote inside quotes is written twice) or backslash",
    "skip_lines": "must be a whole number of lines, 0 or more",
    "header": "must be one of " + ", ".join(HEADER_MODES),
    "names": "must be one of " + ", ".join(NAME_MODES),
    "footer": "must be one of " + ", ".join(FOOTER_MODES),
    "short_rows": "must be one of " + ", ".join(SHORT_ROW_MODES),
    "decimal_separator": 'must be "." or ","',
    "thousands_separator": "must be one of " + ", ".join(repr(t) for t in THOUSANDS_SEPARATORS),
    "max_rejected_share": "must be a number from 0 to 1",
    "null_values": "must be a list of strings",
    "pattern": "must be a regular expression",
}
_EXPECTED_BY_ERROR = {
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "string_type": "must be text",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "dict_type": "must be a mapping",
}
_KEYS: dict[type[_Schema], str] = {
    _ContractSchema: "the contract",
    _ColumnSchema: "a column",
    _AggregateSchema: "an aggregate",
    _MetricSchema: "a metric",
}


def parse_contract(text: str, *, source: str, dataset: str) -> Contract:
    """Parse and check a contract; every problem names ``source`` and where in it."""
    try:
        data = yaml.safe_load(text)
    # PyYAML raises ValueError for a timestamp it cannot build (2024-13-01).
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        raise InvalidContract(f"{source}: not valid YAML or JSON: {e}") from e
    if not isinstance(data, dict):
        raise InvalidContract(f"{source}: expected a mapping at the top level")
    try:
        schema = _ContractSchema.model_validate(data)
    except ValidationError as e:
        raise _first_mistake(e, source) from e
    return _ContractReader(source).contract(schema, dataset)


def _first_mistake(error: ValidationError, source: str) -> InvalidContract:
    details = error.errors(include_url=False)[0]
    loc = details["loc"]
    path = format_path(loc)
    field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    if details["type"] == "extra_forbidden":
        owner = _owner_of(loc)
        known = f": the keys of {_KEYS[owner]} are {', '.join(owner.model_fields)}" if owner else ""
        return InvalidContract.at(source, path, field, f"unknown key(s) {field}{known}")
    if details["type"] == "invalid_key":  # YAML's `1: x` or `null: x`: the key is the value
        where = format_path(loc[:-1]) or "the top level"
        return InvalidContract.at(source, where, details["input"], "keys must be text")
    if details["type"] == "missing":
        return InvalidContract.at(source, path, None, f"{field} is required", missing=True)
    return InvalidContract.at(
        source, path, details["input"], f"{field} {_expectation(field, details)}"
    )


def _expectation(field: str, details: ErrorDetails) -> str:
    if field in _EXPECTED and not str(details["type"]).startswith(("model", "dict")):
        return _EXPECTED[field]
    return _EXPECTED_BY_ERROR.get(details["type"]) or details["msg"][0].lower() + details["msg"][1:]


def _owner_of(loc: tuple[int | str, ...]) -> type[_Schema] | None:
    """The schema whose unknown key ``loc`` names: the contract, a column, an aggregate..."""
    owner: type[_Schema] = _ContractSchema
    nested: dict[str, type[_Schema]] = {
        "columns": _ColumnSchema,
        "aggregates": _AggregateSchema,
        "metrics": _MetricSchema,
    }
    for part in loc[:-1]:
        if isinstance(part, str):
            if part not in nested:
                return None
            owner = nested[part]
    return owner


def format_path(loc: tuple[int | str, ...]) -> str:
    """``("columns", 2, "scale")`` as ``columns[2].scale``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


class _ContractReader:
    """The checks that span fields, on the way from the schema to the domain's values."""

    def __init__(self, source: str) -> None:
        self.source = source

    def contract(self, schema: _ContractSchema, dataset: str) -> Contract:
        separators = self._separators(schema, (".", ""), "")
        columns = tuple(
            self._column(column, f"columns[{i}]", separators)
            for i, column in enumerate(schema.columns or [])
        )
        seen: set[str] = set()
        for i, column in enumerate(columns):
            if column.name in seen:
                self._refuse(f"columns[{i}].name", column.name, "a column is declared twice")
            seen.add(column.name)
        aggregates = tuple(
            self._aggregate(aggregate, f"aggregates[{i}]")
            for i, aggregate in enumerate(schema.aggregates or [])
        )
        return Contract(
            dataset=schema.dataset if schema.dataset is not None else dataset,
            columns=columns,
            aggregates=aggregates,
            reading=self._reading(schema),
            max_rejected_share=schema.max_rejected_share,
            null_values=tuple(schema.null_values),
            decimal_separator=separators[0],
            thousands_separator=separators[1],
        )

    def _reading(self, schema: _ContractSchema) -> ReadingRules:
        """The keys that pin how the file is read; each one left out is detected."""
        for key, allowed in (
            ("delimiter", DELIMITERS),
            ("quote", QUOTES),
            ("escape", ESCAPES),
            ("header", HEADER_MODES),
            ("names", NAME_MODES),
            ("footer", FOOTER_MODES),
            ("short_rows", SHORT_ROW_MODES),
        ):
            value = getattr(schema, key)
            if value is not None and value not in allowed:
                self._refuse(key, value, f"{key} {_EXPECTED[key]}")
        quote, delimiter = schema.quote, schema.delimiter
        if quote and delimiter and QUOTES[quote] == DELIMITERS[delimiter]:
            self._refuse("quote", quote, "quote must not be the delimiter")
        return ReadingRules(
            encoding=schema.encoding,
            delimiter=DELIMITERS[schema.delimiter] if schema.delimiter else None,
            quote=QUOTES[schema.quote] if schema.quote is not None else None,
            escape=ESCAPES[schema.escape] if schema.escape is not None else None,
            skip_lines=schema.skip_lines,
            header=schema.header,
            names=schema.names,
            footer=schema.footer,
            short_rows=schema.short_rows,
        )

    def _refuse(self, path: str, value: Any, expected: str) -> None:
        raise InvalidContract.at(self.source, path, value, expected)

    def _separators(
        self, schema: _ContractSchema | _ColumnSchema, default: tuple[str, str], where: str
    ) -> tuple[str, str]:
        """(decimal, thousands) of a contract or a column, each defaulting to what it inherits."""
        prefix = f"{where}." if where else ""
        decimal = schema.decimal_separator
        thousands = schema.thousands_separator
        decimal = default[0] if decimal is None else decimal
        thousands = default[1] if thousands is None else thousands
        if decimal not in DECIMAL_SEPARATORS:
            self._refuse(
                f"{prefix}decimal_separator",
                decimal,
                f"decimal_separator {_EXPECTED['decimal_separator']}",
            )
        if thousands not in THOUSANDS_SEPARATORS:
            self._refuse(
                f"{prefix}thousands_separator",
                thousands,
                f"thousands_separator {_EXPECTED['thousands_separator']}",
            )
        if decimal == thousands:
            self._refuse(
                f"{prefix}thousands_separator",
                thousands,
                f"decimal_separator and thousands_separator are both {decimal!r}: they must differ",
            )
        return decimal, thousands

    def _column(self, schema: _ColumnSchema, where: str, separators: tuple[str, str]) -> ColumnSpec:
        if schema.type not in {t.value for t in ColumnType}:
            self._refuse(f"{where}.type", schema.type, f"type {_EXPECTED['type']}")
        if schema.pattern is not None:
            self._check_pattern(schema.pattern, f"{where}.pattern")
        if not 1 <= schema.precision <= 38:
            self._refuse(
                f"{where}.precision", schema.precision, "decimal needs 0 <= scale < precision <= 38"
            )
        if not 0 <= schema.scale < schema.precision:
            self._refuse(
                f"{where}.scale", schema.scale, "decimal needs 0 <= scale < precision <= 38"
            )
        decimal, thousands = self._separators(schema, separators, where)
        spec = ColumnSpec(
            name=schema.name,
            type=ColumnType(schema.type),
            required=schema.required,
            unique=schema.unique,
            allowed=tuple(schema.allowed) if schema.allowed is not None else None,
            min=schema.min,
            max=schema.max,
            pattern=schema.pattern,
            format=schema.format,
            scale=schema.scale,
            precision=schema.precision,
            decimal_separator=decimal,
            thousands_separator=thousands,
        )
        for bound in ("min", "max"):
            self._check_value(spec, getattr(spec, bound), f"{where}.{bound}", bound)
        for i, value in enumerate(spec.allowed or ()):
            self._check_value(spec, value, f"{where}.allowed[{i}]", "allowed")
        return spec

    def _check_value(self, spec: ColumnSpec, value: Any, path: str, field: str) -> None:
        """A bound or allowed value must read as the column's type, as validation reads it."""
        if value is None:
            return
        expected = f"{field} must be a value of the column's type, {spec.type.value}"
        if isinstance(value, bool) != (spec.type is ColumnType.BOOL) or isinstance(
            value, list | dict
        ):
            self._refuse(path, value, expected)
        if spec.type is ColumnType.INT and isinstance(value, float) and not value.is_integer():
            self._refuse(path, value, expected)
        from csvflow.domain.types import parse_bound

        try:
            parse_bound(value, spec)
        # What reading a value can raise: ArrowInvalid is a ValueError, InvalidOperation an
        # ArithmeticError, an int beyond int64 an OverflowError.
        except (ValueError, TypeError, ArithmeticError) as e:
            raise InvalidContract.at(self.source, path, value, expected) from e

    def _check_pattern(self, pattern: str, path: str) -> None:
        # Validation matches with Arrow's RE2, which refuses some of what Python's re
        # accepts (look-arounds, back-references): both must take it.
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            re.compile(pattern)
            pc.match_substring_regex(pa.array([""], pa.string()), pattern=pattern)
        except (re.error, OverflowError, RecursionError, pa.ArrowException) as e:
            raise InvalidContract.at(
                self.source, path, pattern, f"pattern does not compile: {e}"
            ) from e

    def _aggregate(self, schema: _AggregateSchema, where: str) -> AggregateSpec:
        for j, metric in enumerate(schema.metrics):
            if metric.op not in AGGREGATE_OPS:
                self._refuse(f"{where}.metrics[{j}].op", metric.op, f"op {_EXPECTED['op']}")
        if not re.fullmatch(_AGGREGATE_NAME, schema.name):
            self._refuse(
                f"{where}.name", schema.name, "name may use letters, digits, '_', '.' and '-'"
            )
        return AggregateSpec(
            name=schema.name,
            group_by=tuple(schema.group_by),
            metrics=tuple(Metric(column=m.column, op=m.op) for m in schema.metrics),
        )
