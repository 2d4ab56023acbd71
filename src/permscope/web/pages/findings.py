"""The Findings pages: the list with its filters and paging (`/findings`), the same view as CSV
(`/findings.csv`, streamed), and one finding's evidence, fix and history (`/findings/{finding id}`).

A key sees the findings of the systems whose analytics it may read (`workflows.access.readable_systems`, as
the API's findings routes): a finding or a system filter outside that view answers exactly as a missing one.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.errors import AmbiguousSystemError
from permscope.presentation.findings import fingerprint_of
from permscope.presentation.stored_findings import findings_csv, stored_finding_to_wire
from permscope.presentation.web.findings import (
    FilterError,
    FindingFilters,
    filter_options,
    finding_detail,
    list_row,
    parse_filters,
)
from permscope.store import findings as store
from permscope.store.dashboard import summarized_open_count
from permscope.store.systems import find_system, systems
from permscope.store.tables import AuthorizationSystemRow
from permscope.web.links import finding_url, identity_url
from permscope.web.paging import Pager, PageRequest, page_request
from permscope.web.render import render
from permscope.web.session import PageError, WebUser, signed_in, ui_root, web_engine
from permscope.workflows.access import readable_systems

router = APIRouter()
MAX_SYSTEM_CHOICES = 500  # more systems than this: the system filter is a text field, not a list


def _params(request: Request) -> dict[str, str]:
    """The query's parameters, the first value of each."""
    found: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        found.setdefault(name, value)
    return found


def _system_pks(session: Session, filters: FindingFilters, scope: Systems) -> list[int] | None:
    """The system filter's system (within the key's view; FilterError when it names none or is hidden)."""
    if not filters.system:
        return None
    try:
        found = find_system(session, filters.system, filters.cloud or None, scope)
    except AmbiguousSystemError as error:
        raise FilterError("system", f"{error}; choose the cloud as well") from None
    if found is None:
        raise FilterError("system", f"there is no authorization system {filters.system!r}")
    return [found.id]


def _readable(session: Session, scope: Systems) -> list[AuthorizationSystemRow]:
    stmt = systems(None, scope).order_by(AuthorizationSystemRow.cloud, AuthorizationSystemRow.system_id)
    return list(session.execute(stmt.limit(MAX_SYSTEM_CHOICES + 1)).scalars())


@router.get("/findings", response_class=HTMLResponse, summary="Findings")
def findings_page(
    request: Request, user: WebUser = Depends(signed_in), asked: PageRequest = Depends(page_request)
) -> Response:
    """The findings the key may read, filtered, worst first (or by first or last seen), a page at a time."""
    scope = readable_systems(user.principal)
    root = ui_root(request)
    error: FilterError | None = None
    filters = FindingFilters()
    with Session(web_engine(request)) as session:
        known = _readable(session, scope)
        try:
            filters = parse_filters(_params(request))
            query = filters.query(_system_pks(session, filters, scope), scope)
        except FilterError as bad:
            error, query = bad, None
        total, rows, counted_at_analysis = 0, [], False
        if query is not None:
            summarized = summarized_open_count(session, query)
            counted_at_analysis = summarized is not None
            total = summarized if summarized is not None else store.count_findings(session, query)
            found = store.list_findings(
                session, query, limit=asked.size, offset=asked.offset, order=filters.order
            )
            by_pk = store.systems_by_pk(session, {row.system_pk for row in found})
            records = [store.finding_record(row, by_pk[row.system_pk]) for row in found]
            rows = [list_row(record, finding_url) for record in records]
    options = filter_options(known[:MAX_SYSTEM_CHOICES], filters.cloud)
    return render(
        request,
        "findings/list.html",
        user,
        status=400 if error is not None else 200,
        filters=filters,
        params=dict(_params(request)) if error is not None else dict(filters.params()),
        options=options,
        system_as_text=len(known) > MAX_SYSTEM_CHOICES,
        error=error,
        rows=rows,
        pager=Pager.of(request, asked, total),
        counted_at_analysis=counted_at_analysis,
        csv_href=f"{root}/findings.csv" + (f"?{request.url.query}" if request.url.query else ""),
    )


def _csv_lines(engine: Engine, query: store.FindingQuery, order: store.FindingOrder) -> Iterator[str]:
    """The CSV of a listing, read and written a chunk at a time in a session of its own."""
    with Session(engine) as session:
        yield from findings_csv(store.stream_records(session, query, order))


@router.get("/findings.csv", summary="Findings as CSV")
def findings_csv_page(request: Request, user: WebUser = Depends(signed_in)) -> Response:
    """The list's current view (its filters and order, every page) as CSV, streamed."""
    scope = readable_systems(user.principal)
    with Session(web_engine(request)) as session:
        try:
            filters = parse_filters(_params(request))
            query = filters.query(_system_pks(session, filters, scope), scope)
        except FilterError as bad:
            raise PageError(400, str(bad), "Bad filter") from None
    return StreamingResponse(
        _csv_lines(web_engine(request), query, filters.order),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="permscope-findings.csv"'},
    )


@router.get("/findings/{finding_id}", response_class=HTMLResponse, summary="One finding")
def finding_page(finding_id: str, request: Request, user: WebUser = Depends(signed_in)) -> Response:
    """One finding (open or resolved): its evidence, the fix of its type, and its history."""
    fingerprint = fingerprint_of(finding_id)
    with Session(web_engine(request)) as session:
        found = (
            store.finding_within(session, fingerprint, readable_systems(user.principal))
            if fingerprint
            else None
        )
        if found is None:
            raise PageError(404, "There is no such finding, or it is in a system this key may not read.")
        row, system = found
        wire = stored_finding_to_wire(row, store.embeds_for(session, [row])[row.system_pk])
        record = store.finding_record(row, system)
    detail = finding_detail(wire, record, system, partial(identity_url, system.cloud, system.system_id))
    return render(request, "findings/detail.html", user, finding=detail, system=system)
