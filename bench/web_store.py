"""A large store for the web UI's benchmark: the demo estate, analyzed for real, cloned up to N identities and M
findings over systems of the three clouds, with 30 days of finding history.

The demo estate (`workflows.demo.load_demo`: import, effective permissions, activity, analysis) is built once
into `bench/out/web-template-<schema head>.sqlite`; every row of the large store is a copy of one of its rows
(identities, memberships, assignments, effective permissions, usage, findings with their evidence), renamed for
its copy and system, so row shapes are the ones the analysis writes. The large store is a SQLite file cached under
`bench/out/` (by size and schema head); `copy_to_postgres` streams it into a PostgreSQL database through
`store/bulk.py` (COPY).

    python bench/web_store.py                       # 100,000 identities, 1,000,000 findings (cached)
    python bench/web_store.py --identities 10000 --findings 100000 --regenerate
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, Table, create_engine, func, select, text
from sqlalchemy.orm import Session

from permscope.store.bulk import insert_rows
from permscope.store.engine import MIGRATIONS_DIR, head_revision, make_engine, open_database
from permscope.store.tables import (
    ActionRow,
    AnalysisRunRow,
    AssignmentRow,
    AuthorizationSystemRow,
    Base,
    CatalogRow,
    CollectionRunRow,
    EffectivePermissionRow,
    EffectivePermissionRunRow,
    FindingRow,
    IdentityActivityRow,
    IdentityRow,
    MembershipRow,
    PolicyRow,
    PolicyVersionRow,
    ResourceRow,
    UsageRow,
)

BENCH_DIR = Path(__file__).resolve().parent
OUT = BENCH_DIR / "out"
DAYS = 30  # days of finding history (one analysis a day)
CHUNK = 20_000


def schema_tag() -> str:
    """The schema head and a hash of every migration file: a cached store is reused only by the same schema
    (helpers' migrations may share a revision number until they are chained)."""
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{head_revision()}-{digest.hexdigest()[:8]}"


def _template_path() -> Path:
    return OUT / f"web-template-{schema_tag()}.sqlite"


def template_store() -> Path:
    """The demo estate loaded and analyzed (built once per schema head)."""
    path = _template_path()
    if path.is_file():
        return path
    from permscope.workflows.demo import load_demo

    OUT.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    engine = open_database(f"sqlite:///{partial}")
    load_demo(engine)
    engine.dispose()
    partial.rename(path)
    print(f"demo template {path.name} built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


# ------------------------------------------------------------------------------------------------ the template


def _columns(table: type[Base]) -> list[str]:
    target = table.__table__
    assert isinstance(target, Table)
    return [column.key for column in target.columns]


def _dicts(session: Session, table: type[Base], *where: Any) -> list[dict[str, Any]]:
    """Every row of a template table as a dict of its columns (ordered by primary key)."""
    names = _columns(table)
    target = table.__table__
    assert isinstance(target, Table)
    stmt = select(target).where(*where).order_by(*target.primary_key.columns)
    return [dict(zip(names, row, strict=True)) for row in session.execute(stmt)]


@dataclass
class TemplateSystem:
    """One system of the demo estate and every row that belongs to it."""

    system: dict[str, Any]
    identities: list[dict[str, Any]]
    memberships: list[dict[str, Any]]
    policies: list[dict[str, Any]]
    policy_versions: list[dict[str, Any]]
    assignments: dict[str, list[dict[str, Any]]]  # by identity external id
    resources: list[dict[str, Any]]
    usages: dict[str, list[dict[str, Any]]]
    activity: dict[str, dict[str, Any]]
    effective: dict[str, dict[str, Any]]
    effective_run: dict[str, Any] | None
    subject_findings: dict[str, list[dict[str, Any]]]  # findings whose subject is an identity, by identity
    other_findings: list[dict[str, Any]]  # findings of resources, external systems, ...
    run: dict[str, Any] | None
    collection: dict[str, Any] | None

    @property
    def identity_findings(self) -> list[dict[str, Any]]:
        return [finding for found in self.subject_findings.values() for finding in found]


def _group(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return dict(grouped)


def load_template(
    path: Path,
) -> tuple[dict[str, list[TemplateSystem]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(template systems by cloud, the action catalogue rows, the catalogue versions) of the demo store."""
    engine = make_engine(f"sqlite:///{path}")
    systems: dict[str, list[TemplateSystem]] = defaultdict(list)
    with Session(engine) as session:
        for system in _dicts(session, AuthorizationSystemRow):
            pk = system["id"]
            identities = _dicts(session, IdentityRow, IdentityRow.system_pk == pk)
            known = {identity["external_id"] for identity in identities}
            policies = _dicts(session, PolicyRow, PolicyRow.system_pk == pk)
            findings = _dicts(session, FindingRow, FindingRow.system_pk == pk)
            runs = _dicts(session, AnalysisRunRow, AnalysisRunRow.system_pk == pk)
            effective_runs = _dicts(
                session, EffectivePermissionRunRow, EffectivePermissionRunRow.system_pk == pk
            )
            collections = _dicts(session, CollectionRunRow, CollectionRunRow.system_id == system["system_id"])
            systems[system["cloud"]].append(
                TemplateSystem(
                    system=system,
                    identities=identities,
                    memberships=_dicts(session, MembershipRow, MembershipRow.system_pk == pk),
                    policies=policies,
                    policy_versions=_dicts(
                        session,
                        PolicyVersionRow,
                        PolicyVersionRow.policy_pk.in_([policy["id"] for policy in policies]),
                    ),
                    assignments=_group(
                        _dicts(session, AssignmentRow, AssignmentRow.system_pk == pk), "identity_external_id"
                    ),
                    resources=_dicts(session, ResourceRow, ResourceRow.system_pk == pk),
                    usages=_group(
                        _dicts(session, UsageRow, UsageRow.system_pk == pk), "identity_external_id"
                    ),
                    activity={
                        row["identity_external_id"]: row
                        for row in _dicts(session, IdentityActivityRow, IdentityActivityRow.system_pk == pk)
                    },
                    effective={
                        row["identity_external_id"]: row
                        for row in _dicts(
                            session, EffectivePermissionRow, EffectivePermissionRow.system_pk == pk
                        )
                    },
                    effective_run=effective_runs[0] if effective_runs else None,
                    subject_findings=_group([f for f in findings if f["subject_id"] in known], "subject_id"),
                    other_findings=[f for f in findings if f["subject_id"] not in known],
                    run=runs[0] if runs else None,
                    collection=collections[-1] if collections else None,
                )
            )
        actions = _dicts(session, ActionRow)
        catalogs = _dicts(session, CatalogRow)
    engine.dispose()
    return dict(systems), actions, catalogs


# ------------------------------------------------------------------------------------------------ the large store


@dataclass(frozen=True, slots=True)
class StoreSize:
    """How large a store to generate."""

    identities: int = 100_000
    findings: int = 1_000_000
    systems_per_cloud: int = 5

    def file_name(self) -> str:
        return (
            f"web-store-i{self.identities}-f{self.findings}-s{self.systems_per_cloud}-{schema_tag()}.sqlite"
        )


FULL = StoreSize()
QUICK = StoreSize(identities=10_000, findings=100_000, systems_per_cloud=3)
NAMESPACE = uuid.UUID("5f0c3a52-9c43-4f7e-9d3e-7be9c3b0e001")
GUID_LENGTH = 36
AWS_USAGE_SERVICES = ("s3", "ec2", "iam", "sts", "lambda", "dynamodb", "logs", "cloudwatch", "kms", "sqs")


@dataclass(frozen=True, slots=True)
class TargetSystem:
    """One system of the large store: which template system it copies, its ids and its identity count."""

    pk: int
    cloud: str
    system_id: str
    name: str
    template: TemplateSystem
    identities: int

    def included(self) -> list[tuple[int, dict[str, Any]]]:
        """(copy number, template identity) of every identity of this system, copy after copy."""
        people = self.template.identities
        return [(n // len(people), people[n % len(people)]) for n in range(self.identities)]


def _is_guid(value: str) -> bool:
    return len(value) == GUID_LENGTH and value.count("-") == 4


def _renamed(value: str, copy: int) -> str:
    """An identity's external id or name in copy `copy` (copy 0 keeps it)."""
    if copy == 0:
        return value
    if _is_guid(value):
        return str(uuid.uuid5(NAMESPACE, f"{value}|{copy}"))
    if "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local}+c{copy}@{domain}"
    return f"{value}-c{copy}"


class Clock:
    """Daily analyses over the last DAYS days, the latest one today at 02:00 UTC (or yesterday)."""

    def __init__(self, now: datetime) -> None:
        latest = now.replace(hour=2, minute=0, second=0, microsecond=0)
        self.latest = latest if latest <= now else latest - timedelta(days=1)

    def run_at(self, day: int) -> datetime:
        """When the analysis of day `day` (0 = the oldest, DAYS - 1 = the latest) ran."""
        return self.latest - timedelta(days=DAYS - 1 - day)


@dataclass(frozen=True, slots=True)
class History:
    """The days (0 = the oldest analysis) a finding was found, resolved, last reopened."""

    first: int
    resolved: int | None
    reopened: int | None
    times: int  # how often it was reopened

    def columns(self, clock: Clock) -> dict[str, Any]:
        """first_seen, last_seen, resolved_at, reopened, snapshot_at."""
        resolved = self.resolved
        return {
            "first_seen": clock.run_at(self.first),
            "last_seen": clock.latest if resolved is None else clock.run_at(resolved - 1),
            "resolved_at": None if resolved is None else clock.run_at(resolved),
            "reopened": self.times,
            "snapshot_at": clock.run_at(self.reopened if self.reopened is not None else self.first),
        }


def _history(rng: random.Random, open_share: float, reopened_share: float) -> History:
    """A random past: found some day (more long ago than yesterday), then open, reopened, or resolved."""
    first = DAYS - 1 - min(int(rng.expovariate(1 / 8)), DAYS - 1)
    draw = rng.random()
    if draw < open_share or first >= DAYS - 2:
        return History(first, None, None, 0)
    if draw < open_share + reopened_share:
        return History(first, None, rng.randint(first + 2, DAYS - 1), rng.choice((1, 1, 1, 2, 3)))
    return History(first, rng.randint(first + 1, DAYS - 1), None, 0)


def _targets(size: StoreSize, templates: dict[str, list[TemplateSystem]]) -> list[TargetSystem]:
    """The systems of the large store: per cloud, `systems_per_cloud` systems of decreasing size."""
    clouds = sorted(templates)
    weights = [1 / (n + 1) for n in range(size.systems_per_cloud)]
    targets: list[TargetSystem] = []
    for index, cloud in enumerate(clouds):
        share = size.identities // len(clouds) + (1 if index < size.identities % len(clouds) else 0)
        counts = [int(share * w / sum(weights)) for w in weights]
        counts[0] += share - sum(counts)
        for n, count in enumerate(counts):
            template = templates[cloud][n % len(templates[cloud])]
            if cloud == "aws":
                system_id, name = f"{900_000_000_000 + n:012d}", f"bench-account-{n:02d}"
            elif cloud == "azure":
                system_id, name = str(uuid.uuid5(NAMESPACE, f"subscription-{n}")), f"sub-bench-{n:03d}"
            else:
                system_id = name = f"bench-project-{n:03d}"
            targets.append(TargetSystem(len(targets) + 1, cloud, system_id, name, template, count))
    return targets


class Writer:
    """Rows buffered per table, written through `store.bulk.insert_rows` with explicit primary keys."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.buffers: dict[type[Base], list[dict[str, Any]]] = defaultdict(list)
        self.next_ids: Counter[type[Base]] = Counter()
        self.written: Counter[str] = Counter()

    def add(self, table: type[Base], row: dict[str, Any], *, keyed: bool = True) -> int:
        """Buffer a row (a fresh `id` when keyed); returns the id."""
        if keyed:
            self.next_ids[table] += 1
            row["id"] = self.next_ids[table]
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= CHUNK:
            self.flush(table)
        return int(row.get("id", 0))

    def flush(self, table: type[Base] | None = None) -> None:
        for name in [table] if table is not None else list(self.buffers):
            rows = self.buffers.pop(name, [])
            if rows:
                insert_rows(self.session, name, rows)
                self.written[name.__tablename__] += len(rows)


def _digest(rng: random.Random, length: int) -> str:
    return f"{rng.getrandbits(length * 4):0{length}x}"


class SystemCopier:
    """Writes one target system: its rows copied from its template system, renamed."""

    def __init__(self, target: TargetSystem, writer: Writer, rng: random.Random, clock: Clock) -> None:
        self.target = target
        self.writer = writer
        self.rng = rng
        self.clock = clock
        self.old = target.template.system["system_id"]
        self.open_by_type: Counter[str] = Counter()
        self.new: Counter[int] = Counter()  # per day: findings found, resolved, reopened
        self.resolved: Counter[int] = Counter()
        self.reopened: Counter[int] = Counter()

    def swap(self, value: str) -> str:
        """A string of the template system with the template's system id replaced by the target's."""
        return value.replace(self.old, self.target.system_id)

    def swap_json(self, value: Any, renames: dict[str, str] | None = None) -> Any:
        """A JSON value with the system id replaced, and whole strings renamed as `renames` says."""
        if value is None:
            return None
        raw = orjson.dumps(value).decode().replace(self.old, self.target.system_id)
        for old, new in (renames or {}).items():
            raw = raw.replace(f'"{old}"', f'"{new}"')
        return orjson.loads(raw)

    def write_system(self) -> None:
        template, target = self.target.template, self.target
        system = dict(template.system)
        last_run = self.clock.latest - timedelta(minutes=30)
        system.update(
            id=target.pk,
            system_id=target.system_id,
            name=target.name,
            created_at=self.clock.run_at(0) - timedelta(days=10),
            last_collection_at=last_run,
            attributes=self.swap_json(system["attributes"]),
            parent_id=self.swap(system["parent_id"]) if system["parent_id"] else None,
        )
        self.writer.add(AuthorizationSystemRow, system, keyed=False)
        self.writer.flush(AuthorizationSystemRow)
        for day in range(DAYS):
            started = self.clock.run_at(day) - timedelta(minutes=30)
            failed = self.rng.random() < 0.04 and day < DAYS - 1
            collection = template.collection or {}
            self.writer.add(
                CollectionRunRow,
                {
                    "cloud": target.cloud,
                    "system_id": target.system_id,
                    "source": f"bench:{target.cloud}",
                    "started_at": started,
                    "finished_at": started + timedelta(seconds=self.rng.randint(20, 400)),
                    "status": "failed" if failed else "succeeded",
                    "counts": {} if failed else self.swap_json(collection.get("counts") or {}),
                    "warnings": [],
                    "error": "AccessDenied: the collector's role could not be assumed" if failed else None,
                },
            )
        policy_ids: dict[int, int] = {}
        for policy in template.policies:
            row = dict(policy)
            old_pk = row.pop("id")
            row.update(
                system_pk=target.pk,
                external_id=self.swap(row["external_id"]),
                document=self.swap_json(row["document"]),
                attributes=self.swap_json(row["attributes"]),
            )
            policy_ids[old_pk] = self.writer.add(PolicyRow, row)
        for version in template.policy_versions:
            row = dict(version)
            row.update(policy_pk=policy_ids[row["policy_pk"]], document=self.swap_json(row["document"]))
            row.pop("id")
            self.writer.add(PolicyVersionRow, row)
        for stored in template.resources:
            row = dict(stored)
            row.pop("id")
            row.update(
                system_pk=target.pk,
                external_id=self.swap(row["external_id"]),
                display_name=self.swap(row["display_name"]),
                policy=self.swap_json(row["policy"]),
                facts=self.swap_json(row["facts"]),
            )
            self.writer.add(ResourceRow, row)
        if template.effective_run is not None:
            run = dict(template.effective_run)
            run.update(system_pk=target.pk, identities=target.identities, computed_at=last_run)
            self.writer.add(EffectivePermissionRunRow, run, keyed=False)

    def write_identities(self, actions: Sequence[str], extra_findings: Iterator[int]) -> None:
        template, target = self.target.template, self.target
        included = target.included()
        copies: dict[int, set[str]] = defaultdict(set)
        for copy, person in included:
            copies[copy].add(person["external_id"])
        kinds = {person["external_id"]: person["kind"] for person in template.identities}
        pool_by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for subject, found in template.subject_findings.items():
            pool_by_kind[kinds[subject]].extend(found)
        everything = template.identity_findings
        for copy, person in included:
            old_id = person["external_id"]
            new_id = self.swap(_renamed(old_id, copy))
            new_name = _renamed(person["display_name"], copy)
            renames = {old_id: new_id} if new_id != old_id else {}
            row = dict(person)
            row.update(
                system_pk=target.pk,
                external_id=new_id,
                display_name=new_name,
                attributes=self.swap_json(row["attributes"], renames),
                digest=_digest(self.rng, 40),
            )
            row.pop("id")
            self.writer.add(IdentityRow, row)
            for assignment in template.assignments.get(old_id, ()):
                row = dict(assignment)
                row.pop("id")
                row.update(
                    system_pk=target.pk,
                    identity_external_id=new_id,
                    policy_external_id=self.swap(row["policy_external_id"]),
                    scope=self.swap(row["scope"]),
                )
                self.writer.add(AssignmentRow, row)
            effective = template.effective.get(old_id)
            if effective is not None:
                row = dict(effective)
                row.pop("id")
                row.update(system_pk=target.pk, identity_external_id=new_id)
                self.writer.add(EffectivePermissionRow, row)
            copied: set[str] = set()
            for usage in template.usages.get(old_id, ()):
                row = dict(usage)
                if not row["resource"]:
                    copied.add(row["action"])
                row.pop("id")
                row.update(
                    system_pk=target.pk, identity_external_id=new_id, resource=self.swap(row["resource"])
                )
                self.writer.add(UsageRow, row)
            if target.cloud == "aws" and person["kind"] in ("user", "role") and self.rng.random() < 0.6:
                self._aws_usage(new_id, actions, copied)
            activity = template.activity.get(old_id)
            if activity is not None:
                row = dict(activity)
                row.pop("id")
                row.update(system_pk=target.pk, identity_external_id=new_id)
                self.writer.add(IdentityActivityRow, row)
            for finding in template.subject_findings.get(old_id, ()):
                self._finding(finding, copy, 0, new_id, new_name, renames, 0.85, 0.05)
            pool = pool_by_kind.get(person["kind"]) or everything
            for variant in range(1, next(extra_findings) + 1):
                finding = pool[self.rng.randrange(len(pool))]
                renames = {finding["subject_id"]: new_id}
                self._finding(finding, copy, variant, new_id, new_name, renames, 0.40, 0.10)
        for copy, members in copies.items():
            for membership in template.memberships:
                group, member = membership["group_external_id"], membership["member_external_id"]
                if group in members and member in members:
                    self.writer.add(
                        MembershipRow,
                        {
                            "system_pk": target.pk,
                            "group_external_id": self.swap(_renamed(group, copy)),
                            "member_external_id": self.swap(_renamed(member, copy)),
                        },
                    )
        for finding in template.other_findings:
            self._finding(finding, 0, 0, None, None, {}, 0.85, 0.05)

    def _aws_usage(self, identity: str, actions: Sequence[str], copied: set[str]) -> None:
        """Random usage of a few actions without a resource (those the template's usage holds are skipped)."""
        last = self.clock.latest - timedelta(days=self.rng.randint(0, 120))
        for action in self.rng.sample(actions, self.rng.randint(1, 12)):
            if action in copied:
                continue
            self.writer.add(
                UsageRow,
                {
                    "system_pk": self.target.pk,
                    "identity_external_id": identity,
                    "action": action,
                    "resource": "",
                    "first_seen": last - timedelta(days=self.rng.randint(0, 300)),
                    "last_seen": last,
                    "count": self.rng.randint(1, 50_000),
                    "digest": _digest(self.rng, 40),
                },
            )

    def _finding(
        self,
        finding: dict[str, Any],
        copy: int,
        variant: int,
        subject_id: str | None,
        subject_name: str | None,
        renames: dict[str, str],
        open_share: float,
        reopened_share: float,
    ) -> None:
        row = dict(finding)
        row.pop("id")
        fingerprint = f"{self.target.system_id}|{finding['fingerprint']}|{copy}|{variant}|{subject_id}"
        row.update(
            system_pk=self.target.pk,
            fingerprint=hashlib.sha256(fingerprint.encode()).hexdigest(),
            subject_id=subject_id if subject_id is not None else self.swap(row["subject_id"]),
            subject_name=subject_name if subject_name is not None else self.swap(row["subject_name"]),
            summary=self.swap(row["summary"].replace(finding["subject_name"], subject_name))
            if subject_name is not None
            else self.swap(row["summary"]),
            properties=self.swap_json(row["properties"], renames),
            evidence=self.swap_json(row["evidence"], renames),
            digest=_digest(self.rng, 64),
        )
        history = _history(self.rng, open_share, reopened_share)
        row.update(history.columns(self.clock))
        self.new[history.first] += 1
        if history.resolved is None:
            self.open_by_type[row["finding_type"]] += 1
        else:
            self.resolved[history.resolved] += 1
        if history.reopened is not None:
            self.reopened[history.reopened] += 1
            self.resolved[history.reopened - 1] += 1  # it was resolved the day before
        self.writer.add(FindingRow, row)

    def write_run(self) -> None:
        """The system's latest analysis: what the generated findings say, in the template run's shape."""
        template, target = self.target.template, self.target
        if template.run is None:
            return
        run = dict(template.run)
        ratio = target.identities / max(len(template.identities), 1)
        open_now = sum(self.open_by_type.values())
        last = DAYS - 1
        run.update(
            system_pk=target.pk,
            started_at=self.clock.latest,
            finished_at=self.clock.latest + timedelta(seconds=self.rng.randint(30, 600)),
            snapshot_at=self.clock.latest - timedelta(minutes=30),
            counts=dict(sorted(self.open_by_type.items())),
            changes={
                "new": self.new[last],
                "changed": 0,
                "unchanged": open_now - self.new[last] - self.reopened[last],
                "resolved": self.resolved[last],
                "reopened": self.reopened[last],
            },
            checked={kind: round(count * ratio) for kind, count in (run["checked"] or {}).items()},
            settings={**(run["settings"] or {}), "now": self.clock.latest.isoformat()},
            pci_distribution={
                band: {name: round(value * ratio) for name, value in counts.items()}
                for band, counts in (run["pci_distribution"] or {}).items()
            }
            if run["pci_distribution"]
            else None,
        )
        self.writer.add(AnalysisRunRow, run, keyed=False)
        self._write_days(run["pci_distribution"])

    def _write_days(self, distribution: dict[str, Any] | None) -> None:
        """One `analysis_days` row per day of history (when this schema has that table): the day's changes, the
        findings open after it, the PCI distribution drifting towards today's."""
        day_table = Base.metadata.tables.get("analysis_days")
        if day_table is None:
            return
        mapped = next(m.class_ for m in Base.registry.mappers if m.local_table is day_table)
        open_after = 0
        for day in range(DAYS):
            open_after += self.new[day] - self.resolved[day] + self.reopened[day]
            drift = 1 + (DAYS - 1 - day) * 0.01
            self.writer.add(
                mapped,
                {
                    "system_pk": self.target.pk,
                    "day": self.clock.run_at(day).date(),
                    "analyses": 1,
                    "new": self.new[day],
                    "resolved": self.resolved[day],
                    "reopened": self.reopened[day],
                    "open_findings": open_after,
                    "pci_distribution": {
                        band: {
                            name: round(value * (drift if band == "high" else 1))
                            for name, value in counts.items()
                        }
                        for band, counts in distribution.items()
                    }
                    if distribution
                    else None,
                    "last_analysis_at": self.clock.run_at(day),
                },
                keyed=False,
            )


def _extra_findings(size: StoreSize, targets: Sequence[TargetSystem]) -> Iterator[int]:
    """How many extra (history) findings each identity gets, in order, so the store holds `size.findings`."""
    base = 0
    for target in targets:
        template = target.template
        base += len(template.other_findings)
        base += sum(len(template.subject_findings.get(p["external_id"], ())) for _, p in target.included())
    extra = max(size.findings - base, 0)
    for index in range(size.identities):
        yield extra // size.identities + (1 if index < extra % size.identities else 0)


def generate(path: Path, size: StoreSize, *, seed: int = 16) -> dict[str, int]:
    """Write the large store to a new SQLite file at `path`; returns rows written per table."""
    templates, actions, catalogs = load_template(template_store())
    path.unlink(missing_ok=True)
    engine = open_database(f"sqlite:///{path}")
    rng = random.Random(seed)
    clock = Clock(datetime.now(UTC))
    targets = _targets(size, templates)
    aws_actions = sorted(
        a["external_id"] for a in actions if a["cloud"] == "aws" and a["service"] in AWS_USAGE_SERVICES
    )
    extra = _extra_findings(size, targets)
    with Session(engine) as session:
        session.execute(text("PRAGMA synchronous=OFF"))
        writer = Writer(session)
        for row in catalogs:
            writer.add(CatalogRow, dict(row), keyed=False)
        for row in actions:
            writer.add(ActionRow, dict(row), keyed=False)
        writer.flush()
        for target in targets:
            copier = SystemCopier(target, writer, rng, clock)
            copier.write_system()
            copier.write_identities(aws_actions, extra)
            copier.write_run()
            writer.flush()
            print(
                f"  {target.cloud:<5} {target.system_id:<36} {target.identities:>7} identities",
                file=sys.stderr,
            )
        session.commit()
    engine.dispose()
    return dict(writer.written)


def migration_files() -> dict[str, str]:
    """SHA-256 of each migration file, by name."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    }


def _meta(path: Path) -> Path:
    return path.with_suffix(".json")


def _upgradable(size: StoreSize) -> Path | None:
    """A cached store of this size made by migrations that are all still here, unchanged (so upgrading it runs
    only the new ones), or None."""
    current = migration_files()
    pattern = f"web-store-i{size.identities}-f{size.findings}-s{size.systems_per_cloud}-*.sqlite"
    for candidate in sorted(OUT.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            made_by = orjson.loads(_meta(candidate).read_bytes())["migrations"]
        except (OSError, KeyError, orjson.JSONDecodeError):
            continue
        if all(current.get(name) == digest for name, digest in made_by.items()):
            return candidate
    return None


def fill_trends(engine: Engine) -> int:
    """`analysis_days` (when the schema has it) from the findings' history, for a store upgraded from one made
    before that table existed: per system and day, findings first seen, resolved, reopened, and open after it.
    Returns the rows written (none when the table already holds more than one day per system)."""
    days = Base.metadata.tables.get("analysis_days")
    if days is None:
        return 0
    with Session(engine) as session:
        systems = int(session.scalar(select(func.count()).select_from(AuthorizationSystemRow)) or 0)
        if int(session.scalar(select(func.count()).select_from(days)) or 0) > systems:
            return 0
        runs = {row.system_pk: row for row in session.scalars(select(AnalysisRunRow))}
        per_day: dict[tuple[int, Any], Counter[str]] = defaultdict(Counter)
        for column, key in (
            (FindingRow.first_seen, "new"),
            (FindingRow.resolved_at, "resolved"),
        ):
            day = (
                func.date(column)
                if engine.dialect.name == "sqlite"
                else func.date(func.timezone("UTC", column))
            )
            stmt = (
                select(FindingRow.system_pk, day, func.count())
                .where(column.is_not(None))
                .group_by(FindingRow.system_pk, day)
            )
            for system_pk, when, count in session.execute(stmt):
                found = when if not isinstance(when, str) else datetime.strptime(when, "%Y-%m-%d").date()
                per_day[(system_pk, found)][key] += int(count)
        session.execute(days.delete())
        rows = []
        open_after: Counter[int] = Counter()
        for (system_pk, day), counts in sorted(per_day.items()):
            open_after[system_pk] += counts["new"] - counts["resolved"]
            run = runs.get(system_pk)
            at = datetime.combine(day, run.started_at.timetz() if run else datetime.min.time(), UTC)
            rows.append(
                {
                    "system_pk": system_pk,
                    "day": day,
                    "analyses": 1,
                    "new": counts["new"],
                    "resolved": counts["resolved"],
                    "reopened": 0,
                    "open_findings": open_after[system_pk],
                    "pci_distribution": run.pci_distribution if run else None,
                    "last_analysis_at": at,
                }
            )
        mapped = next(m.class_ for m in Base.registry.mappers if m.local_table is days)
        insert_rows(session, mapped, rows)
        session.commit()
    return len(rows)


def fill_open_summaries(engine: Engine) -> int:
    """Each system's latest analysis summary of its open findings (`store.dashboard.summarize_open`, what an
    analysis writes with its findings) written anew where it does not count the system's open findings (the
    copied template's summaries count the demo estate's). Returns the systems written."""
    from permscope.store.dashboard import open_summary_of, summarize_open

    with Session(engine) as session:
        counted = dict(
            session.execute(
                select(FindingRow.system_pk, func.count())
                .where(FindingRow.resolved_at.is_(None))
                .group_by(FindingRow.system_pk)
            ).all()
        )
        written = 0
        for run in session.scalars(select(AnalysisRunRow)):
            summary = open_summary_of(run)
            if summary is None or summary.total != counted.get(run.system_pk, 0):
                run.open_summary = summarize_open(session, run.system_pk)
                written += 1
        session.commit()
    return written


def large_store(size: StoreSize, *, regenerate: bool = False) -> Path:
    """The cached SQLite file of a large store: this schema's; else a copy of one made by an older schema
    whose migrations are unchanged, upgraded (the new migrations run on it as on a user's store, and the trends
    table is filled from the findings); else generated."""
    path = OUT / size.file_name()
    if path.is_file() and not regenerate:
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    started, cpu = time.perf_counter(), time.process_time()
    older = None if regenerate else _upgradable(size)
    if older is not None:
        import shutil

        shutil.copyfile(older, partial)
        engine = open_database(f"sqlite:///{partial}")
        filled = fill_trends(engine)
        summaries = fill_open_summaries(engine)
        engine.dispose()
        print(
            f"upgraded a copy of {older.name} in {time.perf_counter() - started:.0f} s wall, "
            f"{time.process_time() - cpu:.0f} s CPU (analysis_days rows filled: {filled}, open summaries "
            f"written: {summaries})",
            file=sys.stderr,
        )
    else:
        written = generate(partial, size)
        engine = make_engine(f"sqlite:///{partial}")
        written["open summaries"] = fill_open_summaries(engine)
        engine.dispose()
        print(
            f"generated {path.name} in {time.perf_counter() - started:.0f} s wall, "
            f"{time.process_time() - cpu:.0f} s CPU: "
            + ", ".join(f"{name} {count:,}" for name, count in sorted(written.items())),
            file=sys.stderr,
        )
    for name in ("-wal", "-shm"):
        Path(f"{partial}{name}").unlink(missing_ok=True)
    partial.rename(path)
    _meta(path).write_bytes(orjson.dumps({"migrations": migration_files()}))
    return path


# ------------------------------------------------------------------------------------------------ PostgreSQL


def postgres_server() -> str | None:
    """The PostgreSQL server to benchmark on (PERMSCOPE_BENCH_POSTGRES_URL, else PERMSCOPE_TEST_POSTGRES_URL)."""
    import os

    return os.environ.get("PERMSCOPE_BENCH_POSTGRES_URL") or os.environ.get("PERMSCOPE_TEST_POSTGRES_URL")


def _admin(url: str) -> Engine:
    return create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


def create_postgres_database(server: str, name: str | None = None) -> tuple[str, str]:
    """A new empty database on the server of `server` (named `name`, else a fresh name): (its URL, its name)."""
    name = name or f"permscope_bench_web_{uuid.uuid4().hex[:8]}"
    admin = _admin(server)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name, name


def drop_postgres_database(server: str, name: str) -> None:
    admin = _admin(server)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def copy_to_postgres(source: Path, url: str) -> dict[str, int]:
    """Every row of the SQLite store at `source` into the (empty) PostgreSQL database at `url`: schema at head,
    one COPY per table fed with the values as SQLite holds them (JSON as text, times as UTC text, booleans as
    0/1; no decoding in Python), sequences moved past the copied ids, then VACUUM ANALYZE. Rows per table."""
    import sqlite3

    to_engine = open_database(url)
    copied: dict[str, int] = {}
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writing: Any = to_engine.raw_connection()
    try:
        with writing.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")  # SQLite's times are UTC without a zone
            for table in Base.metadata.sorted_tables:
                names = ", ".join(f'"{column.name}"' for column in table.columns)
                cursor.execute(f'DELETE FROM "{table.name}"')  # rows the migrations seed come from the source
                rows = reading.execute(f'SELECT {names} FROM "{table.name}"')
                count = 0
                with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    while part := rows.fetchmany(CHUNK):
                        for row in part:
                            copy.write_row(row)
                        count += len(part)
                copied[table.name] = count
                if "id" in table.columns and count:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f'(SELECT max(id) FROM "{table.name}"))'
                    )
        writing.commit()
    finally:
        writing.close()
        reading.close()
    with to_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    to_engine.dispose()
    return copied


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of a store."""
    with Session(engine) as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--identities", type=int, default=FULL.identities)
    parser.add_argument("--findings", type=int, default=FULL.findings)
    parser.add_argument("--systems-per-cloud", type=int, default=FULL.systems_per_cloud)
    parser.add_argument("--quick", action="store_true", help="10,000 identities, 100,000 findings")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--postgres", action="store_true", help="also time the copy into a PostgreSQL database"
    )
    args = parser.parse_args(argv)
    size = QUICK if args.quick else StoreSize(args.identities, args.findings, args.systems_per_cloud)
    path = large_store(size, regenerate=args.regenerate)
    engine = make_engine(f"sqlite:///{path}")
    print(f"{path}: " + ", ".join(f"{k} {v:,}" for k, v in table_counts(engine).items() if v))
    engine.dispose()
    server = postgres_server()
    if args.postgres and server:
        url, name = create_postgres_database(server)
        try:
            started = time.perf_counter()
            copy_to_postgres(path, url)
            print(f"copied into PostgreSQL in {time.perf_counter() - started:.0f} s")
        finally:
            drop_postgres_database(server, name)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
