"""Server-side SVG: well-formed, accessible, numbers as text, hostile names escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from permscope.presentation.web.svg import HeatRow, Series, heat_map, line_chart, nice_ceiling, text_colour

NS = {"svg": "http://www.w3.org/2000/svg"}
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # raises on markup that is not well-formed XML


def _texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{{{NS['svg']}}}text")]


def test_heat_map_writes_every_count_and_labels_with_title_and_description() -> None:
    rows = [HeatRow("AWS · production", [5, 3, 2], "/ui/systems/aws/1"), HeatRow("GCP · p", [0, 0, 7])]
    markup = heat_map(
        rows, ["Low", "Medium", "High"], title="PCI heat", desc="identities per band", unit="ids"
    )
    root = _parse(markup)
    assert root.get("role") == "img"
    labelled = root.get("aria-labelledby", "").split()
    ids = {node.get("id"): "".join(node.itertext()) for node in root.iter() if node.get("id")}
    assert [ids[i] for i in labelled] == ["PCI heat", "identities per band"]
    texts = _texts(root)
    assert texts[:3] == ["Low", "Medium", "High"]
    assert [t for t in texts if t.isdigit()] == ["5", "3", "2", "0", "0", "7"]
    assert "AWS · production" in texts and "GCP · p" in texts
    links = [a.get("href") for a in root.iter(f"{{{NS['svg']}}}a")]
    assert links == ["/ui/systems/aws/1"]
    tips = ["".join(t.itertext()) for t in root.iter(f"{{{NS['svg']}}}title")]
    assert "AWS · production: 2 ids High" in tips


def test_heat_map_shades_by_share_of_the_row_and_keeps_text_readable() -> None:
    root = _parse(heat_map([HeatRow("s", [0, 1, 9])], ["low", "medium", "high"], title="t", desc="d"))
    fills = [rect.get("fill") for rect in root.iter(f"{{{NS['svg']}}}rect")]
    assert len(fills) == 3 and len(set(fills)) == 3
    assert fills[0] == "rgb(238, 245, 239)"  # an empty low cell: a faint green
    assert text_colour((255, 255, 255)) == "#000000" and text_colour((198, 40, 40)) == "#ffffff"
    labelled = _parse(heat_map([HeatRow("s", [0, 0, 1])], ["Low (0-33)", "Medium (34-66)", "High (67-100)"],
                               title="t", desc="d"))  # fmt: skip
    assert [rect.get("fill") for rect in labelled.iter(f"{{{NS['svg']}}}rect")] == [
        "rgb(238, 245, 239)",  # the band a label starts with gives the hue
        "rgb(253, 246, 235)",
        "rgb(198, 40, 40)",
    ]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_are_escaped_in_both_charts(hostile: str) -> None:
    heat = heat_map([HeatRow(hostile, [1, 2, 3], f"/x?{hostile}")], ["low", "medium", "high"], title=hostile,
                    desc=hostile)  # fmt: skip
    line = line_chart(
        [date(2026, 1, 1)], [Series(hostile, [1.0])], title=hostile, desc=hostile, y_label=hostile
    )
    for markup in (heat, line):
        assert "<script" not in markup and "<img" not in markup
        root = _parse(markup)
        assert all(node.tag.split("}")[1] not in ("script", "img", "foreignObject") for node in root.iter())
        assert any(hostile in t or hostile[:30] in t for t in _texts(root))


def test_line_chart_plots_each_series_with_its_own_style_and_a_legend_in_words() -> None:
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(10)]
    new = Series("New", [float(n) for n in range(10)])
    resolved = Series("Resolved", [None, 1.0, 2.0, None, None, 5.0, 6.0, None, None, None])
    root = _parse(line_chart(days, [new, resolved], title="Trend", desc="per day", y_label="findings"))
    lines = list(root.iter(f"{{{NS['svg']}}}polyline"))
    assert len(lines) == 3  # one for New, two for Resolved (a day without value breaks it)
    assert lines[0].get("stroke") != lines[1].get("stroke")
    assert lines[0].get("stroke-dasharray") is None and lines[1].get("stroke-dasharray")
    texts = _texts(root)
    assert {"New", "Resolved", "findings", "2026-11-01", "2026-11-10"} <= set(texts)
    assert "10" in texts  # the y axis goes to a round 10 above the maximum 9
    tips = ["".join(t.itertext()) for t in root.iter(f"{{{NS['svg']}}}title")]
    assert "Resolved, 2026-11-06: 5" in tips and "New, 2026-11-10: 9" in tips


def test_line_chart_without_days_says_so() -> None:
    texts = _texts(_parse(line_chart([], [Series("New", [])], title="t", desc="d")))
    assert "No analyses recorded yet" in texts


def test_a_single_day_is_drawn_as_points_in_the_middle() -> None:
    root = _parse(line_chart([date(2026, 1, 1)], [Series("New", [4.0])], title="t", desc="d", y_max=100.0))
    assert not list(root.iter(f"{{{NS['svg']}}}polyline"))
    assert "100" in _texts(root)
    circles = [c for c in root.iter(f"{{{NS['svg']}}}circle")]
    assert circles and float(circles[0].get("cx", 0)) == pytest.approx(56 + (720 - 56 - 16) / 2)


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 1), (1, 1), (3, 5), (9, 10), (11, 20), (240, 250), (0.3, 0.5), (1200, 2000)]
)
def test_nice_ceiling(value: float, expected: float) -> None:
    assert nice_ceiling(value) == pytest.approx(expected)
