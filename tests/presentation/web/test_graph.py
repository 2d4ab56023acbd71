"""The escalation drawing: layers from the identity the paths start at, one arrow per pair, everything escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from permscope.presentation.web.graph import GraphStep, escalation_svg, layers

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def _step(source: str, target: str, technique: str = "t", *, grants: bool = False) -> GraphStep:
    return GraphStep(source, target, technique, f"{technique} from {source} to {target}", grants=grants)


def test_layers_are_distances_from_the_root_and_unreached_principals_come_last() -> None:
    steps = [_step("a", "b"), _step("b", "c"), _step("a", "c"), _step("c", "a"), _step("x", "y")]
    assert layers("a", steps) == {"a": 0, "b": 1, "c": 1, "x": 2, "y": 2}


def test_no_step_draws_nothing() -> None:
    assert escalation_svg("a", []) == ""


def test_the_drawing_is_well_formed_with_one_box_per_principal_and_one_arrow_per_pair() -> None:
    steps = [_step("u", "r1", "iam-001"), _step("u", "r1", "sts-assume"), _step("r1", "admin", "iam-005"),
             _step("u", "u", "iam-self"), _step("r1", "other", "grant", grants=True)]  # fmt: skip
    svg = escalation_svg("u", steps, name=str.upper, href=lambda node: f"/ui/x?id={node}")
    root = ET.fromstring(svg)
    boxes = root.findall(f".//{SVG}g[@class='node']") + root.findall(f".//{SVG}g[@class='node root']")
    assert sorted(box.findtext(f"{SVG}title") for box in boxes) == ["admin", "other", "r1", "u"]
    edges = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("edge")]
    assert len(edges) == 4  # u->r1 (two techniques on one arrow), r1->admin, u->u, r1->other
    labels = ["".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("class") == "edge-label"]
    assert "iam-001sts-assume" in labels and "grants rights:grant" in labels
    long = escalation_svg(
        "u", [_step("u", "r", "CreateServiceAccountHMACKey storage.hmacKeys.create then more words")]
    )
    lines = ["".join(t.itertext()) for t in ET.fromstring(long).iter(f"{SVG}tspan")]
    assert lines == ["CreateServiceAccountHMACKey", "storage.hmacKeys.create then \u2026"]
    grant = next(g for g in edges if g.get("class") == "edge grants")
    assert grant.find(f"{SVG}path").get("stroke-dasharray")  # a grant is dashed, not only coloured
    # the root is not linked, the others are, to their own pages; names come from `name`
    links = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert sorted(links) == ["/ui/x?id=admin", "/ui/x?id=other", "/ui/x?id=r1"]
    assert {"".join(t.itertext()) for box in boxes for t in box.iter(f"{SVG}text")} == {
        "U",
        "R1",
        "ADMIN",
        "OTHER",
    }
    # the root sits left of what it reaches
    x_of = {box.findtext(f"{SVG}title"): float(box.find(f"{SVG}rect").get("x")) for box in boxes}
    assert x_of["u"] < x_of["r1"] < x_of["admin"]


def test_hostile_names_and_techniques_are_text() -> None:
    steps = [_step(HOSTILE[0], HOSTILE[1], HOSTILE[0])]
    svg = escalation_svg(HOSTILE[0], steps, name=lambda node: node, href=lambda node: node, title=HOSTILE[1])
    assert "<script" not in svg and "<img" not in svg
    root = ET.fromstring(svg)  # still well-formed: everything escaped
    tags = {element.tag.removeprefix(SVG) for element in root.iter()}
    assert tags <= {"svg", "title", "defs", "marker", "path", "g", "a", "rect", "text", "tspan"}
    assert not any(name.startswith("on") for element in root.iter() for name in element.attrib)
    texts = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}title"))
    assert HOSTILE[0] in texts and HOSTILE[1] in texts
    assert [a.get("href") for a in root.iter(f"{SVG}a")] == [HOSTILE[1]]


def test_long_names_are_cut_in_the_box_and_whole_in_its_title() -> None:
    long = "arn:aws:iam::111122223333:role/" + "x" * 80
    svg = escalation_svg("u", [_step("u", long)], name=str)
    root = ET.fromstring(svg)
    box = next(g for g in root.iter(f"{SVG}g") if g.findtext(f"{SVG}title") == long)
    shown = "".join(box.find(f"{SVG}text").itertext())
    assert len(shown) <= 28 and shown.endswith("\u2026")
