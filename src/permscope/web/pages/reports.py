"""Reports to download (`GET /ui/reports/{kind}?cloud=...&system=...&format=...`), linked from each system's
page: the same reports as `permscope report` and the API's `/monitoring/reports/{kind}` (`presentation.reports`),
of the systems whose analytics the signed-in key reads (another one answers 404 as a missing one)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from permscope.core.errors import InputError, NotFoundError
from permscope.core.ids import Cloud
from permscope.presentation.reports.files import STREAMED, prepare_report, report_chunks, write_report
from permscope.web.links import report_url
from permscope.web.session import PageError, WebUser, signed_in, web_engine
from permscope.workflows.access import readable_systems
from permscope.workflows.reports import (
    FINDING_KINDS,
    TITLES,
    ReportFormat,
    ReportKind,
    parse_format,
    parse_kind,
)

router = APIRouter()


def report_links(cloud: str, system_id: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each report kind's title with its (format, URL) downloads for one system (OCSF where it lists findings)."""
    return [
        (
            TITLES[kind],
            [
                (fmt.value.upper(), report_url(kind.value, cloud, system_id, fmt.value))
                for fmt in ReportFormat
                if fmt is not ReportFormat.OCSF or kind in FINDING_KINDS
            ],
        )
        for kind in ReportKind
    ]


@router.get("/reports/{kind}", summary="Download a report")
def report_download(
    request: Request,
    kind: str,
    user: WebUser = Depends(signed_in),
    system: str = Query("", max_length=300),
    cloud: str = Query("", max_length=32),
    format: str = Query("pdf", max_length=16),
) -> Response:
    """One report of one system (or `all` the key reads) as an attachment."""
    try:
        found_kind = parse_kind(kind)
        found_format = parse_format(format, found_kind)
        found_cloud = Cloud.parse(cloud) if cloud else None
        prepared = prepare_report(
            web_engine(request),
            found_kind,
            found_format,
            [system],
            within=readable_systems(user.principal),
            cloud=found_cloud,
        )
    except (InputError, ValueError) as exc:
        raise PageError(400, str(exc), "Bad report request") from None
    except NotFoundError as exc:
        raise PageError(404, str(exc)) from None
    disposition = {"Content-Disposition": f'attachment; filename="{prepared.filename}"'}
    if found_format in STREAMED:
        return StreamingResponse(report_chunks(prepared), media_type=prepared.media_type, headers=disposition)
    folder = Path(tempfile.mkdtemp(prefix="permscope-report-"))
    try:
        write_report(prepared, folder / prepared.filename)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        folder / prepared.filename,
        media_type=prepared.media_type,
        filename=prepared.filename,
        background=BackgroundTask(shutil.rmtree, folder, True),
    )
