"""An autopilot dry run over a whole account: how long it takes and how many times it reads the system's snapshot.

A generated AWS account (the demo estate's generator: users, groups, roles, customer policies and activity; 300
users by default) is loaded into a fresh SQLite store, and a rule matching every user of it (`*`, kind user,
N = 90 days, generation on) is accepted and run dry: each matched user is planned and its plan stored as a
draft. Two ways, each on its own fresh copy of the store:

- per identity: the system's inputs (snapshot, activity start, open findings) read again for every identity, as
  a run did when it planned each identity through `create_plan`;
- once per system: what a run does now (`load_system_inputs` once, `plan_identity` per identity).

Reported per way: wall seconds of the run, snapshot loads (calls of `load_snapshot`), plans made and identities
skipped; and whether both ways made the same plans (steps and evidence, the rule's id aside).
Asserts nothing else.

    .venv/bin/python bench/bench_autopilot.py [--users 300] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.core.autopilot import check_spec
from permscope.settings import Settings
from permscope.store.engine import open_database
from permscope.store.tables import RemediationPlanRow, RemediationStepRow
from permscope.workflows.demo import DemoAccount, load_demo
from permscope.workflows.remediation import autopilot, plans
from permscope.workflows.remediation import autopilot_rules as rules
from permscope.workflows.remediation.apply import default_connectors
from permscope.workflows.requests import local_actor

ACCOUNT = "210987654321"


def _estate(folder: Path, users: int) -> Path:
    """A store holding one generated account with `users` users and its activity; its path."""
    path = folder / "estate.sqlite3"
    engine = open_database(f"sqlite:///{path}")
    account = DemoAccount(ACCOUNT, "bench-autopilot", users, max(users // 10, 4), users // 2, users // 8, 7)
    load_demo(engine, (account,), (), (), folder=folder / "estate")
    engine.dispose()
    return path


def _plans(engine: Engine) -> dict[str, Any]:
    """Every stored plan by identity: its evidence (the rule's id aside) and steps."""
    with Session(engine) as session:
        found: dict[str, Any] = {}
        for plan in session.execute(select(RemediationPlanRow)).scalars():
            steps = session.execute(
                select(RemediationStepRow)
                .where(RemediationStepRow.plan_pk == plan.id)
                .order_by(RemediationStepRow.ordinal)
            ).scalars()
            evidence = {k: v for k, v in plan.evidence.items() if k != "autopilot"}  # names the rule's id
            found[plan.identity_external_id] = (
                evidence,
                [(s.kind, s.target, s.parameters, s.evidence) for s in steps],
            )
        return found


def _run(path: Path, *, per_identity: bool, now: datetime) -> dict[str, Any]:
    """A dry run of a rule matching every user; its time and snapshot loads."""
    engine = open_database(f"sqlite:///{path}")
    settings = Settings(database_url=f"sqlite:///{path}", remediation_min_observation_days=7)
    alice, bob = local_actor("alice"), local_actor("bob")
    spec = check_spec("every user", [f"aws:{ACCOUNT}"], ["*"], kinds=["user"], unused_days=90)
    rule_id = rules.add_rule(engine, alice, spec, settings=settings).rule_id
    rules.accept_rule(engine, bob, rule_id)
    loads = 0
    real_load = plans.load_snapshot
    real_inputs = autopilot._RuleRun.inputs

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal loads
        loads += 1
        return real_load(*args, **kwargs)

    def again(self: Any, system: Any) -> Any:
        self.loaded = None  # forget the system's inputs: read them for every identity
        return real_inputs(self, system)

    plans.load_snapshot = counted  # type: ignore[assignment]
    if per_identity:
        autopilot._RuleRun.inputs = again  # type: ignore[method-assign]
    try:
        context = autopilot.RunContext(settings, default_connectors(settings), lambda: now, True, "bench")
        started = time.perf_counter()
        run = autopilot.run_rule(engine, alice, rule_id, context)
        seconds = time.perf_counter() - started
    finally:
        plans.load_snapshot = real_load  # type: ignore[assignment]
        autopilot._RuleRun.inputs = real_inputs  # type: ignore[method-assign]
    made = _plans(engine)
    engine.dispose()
    return {
        "seconds": round(seconds, 2),
        "snapshotLoads": loads,
        "matched": len(run.items),
        "made": run.made,
        "skipped": run.skipped,
        "plans": made,
    }


def main() -> None:
    """Run both ways and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        estate = _estate(folder, args.users)
        print(f"estate: 1 account, {args.users} users, loaded in {time.perf_counter() - started:.1f} s")
        results = {}
        for name, per_identity in (("perIdentity", True), ("oncePerSystem", False)):
            copy = folder / f"{name}.sqlite3"
            shutil.copyfile(estate, copy)
            results[name] = _run(copy, per_identity=per_identity, now=now)
            shown = {k: v for k, v in results[name].items() if k != "plans"}
            print(f"{name}: {shown}")
    same = results["perIdentity"].pop("plans") == results["oncePerSystem"].pop("plans")
    before, after = results["perIdentity"]["seconds"], results["oncePerSystem"]["seconds"]
    print(f"same plans both ways: {same}; speed-up {before / max(after, 1e-9):.1f}x")
    if args.json is not None:
        report = {"users": args.users, "samePlans": same, **results}
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
