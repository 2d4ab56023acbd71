"""What permissions on demand needs from each cloud, through its plugin (`CloudPlugin.requests`): checks of a
request against the stored inventory and the action catalogue, who receives the grant, and the grant connector.
A cloud whose plugin has no request rules (or no plugin) has no support: its requests are recorded and refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from permscope.clouds.base import Echo, InventoryLookups, RequestRules, plugin
from permscope.core.errors import CloudNotBuiltError
from permscope.core.grants import GrantConnector
from permscope.core.ids import Cloud
from permscope.core.requests import RequestSpec
from permscope.settings import Settings
from permscope.store import queries
from permscope.store.homes import view_of_row
from permscope.store.requests import find_identity_row
from permscope.store.tables import AuthorizationSystemRow

ConnectorFactory = Callable[[Cloud, str], GrantConnector]


def _lookups(session: Session, system: AuthorizationSystemRow) -> InventoryLookups:
    """The stored inventory of one system, as request checks ask it."""
    view = view_of_row(system)

    def identity_kind(external_id: str) -> str | None:
        row = find_identity_row(session, view, external_id)
        return None if row is None else row.kind

    def policy_stored(external_id: str) -> bool:
        return queries.assignable_policy_stored(session, view_of_row(system), external_id)

    return InventoryLookups(identity_kind=identity_kind, policy_stored=policy_stored)


@dataclass(frozen=True, slots=True)
class CloudSupport:
    """A cloud's part of permissions on demand."""

    cloud: Cloud
    rules: RequestRules

    def validate(self, session: Session, system: AuthorizationSystemRow, spec: RequestSpec) -> str:
        """Check a request against the stored system and the catalogue; who receives the grant."""
        return self.rules.validate(spec, system.system_id, _lookups(session, system))

    def expand_action(self, pattern: str) -> list[str]:
        """The catalogue actions an action pattern names, lower-case; [] when none."""
        index = plugin(self.cloud).action_index()
        return [name.lower() for name in index.names(index.expand(pattern))]


def support_for(cloud: Cloud) -> CloudSupport | None:
    """The cloud's support, or None while it has no request rules."""
    try:
        rules = plugin(cloud).requests
    except CloudNotBuiltError:
        return None
    return None if rules is None else CloudSupport(cloud, rules)


def still_present(
    session: Session, system: AuthorizationSystemRow, identity: str, grantee: str
) -> str | None:
    """Why a request can no longer go ahead because an identity left the inventory (None when both exist)."""
    for external_id in dict.fromkeys((identity, grantee)):
        # AWS: both are ARNs of stored identities unless federated; Azure and GCP: the grantee is the stored id
        stored = external_id.startswith("arn:") or (system.cloud != "aws" and external_id == grantee)
        if stored and external_id and find_identity_row(session, view_of_row(system), external_id) is None:
            return f"{external_id} is no longer in the inventory of {system.cloud} {system.system_id}"
    return None


def default_connectors(
    settings: Settings, *, dry_run: bool = False, echo: Echo | None = None
) -> ConnectorFactory:
    """A factory of the configured connectors, one per (cloud, system)."""

    def make(cloud: Cloud, system_id: str) -> GrantConnector:
        support = support_for(cloud)
        if support is None:
            raise ValueError(f"no connector for {cloud.value} yet")
        return support.rules.connector(system_id, settings=settings, dry_run=dry_run, echo=echo)

    return make
