"""Who an Azure actor key is in the stored inventory (`clouds.base.ActorResolution`).

An Azure identity is stored under its Entra object id (lower-case GUID), in every subscription whose batch
holds it, with `userPrincipalName` (users) or `appId` (service principals, managed identities) as the unique
id the store reads. An actor key (`records.actor_key`) names an identity by object id, UPN, application id or
a GUID that is one of the two:
- `oid`: the object id itself, stored or not (an identity read later then has its activity);
- `upn`, `app`: the object id of the stored identity with that UPN or application id in the actor's
  subscription (a sign-in's: in any subscription, when all that store one name the same object); None when none
  is stored there, or several differ (an application id is the same in every tenant using a multi-tenant
  application: a guess could be another's);
- `id` (a GUID from `caller`): an object id when one is stored, else an application id when one is, else None.

Activity Log actors acted in their subscription. Sign-ins (`*/...`) are tenant-wide: their identity's
activity goes to every subscription that stores the identity (`systems_of`), and nowhere when none does.
"""

from __future__ import annotations

from collections.abc import Iterable

from permscope.clouds.azure.activity.records import TENANT_WIDE, split_actor
from permscope.clouds.base import InventoryPorts


class AzureActorResolver:
    """Stored identities by object id and by UPN / application id, read for the actors of each batch."""

    def __init__(self, ports: InventoryPorts) -> None:
        self.ports = ports
        self.asked_everywhere: set[str] = set()  # values looked up in every subscription
        self.asked: set[tuple[str, str]] = set()  # (subscription, value) looked up there
        self.loaded_systems: set[str] = set()  # systems read whole (without the `matching` port)
        self.systems_by_oid: dict[str, set[str]] = {}  # object id -> systems storing it
        self.by_alias: dict[str, set[tuple[str, str]]] = {}  # UPN / application id -> {(system, object id)}

    def _index(self, rows: Iterable[object]) -> None:
        for row in rows:
            system_id = str(getattr(row, "system_id"))  # noqa: B009  (rows are the store's named tuples)
            external_id = str(getattr(row, "external_id")).lower()  # noqa: B009
            self.systems_by_oid.setdefault(external_id, set()).add(system_id)
            alias = getattr(row, "unique_id", None)
            if alias:
                self.by_alias.setdefault(str(alias).lower(), set()).add((system_id, external_id))

    def load(self, actors: Iterable[str]) -> None:
        """Read the stored identities these actors may name: an Activity Log actor's in its subscription, a
        sign-in's in every subscription; object ids by the identity key, UPNs and application ids by unique id;
        each value once per place."""
        wanted: dict[str, tuple[set[str], set[str]]] = {}  # scope -> (object ids, aliases)
        for actor in actors:
            scope, kind, value = split_actor(actor)
            if value in self.asked_everywhere or (scope, value) in self.asked:
                continue
            ids, aliases = wanted.setdefault(scope, (set(), set()))
            if kind in ("oid", "id"):
                ids.add(value)
            if kind != "oid":
                aliases.add(value)
        if not wanted:
            return
        matching = self.ports.matching
        if (
            matching is None
        ):  # a store without the lookup: the actors' subscriptions read whole (sign-ins unnamed)
            new = {scope for scope in wanted if scope != TENANT_WIDE} - self.loaded_systems
            if new:
                self._index(self.ports.identities(new))
                self.loaded_systems |= new
            return
        everywhere = wanted.pop(TENANT_WIDE, None)
        if everywhere is not None:
            self._index(matching((), sorted(everywhere[0]), sorted(everywhere[1])))
            self.asked_everywhere |= everywhere[0] | everywhere[1]
        for scope, (ids, aliases) in sorted(wanted.items()):
            ids -= self.asked_everywhere
            aliases -= self.asked_everywhere
            if ids or aliases:
                self._index(matching((scope,), sorted(ids), sorted(aliases)))
            self.asked |= {(scope, value) for value in ids | aliases}

    def _by_alias(self, alias: str, scope: str) -> str | None:
        rows = self.by_alias.get(alias)
        if not rows:
            return None
        ids = {oid for _system, oid in rows}
        if len(ids) > 1:
            ids = {oid for system, oid in rows if system == scope}
        return ids.pop() if len(ids) == 1 else None

    def resolve(self, actor: str) -> str | None:
        """The object id an actor key names (see the module), None when it cannot be named."""
        scope, kind, value = split_actor(actor)
        if kind == "oid":
            return value
        if kind == "id":
            if value in self.systems_by_oid:
                return value
            return self._by_alias(value, scope)
        return self._by_alias(value, scope)

    def system_of(self, actor: str) -> str | None:
        """The subscription an Activity Log actor acted in; None for a tenant-wide (sign-in) actor."""
        scope = actor.split("/", 1)[0]
        return None if scope == TENANT_WIDE else scope

    def systems_of(self, actor: str) -> list[str]:
        """Every subscription an actor's activity counts in: its own, or (a sign-in) each storing the identity."""
        scope = actor.split("/", 1)[0]
        if scope != TENANT_WIDE:
            return [scope]
        identity = self.resolve(actor)
        return sorted(self.systems_by_oid.get(identity, ())) if identity is not None else []

    def known(self, external_id: str) -> bool:
        """Whether the inventory holds this identity (in any subscription)."""
        return external_id.lower() in self.systems_by_oid

    def person_label(self, actor: str) -> str | None:
        """Azure has no person sessions apart from identities (AWS Identity Center's): always None."""
        return None
