"""Alerts under `/monitoring` (permscope's extension beside the Graph contract; docs/monitoring.md): alerts
(list with OData options, one with its deliveries, acknowledge, mute its subject), alert rules, channels and
mutes.

Who may: alerts and rules are read by keys that read some system's analytics (an alert only by the keys that
read its system; any other answers 404 as a missing one); acknowledging an alert and muting a subject need the
approver or administrator role on the alert's system (the people who act on findings and review requests);
rules and channels are written, and channels listed, by admin keys only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.api.alert_schemas import (
    ALERT_ERRORS,
    Alert,
    AlertChannel,
    AlertChannelCreate,
    AlertChannelCreated,
    AlertMute,
    AlertRule,
    AlertRuleCreate,
    AlertRuleUpdate,
    MuteBody,
)
from permscope.api.deps import authenticate, get_engine, get_session, get_settings, require_role
from permscope.api.errors import GraphJSONResponse, invalid_request
from permscope.api.guard import body_cap
from permscope.api.paging import context_url, entity_response, list_response
from permscope.api.routing import GraphRoute
from permscope.api.schemas import CollectionPage
from permscope.core.access import ApiRole
from permscope.core.requests import parse_duration
from permscope.presentation.alerts import (
    alert_to_wire,
    channel_to_wire,
    delivery_to_wire,
    mute_to_wire,
    rule_to_wire,
)
from permscope.settings import Settings
from permscope.store import alerts as store
from permscope.store.collections import ALERTS
from permscope.workflows import alert_rules as rules
from permscope.workflows import alerts as workflow
from permscope.workflows.apikeys import ApiPrincipal

M = "/monitoring"
BODY_BYTES = 65_536
router = APIRouter(prefix=M, tags=["monitoring"], responses=ALERT_ERRORS, route_class=GraphRoute)
admin_only = require_role(ApiRole.ADMIN)


def get_clock(request: Request) -> Callable[[], datetime]:
    """The app's clock (tests replace `app.state.clock`)."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", None) or (lambda: datetime.now(UTC))
    return clock


def _moment(text: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise invalid_request(f"{what}: {text[:64]!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _listing(request: Request, values: list[dict[str, Any]], tail: str) -> GraphJSONResponse:
    return GraphJSONResponse({"@odata.context": context_url(request, f"monitoring/{tail}"), "value": values})


# ------------------------------------------------------------------------------------------------- alerts


@router.get("/alerts", response_model=CollectionPage[Alert], summary="List alerts (extension)")
def list_alerts(
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> GraphJSONResponse:
    """The alerts of the systems the key reads ($filter on status, kind, severity, rule, system, subject, times;
    $orderby; paging)."""
    stmt = store.alerts_stmt(workflow.visible_systems(principal))
    return list_response(
        request,
        session,
        ALERTS,
        stmt,
        context="monitoring/alerts",
        serialize=alert_to_wire,
        page_size=settings.page_size,
        max_page_size=settings.max_page_size,
    )


def _alert_response(request: Request, detail: workflow.AlertDetail) -> GraphJSONResponse:
    body = {
        **alert_to_wire(detail.alert),
        "evidence": detail.evidence,
        "deliveries": [delivery_to_wire(d, name, attempts) for d, name, attempts in detail.deliveries],
    }
    return entity_response(request, body, context="monitoring/alerts/$entity", selectable=set(body))


@router.get("/alerts/{alert_id}", response_model=Alert, summary="Get an alert (extension)")
def get_alert(
    alert_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """One alert with the signal's evidence and each delivery's attempts."""
    return _alert_response(request, workflow.get_alert(engine, principal, alert_id))


@router.post(
    "/alerts/{alert_id}/acknowledge", response_model=Alert, summary="Acknowledge an alert (extension)"
)
def acknowledge(
    alert_id: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Acknowledge: needs the approver or administrator role on the alert's system; again: unchanged."""
    workflow.acknowledge(engine, principal, alert_id, clock())
    return _alert_response(request, workflow.get_alert(engine, principal, alert_id))


@router.post(
    "/alerts/{alert_id}/muteSubject",
    status_code=201,
    response_model=AlertMute,
    summary="Mute the subject of an alert for a while (extension)",
)
@body_cap(lambda settings: BODY_BYTES)
def mute_subject(
    alert_id: str,
    body: MuteBody,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """`{"duration": "P1D"}` or `{"untilDateTime": "..."}`, with a `reason`: later alerts about the subject are
    recorded muted and delivered nowhere until then. Needs the approver or administrator role on its system."""
    now = clock()
    until = _until(body, now)
    row = workflow.mute_alert_subject(engine, principal, alert_id, until, body.reason, now)
    payload = {"@odata.context": context_url(request, "monitoring/alertMutes/$entity"), **mute_to_wire(row)}
    return GraphJSONResponse(payload, status_code=201)


def _until(body: MuteBody, now: datetime) -> datetime:
    if (body.duration is None) == (body.untilDateTime is None):
        raise invalid_request("give either duration (an ISO 8601 duration such as P1D) or untilDateTime")
    if body.duration is not None:
        try:
            return now + parse_duration(body.duration)
        except ValueError as exc:
            raise invalid_request(f"duration: {exc}") from None
    assert body.untilDateTime is not None
    return _moment(body.untilDateTime, "untilDateTime")


# -------------------------------------------------------------------------------------------------- mutes


@router.get("/alertMutes", response_model=CollectionPage[AlertMute], summary="List running mutes (extension)")
def list_mutes(
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """The mutes still running of the systems the key reads, ending soonest first."""
    return _listing(
        request, [mute_to_wire(row) for row in workflow.list_mutes(engine, principal, clock())], "alertMutes"
    )


@router.delete("/alertMutes/{mute_id}", status_code=204, summary="End a mute now (extension)")
def delete_mute(
    mute_id: int, principal: ApiPrincipal = Depends(authenticate), engine: Engine = Depends(get_engine)
) -> Response:
    """End a mute: needs the approver or administrator role on its system."""
    workflow.remove_mute(engine, principal, mute_id)
    return Response(status_code=204)


# -------------------------------------------------------------------------------------------------- rules


@router.get("/alertRules", response_model=CollectionPage[AlertRule], summary="List alert rules (extension)")
def list_rules(
    request: Request, principal: ApiPrincipal = Depends(authenticate), engine: Engine = Depends(get_engine)
) -> GraphJSONResponse:
    """Every rule (for keys that read some system's alerts)."""
    return _listing(
        request, [rule_to_wire(view) for view in workflow.rules_for(principal, engine)], "alertRules"
    )


@router.get("/alertRules/{name}", response_model=AlertRule, summary="Get an alert rule (extension)")
def get_rule(
    name: str,
    request: Request,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> GraphJSONResponse:
    """One rule by name."""
    workflow.rules_for(principal, engine)  # the same reader check as the list
    body = rule_to_wire(rules.get_rule(engine, name))
    return entity_response(request, body, context="monitoring/alertRules/$entity", selectable=set(body))


@router.post(
    "/alertRules", status_code=201, response_model=AlertRule, summary="Add an alert rule (extension)"
)
@body_cap(lambda settings: BODY_BYTES)
def create_rule(
    body: AlertRuleCreate,
    request: Request,
    principal: ApiPrincipal = Depends(admin_only),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Add a rule (admin keys)."""
    spec = rules.RuleSpec(
        name=body.name,
        kinds=body.kinds,
        channels=body.channels,
        clouds=body.clouds,
        system_ids=body.authorizationSystemIds,
        identity_kinds=body.identityKinds,
        identity_tags=body.identityTags,
        min_severity=body.minimumSeverity,
        finding_types=body.findingTypes,
        parameters=dict(body.parameters),
        enabled=body.enabled,
    )
    view = rules.add_rule(engine, spec, principal.who, clock())
    payload = {"@odata.context": context_url(request, "monitoring/alertRules/$entity"), **rule_to_wire(view)}
    return GraphJSONResponse(payload, status_code=201)


@router.patch(
    "/alertRules/{name}", response_model=AlertRule, summary="Enable, disable or mute a rule (extension)"
)
@body_cap(lambda settings: BODY_BYTES)
def update_rule(
    name: str,
    body: AlertRuleUpdate,
    request: Request,
    principal: ApiPrincipal = Depends(admin_only),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """`enabled`, and `mutedUntilDateTime` (a time to mute until, or null to unmute) (admin keys)."""
    given = body.model_fields_set
    muted = _moment(body.mutedUntilDateTime, "mutedUntilDateTime") if body.mutedUntilDateTime else None
    unmute = "mutedUntilDateTime" in given and body.mutedUntilDateTime is None
    view = rules.update_rule(engine, name, clock(), enabled=body.enabled, muted_until=muted, unmute=unmute)
    body_out = rule_to_wire(view)
    return entity_response(
        request, body_out, context="monitoring/alertRules/$entity", selectable=set(body_out)
    )


@router.delete("/alertRules/{name}", status_code=204, summary="Remove an alert rule (extension)")
def delete_rule(
    name: str, principal: ApiPrincipal = Depends(admin_only), engine: Engine = Depends(get_engine)
) -> Response:
    """Remove a rule (admin keys); its alerts stay."""
    rules.remove_rule(engine, name)
    return Response(status_code=204)


# ----------------------------------------------------------------------------------------------- channels


@router.get(
    "/alertChannels", response_model=CollectionPage[AlertChannel], summary="List alert channels (extension)"
)
def list_channels(
    request: Request, principal: ApiPrincipal = Depends(admin_only), engine: Engine = Depends(get_engine)
) -> GraphJSONResponse:
    """Every channel, never its secrets (admin keys)."""
    return _listing(request, [channel_to_wire(view) for view in rules.list_channels(engine)], "alertChannels")


@router.post(
    "/alertChannels",
    status_code=201,
    response_model=AlertChannelCreated,
    summary="Add an alert channel (extension)",
)
@body_cap(lambda settings: BODY_BYTES)
def create_channel(
    body: AlertChannelCreate,
    request: Request,
    principal: ApiPrincipal = Depends(admin_only),
    engine: Engine = Depends(get_engine),
    settings: Settings = Depends(get_settings),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """A webhook (`url`, optional `secret`: one is made and returned in this answer only) or an e-mail channel
    (`host`, `port`, `security`, `username`, `password`, `sender`, `recipients`) (admin keys)."""
    made: str | None = None
    if body.kind == "webhook":
        if not body.url:
            raise invalid_request("a webhook channel needs url")
        view, shared = rules.add_webhook_channel(
            engine, settings, body.name, body.url, body.secret, principal.who, clock()
        )
        made = shared if body.secret is None else None
    else:
        if not body.host or not body.sender:
            raise invalid_request("an e-mail channel needs host, sender and recipients")
        view = rules.add_email_channel(
            engine, settings, body.name, host=body.host, sender=body.sender, recipients=body.recipients,
            port=body.port, security=body.security, username=body.username, password=body.password,
            created_by=principal.who, now=clock(),
        )  # fmt: skip
    payload = {
        "@odata.context": context_url(request, "monitoring/alertChannels/$entity"),
        **channel_to_wire(view),
    }
    if made is not None:
        payload["secret"] = made
    return GraphJSONResponse(payload, status_code=201)


@router.delete("/alertChannels/{name}", status_code=204, summary="Remove an alert channel (extension)")
def delete_channel(
    name: str, principal: ApiPrincipal = Depends(admin_only), engine: Engine = Depends(get_engine)
) -> Response:
    """Remove a channel no rule uses (admin keys)."""
    rules.remove_channel(engine, name)
    return Response(status_code=204)
