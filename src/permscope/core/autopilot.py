"""Autopilot rules, pure: the systems a rule covers, which identities it matches, its states, and what one run
of it did to each identity (docs/remediation.md, "Autopilot rules").

A rule says "for the identities these globs, kinds and tag match in these systems, remove what was unused for N
days". It acts only once accepted by an approver or administrator who is not its author; every plan it makes goes
through the ordinary planner and its safety rules, is recorded as made by the rule and approved by the rule's
acceptor, and can be rolled back as any plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from permscope.core.access import ANY
from permscope.core.alerts import TAG_SHAPE, check_name, clean_list, tag_matches
from permscope.core.errors import InputError
from permscope.core.globs import glob_regex
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind

MAX_UNUSED_DAYS = 3650  # the planner's longest window
AUTOPILOT_PREFIX = "autopilot:"  # a plan made by a rule is created by `autopilot:<rule name>`


class RuleState(StrEnum):
    """proposed -> accepted (by someone other than the author) -> disabled; a proposed rule may be withdrawn
    (disabled) too. Only an accepted rule runs."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DISABLED = "disabled"


class ItemOutcome(StrEnum):
    """What a run did for one identity (or, with no identity, one system)."""

    DRAFTED = "drafted"  # a dry run made a draft plan
    APPLIED = "applied"  # a plan made (or left as a draft by a dry run) was approved and applied
    SKIPPED = "skipped"  # nothing done, with the reason (refused by the planner, an open plan, ...)
    FAILED = "failed"  # a plan's apply failed (the plan is `failed`, with its error)


@dataclass(frozen=True, slots=True)
class SystemScope:
    """One system a rule covers, or every system of a cloud (`system_id` = `*`)."""

    cloud: str
    system_id: str

    @classmethod
    def parse(cls, text: str) -> SystemScope:
        """`aws:111122223333`, `aws:*` or `aws` (every AWS system); InputError naming `systems` otherwise."""
        cloud_text, _colon, system_id = text.strip().partition(":")
        try:
            cloud = Cloud.parse(cloud_text.strip()).value
        except ValueError as exc:
            raise InputError("systems", f"{text!r}: {exc} (write CLOUD:SYSTEM_ID or CLOUD:*)") from None
        system_id = system_id.strip() or ANY
        if len(system_id) > 256 or not system_id.isprintable():
            raise InputError("systems", f"{text[:60]!r} is not a system id")
        return cls(cloud, system_id)

    def covers(self, cloud: str, system_id: str) -> bool:
        """Whether the scope covers one system."""
        return self.cloud == cloud and self.system_id in (ANY, system_id)

    def __str__(self) -> str:
        return f"{self.cloud}:{self.system_id}"


@dataclass(frozen=True, slots=True)
class IdentityMatch:
    """Which identities of its systems a rule matches: any glob over the external id (ARN, object id, member) or
    the display name (case-insensitive), of one of `kinds` (none: any kind), carrying `tag` (`key` or
    `key=value`; none: any)."""

    patterns: tuple[str, ...]
    kinds: tuple[str, ...] = ()
    tag: str | None = None

    def matches(self, external_id: str, name: str, kind: str, tags: Mapping[str, str]) -> bool:
        """Whether the identity is one the rule acts on."""
        if self.kinds and kind not in self.kinds:
            return False
        if self.tag is not None and not tag_matches(self.tag, tags):
            return False
        return any(
            (regex := glob_regex(pattern, ignore_case=True)).fullmatch(external_id) or regex.fullmatch(name)
            for pattern in self.patterns
        )


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as written: name, systems, identity match, N (unused days), whether a generated least-privilege
    replacement may be used (default: removals only)."""

    name: str
    systems: tuple[SystemScope, ...]
    match: IdentityMatch
    unused_days: int
    generate: bool = False


def check_spec(
    name: str,
    systems: Iterable[str],
    identities: Iterable[str],
    kinds: Iterable[str] = (),
    tag: str | None = None,
    unused_days: int = 90,
    generate: bool = False,
) -> RuleSpec:
    """A rule checked as written; InputError naming the field that is wrong (name, systems, identities, kinds,
    tag, unusedDays)."""
    text = check_name(name, "name")
    scopes = tuple(dict.fromkeys(SystemScope.parse(item) for item in clean_list(systems, "systems")))
    if not scopes:
        raise InputError("systems", "name at least one system (CLOUD:SYSTEM_ID, or CLOUD:* for every one)")
    patterns = clean_list(identities, "identities")
    if not patterns:
        raise InputError(
            "identities", "give at least one glob over identity ids or names ('*' for every one)"
        )
    known = {kind.value for kind in IdentityKind}
    wanted = clean_list(kinds, "kinds")
    unknown = [kind for kind in wanted if kind not in known]
    if unknown:
        raise InputError("kinds", f"unknown identity kind {unknown[0]!r}; known: {', '.join(sorted(known))}")
    clean_tag = tag.strip() if tag and tag.strip() else None
    if clean_tag is not None and not TAG_SHAPE.fullmatch(clean_tag):
        raise InputError("tag", f"{clean_tag!r} is not a tag: write KEY or KEY=VALUE")
    if isinstance(unused_days, bool) or not 1 <= unused_days <= MAX_UNUSED_DAYS:
        raise InputError("unusedDays", f"must be a whole number of days from 1 to {MAX_UNUSED_DAYS}")
    return RuleSpec(text, scopes, IdentityMatch(patterns, wanted, clean_tag), unused_days, generate)


def tags_of(attributes: Mapping[str, Any]) -> dict[str, str]:
    """An identity's tags (AWS tags, GCP labels) from its stored attributes."""
    tags = attributes.get("tags") or attributes.get("labels") or {}
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, Mapping) else {}


@dataclass(frozen=True, slots=True)
class RunItem:
    """What a run did for one identity of one system (identity "" for the whole system)."""

    cloud: str
    system_id: str
    identity: str
    outcome: ItemOutcome
    plan_id: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The item as stored and shown (camelCase)."""
        return {
            "cloud": self.cloud,
            "systemId": self.system_id,
            "identity": self.identity,
            "outcome": self.outcome.value,
            "planId": self.plan_id,
            "reason": self.reason,
        }
