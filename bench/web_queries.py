"""The query shapes of the web UI's pages, timed one by one on the large store, with their plans (EXPLAIN QUERY
PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL): what finds the query that needs an index.

    .venv/bin/python bench/web_queries.py                    # SQLite and PostgreSQL, every shape
    .venv/bin/python bench/web_queries.py --only dashboard --plans --no-postgres
    .venv/bin/python bench/web_queries.py --try-index "findings (resolved_at, system_pk, finding_type, severity)"

`--try-index` creates the index (on a copy for PostgreSQL; on the cached SQLite store, dropped again after), so a
query's time can be compared with and without it. Figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, create_engine, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_web import BackendCpu
from permscope.store.engine import open_database
from permscope.store.findings import default_order, severity_rank
from permscope.store.tables import (
    AuthorizationSystemRow,
    CollectionRunRow,
    FindingRow,
    IdentityRow,
)
from web_store import FULL, QUICK, StoreSize, large_store, postgres_server

IDENTITY_SUBJECTS = ("identity", "serverlessFunction", "computeInstance", "group", "role", "accessKey")


@dataclass(frozen=True, slots=True)
class Shape:
    """One query a page runs, built for a store (which needs a system primary key, an identity...)."""

    name: str
    build: Callable[[dict[str, Any]], Select[Any]]


def _open() -> Any:
    return FindingRow.resolved_at.is_(None)


def _riskiest(_f: dict[str, Any]) -> Select[Any]:
    pci = func.max(FindingRow.pci_score)
    worst = func.max(severity_rank())
    count = func.count()
    name = func.max(FindingRow.subject_name)
    return (
        select(
            FindingRow.system_pk,
            func.max(FindingRow.subject_kind),
            FindingRow.subject_id,
            name,
            pci,
            worst,
            count,
        )
        .where(_open(), FindingRow.subject_kind.in_(IDENTITY_SUBJECTS))
        .group_by(FindingRow.system_pk, FindingRow.subject_id)
        .order_by(pci.is_(None), pci.desc(), worst.desc(), count.desc(), name, FindingRow.subject_id)
        .limit(10)
    )


def _identity_search(text_: str) -> Callable[[dict[str, Any]], Select[Any]]:
    def build(_f: dict[str, Any]) -> Select[Any]:
        stmt = (
            select(AuthorizationSystemRow.system_id, IdentityRow.external_id, IdentityRow.display_name)
            .select_from(IdentityRow)
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
        )
        if text_:
            pattern = f"%{text_}%"
            stmt = stmt.where(
                (IdentityRow.external_id == text_)
                | func.lower(IdentityRow.display_name).like(pattern)
                | func.lower(IdentityRow.external_id).like(pattern)
            )
        return stmt.order_by(
            IdentityRow.display_name,
            AuthorizationSystemRow.cloud,
            AuthorizationSystemRow.system_id,
            IdentityRow.external_id,
        ).limit(50)

    return build


SHAPES: tuple[Shape, ...] = (
    # dashboard (web-dash: store/dashboard.py)
    Shape(
        "dashboard: open findings by system, type, severity",
        lambda f: (
            select(FindingRow.system_pk, FindingRow.finding_type, FindingRow.severity, func.count())
            .where(_open())
            .group_by(FindingRow.system_pk, FindingRow.finding_type, FindingRow.severity)
        ),
    ),
    Shape("dashboard: riskiest identities", _riskiest),
    Shape(
        "dashboard: identities by system and kind",
        lambda f: select(IdentityRow.system_pk, IdentityRow.kind, func.count()).group_by(
            IdentityRow.system_pk, IdentityRow.kind
        ),
    ),
    Shape(
        "dashboard: latest collection runs",
        lambda f: select(CollectionRunRow).where(
            CollectionRunRow.id.in_(
                select(func.max(CollectionRunRow.id))
                .group_by(CollectionRunRow.cloud, CollectionRunRow.system_id)
                .scalar_subquery()
            )
        ),
    ),
    # findings list (web-findings: store/findings.py)
    Shape("findings: count open", lambda f: select(func.count()).select_from(FindingRow).where(_open())),
    Shape("findings: count all", lambda f: select(func.count()).select_from(FindingRow)),
    Shape(
        "findings: open, worst first, page 1",
        lambda f: select(FindingRow).where(_open()).order_by(*default_order()).limit(50),
    ),
    Shape(
        "findings: resolved, worst first, page 100",
        lambda f: (
            select(FindingRow)
            .where(FindingRow.resolved_at.is_not(None))
            .order_by(*default_order())
            .offset(4950)
            .limit(50)
        ),
    ),
    Shape(
        "findings: all by last seen, page 1",
        lambda f: select(FindingRow).order_by(FindingRow.last_seen.desc(), FindingRow.id.desc()).limit(50),
    ),
    Shape(
        "findings: one system and type, open, count",
        lambda f: (
            select(func.count())
            .select_from(FindingRow)
            .where(
                _open(), FindingRow.system_pk == f["gcp_pk"], FindingRow.finding_type == "inactiveUserFinding"
            )
        ),
    ),
    Shape(
        "findings: one identity's findings",
        lambda f: (
            select(FindingRow)
            .where(FindingRow.system_pk == f["aws_pk"], FindingRow.subject_id == f["aws_identity"])
            .order_by(FindingRow.resolved_at.is_not(None), *default_order())
            .limit(200)
        ),
    ),
    Shape(
        "findings: open findings of a page of 50 identities",
        lambda f: (
            select(FindingRow.subject_id, func.count(), func.max(FindingRow.pci_score))
            .where(FindingRow.system_pk == f["aws_pk"], FindingRow.subject_id.in_(f["aws_page"]), _open())
            .group_by(FindingRow.subject_id)
        ),
    ),
    Shape(
        "findings: one by fingerprint",
        lambda f: (
            select(FindingRow)
            .where(FindingRow.fingerprint == f["fingerprint"])
            .order_by(FindingRow.id)
            .limit(1)
        ),
    ),
    # identities (web-identity: store/identity_search.py; web-dash: store/browse.py)
    Shape(
        "identities: count every identity",
        lambda f: (
            select(func.count())
            .select_from(IdentityRow)
            .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
        ),
    ),
    Shape("identities: every cloud by name, page 1", _identity_search("")),
    Shape("identities: search 'singh'", _identity_search("singh")),
    Shape(
        "system: identities by name, page 40",
        lambda f: (
            select(IdentityRow)
            .where(IdentityRow.system_pk == f["aws_pk"])
            .order_by(IdentityRow.display_name, IdentityRow.id)
            .offset(1950)
            .limit(51)
        ),
    ),
    Shape(
        "system: identities search 'nowak', count",
        lambda f: (
            select(func.count())
            .select_from(IdentityRow)
            .where(IdentityRow.system_pk == f["azure_pk"], IdentityRow.display_name.icontains("nowak"))
        ),
    ),
)


def fixtures(engine: Engine) -> dict[str, Any]:
    """The keys the shapes name: the largest system of each cloud, an identity, a page of identities..."""
    found: dict[str, Any] = {}
    with Session(engine) as session:
        for cloud in ("aws", "azure", "gcp"):
            found[f"{cloud}_pk"] = session.scalar(
                select(IdentityRow.system_pk)
                .join(AuthorizationSystemRow, AuthorizationSystemRow.id == IdentityRow.system_pk)
                .where(AuthorizationSystemRow.cloud == cloud)
                .group_by(IdentityRow.system_pk)
                .order_by(func.count().desc())
                .limit(1)
            )
        found["aws_identity"] = session.scalar(
            select(FindingRow.subject_id)
            .where(FindingRow.system_pk == found["aws_pk"])
            .order_by(FindingRow.id)
            .limit(1)
        )
        found["aws_page"] = list(
            session.scalars(
                select(IdentityRow.external_id)
                .where(IdentityRow.system_pk == found["aws_pk"])
                .order_by(IdentityRow.display_name)
                .limit(50)
            )
        )
        found["fingerprint"] = session.scalar(
            select(FindingRow.fingerprint).order_by(FindingRow.id.desc()).limit(1)
        )
    return found


def _plan(session: Session, sql: str, dialect: str) -> str:
    if dialect == "sqlite":
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
        return "\n".join(f"      {row[-1]}" for row in rows)
    rows = session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")).all()
    return "\n".join(f"      {row[0]}" for row in rows)


def time_shapes(engine: Engine, shapes: tuple[Shape, ...], runs: int, plans: bool) -> None:
    found = fixtures(engine)
    dialect = engine.dialect.name
    backends = BackendCpu(engine)
    engine.dispose()  # new connections: their backends are the ones measured
    with Session(engine) as session:
        for shape in shapes:
            stmt = shape.build(found)
            walls, cpus, rows = [], [], 0
            session.execute(stmt).all()  # the first run warms the caches
            database = backends.seconds()
            for _ in range(runs):
                cpu, started = time.process_time(), time.perf_counter()
                rows = len(session.execute(stmt).all())
                walls.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
            database = (backends.seconds() - database) / runs
            print(
                f"  {shape.name:<52} {rows:>6} rows  median {statistics.median(walls) * 1000:7.1f} ms"
                f"  max {max(walls) * 1000:7.1f} ms  CPU {(statistics.median(cpus) + database) * 1000:7.1f} ms",
                flush=True,
            )
            if plans:
                sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
                print(_plan(session, sql, dialect))


def _index_name(definition: str) -> str:
    return "ix_bench_try_" + "".join(ch if ch.isalnum() else "_" for ch in definition)[:40]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", help="only the shapes whose name contains this text")
    parser.add_argument("--plans", action="store_true", help="print each query's plan")
    parser.add_argument(
        "--try-index", action="append", default=[], help='e.g. "findings (resolved_at, system_pk)"'
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--keep-postgres",
        metavar="NAME",
        help="copy into database NAME once and keep it for the next runs (drop it with --drop-postgres NAME)",
    )
    parser.add_argument(
        "--drop-postgres", metavar="NAME", help="drop a database kept by --keep-postgres, then stop"
    )
    args = parser.parse_args(argv)
    server = postgres_server()
    if args.drop_postgres:
        from web_store import drop_postgres_database

        if server:
            drop_postgres_database(server, args.drop_postgres)
        return 0
    size = QUICK if args.quick else StoreSize(FULL.identities, FULL.findings, FULL.systems_per_cloud)
    shapes = tuple(s for s in SHAPES if not args.only or args.only.lower() in s.name.lower())
    source = large_store(size)
    engines: list[tuple[str, Callable[[], Any]]] = []
    if not args.no_sqlite:
        engines.append(("SQLite", lambda: _sqlite(source)))
    if not args.no_postgres and server:
        engines.append(("PostgreSQL", lambda: _postgres(source, server, args.keep_postgres)))
    for label, opening in engines:
        with opening() as engine:
            indexes = [(_index_name(d), d) for d in args.try_index]
            print(f"{label}: {source.name}")
            time_shapes(engine, shapes, args.runs, args.plans)
            if indexes:
                for name, definition in indexes:
                    table, _, columns = definition.partition(" ")
                    started = time.perf_counter()
                    with engine.begin() as connection:
                        connection.execute(text(f"CREATE INDEX {name} ON {table} {columns}"))
                        if (
                            engine.dialect.name == "postgresql"
                        ):  # SQLite stores are never ANALYZEd by permscope
                            connection.execute(text(f"ANALYZE {table}"))
                    print(
                        f"{label}: with index {definition} (built in {time.perf_counter() - started:.1f} s)"
                    )
                try:
                    time_shapes(engine, shapes, args.runs, args.plans)
                finally:
                    with engine.begin() as connection:
                        for name, _definition in indexes:
                            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
    return 0


class _sqlite:  # noqa: N801 - a context manager used like a function
    def __init__(self, source: Path) -> None:
        self.engine = open_database(f"sqlite:///{source}")

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *_exc: object) -> None:
        self.engine.dispose()


class _postgres:  # noqa: N801
    def __init__(self, source: Path, server: str, keep: str | None) -> None:
        from web_store import copy_to_postgres, create_postgres_database

        self.server, self.keep = server, keep
        if keep is not None:
            self.url, self.name = server.rsplit("/", 1)[0] + "/" + keep, keep
            admin = create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1))
            with admin.connect() as connection:
                exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": keep})
            admin.dispose()
            if not exists:
                create_postgres_database(server, keep)
                copy_to_postgres(source, self.url)
        else:
            self.url, self.name = create_postgres_database(server)
            copy_to_postgres(source, self.url)
        self.engine = open_database(self.url)

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *_exc: object) -> None:
        from web_store import drop_postgres_database

        self.engine.dispose()
        if self.keep is None:
            drop_postgres_database(self.server, self.name)


if __name__ == "__main__":
    raise SystemExit(main())
