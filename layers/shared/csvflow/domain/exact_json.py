"""JSON in which decimals stay exact: written as the number they are, read back as Decimal.

The standard library writes a Decimal only through a float (0.1 + 0.2 becomes
0.30000000000000004) and reads every fraction as a float; a decimal(38,2) sum would lose cents
and a 20-digit one its last digits. PostgreSQL's jsonb keeps numbers as numeric, exactly.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

# A Decimal travels through json.dumps as a marked string, then loses its quotes.
_MARK = "\x00decimal:"
_MARKED = re.compile(r'"\\u0000decimal:([^"]*)"')


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None, **options: Any) -> str:
    """json.dumps, with each finite Decimal written as its exact number, and each float that
    JSON cannot hold (inf, -inf, nan) as a string, as a non-finite Decimal is: the standard
    library writes them as Infinity and NaN, which are not JSON (jq and PostgreSQL's jsonb
    refuse them)."""
    value = _finite_floats(value)

    def encode(item: Any) -> Any:
        if isinstance(item, Decimal):
            return _MARK + format(item, "f") if item.is_finite() else str(item)
        if default is not None:
            return default(item)
        raise TypeError(f"{type(item).__name__} is not JSON serializable")

    return _MARKED.sub(r"\1", json.dumps(value, default=encode, **options))


def _finite_floats(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {key: _finite_floats(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_floats(item) for item in value]
    return value


def loads(text: str | bytes) -> Any:
    """json.loads, with every number that has a fraction or exponent read as a Decimal."""
    return json.loads(text, parse_float=Decimal)
