"""Monitoring's extension beside the contract, under `/monitoring`: schedules of collection, analysis and reports
(read by the keys that read their systems, changed by their administrators) and the PCI history (read by the keys that
read the system). docs/monitoring.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Engine

from permscope.api.deps import authenticate, get_engine
from permscope.api.errors import GraphJSONResponse
from permscope.api.guard import body_cap
from permscope.api.monitoring_schemas import (
    MONITORING_ERRORS,
    PciHistory,
    Schedule,
    ScheduleCollection,
    ScheduleCreate,
    ScheduleUpdate,
)
from permscope.api.routing import GraphRoute
from permscope.core.errors import AccessDeniedError, InputError, NotFoundError
from permscope.core.requests import SystemRole, parse_duration
from permscope.core.schedules import ScheduleTask, Timing
from permscope.workflows import schedules as workflow
from permscope.workflows.access import readable_systems
from permscope.workflows.apikeys import ApiPrincipal
from permscope.workflows.pci_history import MAX_DAYS, pci_history

PREFIX = "/monitoring"
SCHEDULE_BODY_BYTES = 65_536
ADMINISTRATORS = frozenset({SystemRole.ADMINISTRATOR})

router = APIRouter(prefix=PREFIX, tags=["monitoring"], responses=MONITORING_ERRORS, route_class=GraphRoute)


def get_clock(request: Request) -> Callable[[], datetime]:
    """The app's clock (tests replace `app.state.clock`)."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", None) or (lambda: datetime.now(UTC))
    return clock


def _require_administrator(principal: ApiPrincipal, cloud: str, system_id: str) -> None:
    if not principal.systems_with(ADMINISTRATORS).covers(cloud, system_id):
        raise AccessDeniedError(
            f"changing a schedule of {workflow.scope_text(cloud, system_id)} needs the administrator role there"
        )


def _readable(principal: ApiPrincipal, view: workflow.ScheduleView) -> bool:
    return readable_systems(principal).covers(view.cloud, view.system_id)


def _duration(text: str | None, field: str) -> timedelta | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InputError(field, str(exc)) from None


@router.get("/schedules", response_model=ScheduleCollection, summary="List schedules")
def list_schedules(
    principal: ApiPrincipal = Depends(authenticate), engine: Engine = Depends(get_engine)
) -> GraphJSONResponse:
    """The schedules of the systems the key reads (a schedule of every system: keys that read every system)."""
    views = [view.to_dict() for view in workflow.list_schedules(engine) if _readable(principal, view)]
    return GraphJSONResponse({"value": views})


@router.post("/schedules", status_code=201, response_model=Schedule, summary="Create a schedule")
@body_cap(lambda _settings: SCHEDULE_BODY_BYTES)
def create_schedule(
    body: ScheduleCreate,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Schedule collection, analysis or a mailed report of a system or of every system; needs the administrator
    role on them."""
    cloud, system_id = workflow.resolve_scope(
        engine, body.authorizationSystemType, body.authorizationSystemId
    )
    _require_administrator(principal, cloud, system_id)
    interval, jitter = _duration(body.interval, "interval"), _duration(body.jitter, "jitter")
    timing = Timing(cron=body.cron, interval=interval, jitter=jitter or timedelta(0))
    new = workflow.NewSchedule(
        name=body.name,
        task=ScheduleTask(body.task),
        timing=timing,
        cloud=cloud,
        system_id=system_id,
        source=body.source,
        paths=tuple(body.paths),
        live=dict(body.options),
        analyze=body.analyze,
        folder=body.folder,
        report=body.report.kind if body.report else None,
        report_format=body.report.format if body.report else None,
        channel=body.report.channel if body.report else None,
        recipients=tuple(body.report.recipients) if body.report else (),
    )
    view = workflow.add_schedule(engine, new, created_by=principal.who, now=clock())
    return GraphJSONResponse(view.to_dict(), status_code=201)


@router.get("/schedules/{name}", response_model=Schedule, summary="Get a schedule")
def get_schedule(
    name: str, principal: ApiPrincipal = Depends(authenticate), engine: Engine = Depends(get_engine)
) -> GraphJSONResponse:
    """One schedule (404 for one the key does not read, as for one that does not exist)."""
    view = workflow.get_schedule(engine, name)
    if not _readable(principal, view):
        raise NotFoundError(f"no schedule named {name!r}")
    return GraphJSONResponse(view.to_dict())


@router.patch("/schedules/{name}", response_model=Schedule, summary="Enable or disable a schedule")
@body_cap(lambda _settings: SCHEDULE_BODY_BYTES)
def update_schedule(
    name: str,
    body: ScheduleUpdate,
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """Enable (its next run counted from now) or disable (its pending run canceled) a schedule."""
    view = workflow.get_schedule(engine, name)
    if not _readable(principal, view):
        raise NotFoundError(f"no schedule named {name!r}")
    _require_administrator(principal, view.cloud, view.system_id)
    return GraphJSONResponse(workflow.set_enabled(engine, name, body.enabled, now=clock()).to_dict())


@router.delete("/schedules/{name}", status_code=204, summary="Delete a schedule")
def delete_schedule(
    name: str, principal: ApiPrincipal = Depends(authenticate), engine: Engine = Depends(get_engine)
) -> Response:
    """Remove a schedule and the record of its runs."""
    view = workflow.get_schedule(engine, name)
    if not _readable(principal, view):
        raise NotFoundError(f"no schedule named {name!r}")
    _require_administrator(principal, view.cloud, view.system_id)
    workflow.remove_schedule(engine, name)
    return Response(status_code=204)


@router.get("/pciHistory", response_model=PciHistory, summary="PCI history of a system or an identity")
def get_pci_history(
    authorization_system_id: str = Query(..., alias="authorizationSystemId"),
    authorization_system_type: str | None = Query(None, alias="authorizationSystemType"),
    identity: str | None = Query(None, alias="identityExternalId", description="an identity of the system"),
    days: int = Query(30, ge=1, le=MAX_DAYS, description="how many days back, today included"),
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
    clock: Callable[[], datetime] = Depends(get_clock),
) -> GraphJSONResponse:
    """The PCI per day analyzed of a system (with its open findings per type and severity) or of one of its
    identities, over the last `days` days; for keys that read the system."""
    history = pci_history(
        engine,
        authorization_system_id,
        now=clock(),
        days=days,
        cloud=authorization_system_type.lower() if authorization_system_type else None,
        identity=identity,
        within=readable_systems(principal),
    )
    return GraphJSONResponse(history.to_dict())
