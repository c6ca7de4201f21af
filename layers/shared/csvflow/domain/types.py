"""Turn columns of CSV text into typed Arrow arrays, vectorised, and say which values fail."""

from __future__ import annotations

import ctypes
import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from csvflow.domain.model import NUMERIC_TYPES, ColumnSpec, ColumnType

_PATTERNS = {
    ColumnType.INT: r"^[+-]?[0-9]+$",
    ColumnType.FLOAT: r"(?i)^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?|inf|infinity|nan)$",
    ColumnType.DATE: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    ColumnType.TIMESTAMP: (
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
        r"(Z|[+-][0-9]{2}:?[0-9]{2})?$"
    ),
}
_OFFSET = r"(Z|[+-][0-9]{2}:?[0-9]{2})$"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")

# Tried in this order when a column's type is inferred: the first that reads every
# value of the sample wins; "0"/"1" columns stay integers.
INFERENCE_ORDER = (
    ColumnType.INT,
    ColumnType.FLOAT,
    ColumnType.BOOL,
    ColumnType.DATE,
    ColumnType.TIMESTAMP,
)


def arrow_type(spec: ColumnSpec) -> pa.DataType:
    """The Arrow (and so Parquet) type a column is stored as."""
    return {
        ColumnType.INT: pa.int64(),
        ColumnType.FLOAT: pa.float64(),
        ColumnType.DECIMAL: pa.decimal128(spec.precision, spec.scale),
        ColumnType.STRING: pa.string(),
        ColumnType.BOOL: pa.bool_(),
        ColumnType.DATE: pa.date32(),
        ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    }[spec.type]


@dataclass(frozen=True)
class Converted:
    values: pa.Array
    is_null: pa.Array
    invalid: pa.Array  # not null in the file, yet not a value of the column's type


def convert(raw: pa.Array, spec: ColumnSpec, null_values: pa.Array) -> Converted:
    """Convert CSV text to ``spec``'s type; unreadable values become null and are flagged."""
    if spec.type in NUMERIC_TYPES and (spec.decimal_separator != "." or spec.thousands_separator):
        return _convert_local_numbers(raw, spec, null_values)
    target = arrow_type(spec)
    is_empty = None
    if _only_empty_can_be_null(spec, target, null_values):
        # No null token but "" reads as this type: if the whole column casts, its only
        # nulls are its empty values, found from the offsets instead of hashing each value.
        is_empty = pc.equal(pc.binary_length(raw), 0)
        values = _cast_clean(raw, is_empty, spec, target)
        if values is not None:
            return Converted(values, is_empty, pc.and_(is_empty, False))
    is_null = _is_null_token(raw, null_values)
    if spec.type is ColumnType.STRING:
        values = with_nulls(raw, is_null)
        return Converted(values, is_null, pc.and_(is_null, False))
    # The same cast again only if other null tokens ("NA") now take values out of it.
    if is_empty is None or not is_null.equals(is_empty):
        values = _cast_clean(raw, is_null, spec, target)
        if values is not None:
            return Converted(values, is_null, pc.and_(is_null, False))
    return _convert_checked(raw, is_null, spec, target)


def with_nulls(raw: pa.Array, is_null: pa.Array) -> pa.Array:
    """``raw`` with the values ``is_null`` marks as nulls.

    The text stays where it is: a new validity bitmap over the same buffers, where
    ``if_else`` would copy every value of the column.
    """
    if not pc.any(is_null).as_py():
        return raw
    if raw.offset:  # a slice: its own copy, so the new bitmap lines up with the text
        raw = pa.concat_arrays([raw])
    valid = pc.and_(pc.invert(pc.fill_null(is_null, True)), pc.is_valid(raw))
    return pa.Array.from_buffers(raw.type, len(raw), [valid.buffers()[1], *raw.buffers()[1:]])


def _is_null_token(raw: pa.Array, null_values: pa.Array) -> pa.Array:
    """Whether each value is one of the null tokens, hashing only the values whose length
    is a token's: a column of e-mail addresses or free text has next to none."""
    if len(raw) and raw.null_count == 0 and pa.types.is_string(raw.type):
        return _is_null_token_by_length(raw, null_values)
    token_lengths = pc.binary_length(null_values)
    lengths = pc.binary_length(raw)
    could_be = pc.is_in(lengths, value_set=pc.unique(token_lengths))
    candidates = pc.sum(could_be).as_py() or 0
    if candidates == 0:
        return pc.and_(could_be, False)
    if candidates * 2 > len(raw):  # most could be: hashing them all is cheaper
        return pc.is_in(raw, value_set=null_values)
    found = pc.is_in(raw.filter(could_be), value_set=null_values)
    return pc.replace_with_mask(pc.and_(could_be, False), could_be, found)


def _is_null_token_by_length(raw: pa.Array, null_values: pa.Array) -> pa.Array:
    """As ``_is_null_token``, for text without nulls (as the CSV reader gives it): lengths
    compared in numpy, from the offsets, instead of hashed one by one in Arrow. An empty
    value is the token "" by its length alone: a column of mostly empty values hashes none."""
    bounds = np.frombuffer(raw.buffers()[1], np.int32, len(raw) + 1, raw.offset * 4)
    lengths = np.diff(bounds)
    tokens = _token_lengths(tuple(null_values.to_pylist()))
    is_null = lengths == 0 if tokens.empty_is_null else np.zeros(len(raw), dtype=bool)
    could_be = np.zeros(len(raw), dtype=bool)
    for length in tokens.others:  # a handful: one comparison each beats a hash per value
        could_be |= lengths == length
    candidates = np.flatnonzero(could_be)
    if len(candidates) * 2 > len(raw):  # most could be: hashing them all is cheaper
        return pc.is_in(raw, value_set=null_values)
    if len(candidates):
        found = pc.is_in(raw.take(pa.array(candidates)), value_set=null_values)
        is_null[candidates] = np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return pa.array(is_null)


@dataclass(frozen=True)
class _TokenLengths:
    empty_is_null: bool
    others: tuple[int, ...]  # the lengths in bytes of the other null tokens


@functools.cache
def _token_lengths(tokens: tuple[str, ...]) -> _TokenLengths:
    return _TokenLengths("" in tokens, tuple(sorted({len(t.encode("utf-8")) for t in tokens if t})))


def _convert_local_numbers(raw: pa.Array, spec: ColumnSpec, null_values: pa.Array) -> Converted:
    """Numbers written with another decimal or thousands separator ("1.234,56"), rewritten
    as "1234.56" and converted as usual. A value whose separators do not fit the declared
    ones ("1.5" where "." groups thousands, "12.5" where "," is the decimal point) is
    refused rather than read as another number."""
    decimal, thousands = spec.decimal_separator, spec.thousands_separator
    shape = _number_shape(decimal, thousands)
    misfit = pc.fill_null(
        pc.and_(pc.invert(pc.is_in(raw, value_set=null_values)), pc.invert(shape(raw))), False
    )
    plain = pc.replace_substring(raw, thousands, "") if thousands else raw
    if decimal != ".":
        plain = pc.replace_substring(plain, decimal, ".")
    # A misfit goes on as text no number reads, so the usual conversion flags it too.
    converted = convert(
        pc.if_else(misfit, pa.scalar(_NOT_A_NUMBER, pa.string()), plain),
        dataclasses.replace(spec, decimal_separator=".", thousands_separator=""),
        null_values,
    )
    return Converted(converted.values, converted.is_null, pc.or_(converted.invalid, misfit))


_NOT_A_NUMBER = "\x00"


@functools.cache
def _number_shape(decimal: str, thousands: str) -> Callable[[pa.Array], pa.Array]:
    """Whether each value is a number as the declared separators write it: digits grouped
    by three after the first group, or not grouped at all."""
    d, t = re.escape(decimal), re.escape(thousands)
    integer = rf"[0-9]{{1,3}}({t}[0-9]{{3}})+|[0-9]+" if thousands else "[0-9]+"
    pattern = rf"(?i)^[+-]?((({integer})({d}[0-9]*)?|{d}[0-9]+)(e[+-]?[0-9]+)?|inf|infinity|nan)$"
    return functools.partial(pc.match_substring_regex, pattern=pattern)


@functools.cache
def _castable_tokens(target: pa.DataType, tokens: tuple[str, ...]) -> tuple[str, ...]:
    castable = []
    for token in tokens:
        try:
            pc.cast(pa.array([token]), target)
            castable.append(token)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return tuple(castable)


def _only_empty_can_be_null(spec: ColumnSpec, target: pa.DataType, null_values: pa.Array) -> bool:
    """Whether "" is a null token and no other token could pass for a value of ``target``."""
    if spec.type not in _CAST_FIRST or spec.format:
        return False
    tokens = tuple(null_values.to_pylist())
    return "" in tokens and not _castable_tokens(target, tuple(t for t in tokens if t))


# Types whose whole-column cast accepts no text the checked path would refuse (a
# hypothesis test holds the two paths equal), apart from the guard in _cast_clean.
_CAST_FIRST = frozenset({ColumnType.INT, ColumnType.FLOAT, ColumnType.DATE, ColumnType.TIMESTAMP})


def _cast_clean(
    raw: pa.Array, is_null: pa.Array, spec: ColumnSpec, target: pa.DataType
) -> pa.Array | None:
    """The column cast whole, or None when any value needs the checked path.

    Most columns of a large file are clean: one C++ cast of the untrimmed text then
    replaces trimming, the regex checks and the cast (issue 5's profile: a third of
    validation). Any value the cast refuses sends the column down the checked path.
    """
    if spec.type not in _CAST_FIRST or spec.format:
        return None
    if spec.type is ColumnType.INT and contains_byte(raw, b"xX"):
        return None  # Arrow's cast reads "0x10" as 16; a CSV's integers are decimal
    text = with_nulls(raw, is_null)
    if spec.type is ColumnType.TIMESTAMP:
        return _cast_timestamps(text, target)
    try:
        values = pc.cast(text, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pa.types.is_date32(target) and pc.any(pc.less(values, _FIRST_DAY)).as_py():
        return None
    return values


# The lengths of "YYYY-MM-DD hh:mm", "...:ss" and "...:ss.f" to "...:ss.ffffff", the shapes
# the checked path reads (its pattern in _PATTERNS).
_TIMESTAMP_LENGTHS = np.array([16, 19, 21, 22, 23, 24, 25, 26])
_SIGNS = np.array([ord("+"), ord("-")], np.uint8)


def _cast_timestamps(text: pa.Array, target: pa.DataType) -> pa.Array | None:
    """A column of timestamps all without an offset (read as UTC, as the checked path does)
    or all with one, cast whole; None when any value needs the checked path.

    Arrow's cast reads shapes the checked path refuses ("2024-01-01", "2024-01-01T10",
    "...+01"): a value's length and the bytes where its offset starts must match a shape
    the checked path reads.
    """
    first = pc.drop_null(text)[:1].to_pylist()
    # One of the two casts, as the first value has an offset or not: a cast that fails
    # costs ten times one that succeeds, and a column with both takes the checked path.
    zoned = bool(first) and _has_offset(first[0])
    try:
        if zoned:
            values = pc.cast(text, target)
        else:
            values = pc.cast(text, pa.timestamp("us")).view(target)  # naive: taken as UTC
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not _timestamp_shaped(text, zoned):
        return None
    if pc.any(pc.less(values, _FIRST_INSTANT)).as_py():
        return None
    return values


def _has_offset(value: str) -> bool:
    return value.endswith("Z") or value[-6:-5] in ("+", "-") or value[-5:-4] in ("+", "-")


def _timestamp_shaped(text: pa.Array, zoned: bool) -> bool:
    offsets, data = text.buffers()[1:3]
    if data is None:
        return True
    bounds = np.frombuffer(offsets, np.int32)[text.offset : text.offset + len(text) + 1]
    valid = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), dtype=bool)
    lengths = np.diff(bounds)[valid]
    if not zoned:
        return bool(np.isin(lengths, _TIMESTAMP_LENGTHS).all())
    ends = bounds[1:][valid].astype(np.int64)
    if not len(ends):
        return True
    if lengths.min() < 17:  # the shortest with an offset: "YYYY-MM-DD hh:mmZ"
        return False
    body = np.frombuffer(data, np.uint8)
    # The offset's length: "Z", "+hh:mm" or "+hhmm"; 0 for anything else ("+hh").
    zone = np.where(
        body[ends - 1] == ord("Z"),
        1,
        np.where(
            np.isin(body[ends - 6], _SIGNS), 6, np.where(np.isin(body[ends - 5], _SIGNS), 5, 0)
        ),
    )
    return bool((zone > 0).all() and np.isin(lengths - zone, _TIMESTAMP_LENGTHS).all())


def _convert_checked(
    raw: pa.Array, is_null: pa.Array, spec: ColumnSpec, target: pa.DataType
) -> Converted:
    """Trim, check each value's shape, cast: slower, and names every value it refuses."""
    text = pc.utf8_trim_whitespace(raw)
    if spec.type is ColumnType.BOOL:
        values = _to_bool(text, is_null)
    elif spec.type is ColumnType.DATE and spec.format:
        values = _by_unique_values(
            pc.if_else(is_null, pa.scalar(None, pa.string()), text),
            lambda s: dt.datetime.strptime(s, spec.format or "").date(),
            target,
        )
    else:
        values = _cast_checked(text, is_null, spec, target)
    invalid = pc.and_(pc.invert(is_null), pc.is_null(values))
    return Converted(values, is_null, invalid)


def _to_bool(text: pa.Array, is_null: pa.Array) -> pa.Array:
    lower = pc.utf8_lower(text)
    truthy = pc.is_in(lower, value_set=pa.array(_TRUE))
    falsy = pc.is_in(lower, value_set=pa.array(_FALSE))
    none = pa.scalar(None, pa.bool_())
    values = pc.if_else(truthy, True, pc.if_else(falsy, False, none))
    return pc.if_else(is_null, none, values)


def _candidates(text: pa.Array, is_null: pa.Array, spec: ColumnSpec) -> pa.Array:
    if spec.type is ColumnType.DECIMAL:
        whole = spec.precision - spec.scale
        fraction = rf"(\.[0-9]{{1,{spec.scale}}})?" if spec.scale else ""
        pattern = rf"^[+-]?[0-9]{{1,{whole}}}{fraction}$"
    else:
        pattern = _PATTERNS[spec.type]
    looks_right = pc.and_(pc.invert(is_null), pc.match_substring_regex(text, pattern))
    return pc.if_else(looks_right, text, pa.scalar(None, pa.string()))


def _cast_checked(
    text: pa.Array, is_null: pa.Array, spec: ColumnSpec, target: pa.DataType
) -> pa.Array:
    candidates = _candidates(text, is_null, spec)
    if spec.type is ColumnType.TIMESTAMP:
        # Values without an offset are taken as UTC, so one column has one time zone.
        naive = pc.invert(pc.match_substring_regex(candidates, _OFFSET))
        candidates = pc.if_else(
            naive, pc.binary_join_element_wise(candidates, "+00:00", ""), candidates
        )
    try:
        values = pc.cast(candidates, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # The pattern let through something the cast refuses (2024-02-30, an int64
        # overflow): only then pay for converting value by value.
        values = _cast_each(candidates, target)
    return _within_python_dates(values)


# Year 0 reads as a date in Arrow, but no Python (so no psycopg2, no summary) can hold it.
_FIRST_DAY = pa.scalar(dt.date(1, 1, 1))
_FIRST_INSTANT = pa.scalar(dt.datetime(1, 1, 1, tzinfo=dt.UTC), pa.timestamp("us", tz="UTC"))


def _within_python_dates(values: pa.Array) -> pa.Array:
    if pa.types.is_date32(values.type):
        first = _FIRST_DAY
    elif pa.types.is_timestamp(values.type):
        first = _FIRST_INSTANT
    else:
        return values
    return pc.if_else(pc.less(values, first), pa.scalar(None, values.type), values)


def _cast_each(candidates: pa.Array, target: pa.DataType) -> pa.Array:
    out: list[Any] = []
    for value in candidates.to_pylist():
        if value is None:
            out.append(None)
            continue
        try:
            out.append(pc.cast(pa.array([value]), target)[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, InvalidOperation, OverflowError):
            out.append(None)
    return pa.array(out, type=target)


def _by_unique_values(text: pa.Array, parse: Callable[[str], Any], target: pa.DataType) -> pa.Array:
    """Parse each distinct value once: dates repeat, so this stays cheap."""
    unique = pc.unique(text.drop_null())
    parsed: list[Any] = []
    for value in unique.to_pylist():
        try:
            parsed.append(parse(value))
        except ValueError:
            parsed.append(None)
    positions = pc.index_in(text, value_set=unique)
    return pc.take(pa.array(parsed, type=target), positions)


_INFERENCE_PROBE = 1024  # rows a type is tried on before the whole sample
_VALUES_SEEN = 16  # the first values each type is looked at in Python, before any Arrow call

# What each type's values can look like, as far as a look at a value of printable ASCII
# without spaces can tell: wider than what convert reads (Arrow's casts included: "nan(...)",
# signs, a bare "." for floats), so a value it refuses is one convert refuses too.
_SHAPES_AT_SIGHT = {
    ColumnType.INT: re.compile(r"[+-]?[0-9]+"),
    ColumnType.FLOAT: re.compile(r"[+-]?[0-9.]*([eE][+-]?[0-9]*)?|[+-]?(?i:inf|nan).*"),
    ColumnType.BOOL: re.compile(r"(?i:" + "|".join((*_TRUE, *_FALSE)) + ")"),
    ColumnType.DATE: re.compile(r"[0-9-]+"),
    ColumnType.TIMESTAMP: re.compile(r"[0-9:.+TtZz-]+"),
}
_PRINTABLE_ASCII = re.compile(r"[!-~]+")  # no space, no control character, nothing past ASCII


def _values_at_sight(raw: pa.Array, null_values: pa.Array) -> list[str]:
    """The first values of the sample a look in Python can judge: not null tokens, made of
    printable ASCII without spaces (no trimming to agree on with Arrow's)."""
    tokens = set(null_values.to_pylist())
    return [
        v
        for v in raw[:_VALUES_SEEN].to_pylist()
        if v is not None and v not in tokens and _PRINTABLE_ASCII.fullmatch(v)
    ]


def _refused_at_sight(spec: ColumnSpec, values: list[str]) -> bool:
    """Whether one of ``values`` cannot be a value of ``spec``'s type, told without Arrow.

    Inference tries five types on each column, and a type refused by convert costs about
    twenty Arrow calls whatever the sample's length: on a 300-column file that was 0.6 s of
    its checks (docs/adr/0030). A look at the first values in Python refuses most of them
    (a label as a number, a date as a number) for microseconds."""
    if spec.type in NUMERIC_TYPES and (spec.decimal_separator != "." or spec.thousands_separator):
        return False
    shape = _SHAPES_AT_SIGHT.get(spec.type)
    return shape is not None and any(not shape.fullmatch(v) for v in values)


def infer_spec(
    name: str, raw: pa.Array, null_values: pa.Array, *, decimal: str = ".", thousands: str = ""
) -> ColumnSpec:
    """Pick the narrowest type that reads every non-null value of the sample (numbers
    written with the contract's separators)."""
    head = raw[:_INFERENCE_PROBE]
    seen = _values_at_sight(raw, null_values)
    for column_type in INFERENCE_ORDER:
        spec = ColumnSpec(
            name=name, type=column_type, decimal_separator=decimal, thousands_separator=thousands
        )
        if _refused_at_sight(spec, seen):
            continue
        # A type that cannot read a value of the first rows cannot read the sample: most
        # types are refused there, without converting the whole sample (a text column went
        # five times through the checked path, a fifth of the CPU of a 100 MB file).
        if len(raw) > len(head) and pc.any(convert(head, spec, null_values).invalid).as_py():
            continue
        converted = convert(raw, spec, null_values)
        non_null = len(raw) - pc.sum(converted.is_null).as_py() if len(raw) else 0
        if non_null and not pc.any(converted.invalid).as_py():
            return spec
    return ColumnSpec(name=name, type=ColumnType.STRING)


def _parse_timestamp(value: Any) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_BOUND_PARSERS: dict[ColumnType, Callable[[Any], Any]] = {
    ColumnType.DATE: lambda v: dt.date.fromisoformat(str(v)),
    ColumnType.TIMESTAMP: _parse_timestamp,
    ColumnType.DECIMAL: lambda v: Decimal(str(v)),
    ColumnType.INT: int,
    ColumnType.FLOAT: float,
    ColumnType.STRING: str,
    ColumnType.BOOL: bool,
}


def parse_bound(value: Any, spec: ColumnSpec) -> pa.Scalar | None:
    """A contract's min/max as a scalar comparable with the column's Arrow values."""
    if value is None:
        return None
    return pa.scalar(_BOUND_PARSERS[spec.type](value), arrow_type(spec))


def contains_byte(column: pa.Array, wanted: bytes) -> bool:
    """Whether any value of a string column holds one of ``wanted``'s (ASCII) bytes.

    A scan of the column's data buffer: much cheaper than a string kernel per value. C's
    memchr where the C library has one (7 times numpy's compare-and-any: the scan for line
    breaks runs on every column of every batch).
    """
    offsets, data = column.buffers()[1:3]
    if data is None or not len(column):
        return False
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    size = np.dtype(width).itemsize
    bounds = np.frombuffer(offsets, width, len(column) + 1, column.offset * size)
    start, length = int(bounds[0]), int(bounds[-1] - bounds[0])
    if _memchr is not None:
        return any(_memchr(data.address + start, byte, length) is not None for byte in wanted)
    text = np.frombuffer(data, np.uint8, length, start)
    return any(bool((text == byte).any()) for byte in wanted)


def _c_memchr() -> Any:
    try:
        memchr = ctypes.CDLL(None).memchr  # the C library the process runs on
    except (OSError, AttributeError):
        return None
    memchr.restype = ctypes.c_void_p
    memchr.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    return memchr


_memchr = _c_memchr()
