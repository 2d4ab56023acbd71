"""Server time of every web UI page (and the main API list routes) on a large generated store.

The store (`web_store.py`: 100,000 identities over 15 systems of the three clouds, 1,000,000 findings with 30 days
of history) is generated once into `bench/out/` and, for PostgreSQL, copied into a database created on the server
of PERMSCOPE_BENCH_POSTGRES_URL or PERMSCOPE_TEST_POSTGRES_URL and dropped afterwards. The server is the real one
(`permscope.server.create_server`, the API alone before the UI exists), driven in process by Starlette's
TestClient, signed in through the real sign-in form. Each page is requested `--runs` times after `--warmup`
requests; the time of one request runs from sending it to holding the whole body (wall), with the process's CPU
time over the same span (server and client share the process; the client's part is small). Figures, p50 and p95
against the issue's budgets (300 ms per page, 500 ms for the dashboard); nothing is asserted.

    make bench-web                                  # SQLite, then PostgreSQL when a server is configured
    .venv/bin/python bench/bench_web.py --quick     # 10,000 identities, 100,000 findings
    .venv/bin/python bench/bench_web.py --runs 50 --only findings --no-postgres
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from permscope.core.ids import encode_id
from permscope.settings import Settings
from permscope.store.engine import open_database
from permscope.store.tables import AuthorizationSystemRow, FindingRow, IdentityRow
from permscope.workflows.apikeys import ApiRole, create_api_key, disable_api_keys_named
from web_store import (
    FULL,
    QUICK,
    StoreSize,
    copy_to_postgres,
    create_postgres_database,
    drop_postgres_database,
    large_store,
    postgres_server,
)

PAGE_BUDGET_MS = 300.0
DASHBOARD_BUDGET_MS = 500.0
KEY_NAME = "bench-web"


@dataclass(frozen=True, slots=True)
class Page:
    """One page to time: a name, its path (a `str.format` template over `Fixtures` fields), its budget."""

    name: str
    path: str
    budget_ms: float = PAGE_BUDGET_MS
    api: bool = False  # an API route (bearer key), as a reference; else a UI page (session cookie)


# The pages, in the order printed. Add a page here; `{...}` fields are the `Fixtures` below (URL-quoted).
PAGES: tuple[Page, ...] = (
    Page("dashboard", "/ui/", DASHBOARD_BUDGET_MS),
    Page("systems", "/ui/systems"),
    Page("system: identities", "/ui/systems/aws/{aws_system}"),
    Page("system: identities, page 40", "/ui/systems/aws/{aws_system}?page=40"),
    Page("system: identities search", "/ui/systems/azure/{azure_system}?q=nowak"),
    Page("system: policies", "/ui/systems/aws/{aws_system}?tab=policies"),
    Page("system: resources", "/ui/systems/azure/{azure_system}?tab=resources"),
    Page("system: services", "/ui/systems/gcp/{gcp_system}?tab=services"),
    Page("system: actions", "/ui/systems/aws/{aws_system}?tab=actions"),
    Page("identities", "/ui/identities"),
    Page("identities: search", "/ui/identities?q=singh"),
    Page("identities: one system, kind", "/ui/identities?cloud=aws&system={aws_system}&kind=role"),
    Page("identity (AWS)", "/ui/identities/aws/{aws_system}?id={aws_identity}"),
    Page("identity (Azure)", "/ui/identities/azure/{azure_system}?id={azure_identity}"),
    Page("identity (GCP)", "/ui/identities/gcp/{gcp_system}?id={gcp_identity}"),
    Page(
        "identity: why",
        "/ui/identities/aws/{aws_system}/why?id={aws_user}&action=s3:GetObject"
        "&resource=arn:aws:s3:::bench-data/reports/1.csv",
    ),
    Page("findings", "/ui/findings"),
    Page("findings: open, high", "/ui/findings?state=open&severity=high"),
    Page("findings: one system, type", "/ui/findings?cloud=gcp&system={gcp_system}&type={gcp_type}"),
    Page("findings: resolved, page 100", "/ui/findings?state=resolved&page=100"),
    Page("findings: by last seen", "/ui/findings?state=all&sort=last-seen"),
    Page("finding", "/ui/findings/{finding}"),
    Page("requests", "/ui/requests"),
    Page("requests: awaiting approval", "/ui/requests?tab=approval"),
    Page("requests: new", "/ui/requests/new"),
    Page("API docs", "/ui/docs"),
    Page("API: systems", "/external/authorizationSystems", api=True),
    Page(
        "API: AWS users",
        "/external/authorizationSystems/{aws_system}/microsoft.graph.awsAuthorizationSystem/associatedIdentities/users",
        api=True,
    ),
    Page(
        "API: AWS users, $count, $filter",
        "/external/authorizationSystems/{aws_system}/microsoft.graph.awsAuthorizationSystem/associatedIdentities/users"
        "?$count=true&$filter=startswith(displayName,'s')",
        api=True,
    ),
    Page(
        "API: Azure findings (inactive users)",
        "/identityGovernance/permissionsAnalytics/azure/findings/microsoft.graph.inactiveUserFinding",
        api=True,
    ),
    Page(
        "API: GCP findings, $orderby PCI",
        "/identityGovernance/permissionsAnalytics/gcp/findings/microsoft.graph.inactiveUserFinding"
        "?$orderby=permissionsCreepIndex/score%20desc&$count=true",
        api=True,
    ),
    Page(
        "API: AWS user effectivePermissions",
        "/external/authorizationSystems/{aws_system}/microsoft.graph.awsAuthorizationSystem"
        "/associatedIdentities/users(externalId='{aws_user}')/effectivePermissions",
        api=True,
    ),
    Page(
        "API: AWS user assumableRoles",  # the workflow behind the identity page's "can act as"
        "/external/authorizationSystems/{aws_system}/microsoft.graph.awsAuthorizationSystem"
        "/associatedIdentities/users(externalId='{aws_user}')/assumableRoles",
        api=True,
    ),
    Page("API: requests", "/identityGovernance/permissionsManagement/scheduledPermissionsRequests", api=True),
)


@dataclass(frozen=True, slots=True)
class Fixtures:
    """What the page paths name, read from the store: the largest system of each cloud, one of its identities
    with the most findings, an open finding."""

    aws_system: str
    azure_system: str
    gcp_system: str
    aws_identity: str
    azure_identity: str
    gcp_identity: str
    aws_user: str
    gcp_type: str  # the finding type the GCP system has most open findings of
    finding: str

    @classmethod
    def read(cls, engine: Engine) -> Fixtures:
        found: dict[str, str] = {}
        with Session(engine) as session:
            for cloud in ("aws", "azure", "gcp"):
                pk, system_id = session.execute(
                    select(AuthorizationSystemRow.id, AuthorizationSystemRow.system_id)
                    .join(IdentityRow, IdentityRow.system_pk == AuthorizationSystemRow.id)
                    .where(AuthorizationSystemRow.cloud == cloud)
                    .group_by(AuthorizationSystemRow.id, AuthorizationSystemRow.system_id)
                    .order_by(func.count().desc())
                    .limit(1)
                ).one()
                identity = session.scalar(
                    select(FindingRow.subject_id)
                    .where(FindingRow.system_pk == pk, FindingRow.subject_kind == "identity")
                    .order_by(FindingRow.pci_score.desc().nulls_last(), FindingRow.id)
                    .limit(1)
                )
                found[f"{cloud}_system"] = system_id
                found[f"{cloud}_identity"] = identity or ""
                if cloud == "gcp":
                    found["gcp_type"] = (
                        session.scalar(
                            select(FindingRow.finding_type)
                            .where(FindingRow.system_pk == pk, FindingRow.resolved_at.is_(None))
                            .group_by(FindingRow.finding_type)
                            .order_by(func.count().desc(), FindingRow.finding_type)
                            .limit(1)
                        )
                        or ""
                    )
            found["aws_user"] = (
                session.scalar(
                    select(IdentityRow.external_id)
                    .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
                    .where(
                        AuthorizationSystemRow.system_id == found["aws_system"], IdentityRow.kind == "user"
                    )
                    .order_by(IdentityRow.id)
                    .limit(1)
                )
                or ""
            )
            fingerprint = session.scalar(
                select(FindingRow.fingerprint).where(FindingRow.resolved_at.is_(None)).limit(1)
            )
            found["finding"] = (
                encode_id(fingerprint) if fingerprint else ""
            )  # the API's (and page's) finding id
        return cls(**found)

    def path_of(self, page: Page) -> str:
        return page.path.format(
            **{name: quote(getattr(self, name), safe="") for name in (f.name for f in fields(self))}
        )


@dataclass(slots=True)
class Timing:
    """The measurements of one page."""

    page: Page
    status: int
    size: int
    walls: list[float]
    cpus: list[float]
    queries: list[int]
    database_cpu: float  # mean CPU seconds of the database server's backends per request (PostgreSQL)

    def quantile(self, values: list[float], share: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


class QueryCounter:
    """Counts the statements an engine runs."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.statements: list[str] | None = None  # collected while a list is set
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        if self.statements is not None:
            self.statements.append(" ".join(statement.split()))


class BackendCpu:
    """The CPU time the PostgreSQL backends of an engine's connections used (read from /proc, so the server
    must run on this machine; 10 ms ticks), or 0 on other databases."""

    def __init__(self, engine: Engine) -> None:
        self.pids: list[int] = []
        self.tick = os.sysconf("SC_CLK_TCK")
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._connected)

    def _connected(self, connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        self.pids.append(int(cursor.fetchone()[0]))
        cursor.close()

    def seconds(self) -> float:
        total = 0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:  # the backend is gone (or the server is elsewhere)
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / self.tick


def _server(engine: Engine, settings: Settings) -> tuple[FastAPI, bool]:
    """The process's server (API + UI), or the API alone while the UI does not exist yet."""
    try:
        from permscope.server import create_server
    except ImportError:
        from permscope.api.app import create_app

        return create_app(engine, settings), False
    return create_server(engine, settings), True


HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')


def sign_in(client: TestClient, token: str) -> None:
    """Sign in through the real form: its hidden fields as served, and the key."""
    form = client.get("/ui/sign-in")
    form.raise_for_status()
    fields: dict[str, str] = {}
    for tag in HIDDEN.findall(form.text):
        attributes = dict(ATTRIBUTE.findall(tag))
        if "name" in attributes:
            fields[attributes["name"]] = attributes.get("value", "")
    fields["api_key"] = token
    answer = client.post("/ui/sign-in", data=fields, follow_redirects=False)
    if answer.status_code != 303:
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.text[:500]}")


def _measure(
    client: TestClient, path: str, headers: dict[str, str], counter: QueryCounter
) -> tuple[int, int, float, float, int]:
    before_queries = counter.count
    cpu = time.process_time()
    started = time.perf_counter()
    response = client.get(path, headers=headers, follow_redirects=False)
    body = response.content  # the whole body (TestClient reads it before returning)
    wall = time.perf_counter() - started
    return response.status_code, len(body), wall, time.process_time() - cpu, counter.count - before_queries


def time_pages(
    engine: Engine,
    pages: tuple[Page, ...],
    runs: int,
    warmup: int,
    report: Callable[[Timing], None],
    *,
    show_sql: bool = False,
) -> list[Timing]:
    """Sign in and time every page; `report` is told each page's figures as they come."""
    settings = Settings(database_url=str(engine.url), scheduler_enabled=False)
    disable_api_keys_named(engine, KEY_NAME)
    token = create_api_key(engine, ApiRole.ADMIN, KEY_NAME).token
    app, has_ui = _server(engine, settings)
    fixtures = Fixtures.read(engine)
    counter = QueryCounter(engine)
    backends = BackendCpu(engine)
    timings = []
    with TestClient(app, base_url="http://127.0.0.1") as client:
        if has_ui:
            sign_in(client, token)
        for page in pages:
            if not page.api and not has_ui:
                continue
            path = fixtures.path_of(page)
            headers = {"Authorization": f"Bearer {token}"} if page.api else {}
            walls, cpus, queries, status, size = [], [], [], 0, 0
            if show_sql:
                counter.statements = []
            for _ in range(warmup):
                _measure(client, path, headers, counter)
            if counter.statements is not None:
                print(f"-- {page.name}: {path}")
                for statement in counter.statements[: len(counter.statements) // max(warmup, 1)]:
                    print(f"   {statement[:2000]}")
                counter.statements = None
            database_before = backends.seconds()
            for _ in range(runs):
                status, size, wall, cpu, count = _measure(client, path, headers, counter)
                walls.append(wall)
                cpus.append(cpu)
                queries.append(count)
            database_cpu = (backends.seconds() - database_before) / runs
            timing = Timing(page, status, size, walls, cpus, queries, database_cpu)
            report(timing)
            timings.append(timing)
    return timings


def print_header(label: str) -> None:
    load = os.getloadavg()
    print(
        f"\n{label}   (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {time.strftime('%Y-%m-%d %H:%M')})"
    )
    print(
        f"{'page':<38} {'status':>6} {'KB':>6} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
        f" {'CPU p50':>7} {'CPU p95':>7} {'DB CPU':>6} {'budget':>6}  verdict"
    )


def print_timing(timing: Timing) -> None:
    p50 = timing.quantile(timing.walls, 0.5) * 1000
    p95 = timing.quantile(timing.walls, 0.95) * 1000
    cpu50 = timing.quantile(timing.cpus, 0.5) * 1000
    cpu95 = timing.quantile(timing.cpus, 0.95) * 1000
    verdict = "within" if p95 <= timing.page.budget_ms else "OVER (wall)"
    if p95 > timing.page.budget_ms and cpu95 + timing.database_cpu * 1000 <= timing.page.budget_ms:
        verdict = "over in wall, within in CPU"  # a loaded machine: the CPU the request needed fits
    if timing.status != 200:
        verdict = f"not a page ({timing.status})"
    print(
        f"{timing.page.name:<38} {timing.status:>6} {timing.size / 1024:>6.0f} {statistics.median(timing.queries):>7.0f}"
        f" {p50:>7.0f} {p95:>7.0f} {max(timing.walls) * 1000:>7.0f} {cpu50:>7.0f} {cpu95:>7.0f}"
        f" {timing.database_cpu * 1000:>6.0f}"
        f" {timing.page.budget_ms:>6.0f}  {verdict}",
        flush=True,
    )


@contextmanager
def postgres_copy(source: Path, server: str) -> Iterator[Engine]:
    """An engine on a new PostgreSQL database holding the store at `source`, dropped afterwards."""
    url, name = create_postgres_database(server)
    try:
        started = time.perf_counter()
        copy_to_postgres(source, url)
        print(f"copied the store into PostgreSQL database {name} in {time.perf_counter() - started:.0f} s")
        engine = open_database(url)
        try:
            yield engine
        finally:
            engine.dispose()
    finally:
        drop_postgres_database(server, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK.identities:,} identities, {QUICK.findings:,} findings"
    )
    parser.add_argument("--identities", type=int, default=FULL.identities)
    parser.add_argument("--findings", type=int, default=FULL.findings)
    parser.add_argument("--runs", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per page first (default 2)")
    parser.add_argument(
        "--only", help="only the pages whose name contains this text (or one of these, comma-separated)"
    )
    parser.add_argument("--sql", action="store_true", help="print the statements each page runs")
    parser.add_argument("--regenerate", action="store_true", help="generate the store even if it is cached")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else StoreSize(args.identities, args.findings, FULL.systems_per_cloud)
    wanted = [part.strip().lower() for part in (args.only or "").split(",") if part.strip()]
    pages = tuple(p for p in PAGES if not wanted or any(part in p.name.lower() for part in wanted))
    source = large_store(size, regenerate=args.regenerate)
    label = f"{size.identities:,} identities, {size.findings:,} findings, {args.runs} runs per page"
    if not args.no_sqlite:
        engine = open_database(f"sqlite:///{source}")
        print_header(f"SQLite {source.name}: {label}")
        time_pages(engine, pages, args.runs, args.warmup, print_timing, show_sql=args.sql)
        engine.dispose()
    server = postgres_server()
    if not args.no_postgres and server:
        with postgres_copy(source, server) as engine:
            print_header(f"PostgreSQL: {label}")
            time_pages(engine, pages, args.runs, args.warmup, print_timing, show_sql=args.sql)
    elif not args.no_postgres:
        print("\nPostgreSQL skipped: set PERMSCOPE_BENCH_POSTGRES_URL or PERMSCOPE_TEST_POSTGRES_URL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
