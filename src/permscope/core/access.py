"""Who may do what with permissions requests, pure: the systems a key's scopes cover, the people a request
belongs to, and the rules for seeing and reviewing one. Their SQL forms are in `store.access`.

The people of a request (`RequestParties`):
- the **requester** is the principal of the API key that submitted it (`createdBy`): the only one who cancels
  it while it is pending, and the one `filterByCurrentUser(on='createdBy')` names;
- the **recipient** is the identity that receives the permissions (`identityInfo.externalId`; a federated
  user's `rsn:` prefix aside): `filterByCurrentUser(on='principal')`;
- the **ticket submitter** is the person the external ticket says asked (`ticketInfo.ticketSubmitterIdentityId`),
  e.g. when a ticketing integration's key submits requests on people's behalf.
A request is one's **own** when one is any of the three: a requestor of its system reads its own requests, and
nobody reviews (approves or rejects) their own request, so the approvals listed to someone are exactly those
they may review. Names compare without case, surrounding blanks or the `rsn:` prefix (`principal_match`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from permscope.core.requests import RequestStatus, SystemRole

ANY = "*"  # a key scope's cloud or system id that covers every cloud or system


class ApiRole(StrEnum):
    """What a key may do everywhere. Admin: everything (administrator of every system); viewer: read;
    scoped: only what its per-system roles allow (`workflows.access` says which systems it reads)."""

    ADMIN = "admin"
    VIEWER = "viewer"
    SCOPED = "scoped"


READING_ROLES = frozenset({SystemRole.VIEWER, SystemRole.APPROVER, SystemRole.ADMINISTRATOR})
REQUESTING_ROLES = frozenset({SystemRole.REQUESTOR, SystemRole.ADMINISTRATOR})
APPROVING_ROLES = frozenset({SystemRole.APPROVER, SystemRole.ADMINISTRATOR})
OWN_ONLY_ROLES = frozenset({SystemRole.REQUESTOR})  # read only the holder's own requests


def scope_covers(scope_cloud: str, scope_system_id: str, cloud: str, system_id: str) -> bool:
    """Whether a key scope (`*` for any cloud or any system) covers one authorization system."""
    return scope_cloud in (ANY, cloud) and scope_system_id in (ANY, system_id)


@dataclass(frozen=True, slots=True)
class Systems:
    """A set of authorization systems given by key scopes: every system, or those one of `scopes` covers."""

    everything: bool = False
    scopes: tuple[tuple[str, str], ...] = ()  # (cloud, system id) pairs, `*` for any

    def covers(self, cloud: str, system_id: str) -> bool:
        """Whether the system is in the set."""
        return self.everything or any(scope_covers(c, s, cloud, system_id) for c, s in self.scopes)


def principal_match(name: str | None) -> str:
    """A principal name as the rules compare it: without case, surrounding blanks or the `rsn:` prefix of a
    federated user ("" for none, which matches nobody)."""
    text = (name or "").strip().lower()
    return text.removeprefix("rsn:").strip()


def _same(who: str, name: str | None) -> bool:
    wanted = principal_match(who)
    return wanted != "" and wanted == principal_match(name)


@dataclass(frozen=True, slots=True)
class RequestParties:
    """The people a request belongs to (see the module docstring), as stored."""

    requester: str  # createdBy
    recipient: str  # identityInfo.externalId
    ticket_submitter: str | None = None  # ticketInfo.ticketSubmitterIdentityId

    def is_requester(self, who: str) -> bool:
        """Whether `who` submitted the request (cancels it while pending; on='createdBy')."""
        return _same(who, self.requester)

    def receives(self, who: str) -> bool:
        """Whether `who` receives the permissions (on='principal')."""
        return _same(who, self.recipient)

    def is_own(self, who: str) -> bool:
        """Whether the request is `who`'s own: they submitted it, receive it, or submitted its ticket."""
        return self.is_requester(who) or self.receives(who) or _same(who, self.ticket_submitter)


@dataclass(frozen=True, slots=True)
class RequestReader:
    """What one caller may read: every request of the `full` systems, its own requests of the `own` ones."""

    who: str
    full: Systems
    own: Systems

    def may_see(self, cloud: str, system_id: str, parties: RequestParties) -> bool:
        """Whether the caller may see a request of this system with these parties."""
        return self.full.covers(cloud, system_id) or (
            self.own.covers(cloud, system_id) and parties.is_own(self.who)
        )


def may_review(
    roles: frozenset[SystemRole], status: RequestStatus, parties: RequestParties, who: str
) -> bool:
    """Whether `who`, holding `roles` on the request's system, may approve or reject it now (an approval
    step's `assignedToMe`): it is submitted, they approve on the system, and it is not their own."""
    return status is RequestStatus.SUBMITTED and bool(roles & APPROVING_ROLES) and not parties.is_own(who)
