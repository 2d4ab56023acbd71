"""Escalation paths drawn as a server-side SVG: principals as boxes in layers from left to right (a node's layer
is its distance in steps from the identity the paths start at), each step an arrow labelled with its technique.

Pure and escaped: every text of the drawing goes through `html.escape`, so a principal named `<script>` is a
text node; the page beside it lists the same steps in order for screen readers and for copying.
"""

from __future__ import annotations

import textwrap
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

NODE_WIDTH = 220
NODE_HEIGHT = 44
COLUMN_GAP = 210  # room between layers for an edge's label
ROW_GAP = 34
MARGIN = 16
NAME_CHARS = 26  # characters of a name shown in a box (the whole name is in the box's <title>)
LABEL_CHARS = 30  # characters of one label line on an arrow
LABEL_LINES = 3  # techniques shown per arrow, two lines each at most (the rest: "+ n more")
LINE_HEIGHT = 14
LOOP_ROOM = 64  # above the boxes, for a step on itself (and its label)
BACK_ROOM = 80  # below the boxes, for steps back to an earlier layer
INK = "#1b2733"  # text and box outlines: contrast over 12:1 on the fills
NODE_FILL = "#eef3fb"
ROOT_FILL = "#fde9c8"  # the identity the paths start at (also drawn bold and thicker: not colour alone)
EDGE = "#44525f"


@dataclass(frozen=True, slots=True)
class GraphStep:
    """One step to draw: `source` uses a technique and so acts as (or, `grants`, gives rights to) `target`."""

    source: str
    target: str
    technique: str  # the technique's id and name, shown on the arrow
    details: str  # the step in words (technique name, actions, resources): the arrow's tooltip
    grants: bool = False


@dataclass(slots=True)
class _Edge:
    source: str
    target: str
    labels: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    grants: bool = False


def e(value: object) -> str:
    """Escaped text (quotes too: safe in attributes)."""
    return escape(str(value), quote=True)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _wrapped(label: str) -> list[str]:
    """A label on at most two lines of LABEL_CHARS (the second cut when longer)."""
    lines = textwrap.wrap(label, LABEL_CHARS, break_on_hyphens=False) or [""]
    return lines if len(lines) <= 2 else [lines[0], _cut(" ".join(lines[1:]), LABEL_CHARS)]


def layers(root: str, steps: Sequence[GraphStep]) -> dict[str, int]:
    """Each principal's layer: its distance in steps from `root` (breadth first); principals no step from the
    root reaches come after the deepest layer, in the order the steps name them."""
    following: dict[str, list[str]] = {}
    order: dict[str, None] = {root: None}
    for step in steps:
        following.setdefault(step.source, []).append(step.target)
        order.update(dict.fromkeys((step.source, step.target)))
    found = {root: 0}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for target in following.get(node, ()):
            if target not in found:
                found[target] = found[node] + 1
                queue.append(target)
    last = max(found.values()) + 1
    for node in order:
        found.setdefault(node, last)
    return found


def _edges(steps: Sequence[GraphStep]) -> list[_Edge]:
    """Steps between the same two principals share one arrow, with one label line per technique."""
    edges: dict[tuple[str, str, bool], _Edge] = {}
    for step in steps:
        edge = edges.setdefault(
            (step.source, step.target, step.grants), _Edge(step.source, step.target, grants=step.grants)
        )
        if step.technique not in edge.labels:
            edge.labels.append(step.technique)
        if step.details not in edge.details:
            edge.details.append(step.details)
    return list(edges.values())


def _node_svg(node: str, name: str, x: int, y: int, *, root: bool, href: str | None) -> str:
    css, fill, stroke = ("node root", ROOT_FILL, 3) if root else ("node", NODE_FILL, 1.5)
    weight = ' font-weight="bold"' if root else ""
    limit = NAME_CHARS - 3 if root else NAME_CHARS  # bold text is wider
    box = (
        f'<g class="{css}"><title>{e(node)}</title>'
        f'<rect x="{x}" y="{y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="6" ry="6" fill="{fill}" '
        f'stroke="{INK}" stroke-width="{stroke}"/>'
        f'<text x="{x + NODE_WIDTH // 2}" y="{y + NODE_HEIGHT // 2 + 5}" text-anchor="middle" fill="{INK}" '
        f'font-size="13"{weight}>{e(_cut(name, limit))}</text></g>'
    )
    return f'<a href="{e(href)}">{box}</a>' if href else box


def _label_svg(edge: _Edge, x: float, y: float) -> str:
    lines = [line for label in edge.labels[:LABEL_LINES] for line in _wrapped(label)]
    if len(edge.labels) > LABEL_LINES:
        lines.append(f"+ {len(edge.labels) - LABEL_LINES} more")
    if edge.grants:
        lines.insert(0, "grants rights:")
    top = y - LINE_HEIGHT * (len(lines) - 1) - 4
    spans = "".join(
        f'<tspan x="{x:.0f}" y="{top + LINE_HEIGHT * number:.0f}">{e(line)}</tspan>'
        for number, line in enumerate(lines)
    )
    return f'<text class="edge-label" text-anchor="middle" font-size="12" fill="{INK}">{spans}</text>'


def _edge_svg(edge: _Edge, places: dict[str, tuple[int, int]], number: int) -> str:
    (sx, sy), (tx, ty) = places[edge.source], places[edge.target]
    css = "edge grants" if edge.grants else "edge"
    title = f"<title>{e(' | '.join(edge.details))}</title>"
    if edge.source == edge.target:  # a step on itself: a loop above the box
        left, right, top = sx + NODE_WIDTH // 2 - 30, sx + NODE_WIDTH // 2 + 30, sy
        path = f"M {left} {top} C {left} {top - 40}, {right} {top - 40}, {right} {top}"
        label = _label_svg(edge, sx + NODE_WIDTH / 2, top - 34)
    elif tx > sx:  # forward: from the right side of the source to the left side of the target
        start_x, start_y, end_x, end_y = sx + NODE_WIDTH, sy + NODE_HEIGHT // 2, tx, ty + NODE_HEIGHT // 2
        middle = (start_x + end_x) / 2
        path = f"M {start_x} {start_y} C {middle:.0f} {start_y}, {middle:.0f} {end_y}, {end_x} {end_y}"
        label = _label_svg(edge, middle, (start_y + end_y) / 2 - 4)
    else:  # back or within a layer: an arc below the boxes
        start_x, end_x = sx + NODE_WIDTH // 2, tx + NODE_WIDTH // 2
        start_y, end_y = sy + NODE_HEIGHT, ty + NODE_HEIGHT
        low = max(start_y, end_y) + 40 + 10 * (number % 3)
        path = f"M {start_x} {start_y} C {start_x} {low}, {end_x} {low}, {end_x} {end_y}"
        label = _label_svg(edge, (start_x + end_x) / 2, low + 4)
    dash = ' stroke-dasharray="6 4"' if edge.grants else ""
    return (
        f'<g class="{css}">{title}<path d="{path}" fill="none" stroke="{EDGE}" stroke-width="1.5"{dash} '
        f'marker-end="url(#arrow)"/>{label}</g>'
    )


def escalation_svg(
    root: str,
    steps: Sequence[GraphStep],
    *,
    name: Callable[[str], str] = str,
    href: Callable[[str], str | None] = lambda _node: None,
    title: str = "Escalation paths",
) -> str:
    """The SVG of some escalation steps starting at `root` (see the module doc); `name` gives a principal's
    shown name, `href` the link of its box (None: not linked). Empty when there is no step."""
    if not steps:
        return ""
    layer_of = layers(root, steps)
    columns: dict[int, list[str]] = {}
    for node, layer in layer_of.items():
        columns.setdefault(layer, []).append(node)
    edges = _edges(steps)
    top = MARGIN + (LOOP_ROOM if any(edge.source == edge.target for edge in edges) else LINE_HEIGHT)
    back = any(
        edge.source != edge.target and layer_of[edge.target] <= layer_of[edge.source] for edge in edges
    )
    places: dict[str, tuple[int, int]] = {}
    for layer, nodes in columns.items():
        for row, node in enumerate(nodes):
            places[node] = (MARGIN + layer * (NODE_WIDTH + COLUMN_GAP), top + row * (NODE_HEIGHT + ROW_GAP))
    width = MARGIN * 2 + len(columns) * NODE_WIDTH + (len(columns) - 1) * COLUMN_GAP
    rows = max(len(nodes) for nodes in columns.values())
    height = top + rows * (NODE_HEIGHT + ROW_GAP) - ROW_GAP + MARGIN + (BACK_ROOM if back else 0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="escalation-graph" role="group" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" aria-labelledby="graph-title">',
        f'<title id="graph-title">{e(title)}</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#44525f"/></marker></defs>',
    ]
    parts.extend(_edge_svg(edge, places, number) for number, edge in enumerate(edges))
    parts.extend(
        _node_svg(node, name(node), x, y, root=node == root, href=None if node == root else href(node))
        for node, (x, y) in places.items()
    )
    parts.append("</svg>")
    return "".join(parts)
