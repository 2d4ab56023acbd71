"""Anomaly detection measured: recall per injected anomaly kind and false alerts per 1,000 identity-days.

`generate_activity.py` writes 60 days of activity of many identities per cloud (CloudTrail, the Azure Activity Log
with Entra sign-ins, GCP audit logs), built on the shared samples, with known anomalies injected into the last 30
days. This imports them through the real path (`workflows.activity.import_activity_files`, a fresh SQLite file or,
with --postgres, a fresh PostgreSQL database on PERMSCOPE_BENCH_POSTGRES_URL / PERMSCOPE_TEST_POSTGRES_URL) and
judges the last 30 days with the real detectors (`workflows.activity_signals.activity_signals`). Then:

- recall of a kind: the injected identity-days on which the expected signal fired (volume -> anomaly.volume, hour
  -> anomaly.hour, highRisk -> activity.highRisk and activity.firstAction of that action, newIp ->
  activity.newSource of that IP, newResource -> anomaly.resource);
- false alerts: signals on identity-days where nothing was injected, per 1,000 such active identity-days, per
  signal kind; signals of another kind on injected days are listed apart (side effects, e.g. the new service of
  an injected high-risk action).

Reports figures; asserts nothing. Needs ../shared (the samples).

    .venv/bin/python bench/bench_anomalies.py [--quick] [--postgres] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_activity import ALL_KINDS, SHARED_LOGS, Generated, Persona, write_activity
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.core.signals import Signal, SignalKind
from permscope.store.engine import make_engine, upgrade
from permscope.store.ingest import ingest
from permscope.workflows.activity import import_activity_files
from permscope.workflows.activity_signals import activity_signals

BENCH_DIR = Path(__file__).resolve().parent
EXPECTED = {
    "volume": (SignalKind.ANOMALY_VOLUME,),
    "hour": (SignalKind.ANOMALY_HOUR,),
    "highRisk": (SignalKind.ACTIVITY_HIGH_RISK, SignalKind.ACTIVITY_FIRST_ACTION),
    "newIp": (SignalKind.ACTIVITY_NEW_SOURCE,),
    "newResource": (SignalKind.ANOMALY_RESOURCE,),
}


def _postgres_engine() -> tuple[Engine, str]:
    url = os.environ.get("PERMSCOPE_BENCH_POSTGRES_URL") or os.environ.get("PERMSCOPE_TEST_POSTGRES_URL")
    if not url:
        raise SystemExit("--postgres needs PERMSCOPE_BENCH_POSTGRES_URL or PERMSCOPE_TEST_POSTGRES_URL")
    name = f"permscope_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return make_engine(make_url(url).set(database=name).render_as_string(hide_password=False)), url


def _drop(url: str, engine: Engine) -> None:
    name = engine.url.database
    engine.dispose()
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def _azure_inventory(engine: Engine, personas: list[Persona]) -> None:
    """The Azure identities, stored (sign-ins count in the subscriptions that store their identity)."""
    azure = [persona for persona in personas if persona.cloud is Cloud.AZURE]
    if not azure:
        return
    system = AuthorizationSystem(cloud=Cloud.AZURE, system_id=azure[0].system, name="bench subscription")
    identities = [
        Identity(
            external_id=persona.actor,
            kind=IdentityKind.USER if persona.human else IdentityKind.SERVICE_PRINCIPAL,
            display_name=f"p{persona.number:04d}",
            source="aad",
        )
        for persona in azure
    ]
    ingest(engine, InventoryBatch(system=system, source="bench", identities=identities))


def _matches(kind: str, detail: str, signal: Signal) -> bool:
    """Whether a signal is the one an injection of `kind` (with its detail) should raise."""
    if signal.kind not in EXPECTED[kind]:
        return False
    if kind == "highRisk":
        return signal.evidence.get("action") == detail
    if kind == "newIp":
        return signal.evidence.get("source") == "ips" and signal.evidence.get("value") == detail
    return True


def score(generated: Generated, signals: list[Signal]) -> None:
    """Print recall per kind, false alerts per 1,000 clean identity-days, and side effects."""
    by_place: dict[tuple[str, str, date], list[Signal]] = {}
    for signal in signals:
        day = date.fromisoformat(str(signal.evidence["day"]))
        by_place.setdefault((signal.system_id, signal.subject_id, day), []).append(signal)
    judged = {place for place in generated.active if place[2] >= generated.first_judged}
    clean = judged - set(generated.injected)
    print(
        f"\njudged identity-days: {len(judged):,} ({len(generated.injected)} injected, {len(clean):,} clean)"
    )
    print("recall (injected identity-days whose expected signal fired):")
    for kind in ALL_KINDS:
        places = [place for place, (what, _detail) in generated.injected.items() if what == kind]
        for expected in EXPECTED[kind]:
            hits = sum(
                any(
                    _matches(kind, generated.injected[place][1], s) and s.kind is expected
                    for s in by_place.get(place, [])
                )
                for place in places
            )
            print(
                f"  {kind:<9} -> {expected.value:<21} {hits:>4} / {len(places):<4} {hits / max(len(places), 1):6.1%}"
            )
    churning = {(p.system, p.actor) for p in generated.personas if p.churn}
    for label, wanted in (("churning", True), ("stable", False)):
        places = [
            place
            for place, (what, _detail) in generated.injected.items()
            if what == "newResource" and ((place[0], place[1]) in churning) is wanted
        ]
        hits = sum(
            any(s.kind is SignalKind.ANOMALY_RESOURCE for s in by_place.get(place, [])) for place in places
        )
        print(f"  newResource on {label} identities: {hits} / {len(places)}")
    false = Counter(signal.kind.value for place in clean for signal in by_place.get(place, []))
    steady = Counter(
        signal.kind.value for place in clean - set(generated.drift) for signal in by_place.get(place, [])
    )
    total, per = sum(false.values()), 1000 / max(len(clean), 1)
    drifted = len(clean & set(generated.drift))
    print(
        f"false alerts on clean identity-days: {total} = {total * per:.2f} per 1,000 identity-days "
        f"({drifted:,} of them had a benign change: new agent version, IP, usual action or resource, or a busy day)"
    )
    print(f"  {'kind':<21} {'all':>5} {'per 1,000':>9}   on steady days (no benign change)")
    for kind, count in sorted(false.items()):
        print(f"  {kind:<21} {count:>5} {count * per:9.2f}   {steady[kind]:>5} {steady[kind] * per:9.2f}")
    print(
        f"  {'total':<21} {total:>5} {total * per:9.2f}   {sum(steady.values()):>5} {sum(steady.values()) * per:9.2f}"
    )
    benign = [place for place in clean if "resource" in generated.drift.get(place, [])]
    fired = sum(
        any(s.kind is SignalKind.ANOMALY_RESOURCE for s in by_place.get(place, [])) for place in benign
    )
    print(f"  anomaly.resource on clean days with a benign new resource: {fired} of {len(benign)} such days")
    side = Counter(
        signal.kind.value
        for place, (kind, detail) in generated.injected.items()
        for signal in by_place.get(place, [])
        if not _matches(kind, detail, signal)
    )
    if side:
        print(
            "other signals on injected identity-days (side effects): "
            + ", ".join(f"{k} {v}" for k, v in sorted(side.items()))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the identities")
    parser.add_argument("--postgres", action="store_true", help="store in a fresh PostgreSQL database")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-kind", type=int, default=40, help="anomalies of each kind per cloud")
    options = parser.parse_args()
    if not SHARED_LOGS.is_dir():
        raise SystemExit(f"the shared samples are needed: {SHARED_LOGS} not found")
    print(
        f"load average before: {', '.join(f'{value:.2f}' for value in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    scale = 4 if options.quick else 1
    people = {Cloud.AWS: 240 // scale, Cloud.AZURE: 120 // scale, Cloud.GCP: 120 // scale}
    per_kind = max(4, options.per_kind // scale)
    started = time.perf_counter()
    generated = write_activity(
        BENCH_DIR / "out" / "anomalies", people=people, per_kind=per_kind, seed=options.seed
    )
    total = sum(generated.events.values())
    print(
        f"generated {total:,} events of {len(generated.personas)} identities over 60 days "
        f"({', '.join(f'{c.value} {n:,}' for c, n in generated.events.items())}) in {time.perf_counter() - started:.1f} s"
    )
    url = None
    if options.postgres:
        engine, url = _postgres_engine()
    else:
        folder = Path(tempfile.mkdtemp(prefix="bench-anomalies-"))
        engine = make_engine(f"sqlite:///{folder / 'permscope.sqlite3'}")
    try:
        upgrade(engine)
        _azure_inventory(engine, generated.personas)
        for cloud, folder in generated.folders.items():
            started = time.perf_counter()
            report = import_activity_files(engine, [folder], workers=2, cloud=cloud)
            took = time.perf_counter() - started
            print(
                f"import {cloud.value:<5} {report.stats.events:>9,} events in {took:5.1f} s "
                f"({report.stats.events / took:,.0f}/s): {report.day_profiles:,} day profiles, "
                f"{report.usage_rows:,} usage rows, failures {len(report.failures)}"
            )
        signals: list[Signal] = []
        started = time.perf_counter()
        with Session(engine) as session:
            for cloud in generated.folders:
                system = next(p.system for p in generated.personas if p.cloud is cloud)
                signals += activity_signals(
                    session, cloud, system, generated.first_judged, generated.last_day
                )
        print(f"detection over 30 days: {len(signals):,} signals in {time.perf_counter() - started:.1f} s")
        score(generated, signals)
    finally:
        if url is not None:
            _drop(url, engine)
        else:
            engine.dispose()


if __name__ == "__main__":
    main()
