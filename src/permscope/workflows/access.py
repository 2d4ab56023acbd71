"""Which authorization systems an API key may read (inventory analytics: findings, PCI distributions): the one
place the analytics routes ask, as a scope the store turns into SQL and as a check of one system."""

from __future__ import annotations

from permscope.core.errors import AccessDeniedError
from permscope.store.systems import SystemScope
from permscope.workflows.apikeys import ApiPrincipal
from permscope.workflows.requests import READING_ROLES, visibility_for


def readable_systems(principal: ApiPrincipal) -> SystemScope:
    """The systems whose analytics a key may read: admin and viewer keys all; scoped keys those where they are
    viewer, approver or administrator (the systems whose requests they read in full)."""
    visibility = visibility_for(principal)
    return SystemScope(everything=visibility.everything, systems=visibility.full)


def check_readable(principal: ApiPrincipal, cloud: str, system_id: str) -> None:
    """AccessDeniedError unless the key may read this system's analytics."""
    if not principal.roles_on(cloud, system_id) & READING_ROLES:
        raise AccessDeniedError(f"the key has no role on {cloud} authorization system {system_id!r}")
