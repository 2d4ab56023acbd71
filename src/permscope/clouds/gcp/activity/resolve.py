"""Who an actor key of the GCP aggregate is in the stored inventory.

An actor key is `<project>/<member>` (`actors`): the member string is the identity's external id, stored or
not (a member acting in a project whose inventory does not hold it is still recorded, and reported as not in
the inventory). `<project>/uid:<unique id>` (a service account Policy Analyzer names by its unique id) is the
stored service account with that unique id, else None (unresolved). The inventory is read through the lookups
the workflow passes (clouds never read the store), once per project.
"""

from __future__ import annotations

from collections.abc import Iterable

from permscope.clouds.base import InventoryPorts
from permscope.clouds.gcp.activity.actors import UNIQUE_ID_ACTOR, split_actor


class GcpActorResolver:
    """The stored identities by external id and by unique id, loaded per project."""

    def __init__(self, ports: InventoryPorts) -> None:
        self.ports = ports
        self.loaded: set[str] = set()
        self.exact: set[str] = set()
        self.by_unique_id: dict[str, str] = {}

    def system_of(self, actor: str) -> str | None:
        """The project an actor acted in."""
        project, member = split_actor(actor)
        return project if project and member else None

    def load(self, actors: Iterable[str]) -> None:
        """Read the identities of the projects these actors acted in (once per project)."""
        new = {project for actor in actors if (project := self.system_of(actor)) is not None} - self.loaded
        if not new:
            return
        for known in self.ports.identities(new):
            self.exact.add(known.external_id)
            if known.unique_id:
                self.by_unique_id.setdefault(str(known.unique_id), known.external_id)
        self.loaded |= new

    def known(self, external_id: str) -> bool:
        """Whether the inventory holds this identity."""
        return external_id in self.exact

    def person_label(self, actor: str) -> str | None:
        """None: GCP has no session keys of people."""
        return None

    def resolve(self, actor: str) -> str | None:
        """The member an actor key names (stored or not), the stored service account of a unique id, or None."""
        _project, member = split_actor(actor)
        if not member:
            return None
        if member.startswith(UNIQUE_ID_ACTOR):
            return self.by_unique_id.get(member[len(UNIQUE_ID_ACTOR) :])
        return member
