"""What a grant connector does to a cloud: grant items, the cloud-neutral connector protocol, its errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from permscope.core.errors import PermscopeError
from permscope.core.requests import GrantAction


class GrantKind(StrEnum):
    """One kind of change a connector makes (and later undoes)."""

    MANAGED_POLICY = "managedPolicy"  # attach an existing managed policy
    INLINE_POLICY = "inlinePolicy"  # put a policy document of our own, under our own name
    TAG = "tag"  # a tag on the identity that marks our grant
    ROLE_ASSIGNMENT = "roleAssignment"  # Azure: the assignment of a role to a principal at a scope
    ROLE_DEFINITION = "roleDefinition"  # Azure: a custom role definition of our own, one per request
    IAM_BINDING = "iamBinding"  # GCP: a member in a conditional binding of our own (per request, role)
    CUSTOM_ROLE = "customRole"  # GCP: a project custom role of our own, one per request


# What two requests can hold at once: the same attachment or role assignment exists once in the cloud.
SHAREABLE_KINDS = frozenset({GrantKind.MANAGED_POLICY, GrantKind.ROLE_ASSIGNMENT})


@dataclass(frozen=True, slots=True)
class GrantItem:
    """One change on one principal: attach `target`, put inline policy `target`, set tag `target`, or (Azure,
    GCP) the role assignment, role definition, binding or custom role named `target`."""

    kind: GrantKind
    principal: str  # who receives it: an ARN (AWS), an Entra object id (Azure), an IAM member (GCP)
    target: str  # policy ARN, inline policy or tag name; role assignment/definition id; binding; role
    document: dict[str, Any] | None = None  # inline policy document; the body the cloud call sends
    value: str | None = None  # tag value

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two items the same thing in the cloud (two requests may hold the same attachment)."""
        return (self.kind.value, self.principal, self.target)

    @property
    def shareable(self) -> bool:
        """Whether two requests can hold this very item (attachments and role assignments can; our named
        policies, tags, role definitions and bindings cannot)."""
        return self.kind in SHAREABLE_KINDS


@dataclass(frozen=True, slots=True)
class GrantRequest:
    """What a connector needs to turn an approved request into items."""

    request_id: str
    system_id: str
    principal: str  # who receives the permissions (the identity, or the assignToRoleId role)
    action: GrantAction
    ends_at: datetime
    resource_id: str | None = None  # Azure / GCP: the scope or resource the grant is made at


class GrantError(PermscopeError):
    """A connector call failed; `permanent` when retrying cannot help (missing entity, malformed policy)."""

    def __init__(self, message: str, *, permanent: bool, item: GrantItem | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.item = item


class GrantConnector(Protocol):
    """The write side of one cloud for one authorization system. `add` and `remove` are idempotent: adding
    what is there, or removing what is gone, succeeds and changes nothing."""

    def items(self, request: GrantRequest) -> list[GrantItem]:
        """The items that grant the request, in the order to add them (pure, no calls)."""
        ...

    def is_present(self, item: GrantItem) -> bool:
        """Whether the item already exists in the cloud (a managed policy already attached)."""
        ...

    def add(self, item: GrantItem) -> None:
        """Make the item exist."""
        ...

    def remove(self, item: GrantItem) -> None:
        """Make the item not exist."""
        ...
