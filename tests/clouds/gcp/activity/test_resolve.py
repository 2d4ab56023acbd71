"""GCP actor keys matched with the stored inventory through the ports (loaded once per project)."""

from __future__ import annotations

from collections.abc import Collection
from types import SimpleNamespace
from typing import Any

from permscope.clouds.base import InventoryPorts
from permscope.clouds.gcp.activity.readers import GCP_ACTIVITY

STORED = [
    SimpleNamespace(system_id="p1", external_id="user:alice@example.com", kind="user", name="alice", unique_id=None),
    SimpleNamespace(system_id="p1", external_id="serviceAccount:robot@p1.iam.gserviceaccount.com",
                    kind="serviceAccount", name="robot", unique_id="112233445566778899001"),
]  # fmt: skip


def test_resolution() -> None:
    asked: list[set[str]] = []

    def identities(systems: Collection[str]) -> list[Any]:
        asked.append(set(systems))
        return [identity for identity in STORED if identity.system_id in systems]

    resolver = GCP_ACTIVITY.resolver(InventoryPorts(identities=identities, people=list))
    actors = [
        "p1/user:alice@example.com",
        "p1/uid:112233445566778899001",
        "p2/user:bob@example.com",
        "p1/uid:9999999999",
    ]
    resolver.load(actors)
    resolver.load(actors)
    assert asked == [{"p1", "p2"}]
    assert [resolver.resolve(actor) for actor in actors] == [
        "user:alice@example.com",
        "serviceAccount:robot@p1.iam.gserviceaccount.com",
        "user:bob@example.com",
        None,
    ]
    assert [resolver.system_of(actor) for actor in actors] == ["p1", "p1", "p2", "p1"]
    assert resolver.known("user:alice@example.com") and not resolver.known("user:bob@example.com")
    assert resolver.person_label("p1/user:alice@example.com") is None
    assert resolver.system_of("nonsense") is None and resolver.resolve("nonsense") is None
