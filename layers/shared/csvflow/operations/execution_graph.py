"""The state machine drawn as the console's graph view, as SVG or PNG."""

from __future__ import annotations

import html
from collections import deque
from typing import Any

from csvflow.operations.executions import StepView

START, END = "Start", "End"
TERMINAL_RX = 40  # half the width of the Start and End ellipses


def state_machine_svg(
    definition: dict[str, Any],
    steps: list[StepView],
    map_runs: list[dict[str, Any]] | None = None,
) -> str:
    """The state machine as the console's graph view draws it: Start and End, each state
    coloured by how it ended (green succeeded, orange caught, red failed), the path the
    execution took in bold, catch edges dashed; a Distributed Map as a stack of boxes with
    its states inside and its last Map Run's items below its name."""
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

    back = back_edges(definition)

    def edge(source: str, target: str, *, dashed: bool) -> str:
        (sx, sy), (tx, ty) = box(source), box(target)
        on_path = (source, target) in taken
        colour, weight, marker = ("#1f3b73", 2.5, "taken") if on_path else ("#999", 1.2, "arrow")
        if (source, target) in back:
            return _way_back((sx, sy + box_h / 2), (tx, ty + box_h / 2), colour, weight, marker)
        if sx == tx:  # same column: bottom to top
            x1, y1, x2, y2 = sx + box_w / 2, sy + box_h, tx + box_w / 2, ty
        else:  # across columns: side to side, so the arrow is not hidden behind a box
            x1 = sx + box_w if tx > sx else sx
            x2 = tx if tx > sx else tx + box_w
            if target in (START, END):  # an ellipse, narrower than a state's box
                x2 += (1 if tx > sx else -1) * (box_w / 2 - TERMINAL_RX)
            y1, y2 = sy + box_h / 2, ty + box_h / 2
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
        state = definition["States"][name]
        parts.extend(_map_stack(state, (x, y), (box_w, box_h)))
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
        parts.extend(_map_caption(state, (x, y), (box_w, box_h), map_runs or []))
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


def _way_back(
    source: tuple[float, float],
    target: tuple[float, float],
    colour: str,
    weight: float,
    marker: str,
) -> str:
    """A loop's edge back up: out of the source's left side, up, and into the target's."""
    (x1, y1), (x2, y2) = source, target
    return (
        f'<path d="M{x1},{y1} H{min(x1, x2) - 24} V{y2} H{x2}" fill="none" stroke="{colour}" '
        f'stroke-width="{weight}" marker-end="url(#{marker})"/>'
    )


def _map_stack(
    state: dict[str, Any], corner: tuple[float, float], size: tuple[int, int]
) -> list[str]:
    """A map as the console draws it, a stack: the boxes behind stand for its iterations."""
    if state.get("Type") != "Map":
        return []
    (x, y), (width, height) = corner, size
    return [
        f'<rect x="{x + offset}" y="{y - offset}" width="{width}" height="{height}" rx="6" '
        'fill="#fff" stroke="#888"/>'
        for offset in (8, 4)
    ]


def _map_caption(
    state: dict[str, Any],
    corner: tuple[float, float],
    size: tuple[int, int],
    runs: list[dict[str, Any]],
) -> list[str]:
    """Inside a map's box, under its name: its inner states and its last Map Run's items."""
    if state.get("Type") != "Map":
        return []
    (x, y), (width, height) = corner, size
    run = runs[-1] if runs else {}
    caption = ", ".join(state.get("ItemProcessor", {}).get("States", {}))
    if counts := run.get("items"):
        caption += f": {counts.get('succeeded', 0)} of {counts.get('total', 0)} items"
    return [
        f'<text x="{x + width / 2}" y="{y + height - 5}" text-anchor="middle" '
        f'font-size="10" fill="#555">{html.escape(caption)}</text>'
    ]


def state_machine_png(
    definition: dict[str, Any],
    steps: list[StepView],
    map_runs: list[dict[str, Any]] | None = None,
) -> bytes:
    """The same picture as PNG (cairosvg, with the cairo library, draws it)."""
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: the cairo library itself is missing
        raise RuntimeError(
            "PNG output needs cairosvg and the cairo library (`pip install cairosvg`; on "
            f"macOS `brew install cairo`); .svg needs nothing ({error})"
        ) from error
    svg = state_machine_svg(definition, steps, map_runs)
    png: bytes = cairosvg.svg2png(bytestring=svg.encode(), scale=2)
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
    """Rows by the longest path from StartAt (a state below everything that leads to it);
    columns as lanes: a state's first next state stays in its lane, a choice's other
    branches open lanes to the right, and the states reached only through a Catch get the
    rightmost lane. A loop's way back is drawn apart, not counted (``back_edges``)."""
    states = definition["States"]
    back = back_edges(definition)
    forward = {
        name: [(t, caught) for t, caught in _edges(state) if (name, t) not in back]
        for name, state in states.items()
    }
    order = _topological(definition["StartAt"], forward)
    rows = dict.fromkeys(order, 0)
    for name in order:
        for target, _ in forward[name]:
            rows[target] = max(rows[target], rows[name] + 1)
    columns: dict[str, int] = {definition["StartAt"]: 0}
    lanes = 1
    caught_only = {t for name in order for t, caught in forward[name] if caught} - {
        t for name in order for t, caught in forward[name] if not caught
    }
    for name in order:
        if name not in columns:  # reached only through a Catch: placed below
            continue
        for index, (target, caught) in enumerate(t for t in forward[name] if not t[1]):
            if target in columns or caught:
                continue
            if index == 0:
                columns[target] = columns[name]
            else:
                columns[target], lanes = lanes, lanes + 1
    for name in order:
        if name in caught_only or (name not in columns and name in rows):
            columns.setdefault(name, lanes)
            for target, _ in forward[name]:
                columns.setdefault(target, lanes)
    positions = {name: (columns[name], rows[name]) for name in order if name in columns}
    unreachable = [n for n in states if n not in positions]
    for index, name in enumerate(unreachable):
        positions[name] = (max(c for c, _ in positions.values()) + 1, index)
    return positions


def back_edges(definition: dict[str, Any]) -> set[tuple[str, str]]:
    """The edges that close a loop (a depth-first walk from StartAt meets a state it is still
    inside): drawn as a way back, left of the states."""
    states, back = definition["States"], set()
    inside: list[str] = []
    done: set[str] = set()

    def walk(name: str) -> None:
        inside.append(name)
        for target, _ in _edges(states[name]):
            if target in inside:
                back.add((name, target))
            elif target not in done and target in states:
                walk(target)
        inside.pop()
        done.add(name)

    walk(definition["StartAt"])
    return back


def _topological(start: str, forward: dict[str, list[tuple[str, bool]]]) -> list[str]:
    reachable, queue = {start}, deque([start])
    while queue:
        for target, _ in forward[queue.popleft()]:
            if target not in reachable:
                reachable.add(target)
                queue.append(target)
    waiting = dict.fromkeys(reachable, 0)
    for name in reachable:
        for target, _ in forward[name]:
            waiting[target] += 1
    ready = deque([start])
    order = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for target, _ in forward[name]:
            waiting[target] -= 1
            if not waiting[target]:
                ready.append(target)
    return order
