"""Monitoring reports, a permscope extension beside the contract: `GET /monitoring/reports/{kind}` downloads the
analytics, pci, entitlements, credentials or external report of the systems named by `system` (repeated, or
`all`) as CSV, XLSX, PDF or OCSF JSON lines. A key reads the report of the systems whose analytics it may read
(viewer, approver or administrator there; admin and viewer keys: every one); another system answers 404 as an
unknown one does. CSV and OCSF are streamed; XLSX and PDF are written to a temporary file, sent, then removed."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy import Engine
from starlette.background import BackgroundTask
from starlette.responses import Response

from permscope.api.deps import authenticate, get_engine
from permscope.api.routing import GraphRoute
from permscope.api.schemas import ERROR_RESPONSES
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.presentation.reports.files import (
    MEDIA_TYPES,
    STREAMED,
    prepare_report,
    report_chunks,
    write_report,
)
from permscope.workflows.access import readable_systems
from permscope.workflows.apikeys import ApiPrincipal
from permscope.workflows.reports import parse_format, parse_kind

REPORTS = "/monitoring/reports"
router = APIRouter(tags=["monitoring"], responses=ERROR_RESPONSES, route_class=GraphRoute)
CONTENT = {
    media.split(";")[0]: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()
}


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@router.get(
    REPORTS + "/{kind}",
    summary="Download a report",
    response_class=Response,
    responses={200: {"description": "The report file", "content": CONTENT}},
)
def download_report(
    kind: str,
    system: list[str] = Query(
        ..., description="An authorizationSystemId (raw or base64; repeat for several), or `all`"
    ),
    format: str = Query("csv", description="csv, xlsx, pdf or ocsf (findings as OCSF 1.3 JSON lines)"),
    cloud: str | None = Query(None, description="aws, azure or gcp: when an id exists in several clouds"),
    principal: ApiPrincipal = Depends(authenticate),
    engine: Engine = Depends(get_engine),
) -> Response:
    """A report of one kind (`analytics`: the Permissions Analytics Report; `pci`: Permission Creep Index per
    identity with its factors, distribution and history; `entitlements`: granted, used and unused actions per
    identity and service; `credentials`: access keys and credentials; `external`: cross-account and external
    access) as an attachment. OCSF is for the kinds that list findings (analytics, credentials, external)."""
    found_kind = parse_kind(kind)
    found_format = parse_format(format, found_kind)
    try:
        found_cloud = Cloud.parse(cloud) if cloud else None
    except ValueError:
        raise InputError("cloud", f"{cloud!r} is not a cloud; use aws, azure or gcp") from None
    prepared = prepare_report(
        engine, found_kind, found_format, system, within=readable_systems(principal), cloud=found_cloud
    )
    if found_format in STREAMED:
        return StreamingResponse(
            report_chunks(prepared), media_type=prepared.media_type, headers=_attachment(prepared.filename)
        )
    folder = Path(tempfile.mkdtemp(prefix="permscope-report-"))
    try:
        path = folder / prepared.filename
        write_report(prepared, path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=prepared.media_type,
        filename=prepared.filename,
        background=BackgroundTask(shutil.rmtree, folder, True),
    )
