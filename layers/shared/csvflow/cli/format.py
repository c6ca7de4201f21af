"""Plain text for the terminal: tables, and a summary's columns and aggregates."""

from __future__ import annotations

from typing import Any


def table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(v) for v in header]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [
        "  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_columns(columns: list[dict[str, Any]]) -> str:
    rows = []
    for c in columns:
        detail = ""
        if "mean" in c and c["mean"] is not None:
            detail = f"mean {_num(c['mean'])}  std {_num(c.get('std'))}  p50 {_num(c.get('p50'))}"
        elif c.get("top_values"):
            top = c["top_values"][:3]
            detail = "top " + ", ".join(f"{_short(t['value'])} ({t['count']})" for t in top)
        elif "true_count" in c:
            detail = f"true {c['true_count']}  false {c['false_count']}"
        distinct = f"{c['distinct']}" + ("" if c.get("distinct_exact", True) else "~")
        rows.append(
            [
                c["name"],
                c["type"],
                c["count"],
                c["nulls"],
                distinct,
                _short(c.get("min")),
                _short(c.get("max")),
                detail,
            ]
        )
    return table(["column", "type", "count", "nulls", "distinct", "min", "max", ""], rows)


def format_aggregate(aggregate: dict[str, Any]) -> str:
    groups = aggregate["groups"]
    if not groups:
        return f"\n  aggregate {aggregate['name']}: no groups"
    keys, metrics = list(groups[0]["group"]), list(groups[0]["metrics"])
    rows = [
        [*(g["group"][k] for k in keys), *(_num(g["metrics"][m]) for m in metrics)]
        for g in groups[:20]
    ]
    more = f"\n  ... {len(groups) - 20} more groups" if len(groups) > 20 else ""
    return f"\n  aggregate {aggregate['name']}\n" + table([*keys, *metrics], rows) + more


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _short(value: Any) -> str:
    text = "" if value is None else str(value).replace("\r", "␍").replace("\n", "⏎")
    return text if len(text) <= 20 else text[:19] + "…"


def format_dialect(dialect: dict[str, Any] | None) -> str:
    """How a file was read, on one line, then each assumption made to read it so."""
    if not dialect:
        return ""
    delimiter = {"\t": "tab", " ": "space"}.get(dialect["delimiter"], repr(dialect["delimiter"]))
    quote = repr(dialect["quote"]) if dialect.get("quote") else "none"
    header = f"header line {dialect['header_line']}" if dialect["header"] else "no header"
    parts = [
        dialect["encoding"],
        f"delimiter {delimiter}",
        f"quote {quote}",
        f"{dialect['escape']} escapes" if dialect["escape"] != "double" else "",
        "spaces after delimiters skipped" if dialect.get("skip_initial_space") else "",
        dialect["line_ending"],
        header,
        f"data from line {dialect['data_line']}",
    ]
    lines = ["  read as:    " + ", ".join(p for p in parts if p)]
    if split := dialect.get("split"):  # validated in parts side by side (docs/adr/0018)
        lines.append(
            f"  split:      {split['parts']} parts of up to {split['part_bytes']:,} bytes, "
            "validated side by side"
        )
    lines += [f"  assumed:    {a}" for a in dialect.get("assumptions", [])]
    return "\n".join(lines)
