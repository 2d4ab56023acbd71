"""Permissions analytics under `/identityGovernance/permissionsAnalytics/{cloud}`: findings by type (list, one,
aggregatedSummary) and permissionsCreepIndexDistributions, in the contract's shapes (§1.4, §1.5, §4).

Only open findings are listed (the latest analysis' view); one finding stays addressable by id after it is
resolved, with its history under "permscope". A key sees the findings of the systems it may read: admin and
viewer keys all, scoped keys those where they are viewer, approver or administrator; a finding, distribution
or system (in `$filter` or `authorizationSystemIds`) of another system answers 404 itemNotFound exactly as an
unknown one does, so a key never learns what exists outside its view.
A path naming no finding type of the cloud (misspelt, or another cloud's) is 400 invalidRequest listing the
cloud's types.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from permscope.api.deps import authenticate, get_session, get_settings
from permscope.api.errors import GraphJSONResponse, invalid_request, not_found
from permscope.api.finding_models import DISTRIBUTION, DISTRIBUTION_PAGE, FINDING_OR_SUMMARY, FINDING_PAGE
from permscope.api.finding_schemas import FINDING_KINDS, KEY_SUMMARY, FindingKind, finding_kind
from permscope.api.paging import context_url, entity_response, list_response
from permscope.api.responses import route_model, through
from permscope.api.routing import GraphRoute
from permscope.api.schemas import ERROR_RESPONSES, GraphErrorModel
from permscope.core.ids import Cloud
from permscope.presentation.findings import fingerprint_of
from permscope.presentation.stored_findings import (
    aggregated_summary_to_wire,
    distribution_system_id,
    distribution_to_wire,
    stored_finding_to_wire,
)
from permscope.settings import Settings
from permscope.store import findings as store
from permscope.store.collections import DISTRIBUTIONS, FINDING_SELECT, Collection, findings_collection
from permscope.store.odata import BoolOp, Compare, In, Node, Not, normalize_path, parse_filter
from permscope.store.systems import find_system, get_system
from permscope.store.tables import AnalysisRunRow, AuthorizationSystemRow, FindingRow
from permscope.workflows.access import readable_systems
from permscope.workflows.apikeys import ApiPrincipal
from permscope.workflows.clouds import require_built

A = "/identityGovernance/permissionsAnalytics/{cloud}"
SUMMARY = re.compile(r"^(?:(?:microsoft\.)?graph\.)?aggregatedSummary\((.*)\)$", re.DOTALL)
router = APIRouter(
    route_class=GraphRoute,
    tags=["permissionsAnalytics"],
    responses={
        **ERROR_RESPONSES,
        501: {"model": GraphErrorModel, "description": "notSupported: a cloud permscope has not built yet"},
    },
)


def analytics_cloud(cloud: str) -> Cloud:
    """The `{cloud}` segment: aws, azure or gcp (404 otherwise; 501 for a cloud permscope has not built yet)."""
    try:
        found = Cloud.parse(cloud)
    except ValueError:
        raise not_found(f"no permissions analytics for {cloud!r}") from None
    return require_built(found, "permissions analytics")


def _context(cloud: Cloud, tail: str) -> str:
    return f"identityGovernance/permissionsAnalytics/{cloud.value}/{tail}"


# ----------------------------------------------------------------------------------------------- access


def _systems_named(session: Session, cloud: Cloud, ids: list[str], principal: ApiPrincipal) -> list[int]:
    """Primary keys of the systems named by raw or encoded id: 404 for an unknown or a hidden one alike."""
    readable = readable_systems(principal)
    return [get_system(session, text, cloud.value, readable).id for text in ids]


# ----------------------------------------------------------------------------------------------- lists


def _collection_of(kind: FindingKind) -> Collection:
    return findings_collection(kind.name, kind.relationship, kind.flags, kind.properties)


def _named_system_ids(node: Node | None) -> list[str]:
    """Every literal compared with an `.../authorizationSystemId` property in a $filter tree."""
    if node is None:
        return []
    if isinstance(node, BoolOp):
        return _named_system_ids(node.left) + _named_system_ids(node.right)
    if isinstance(node, Not):
        return _named_system_ids(node.operand)
    if isinstance(node, In | Compare) and normalize_path(node.prop.path).endswith("authorizationSystemId"):
        values = node.values if isinstance(node, In) else (node.value,)
        return [str(lit.value) for lit in values if isinstance(lit.value, str)]
    return []


def _filter_text(request: Request) -> str | None:
    for key, value in request.query_params.multi_items():
        if key.lower() == "$filter":
            return value
    return None


class _FindingWire:
    """Serializes a page of stored findings, loading what they embed once per page."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.contexts: dict[int, Any] = {}

    def prepare(self, rows: list[FindingRow]) -> None:
        self.contexts = store.embeds_for(self.session, rows)

    def __call__(self, row: FindingRow) -> dict[str, Any]:
        return stored_finding_to_wire(row, self.contexts[row.system_pk])


def _kind_for(cast: str, cloud: Cloud) -> FindingKind:
    """The finding type a path segment names; 400 invalidRequest listing the cloud's types when it is none."""
    kind = finding_kind(cast)
    if kind is None or cloud not in kind.clouds:
        valid = sorted(name for name, known in FINDING_KINDS.items() if cloud in known.clouds)
        raise invalid_request(
            f"{cast!r} is not a finding type of {cloud.value}: name one as microsoft.graph.<type>, "
            f"<type> being one of {', '.join(valid)}"
        )
    return kind


@router.get(A + "/findings/{cast}", summary="List findings of one type", responses=FINDING_PAGE)
def list_findings(
    cast: str,
    request: Request,
    cloud: Cloud = Depends(analytics_cloud),
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GraphJSONResponse:
    """The open findings of one type (`microsoft.graph.<type>` or `graph.<type>`), with $filter (e.g.
    `identity/authorizationSystem/authorizationSystemId in ('…')`, `permissionsCreepIndex/score gt 50`,
    `securityTools has 'cloudTrail'`), $orderby, $select, $top, $count and server paging."""
    kind = _kind_for(cast, cloud)
    text = _filter_text(request)
    if text is not None:
        _systems_named(session, cloud, _named_system_ids(parse_filter(text)), principal)
    wire = _FindingWire(session)
    return list_response(
        request,
        session,
        _collection_of(kind),
        store.open_findings(kind.name, cloud.value, readable_systems(principal)),
        context=_context(cloud, f"findings/microsoft.graph.{kind.name}"),
        serialize=wire,
        page_size=settings.page_size,
        max_page_size=settings.max_page_size,
        prepare=wire.prepare,
    )


# ------------------------------------------------------------------------- one finding, aggregatedSummary


def _summary_ids(request: Request, arguments: str) -> list[str]:
    """The `authorizationSystemIds` argument: ['a','b'], ('a','b'), or an alias @p1 given in the query."""
    name, _, value = arguments.partition("=")
    if name.strip() != "authorizationSystemIds" or not value.strip():
        raise invalid_request("aggregatedSummary needs authorizationSystemIds=[...]")
    value = value.strip()
    if value.startswith("@"):
        alias = request.query_params.get(value)
        if alias is None:
            raise invalid_request(f"the parameter alias {value} is not given in the query")
        value = alias.strip()
    if len(value) < 2 or value[0] + value[-1] not in ("[]", "()"):
        raise invalid_request("authorizationSystemIds must be a list such as ['123456789012']")
    ids = [part.strip().strip("'\"") for part in value[1:-1].split(",")]
    ids = [part for part in ids if part]
    if not ids:
        raise invalid_request("authorizationSystemIds is empty")
    return ids


def _summary(
    request: Request, session: Session, cloud: Cloud, kind: FindingKind, args: str, principal: ApiPrincipal
) -> GraphJSONResponse:
    if kind.summary is None:
        raise not_found(f"{kind.name} has no aggregatedSummary")
    pks = _systems_named(session, cloud, _summary_ids(request, args), principal)
    total, found = store.summary_counts(session, kind.name, kind.checked_kind or "", pks)
    body = aggregated_summary_to_wire(kind.summary == KEY_SUMMARY, total, found)
    context = context_url(request, body["@odata.type"][1:])
    return GraphJSONResponse({"@odata.context": context, **through(route_model(request), body)})


def _one(
    request: Request, session: Session, cloud: Cloud, finding_id: str, cast: str, principal: ApiPrincipal
) -> GraphJSONResponse:
    kind = _kind_for(cast, cloud)
    fingerprint = fingerprint_of(finding_id)
    found = store.finding_within(session, fingerprint, readable_systems(principal)) if fingerprint else None
    if found is None or found[0].finding_type != kind.name or found[1].cloud != cloud.value:
        raise not_found(f"{kind.name} {finding_id!r} not found")
    row = found[0]
    item = stored_finding_to_wire(row, store.embeds_for(session, [row])[row.system_pk])
    return entity_response(
        request,
        item,
        context=_context(cloud, f"findings/microsoft.graph.{kind.name}/$entity"),
        selectable=FINDING_SELECT,
    )


@router.get(
    A + "/findings/{first}/{second}",
    summary="Get a finding, or a type's aggregatedSummary",
    responses=FINDING_OR_SUMMARY,
)
def finding_or_summary(
    first: str,
    second: str,
    request: Request,
    cloud: Cloud = Depends(analytics_cloud),
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
) -> GraphJSONResponse:
    """`findings/{id}/microsoft.graph.<type>`: one finding (also once resolved);
    `findings/microsoft.graph.<type>/aggregatedSummary(authorizationSystemIds=[...])` (or
    `.../microsoft.graph.aggregatedSummary(...)`, or `(authorizationSystemIds=@p1)?@p1=[...]`): how many
    identities (or access keys) of that kind the latest analyses checked, and how many have the finding."""
    match = SUMMARY.match(second)
    if finding_kind(first) is not None and match is not None:
        return _summary(request, session, cloud, _kind_for(first, cloud), match.group(1), principal)
    return _one(request, session, cloud, first, second, principal)


# ---------------------------------------------------------------------------------- PCI distributions


class _DistributionWire:
    """Serializes a page of PCI distributions, loading their systems once per page."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.systems: dict[int, AuthorizationSystemRow] = {}

    def prepare(self, rows: list[AnalysisRunRow]) -> None:
        self.systems = store.systems_by_pk(self.session, (row.system_pk for row in rows))

    def __call__(self, row: AnalysisRunRow) -> dict[str, Any]:
        return distribution_to_wire(row, self.systems[row.system_pk])


@router.get(
    A + "/permissionsCreepIndexDistributions", summary="List PCI distributions", responses=DISTRIBUTION_PAGE
)
def list_distributions(
    request: Request,
    cloud: Cloud = Depends(analytics_cloud),
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GraphJSONResponse:
    """One distribution per analyzed system: human (users) and non-human (roles, functions, instances)
    identities per PCI band (low 0-33, medium 34-66, high 67-100), from the latest analysis."""
    wire = _DistributionWire(session)
    return list_response(
        request,
        session,
        DISTRIBUTIONS,
        store.pci_distributions(cloud.value, readable_systems(principal)),
        context=_context(cloud, "permissionsCreepIndexDistributions"),
        serialize=wire,
        page_size=settings.page_size,
        max_page_size=settings.max_page_size,
        prepare=wire.prepare,
    )


@router.get(
    A + "/permissionsCreepIndexDistributions/{distribution_id}",
    summary="Get a PCI distribution",
    responses=DISTRIBUTION,
)
def get_distribution(
    distribution_id: str,
    request: Request,
    cloud: Cloud = Depends(analytics_cloud),
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
) -> GraphJSONResponse:
    """One system's distribution by its id (as listed), or by the system's id."""
    system_id = distribution_system_id(distribution_id, cloud.value)
    system = find_system(session, system_id, cloud.value, readable_systems(principal))
    run = store.latest_runs(session, [system.id]).get(system.id) if system is not None else None
    if system is None or run is None or run.pci_distribution is None:
        raise not_found(f"permissionsCreepIndexDistribution {distribution_id!r} not found")
    return entity_response(
        request,
        distribution_to_wire(run, system),
        context=_context(cloud, "permissionsCreepIndexDistributions/$entity"),
        selectable=DISTRIBUTIONS.selectable,
    )
