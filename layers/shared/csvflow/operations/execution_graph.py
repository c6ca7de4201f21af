"""The state machine drawn as the console's graph view, as SVG or PNG."""

from __future__ import annotations

import html
from collections import deque
from typing import Any

from csvflow.operations.executions import StepView

START, END = "Start", "End"
TERMINAL_RX = 40  # half the width of the Start and End ellipses


def state_machine_svg(definition: dict[str, Any], steps: list[StepView]) -> str:
    """The state machine as the console's graph view draws it: Start and End, each state
    coloured by how it ended (green succeeded, orange caught, red failed), the path the
    execution took in bold, catch edges dashed."""
    positions = _layout(definition)
    results = {s.name: s.result for s in steps}
    taken = _taken_edges(definition, steps)
    fill = {
        "succeeded": "#d4edda",
        "caught": "#fde3c2",
        "failed": "#f8d7da",
        "running": "#d6e9f8",
        "timed_out": "#f8d7da",
    }
    box_w, box_h, gap_x, gap_y = 200, 44, 80, 44
    columns = max(c for c, _ in positions.values()) + 1
    # Row 0 holds Start; the states follow; End goes below the last of them.
    end_row = max(r for _, r in positions.values()) + 2
    width = columns * (box_w + gap_x) + gap_x
    height = (end_row + 1) * (box_h + gap_y) + gap_y

    def box(name: str) -> tuple[float, float]:
        column, row = positions[name] if name in positions else (0, end_row - 1)
        if name == START:
            column, row = 0, -1
        return gap_x + column * (box_w + gap_x), gap_y + (row + 1) * (box_h + gap_y)

    def edge(source: str, target: str, *, dashed: bool) -> str:
        (sx, sy), (tx, ty) = box(source), box(target)
        if sx == tx:  # same column: bottom to top
            x1, y1, x2, y2 = sx + box_w / 2, sy + box_h, tx + box_w / 2, ty
        else:  # across columns: side to side, so the arrow is not hidden behind a box
            x1 = sx + box_w if tx > sx else sx
            x2 = tx if tx > sx else tx + box_w
            if target in (START, END):  # an ellipse, narrower than a state's box
                x2 += (1 if tx > sx else -1) * (box_w / 2 - TERMINAL_RX)
            y1, y2 = sy + box_h / 2, ty + box_h / 2
        on_path = (source, target) in taken
        colour, weight, marker = ("#1f3b73", 2.5, "taken") if on_path else ("#999", 1.2, "arrow")
        style = ' stroke-dasharray="6,4"' if dashed else ""
        return (
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" '
            f'stroke-width="{weight}"{style} marker-end="url(#{marker})"/>'
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        "<defs>"
        '<marker id="arrow" markerWidth="10" markerHeight="8" refX="10" refY="4" '
        'orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L10,4 L0,8 z" fill="#999"/>'
        "</marker>"
        '<marker id="taken" markerWidth="12" markerHeight="10" refX="12" refY="5" '
        'orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L12,5 L0,10 z" '
        'fill="#1f3b73"/></marker>'
        "</defs>",
    ]
    parts.append(edge(START, definition["StartAt"], dashed=False))
    for name, state in definition["States"].items():
        for target, dashed in _edges(state):
            parts.append(edge(name, target, dashed=dashed))
        if _is_terminal(state):
            parts.append(edge(name, END, dashed=False))
    for name in definition["States"]:
        x, y = box(name)
        result = results.get(name)
        stroke = "#c0392b" if result == "failed" else "#555"
        parts.append(
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" '
            f'fill="{fill.get(result or "", "#f2f2f2")}" stroke="{stroke}" '
            f'stroke-width="{2 if result else 1}">'
            f"<title>{html.escape(name)}: {html.escape(result or 'not run')}</title></rect>"
        )
        parts.append(
            f'<text x="{x + box_w / 2}" y="{y + box_h / 2 + 5}" text-anchor="middle">'
            f"{html.escape(name)}</text>"
        )
    for name in (START, END):
        x, y = box(name)
        parts.append(
            f'<ellipse cx="{x + box_w / 2}" cy="{y + box_h / 2}" rx="{TERMINAL_RX}" '
            f'ry="{box_h / 2 - 4}" '
            f'fill="#fff" stroke="#555"><title>{name}</title></ellipse>'
            f'<text x="{x + box_w / 2}" y="{y + box_h / 2 + 5}" text-anchor="middle">{name}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def state_machine_png(definition: dict[str, Any], steps: list[StepView]) -> bytes:
    """The same picture as PNG (cairosvg, with the cairo library, draws it)."""
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: the cairo library itself is missing
        raise RuntimeError(
            "PNG output needs cairosvg and the cairo library (`pip install cairosvg`; on "
            f"macOS `brew install cairo`); .svg needs nothing ({error})"
        ) from error
    png: bytes = cairosvg.svg2png(bytestring=state_machine_svg(definition, steps).encode(), scale=2)
    return png


def _is_terminal(state: dict[str, Any]) -> bool:
    return bool(state.get("End")) or state.get("Type") in ("Succeed", "Fail")


def _taken_edges(definition: dict[str, Any], steps: list[StepView]) -> set[tuple[str, str]]:
    """Start to the first state, each state to the next one entered, the last to End."""
    names = [s.name for s in steps]
    taken = set(zip(names, names[1:], strict=False))
    if names:
        taken.add((START, names[0]))
        last = steps[-1]
        if last.result != "running" and _is_terminal(definition["States"].get(last.name, {})):
            taken.add((last.name, END))
    return taken


def _edges(state: dict[str, Any]) -> list[tuple[str, bool]]:
    edges = [(state["Next"], False)] if "Next" in state else []
    edges += [(c["Next"], True) for c in state.get("Catch", [])]
    edges += [(c["Next"], False) for c in state.get("Choices", [])]
    if "Default" in state:
        edges.append((state["Default"], False))
    return edges


def _layout(definition: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Rows by distance from StartAt; a Catch moves its target one column right."""
    positions: dict[str, tuple[int, int]] = {definition["StartAt"]: (0, 0)}
    queue = deque([definition["StartAt"]])
    while queue:
        name = queue.popleft()
        column, row = positions[name]
        for target, caught in _edges(definition["States"][name]):
            if target not in positions:
                positions[target] = (column + (1 if caught else 0), row + 1)
                queue.append(target)
    unreachable = [n for n in definition["States"] if n not in positions]
    for index, name in enumerate(unreachable):
        positions[name] = (max(c for c, _ in positions.values()) + 1, index)
    return positions
