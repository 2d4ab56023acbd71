"""Server-side SVG charts for the web pages: a heat map (rows x columns of counts) and a line chart over days.

Pure string builders: every text and attribute value is escaped here, each chart carries an accessible
`<title>` and `<desc>` (`role="img"`), and numbers are written as text, never told by colour alone. The pages
embed the returned markup as it is (and give the same numbers as a table).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape

# Band colours (fully saturated end of each cell's scale): green, amber, red.
HEAT_COLOURS = {"low": (46, 125, 50), "medium": (230, 145, 0), "high": (198, 40, 40)}
DEFAULT_HEAT_COLOUR = (21, 101, 192)
LINE_COLOURS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 2 1 2", "3 3")
MARKERS = ("circle", "square", "diamond", "triangle")
FONT = 'font-family="system-ui, sans-serif"'


def attr(value: object) -> str:
    """An attribute or text value, escaped (quotes too)."""
    return escape(str(value), quote=True)


def _open_svg(width: int, height: int, ident: str, title: str, desc: str, css_class: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{attr(css_class)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{attr(ident)}-title {attr(ident)}-desc" '
        f"{FONT}>",
        f'<title id="{attr(ident)}-title">{attr(title)}</title>',
        f'<desc id="{attr(ident)}-desc">{attr(desc)}</desc>',
    ]


# --------------------------------------------------------------------------------------------------- heat map


@dataclass(frozen=True, slots=True)
class HeatRow:
    """One row of a heat map: a label, a count per column, and where the label links (optional)."""

    label: str
    values: Sequence[int]
    href: str | None = None


def _mix(colour: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    """White mixed with `colour`: 8% of it for an empty cell, all of it for the largest."""
    weight = 0.08 + 0.92 * max(0.0, min(1.0, share))
    return (
        round(255 + (colour[0] - 255) * weight),
        round(255 + (colour[1] - 255) * weight),
        round(255 + (colour[2] - 255) * weight),
    )


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_colour(fill: tuple[int, int, int]) -> str:
    """Black or white, whichever contrasts more with `fill`."""
    light = _luminance(fill)
    return "#000000" if (light + 0.05) / 0.05 >= 1.05 / (light + 0.05) else "#ffffff"


def heat_map(
    rows: Sequence[HeatRow],
    columns: Sequence[str],
    *,
    title: str,
    desc: str,
    ident: str = "heat",
    unit: str = "",
) -> str:
    """A heat map: one row per item, one cell per column with its count as text; a cell's shade is its share of
    its row (so a small system's high band shows as clearly as a large one's), the column's hue that of the
    band its label starts with (`Low (0-33)`: low)."""
    label_width, cell_width, cell_height, top, longest = 340, 110, 34, 30, 40
    width = label_width + cell_width * len(columns) + 10
    height = top + cell_height * max(len(rows), 1) + 10
    parts = _open_svg(width, height, ident, title, desc, "heat-map")
    for index, column in enumerate(columns):
        x = label_width + cell_width * index + cell_width / 2
        parts.append(
            f'<text x="{x:.0f}" y="20" text-anchor="middle" font-weight="bold">{attr(column)}</text>'
        )
    if not rows:
        parts.append(f'<text x="{label_width}" y="{top + 22}">No data</text>')
    for row_index, row in enumerate(rows):
        y = top + cell_height * row_index
        total = sum(row.values)
        label = row.label if len(row.label) <= longest else row.label[: longest - 1] + "…"
        text = (
            f'<text x="{label_width - 8}" y="{y + 22}" text-anchor="end" font-size="12">{attr(label)}</text>'
        )
        if row.href:
            text = f'<a href="{attr(row.href)}">{text}</a>'
        parts.append(f"<g><title>{attr(row.label)}</title>{text}</g>")
        for index, value in enumerate(row.values):
            column = columns[index] if index < len(columns) else ""
            hue = HEAT_COLOURS.get((column.split() or [""])[0].lower(), DEFAULT_HEAT_COLOUR)
            fill = _mix(hue, value / total if total else 0.0)
            x = label_width + cell_width * index
            tip = f"{row.label}: {value} {unit} {column}".replace("  ", " ")
            parts.append(
                f"<g><title>{attr(tip)}</title>"
                f'<rect x="{x + 2}" y="{y + 2}" width="{cell_width - 4}" height="{cell_height - 4}" '
                f'fill="rgb{fill}" stroke="#9e9e9e" stroke-width="0.5"/>'
                f'<text x="{x + cell_width / 2:.0f}" y="{y + 22}" text-anchor="middle" '
                f'fill="{text_colour(fill)}">{value}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------------ line chart


@dataclass(frozen=True, slots=True)
class Series:
    """One line: its name and one value per day of the chart (None: no value that day, the line skips it)."""

    name: str
    values: Sequence[float | None] = field(default_factory=tuple)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x a power of ten that is at least `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>'
    if kind == "diamond":
        return f'<path d="M{x:.1f} {y - 4.5:.1f} L{x + 4.5:.1f} {y:.1f} L{x:.1f} {y + 4.5:.1f} L{x - 4.5:.1f} {y:.1f} Z" fill="{colour}"/>'
    if kind == "triangle":
        return f'<path d="M{x:.1f} {y - 4.5:.1f} L{x + 4.5:.1f} {y + 4:.1f} L{x - 4.5:.1f} {y + 4:.1f} Z" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'


def line_chart(
    days: Sequence[date],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    ident: str = "trend",
    y_label: str = "",
    y_max: float | None = None,
) -> str:
    """Lines over days: y from 0 to a round maximum (or `y_max`), labelled ticks, the first, last and some days
    in between on x; each series has its own colour, dash pattern and marker, and a legend entry in words;
    every point has a tooltip with its day and value."""
    width, height = 720, 300
    left, right, top, bottom = 56, 16, 16, 92
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = _open_svg(width, height, ident, title, desc, "line-chart")
    values = [v for s in series for v in s.values if v is not None]
    ceiling = y_max if y_max is not None else nice_ceiling(max(values, default=0.0))
    for tick in range(5):
        value = ceiling * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e0e0e0"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_number(value)}</text>'
        )
    if y_label:
        parts.append(
            f'<text x="14" y="{top + plot_h / 2:.0f}" font-size="11" text-anchor="middle" '
            f'transform="rotate(-90 14 {top + plot_h / 2:.0f})">{attr(y_label)}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#616161"/>'
    )
    if not days:
        parts.append(f'<text x="{left + 10}" y="{top + plot_h / 2:.0f}">No analyses recorded yet</text>')

    def x_of(index: int) -> float:
        return left + (plot_w / 2 if len(days) == 1 else plot_w * index / (len(days) - 1))

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * min(value, ceiling) / ceiling

    step = max(1, math.ceil(len(days) / 6))
    labelled = sorted(
        {0, len(days) - 1, *(i for i in range(0, len(days), step) if len(days) - 1 - i >= step / 2)}
    )
    for index in labelled if days else []:
        parts.append(
            f'<text x="{x_of(index):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">'
            f"{attr(days[index].isoformat())}</text>"
        )
    for number, line in enumerate(series):
        colour = LINE_COLOURS[number % len(LINE_COLOURS)]
        dash = DASHES[number % len(DASHES)]
        marker = MARKERS[number % len(MARKERS)]
        points = [(i, v) for i, v in enumerate(line.values[: len(days)]) if v is not None]
        segments: list[list[str]] = [[]]
        previous = None
        for index, value in points:
            if previous is not None and index != previous + 1:
                segments.append([])  # a day without value breaks the line
            segments[-1].append(f"{x_of(index):.1f},{y_of(value):.1f}")
            previous = index
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        group = [f'<g class="series"><title>{attr(line.name)}</title>']
        for segment in segments:
            if len(segment) > 1:
                group.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"{dash_attr}/>'
                )
        for index, value in points:
            tip = f"{line.name}, {days[index].isoformat()}: {_number(value)}"
            group.append(
                f"<g><title>{attr(tip)}</title>{_marker(marker, x_of(index), y_of(value), colour)}</g>"
            )
        group.append("</g>")
        parts.append("".join(group))
        legend_x = left + (number % 3) * (plot_w / 3)
        legend_y = top + plot_h + 36 + (number // 3) * 18
        name = line.name if len(line.name) <= 30 else line.name[:29] + "…"
        parts.append(
            f'<g class="legend"><line x1="{legend_x:.1f}" y1="{legend_y - 4}" x2="{legend_x + 24:.1f}" '
            f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"{dash_attr}/>'
            f"{_marker(marker, legend_x + 12, legend_y - 4, colour)}"
            f'<text x="{legend_x + 30:.1f}" y="{legend_y}" font-size="12">{attr(name)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
