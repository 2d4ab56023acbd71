"""The cloud registry: every registered cloud implements the whole plugin protocol (and each part it offers);
a cloud not built is refused by name."""

from __future__ import annotations

import inspect
from typing import Any, Protocol

import pytest

from permscope.clouds.base import (
    AccessGenerator,
    ActivityReaders,
    ActorResolution,
    CloudPlugin,
    Collector,
    ImportedFiles,
    InventoryPorts,
    LazyBatches,
    PermissionEvaluator,
    PermissionInventory,
    RequestRules,
    built_clouds,
    plugin,
)
from permscope.core.errors import CloudNotBuiltError
from permscope.core.escalation import EscalationModel
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, InventoryBatch
from permscope.core.snapshot import CloudView, SystemSnapshot


def members(protocol: type[Any]) -> dict[str, Any]:
    """A protocol's members: name -> the function (methods, properties' getters) or None (plain attributes)."""
    found: dict[str, Any] = dict.fromkeys(getattr(protocol, "__annotations__", {}))
    for name, value in vars(protocol).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            found[name] = None
        elif inspect.isfunction(value):
            found[name] = value
    return found


def assert_implements(obj: Any, protocol: type[Any]) -> None:
    """Every member of the protocol exists on `obj`; methods are callable and take the same parameters."""
    for name, declared in members(protocol).items():
        assert hasattr(obj, name), f"{type(obj).__name__} lacks {protocol.__name__}.{name}"
        if declared is None:
            continue
        implemented = getattr(obj, name)
        assert callable(implemented), f"{type(obj).__name__}.{name} is not callable"
        wanted = [p for p in inspect.signature(declared).parameters if p != "self"]
        got = list(inspect.signature(implemented).parameters)
        assert got == wanted, f"{type(obj).__name__}.{name}{got} differs from the protocol's {wanted}"


def test_the_protocols_are_protocols() -> None:
    for protocol in (
        CloudPlugin,
        Collector,
        RequestRules,
        ActivityReaders,
        ActorResolution,
        CloudView,
        AccessGenerator,
    ):
        assert Protocol in protocol.__mro__
        assert members(protocol)


@pytest.mark.parametrize("cloud", built_clouds(), ids=lambda c: c.value)
def test_every_registered_cloud_implements_the_whole_protocol(cloud: Cloud) -> None:
    found = plugin(cloud)
    assert_implements(found, CloudPlugin)
    assert found.cloud is cloud
    assert (found.label, found.system_noun) == (cloud.label, cloud.system_noun)
    assert set(found.need_hints) >= {"activity", "resources"}
    for part, protocol in (
        (found.collector, Collector),
        (found.requests, RequestRules),
        (found.activity, ActivityReaders),
        (found.least_privilege, AccessGenerator),
    ):
        if part is not None:
            assert_implements(part, protocol)
    readers = found.activity
    if readers is not None:
        resolver = readers.resolver(InventoryPorts(identities=lambda _systems: [], people=list))
        assert_implements(resolver, ActorResolution)


@pytest.mark.parametrize("cloud", built_clouds(), ids=lambda c: c.value)
def test_every_registered_cloud_evaluates_views_and_escalates(cloud: Cloud) -> None:
    found = plugin(cloud)
    index = found.action_index()
    assert index.size == len(found.catalog().actions) > 0
    evaluator = found.evaluator(PermissionInventory(), index, None)
    assert_implements(evaluator, PermissionEvaluator)
    snapshot = SystemSnapshot(
        system=AuthorizationSystem(cloud=cloud, system_id="0", name="empty"),
        identities=[],
        memberships=[],
        policies=[],
        assignments=[],
        resources=None,
        usages=None,
        has_activity=False,
        index=index,
        view_factory=found.view,
    )
    assert_implements(snapshot.view, CloudView)
    model = found.escalation(snapshot, is_super=lambda _p: False, skip=lambda _i: False, max_targets=1)
    if model is not None:
        assert_implements(model, EscalationModel)
        assert model.graph.edges == {}


def test_a_cloud_not_built_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from permscope.clouds import base

    assert built_clouds() == list(Cloud)  # every cloud is built now: take one out of the registry
    monkeypatch.delitem(base.CLOUDS, Cloud.GCP)
    with pytest.raises(CloudNotBuiltError, match="gcp"):
        plugin(Cloud.GCP)


def test_lazy_batches_are_built_each_time_they_are_read_and_their_ids_are_known_before() -> None:
    made: list[str] = []

    def build(system_id: str) -> InventoryBatch:
        made.append(system_id)
        return InventoryBatch(
            system=AuthorizationSystem(cloud=Cloud.GCP, system_id=system_id, name=system_id), source="t"
        )

    batches = LazyBatches(["a", "b", "c"], build)
    found = ImportedFiles(batches=batches)
    assert (len(batches), found.system_ids, made) == (3, ["a", "b", "c"], [])
    assert batches[1].system.system_id == "b" and batches[1] is not batches[1]  # not kept
    assert [b.system.system_id for b in batches[1:]] == ["b", "c"]
    assert made == ["b", "b", "b", "b", "c"]
    found.finish_batches(lambda batch: batch.warnings.append("finished"))
    assert [b.warnings for b in found.batches] == [["finished"]] * 3  # when built
    listed = ImportedFiles(batches=[build("d")])
    listed.finish_batches(lambda batch: batch.warnings.append("finished"))  # a list: at once
    assert (listed.system_ids, listed.batches[0].warnings) == (["d"], ["finished"])
