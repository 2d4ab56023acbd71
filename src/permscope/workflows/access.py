"""Which authorization systems an API key may read: the one place the read routes ask, as sets of systems the
store turns into SQL (`store.systems`, `store.findings`). The rule is `core.access`'s:

- analytics (findings, PCI distributions) and inventory (identities, policies, resources, actions, services,
  effective permissions, assumable roles): the systems where the key is viewer, approver or administrator
  (admin and viewer keys: every system);
- the authorization systems themselves (the list, one by id): those where the key holds any role, requestor
  included, so a requestor can name the system it asks on (it still reads none of its inventory).

Inventory was once readable by every key (`Settings.inventory_open_to_all_keys` keeps that behaviour). A
system outside a key's view answers exactly as a missing one (404), so a key never learns that it exists.
"""

from __future__ import annotations

from permscope.core.access import READING_ROLES, Systems
from permscope.core.requests import SystemRole
from permscope.workflows.apikeys import ApiPrincipal

EVERY_SYSTEM = Systems(everything=True)


def readable_systems(principal: ApiPrincipal) -> Systems:
    """The systems whose analytics a key may read."""
    return principal.systems_with(READING_ROLES)


def inventory_systems(principal: ApiPrincipal, open_to_all: bool = False) -> Systems:
    """The systems whose inventory a key may read: those of its analytics, or every one when `open_to_all`."""
    return EVERY_SYSTEM if open_to_all else readable_systems(principal)


def listed_systems(principal: ApiPrincipal, open_to_all: bool = False) -> Systems:
    """The authorization systems a key sees listed and by id: where it holds any role (every one when
    `open_to_all`)."""
    return EVERY_SYSTEM if open_to_all else principal.systems_with(frozenset(SystemRole))
