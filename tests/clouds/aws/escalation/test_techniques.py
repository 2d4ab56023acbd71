"""Our technique table against the published pathfinding.cloud list (ids and required actions)."""

from __future__ import annotations

import json
from pathlib import Path

from permscope.clouds.aws.escalation.techniques import TECHNIQUES, TECHNIQUES_BY_ID, Kind, Ref, Yield
from permscope.workflows.effective import action_index


def _published(shared_dir: Path) -> dict[str, dict[str, object]]:
    data = json.loads((shared_dir / "data/aws/privesc_paths_pathfinding_cloud.json").read_text())
    return {entry["id"]: entry for entry in data}


def test_every_published_technique_is_encoded_with_its_actions(shared_dir: Path) -> None:
    published = _published(shared_dir)
    assert len(published) == 65
    missing = sorted(set(published) - set(TECHNIQUES_BY_ID))
    assert missing == []
    for technique_id, entry in published.items():
        ours = TECHNIQUES_BY_ID[technique_id]
        required = {p["permission"] for p in entry["permissions"]["required"]}  # type: ignore[index]
        assert set(ours.action_names) == required, technique_id
        assert ours.name == entry["name"], technique_id
        assert ours.category == entry["category"], technique_id


def test_table_is_consistent() -> None:
    ids = [t.technique_id for t in TECHNIQUES]
    assert len(ids) == len(set(ids))
    for technique in TECHNIQUES:
        refs = {ref for _action, ref in technique.actions}
        if Ref.PASSED in refs:
            assert technique.kind is Kind.NEW_PASSROLE and technique.services, technique.technique_id
        if technique.kind in (Kind.NEW_PASSROLE, Kind.EXISTING):
            assert technique.services, technique.technique_id
        if technique.kind in (Kind.SELF_PRINCIPAL, Kind.SELF_GROUP, Kind.SELF_POLICY):
            assert technique.yields is Yield.CEILING


def test_catalogue_knows_the_actions() -> None:
    # bedrock-agentcore may be newer than the installed catalogue; the engine still decides those actions
    index = action_index()
    unknown = {a for t in TECHNIQUES for a in t.action_names if index.index_of(a) is None}
    assert unknown <= {a for t in TECHNIQUES for a in t.action_names if a.startswith("bedrock-agentcore:")}
