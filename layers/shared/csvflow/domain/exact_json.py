"""JSON in which decimals stay exact: written as the number they are, read back as Decimal.

The standard library writes a Decimal only through a float (0.1 + 0.2 becomes
0.30000000000000004) and reads every fraction as a float; a decimal(38,2) sum would lose cents
and a 20-digit one its last digits. PostgreSQL's jsonb keeps numbers as numeric, exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

# A Decimal travels through json.dumps as a marked string, then loses its quotes.
_MARK = "\x00decimal:"
_MARKED = re.compile(r'"\\u0000decimal:([^"]*)"')


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None, **options: Any) -> str:
    """json.dumps, with each finite Decimal written as its exact number."""

    def encode(item: Any) -> Any:
        if isinstance(item, Decimal):
            return _MARK + format(item, "f") if item.is_finite() else str(item)
        if default is not None:
            return default(item)
        raise TypeError(f"{type(item).__name__} is not JSON serializable")

    return _MARKED.sub(r"\1", json.dumps(value, default=encode, **options))


def loads(text: str | bytes) -> Any:
    """json.loads, with every number that has a fraction or exponent read as a Decimal."""
    return json.loads(text, parse_float=Decimal)
