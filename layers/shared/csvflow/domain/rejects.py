"""The reject report: one CSV row per problem, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import TextIO

_MAX_VALUE_CHARS = 500
# A cell starting with one of these is run as a formula by spreadsheet programs
# (CSV/formula injection); OWASP's advice is to prefix it with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

REPORT_HEADER = ("line", "column", "value", "reason")


@dataclass(frozen=True)
class Reject:
    """One problem with one row."""

    line: int
    column: str | None
    value: str | None
    reason: str

    def describe(self, file: str) -> str:
        where = f"{file}, line {self.line}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: {self.reason}"


def neutralise(cell: str) -> str:
    """Make a cell inert in spreadsheets without losing what it said."""
    if cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


class RejectReport:
    """Writes rejects as CSV to an open text file and counts what it wrote."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out)
        self._writer.writerow(REPORT_HEADER)
        self.problems = 0
        self.first: Reject | None = None

    def add(self, reject: Reject) -> None:
        if self.first is None:
            self.first = reject
        self.problems += 1
        value = reject.value
        if value is not None and len(value) > _MAX_VALUE_CHARS:
            value = value[:_MAX_VALUE_CHARS] + "…"
        self._writer.writerow(
            (
                reject.line,
                neutralise(reject.column or ""),
                "" if value is None else neutralise(value),
                reject.reason,
            )
        )
