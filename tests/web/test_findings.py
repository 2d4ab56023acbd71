"""The Findings pages over the demo estate: each filter narrows to exactly the findings it names, paging, the CSV
equals the filtered view, one finding's evidence, fix and history, a scoped key sees only its systems, bad
filters are a 400 page, and (on an estate of their own) hostile names stay inert and CSV cells never run."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.findings import Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, InventoryBatch
from permscope.core.requests import SystemRole
from permscope.presentation.findings import finding_id, remediation_of
from permscope.server import create_server
from permscope.settings import Settings
from permscope.store.findings import RunFacts, record_analysis
from permscope.store.ingest import ingest
from permscope.store.tables import SEVERITY_RANK, AuthorizationSystemRow, FindingRow
from permscope.workflows.apikeys import ApiRole, KeyScope, create_api_key

from .conftest import WebClient, sign_in

FINDING_LINK = re.compile(r'<a href="/ui/findings/([A-Za-z0-9_-]+)">')
MATCHING = re.compile(r"<strong>(\d+)</strong> findings? match")
SEVERITY_BADGE = re.compile(r'class="badge severity severity-(\w+)"')
PRODUCTION = "111122223333"


def _open_findings(engine: Engine) -> list[tuple[FindingRow, AuthorizationSystemRow]]:
    """Every open finding with its system, read plainly (the tests' own view, not the page's query)."""
    with Session(engine, expire_on_commit=False) as session:
        stmt = select(FindingRow, AuthorizationSystemRow).join(
            AuthorizationSystemRow, AuthorizationSystemRow.id == FindingRow.system_pk
        )
        return [(row, system) for row, system in session.execute(stmt) if row.resolved_at is None]


def _ids(rows: list[tuple[FindingRow, AuthorizationSystemRow]]) -> set[str]:
    return {finding_id(row.fingerprint) for row, _ in rows}


def _listed(client: WebClient, query: str) -> tuple[int, list[str]]:
    """(how many findings the page says match, the finding ids of every page in order), at 200 a page."""
    page = client.get(f"/ui/findings?{query}&size=200")
    assert page.status_code == 200, page.text
    found = MATCHING.search(page.text)
    assert found is not None, page.text[:2000]
    total, ids, number = int(found.group(1)), FINDING_LINK.findall(page.text), 1
    while len(ids) < total:
        number += 1
        more = FINDING_LINK.findall(client.get(f"/ui/findings?{query}&size=200&page={number}").text)
        assert more, f"page {number} is empty with {len(ids)} of {total} listed"
        ids += more
    return total, ids


def test_the_list_is_every_open_finding_worst_first(
    client_as: Callable[..., WebClient], demo_engine: Engine
) -> None:
    viewer = client_as("viewer")
    expected = _open_findings(demo_engine)
    assert {system.cloud for _, system in expected} == {"aws", "azure", "gcp"}  # the demo has all three
    page = viewer.get("/ui/findings?size=200")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    severities = SEVERITY_BADGE.findall(page.text)
    ranks = [SEVERITY_RANK[name] for name in severities]
    assert ranks == sorted(ranks, reverse=True) and len(ranks) == min(200, len(expected))
    total, ids = _listed(viewer, "")
    assert total == len(expected) and len(ids) == len(set(ids)) and set(ids) == _ids(expected)


@pytest.mark.parametrize(
    "name",
    ["cloud-aws", "cloud-azure", "cloud-gcp", "system", "type", "severity", "everything-at-once"],
)
def test_each_filter_narrows_to_exactly_its_findings(
    name: str, client_as: Callable[..., WebClient], demo_engine: Engine
) -> None:
    every = _open_findings(demo_engine)
    some_type = sorted(row.finding_type for row, _ in every)[0]
    high = [(r, s) for r, s in every if r.severity == "high"]
    assert high, "the demo has high findings"
    filters: dict[str, tuple[str, Callable[[FindingRow, AuthorizationSystemRow], bool]]] = {
        "cloud-aws": ("cloud=aws", lambda r, s: s.cloud == "aws"),
        "cloud-azure": ("cloud=azure", lambda r, s: s.cloud == "azure"),
        "cloud-gcp": ("cloud=gcp", lambda r, s: s.cloud == "gcp"),
        "system": (f"cloud=aws&system={PRODUCTION}", lambda r, s: s.system_id == PRODUCTION),
        "type": (f"type={some_type}", lambda r, s: r.finding_type == some_type),
        "severity": ("severity=high", lambda r, s: r.severity == "high"),
        "everything-at-once": (
            f"cloud=aws&system={PRODUCTION}&severity=high&state=open&first_seen_from=2000-01-01",
            lambda r, s: s.system_id == PRODUCTION and r.severity == "high",
        ),
    }
    query, wanted = filters[name]
    expected = [(r, s) for r, s in every if wanted(r, s)]
    assert 0 < len(expected) < len(every)
    total, ids = _listed(client_as("viewer"), query)
    assert total == len(expected) and set(ids) == _ids(expected) and len(ids) == len(set(ids))


def test_date_ranges_and_states(client_as: Callable[..., WebClient], demo_engine: Engine) -> None:
    viewer = client_as("viewer")
    every = _open_findings(demo_engine)
    first_day = min(row.first_seen for row, _ in every).date()
    assert _listed(viewer, f"first_seen_from={first_day}&first_seen_to={first_day}")[0] == len(
        [r for r, _ in every if r.first_seen.date() == first_day]
    )
    assert _listed(viewer, f"last_seen_to={first_day - timedelta(days=1)}")[0] == 0
    assert _listed(viewer, "state=resolved")[0] == 0  # the demo is analyzed once: nothing resolved yet
    assert _listed(viewer, "state=")[0] == len(every)


def test_paging_neither_overlaps_nor_skips(client_as: Callable[..., WebClient], demo_engine: Engine) -> None:
    viewer = client_as("viewer")
    total = len(_open_findings(demo_engine))
    size = max(1, min(200, total // 3))
    seen: list[str] = []
    for number in range(1, -(-total // size) + 1):
        page = viewer.get(f"/ui/findings?sort=last-seen&size={size}&page={number}")
        seen += FINDING_LINK.findall(page.text)
        if number > 1:
            assert 'rel="prev"' in page.text and "sort=last-seen" in page.text  # filters kept in the links
    assert len(seen) == total == len(set(seen))
    beyond = viewer.get(f"/ui/findings?size={size}&page={total + 5}")
    assert beyond.status_code == 200 and FINDING_LINK.findall(beyond.text) == []
    assert viewer.get("/ui/findings?size=201").status_code == 400
    assert viewer.get("/ui/findings?page=0").status_code == 400


def test_the_csv_is_the_filtered_view(client_as: Callable[..., WebClient]) -> None:
    viewer = client_as("viewer")
    query = "cloud=aws&severity=high&sort=first-seen"
    total, ids = _listed(viewer, query)
    answer = viewer.get(f"/ui/findings.csv?{query}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [row["id"] for row in rows] == ids and len(rows) == total  # the same findings, in the same order
    assert {row["cloud"] for row in rows} == {"aws"} and {row["severity"] for row in rows} == {"high"}
    assert all(row["status"] == "open" and row["first_seen"] for row in rows)
    everything = list(csv.DictReader(io.StringIO(viewer.get("/ui/findings.csv").text)))
    assert len(everything) == _listed(viewer, "")[0] > total
    assert viewer.get("/ui/findings.csv?severity=severe").status_code == 400


def test_bad_filters_are_a_400_page_naming_the_filter(client_as: Callable[..., WebClient]) -> None:
    viewer = client_as("viewer")
    for query, named in [
        ("cloud=oracle", "cloud"),
        ("type=notAFinding", "type"),
        ("first_seen_from=soon", "first_seen_from"),
        ("system=999999999999", "system"),
        ("last_seen_from=2026-02-02&last_seen_to=2026-02-01", "last_seen_to"),
    ]:
        page = viewer.get(f"/ui/findings?{query}")
        assert page.status_code == 400, query
        assert f"The filter <strong>{named}</strong> cannot be used" in page.text
        assert '<form class="filters"' in page.text  # the form is there to correct it


def test_one_finding_shows_evidence_fix_and_history(
    client_as: Callable[..., WebClient], demo_engine: Engine
) -> None:
    every = _open_findings(demo_engine)
    escalation = next(
        (r, s) for r, s in every if r.finding_type.startswith("privilegeEscalation") and s.cloud == "aws"
    )
    row, system = escalation
    viewer = client_as("viewer")
    page = viewer.get(f"/ui/findings/{finding_id(row.fingerprint)}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Escalation paths" in html and "How to fix it" in html and "History" in html
    details = row.properties["privilegeEscalationDetails"]
    first_step = details[0]["steps"][0]
    assert first_step["techniqueId"] in html
    remediation = remediation_of(row.finding_type)
    assert remediation and remediation.replace("'", "&#39;").replace('"', "&#34;") in html
    assert "First seen by an analysis" in html and row.first_seen.strftime("%Y-%m-%d %H:%M") in html
    assert f"/ui/identities/aws/{system.system_id}?id=" in html  # the subject links to its identity page
    assert f"/findings/{finding_id(row.fingerprint)}/microsoft.graph.{row.finding_type}" in html


def test_every_kind_of_demo_finding_renders(client_as: Callable[..., WebClient], demo_engine: Engine) -> None:
    viewer = client_as("viewer")
    one_each: dict[tuple[str, str], FindingRow] = {}
    for row, system in _open_findings(demo_engine):
        one_each.setdefault((system.cloud, row.finding_type), row)
    for (cloud, finding_type), row in sorted(one_each.items()):
        page = viewer.get(f"/ui/findings/{finding_id(row.fingerprint)}")
        assert page.status_code == 200, (cloud, finding_type, page.text[-2000:])
        assert finding_type in page.text


def test_unknown_findings_are_404(client_as: Callable[..., WebClient]) -> None:
    viewer = client_as("viewer")
    for bad in [finding_id("0" * 64), "not-an-id", "%3Cscript%3E"]:
        page = viewer.get(f"/ui/findings/{bad}")
        assert page.status_code == 404 and "There is no such finding" in page.text
        assert "<script>" not in page.text


def test_signed_out_people_are_sent_to_sign_in(anonymous: Any) -> None:
    for path in ["/ui/findings?severity=high", "/ui/findings.csv", f"/ui/findings/{finding_id('0' * 64)}"]:
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303 and "/ui/sign-in?next=" in answer.headers["location"]


def test_a_scoped_key_sees_only_its_systems(site: Any, demo_engine: Engine) -> None:
    key = create_api_key(
        demo_engine,
        ApiRole.SCOPED,
        "web-findings-scoped",
        principal="sally.scoped@example.com",
        scopes=[KeyScope(SystemRole.VIEWER, "aws", PRODUCTION)],
    )
    every = _open_findings(demo_engine)
    mine = [(r, s) for r, s in every if s.system_id == PRODUCTION]
    other = next(r for r, s in every if s.system_id != PRODUCTION)
    with WebClient(site) as client:
        sign_in(client, key.token)
        total, ids = _listed(client, "")
        assert total == len(mine) and set(ids) == _ids(mine)
        assert _listed(client, "cloud=gcp")[0] == 0
        csv_ids = [row["id"] for row in csv.DictReader(io.StringIO(client.get("/ui/findings.csv").text))]
        assert set(csv_ids) == _ids(mine)
        hidden = client.get(f"/ui/findings/{finding_id(other.fingerprint)}")
        missing = client.get(f"/ui/findings/{finding_id('0' * 64)}")
        assert hidden.status_code == missing.status_code == 404
        assert "There is no such finding" in hidden.text
        other_system = next(s for _, s in every if s.system_id != PRODUCTION)
        refused = client.get(f"/ui/findings?cloud={other_system.cloud}&system={other_system.system_id}")
        unknown = client.get(f"/ui/findings?cloud={other_system.cloud}&system=nope")
        assert refused.status_code == unknown.status_code == 400  # a hidden system is as a missing one
        assert f"no authorization system {other_system.system_id!r}".replace("'", "&#39;") in refused.text
        assert other_system.system_id not in refused.text.split("<main")[1].split("</form>")[0]


def test_a_requestor_reads_no_findings(client_as: Callable[..., WebClient]) -> None:
    total, ids = _listed(client_as("requestor"), "")
    assert total == 0 and ids == []


# ------------------------------------------------------------------------ an estate of hostile names

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example","click")'
T0 = datetime(2026, 1, 10, 8, tzinfo=UTC)
ACCOUNT = "999988887777"


def _hostile(name: str, severity: Severity, summary: str) -> Finding:
    return Finding(
        finding_type="inactiveUserFinding",
        cloud=Cloud.AWS,
        system_id=ACCOUNT,
        subject=FindingSubject.IDENTITY,
        subject_id=f"arn:aws:iam::{ACCOUNT}:user/{name}",
        subject_name=name,
        severity=severity,
        summary=summary,
        properties={},
        evidence={"note": IMG, "names": [SCRIPT, FORMULA]},
        pci=PciScore(42, {SCRIPT: 1}),
    )


@pytest.fixture
def hostile_site(engine: Engine) -> Iterator[tuple[WebClient, dict[str, Finding]]]:
    """An account whose findings carry hostile names, with history: one resolved, one reopened."""
    batch = InventoryBatch(
        system=AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name=SCRIPT), source="t"
    )
    pk = ingest(engine, batch).system_pk
    made = {
        "script": _hostile(SCRIPT, Severity.HIGH, f"{SCRIPT} is unused"),
        "img": _hostile(IMG, Severity.MEDIUM, f"{IMG} is unused"),
        "formula": _hostile(FORMULA, Severity.LOW, f"{FORMULA} is unused"),
    }
    runs = [
        list(made.values()),
        [made["script"]],
        [made["script"], made["img"]],
    ]  # formula resolved, img back
    for day, findings in enumerate(runs):
        when = T0 + timedelta(days=day)
        with Session(engine) as session, session.begin():
            record_analysis(
                session, pk, findings, RunFacts(started_at=when, finished_at=when, snapshot_at=when)
            )
    key = create_api_key(engine, ApiRole.ADMIN, "hostile-admin", principal="ada@example.com")
    site = create_server(engine, Settings(database_url="sqlite://", scheduler_enabled=False))
    with WebClient(site) as client:
        sign_in(client, key.token)
        yield client, made


def _inert(html: str) -> None:
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_hostile_names_render_inert(hostile_site: tuple[WebClient, dict[str, Finding]]) -> None:
    client, made = hostile_site
    listing = client.get("/ui/findings?state=all")
    assert listing.status_code == 200
    _inert(listing.text)
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in listing.text
    for finding in made.values():
        page = client.get(f"/ui/findings/{finding_id(finding.fingerprint)}")
        assert page.status_code == 200
        _inert(page.text)
    bad_filter = client.get(f"/ui/findings?system={SCRIPT}")
    assert bad_filter.status_code == 400
    _inert(bad_filter.text)


def test_states_and_history(hostile_site: tuple[WebClient, dict[str, Finding]]) -> None:
    client, made = hostile_site
    assert _listed(client, "state=resolved")[1] == [finding_id(made["formula"].fingerprint)]
    assert _listed(client, "state=reopened")[1] == [finding_id(made["img"].fingerprint)]
    assert _listed(client, "")[0] == 2 and _listed(client, "state=all")[0] == 3
    resolved = client.get(f"/ui/findings/{finding_id(made['formula'].fingerprint)}").text
    assert "Resolved: an analysis no longer found it" in resolved and "2026-01-11 08:00" in resolved
    reopened = client.get(f"/ui/findings/{finding_id(made['img'].fingerprint)}").text
    assert "Reopened 1 time" in reopened and "2026-01-12 08:00" in reopened


def test_csv_cells_never_run_as_formulas(hostile_site: tuple[WebClient, dict[str, Finding]]) -> None:
    client, made = hostile_site
    rows = list(csv.DictReader(io.StringIO(client.get("/ui/findings.csv?state=all").text)))
    by_id = {row["id"]: row for row in rows}
    formula = by_id[finding_id(made["formula"].fingerprint)]
    assert formula["subject_name"] == "'" + FORMULA and formula["summary"] == "'" + FORMULA + " is unused"
    assert formula["status"] == "resolved" and formula["resolved_at"]
    assert by_id[finding_id(made["img"].fingerprint)]["status"] == "reopened"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values() if cell)
