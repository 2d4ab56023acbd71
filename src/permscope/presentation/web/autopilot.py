"""Autopilot rules as the web pages show them: a rule's line in the list (its state, systems, identities, N,
author, acceptor, last run), its facts, and its runs with what each did for every identity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from permscope.presentation.web.requests import when
from permscope.store.tables import AutopilotRuleRow, AutopilotRunRow


@dataclass(frozen=True, slots=True)
class RunLine:
    """A run in a list: when, who, dry or real, its status and counts."""

    run_id: str
    started_at: str
    finished_at: str
    run_by: str
    dry_run: bool
    status: str
    made: int
    applied: int
    skipped: int
    failed: int
    error: str


def run_line(run: AutopilotRunRow) -> RunLine:
    """A run's line."""
    return RunLine(
        run_id=run.run_id,
        started_at=when(run.started_at),
        finished_at=when(run.finished_at),
        run_by=run.run_by,
        dry_run=run.dry_run,
        status=run.status,
        made=run.made,
        applied=run.applied,
        skipped=run.skipped,
        failed=run.failed,
        error=run.error or "",
    )


@dataclass(frozen=True, slots=True)
class RuleLine:
    """A rule in the list, with its last run (None: never run)."""

    rule_id: str
    name: str
    state: str
    systems: list[str]
    identities: list[str]
    kinds: list[str]
    tag: str
    unused_days: int
    generate: bool
    created_by: str
    created_at: str
    accepted_by: str
    accepted_at: str
    disabled_by: str
    last_run: RunLine | None


def rule_line(rule: AutopilotRuleRow, last: AutopilotRunRow | None) -> RuleLine:
    """A rule's line (and facts on its page)."""
    return RuleLine(
        rule_id=rule.rule_id,
        name=rule.name,
        state=rule.state,
        systems=[str(scope) for scope in rule.systems],
        identities=[str(pattern) for pattern in rule.identities],
        kinds=[str(kind) for kind in rule.kinds],
        tag=rule.tag or "",
        unused_days=rule.unused_days,
        generate=rule.generate,
        created_by=rule.created_by,
        created_at=when(rule.created_at),
        accepted_by=rule.accepted_by or "",
        accepted_at=when(rule.accepted_at),
        disabled_by=rule.disabled_by or "",
        last_run=run_line(last) if last is not None else None,
    )


@dataclass(frozen=True, slots=True)
class ItemLine:
    """What a run did for one identity (identity "" for a whole system), and the plan it made or used."""

    cloud: str
    system_id: str
    identity: str
    outcome: str
    plan_id: str
    reason: str


def item_lines(run: AutopilotRunRow) -> list[ItemLine]:
    """A run's items as stored (anything not a mapping left out)."""
    return [
        ItemLine(
            cloud=str(item.get("cloud") or ""),
            system_id=str(item.get("systemId") or ""),
            identity=str(item.get("identity") or ""),
            outcome=str(item.get("outcome") or ""),
            plan_id=str(item.get("planId") or ""),
            reason=str(item.get("reason") or ""),
        )
        for item in run.items
        if isinstance(item, Mapping)
    ]


@dataclass(frozen=True, slots=True)
class RunDetail:
    """A run on its rule's page: its line and its items."""

    line: RunLine
    items: list[ItemLine]


def run_detail(run: AutopilotRunRow) -> RunDetail:
    """A run with its items."""
    return RunDetail(run_line(run), item_lines(run))


def rule_result(done: str) -> str:
    """What the rule's page says after an accept, disable or run ("" for anything else)."""
    messages = {
        "accept": "Accepted. An administrator of its systems may now run it (a dry run first drafts its plans).",
        "disable": "Disabled: the rule never runs again. Plans it applied stay applied; roll each back from "
        "its page.",
        "run": "Run finished: its outcome for every matched identity is the newest run below.",
    }
    return messages.get(done, "")
