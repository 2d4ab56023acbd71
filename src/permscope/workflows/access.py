"""Which authorization systems an API key may read (inventory analytics: findings, PCI distributions): the one
place the analytics routes ask, as the set of systems the store turns into SQL and as a check of one system.
The rule is `core.access`'s: a key reads the analytics of the systems where it is viewer, approver or
administrator (admin and viewer keys: every system)."""

from __future__ import annotations

from permscope.core.access import READING_ROLES, Systems
from permscope.core.errors import AccessDeniedError
from permscope.workflows.apikeys import ApiPrincipal


def readable_systems(principal: ApiPrincipal) -> Systems:
    """The systems whose analytics a key may read."""
    return principal.systems_with(READING_ROLES)


def check_readable(principal: ApiPrincipal, cloud: str, system_id: str) -> None:
    """AccessDeniedError unless the key may read this system's analytics."""
    if not readable_systems(principal).covers(cloud, system_id):
        raise AccessDeniedError(f"the key has no role on {cloud} authorization system {system_id!r}")
