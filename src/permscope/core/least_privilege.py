"""Least-privilege permissions generated from observed activity: the options, the documents, the engine's check.

A cloud's generator (`clouds.base.AccessGenerator`) turns an identity's usage in a window into documents of its
own kind (AWS managed policies, an Azure custom role definition, a GCP custom role) and checks them with its own
engine: every observed (action, resource) is decided against the new documents alone (`Generated`). The
workflow adds what the store knows around it (the window, the activity coverage, what the identity holds today)
into a `GeneratedAccess`, or a refusal when the activity does not allow generating anything (docs/remediation.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # types only
    from permscope.core.catalog import ActionCatalog
    from permscope.core.inventory import Usage


class DocumentKind(StrEnum):
    """What a generated document is in its cloud."""

    AWS_MANAGED_POLICY = "awsManagedPolicy"  # a customer managed policy, to attach to the user or role
    AZURE_ROLE_DEFINITION = "azureRoleDefinition"  # a custom role, assigned to the principal at `scopes`
    GCP_CUSTOM_ROLE = "gcpCustomRole"  # a custom role, bound to the member at `scopes`


class WideningReason(StrEnum):
    """Why a grant covers more resources than the activity named (docs/remediation.md, "Widening rules")."""

    NO_RESOURCE_LEVEL = "noResourceLevel"  # the action supports no resource-level permissions: "*"
    RESOURCE_NOT_RECORDED = (
        "resourceNotRecorded"  # some event named no resource (or none of the action's types)
    )
    OBJECT_KEYS = "objectKeys"  # more distinct S3 object keys than the threshold: the keys' common prefix
    MANY_RESOURCES = "manyResources"  # more resources of one type under one parent than the threshold
    SCOPE = "scope"  # Azure / GCP: the role is assigned or bound at a scope holding more than what was used


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationOptions:
    """The limits of generation (defaults documented in docs/remediation.md)."""

    object_keys_threshold: int = 10  # distinct keys of one S3 bucket (and action) before `bucket/prefix*`
    resources_threshold: int = 25  # distinct resources of one type under one parent before `parent/*`
    max_scopes: int = 5  # Azure resource groups / GCP resources assigned one by one before the whole system
    max_document_chars: int = 6_144  # AWS managed-policy size quota (characters, whitespace not counted)
    max_documents: int = 10  # AWS: managed policies one user or role may hold (default quota)


@dataclass(frozen=True, slots=True)
class GeneratedDocument:
    """One document to create: its name, kind, JSON body, where it is assigned, and its size as counted."""

    name: str
    kind: DocumentKind
    document: dict[str, Any]
    scopes: tuple[str, ...] = ()  # Azure: assignment scopes; GCP: resources to bind at; AWS: none (attached)
    size: int = 0  # characters the cloud counts against its quota (AWS: JSON without whitespace)


@dataclass(frozen=True, slots=True)
class WidenedGrant:
    """Actions granted on a resource pattern (or scope) wider than the resources observed for them."""

    pattern: str  # "*", "arn:aws:s3:::bucket/logs/*", an ARM scope, a GCP full resource name
    actions: tuple[str, ...]
    observed: int  # distinct observed resources the pattern covers (0: none recorded)
    reason: WideningReason


@dataclass(frozen=True, slots=True)
class Widening:
    """What the generated documents allow that was not observed, in numbers."""

    observed_actions: int  # distinct actions in the activity
    granted_actions: int  # distinct catalogue actions the documents allow
    unobserved_actions: tuple[str, ...]  # allowed but never observed (catalogue spelling)
    observed_resources: int  # distinct resources the activity named
    exact_grants: int  # (action, resource) grants naming exactly one observed resource
    widened: tuple[WidenedGrant, ...] = ()

    @property
    def widened_grants(self) -> int:
        """(action, pattern) grants wider than what was observed."""
        return sum(len(grant.actions) for grant in self.widened)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An observation the generated documents do not allow (a generator bug if it ever happens)."""

    action: str
    resource: str
    decision: str


@dataclass(frozen=True, slots=True)
class Generated:
    """What a cloud's generator returns: the documents and their check by the cloud's engine."""

    documents: tuple[GeneratedDocument, ...]
    observed: int  # distinct (action, resource) observations decided
    allowed: int  # of them, allowed by the documents alone
    widening: Widening
    rejected: tuple[Rejected, ...] = ()
    notes: tuple[str, ...] = ()  # what the generator did a reader should know (conditions kept, roles passed)
    warnings: tuple[str, ...] = ()  # what may make the documents differ from what the identity needs
    refusal: str | None = None  # the cloud could not generate (the documents are then empty)


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the window the system's activity logs cover: from the first to the last activity recorded
    in the system inside the window (None: no activity recorded there)."""

    start: datetime | None
    end: datetime | None
    active_days: int  # distinct UTC days with recorded activity in the system inside the window

    @property
    def days(self) -> float:
        """The covered span in days (0 without activity)."""
        if self.start is None or self.end is None:
            return 0.0
        return max((self.end - self.start).total_seconds(), 0.0) / 86_400


@dataclass(frozen=True, slots=True)
class GeneratedAccess:
    """Least-privilege documents for one identity from its activity in a window, checked by the cloud's engine,
    with the widening and what the identity holds today; or the reason none were generated (`refusal`)."""

    cloud: str
    system_id: str
    identity_id: str
    identity_kind: str | None  # None: the identity is known from activity only (not in the inventory)
    window_start: datetime
    window_end: datetime
    min_observation_days: int
    coverage: Coverage
    documents: tuple[GeneratedDocument, ...]
    observed: int  # distinct (action, resource) observations in the window
    allowed: int  # of them, allowed by the documents alone (the cloud's engine)
    observed_events: int  # events those observations stand for (sum of usage counts)
    widening: Widening | None  # None when refused
    current_granted: int | None  # actions the identity holds today (effective permissions), None when unknown
    refusal: str | None = None
    # observed actions the identity does not hold today (its stored effective permissions): the documents grant
    # them, since it used them, but replacing today's grants with the documents would add them
    not_held: tuple[str, ...] = ()
    rejected: tuple[Rejected, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        """Whether documents were generated and every observation is allowed by them."""
        return self.refusal is None and bool(self.documents) and self.allowed == self.observed


def scope_widening(
    observed: Mapping[str, Collection[str]],
    granted: Collection[str],
    scopes: Sequence[str],
    scope_of: Callable[[str], str],
) -> Widening:
    """The widening of one role granted at `scopes` (Azure, GCP): `observed` maps each action to the resources
    it was used on ("" for none), `granted` names every action the role allows, `scope_of` gives the scope an
    observed resource is granted through. An (action, scope) grant is exact when the action was used on that
    very resource and nothing under it; any other is widened to the scope."""
    seen = {action.lower() for action in observed}
    widened: dict[str, tuple[list[str], set[str]]] = {}
    exact = 0
    for action in sorted(granted, key=str.lower):
        used = observed.get(action, ())
        for scope in scopes:
            under = {resource for resource in used if scope_of(resource) == scope}
            if under == {scope}:
                exact += 1
                continue
            entry = widened.setdefault(scope, ([], set()))
            entry[0].append(action)
            entry[1].update(resource for resource in under if resource)
    return Widening(
        observed_actions=len(observed),
        granted_actions=len({action.lower() for action in granted}),
        unobserved_actions=tuple(sorted(action for action in granted if action.lower() not in seen)),
        observed_resources=len({resource for used in observed.values() for resource in used if resource}),
        exact_grants=exact,
        widened=tuple(
            WidenedGrant(scope, tuple(actions), len(resources), WideningReason.SCOPE)
            for scope, (actions, resources) in sorted(widened.items())
        ),
    )


@dataclass(slots=True)
class ObservedUses:
    """An identity's usage rows grouped as action -> resource -> events, with what could not be read."""

    by_action: dict[str, dict[str, int]]
    skipped: int  # rows whose action is no name of the cloud's shape: left out
    unreadable: int  # rows whose resource is not one the cloud names: read as none recorded
    unknown: set[str]  # actions of the right shape the catalogue does not know (kept as written)


def observed_uses(
    usages: Sequence[Usage],
    catalog: ActionCatalog,
    *,
    is_action: Callable[[str], bool],
    resource_of: Callable[[str], str | None],
) -> ObservedUses:
    """Usage rows grouped by the catalogue's spelling of each action; `resource_of` gives a row's resource as the
    cloud names it, "" when none was recorded, or None when the text names none it can read."""
    grouped = ObservedUses({}, 0, 0, set())
    for usage in usages:
        name = usage.action.strip()
        if not is_action(name):
            grouped.skipped += 1
            continue
        known = catalog.lookup(name)
        if known is None:
            grouped.unknown.add(name)
        resources = grouped.by_action.setdefault(known.external_id if known is not None else name, {})
        resource = resource_of(usage.resource or "")
        if resource is None:
            grouped.unreadable, resource = grouped.unreadable + 1, ""
        resources[resource] = resources.get(resource, 0) + max(int(usage.count), 0)
    return grouped
