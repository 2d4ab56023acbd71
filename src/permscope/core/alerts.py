"""Alert rules, pure: what a rule selects (signal kinds, scope, minimum severity, finding types, PCI parameters),
how a rule is checked when it is written, and whether it matches a signal (docs/monitoring.md, "Alert rules").

An empty list in a rule matches everything: a rule with no clouds covers every cloud, with no finding types every
finding type. Scope by identity tag matches an identity carrying any of the rule's tags (`key` or `key=value`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from permscope.core.errors import InputError
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.core.signals import Signal, SignalKind

SEVERITY_ORDER = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}
FINDING_KINDS = frozenset({SignalKind.FINDING_NEW, SignalKind.FINDING_REOPENED})
PCI_KINDS = frozenset({SignalKind.PCI_THRESHOLD, SignalKind.PCI_RISE})
NAME_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._:-]{0,127}")
TAG_SHAPE = re.compile(r"[^=\s][^=]{0,127}(=.{0,256})?")
LIST_LIMIT = 200  # items of one list of a rule (systems, tags, types): a rule is read on every signal


class AlertStatus(StrEnum):
    """An alert's state: open until someone acknowledges it; muted when made while its rule or subject was."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    MUTED = "muted"


class ChannelKind(StrEnum):
    """How a channel delivers: a signed Slack-compatible webhook, or email over SMTP."""

    WEBHOOK = "webhook"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class PciParameters:
    """The PCI rules' numbers: alert when a score reaches `threshold` from below, or rises by `rise_points` or
    more within `window_days` days."""

    threshold: int = 67  # the high band's floor
    rise_points: int = 20
    window_days: int = 30

    def to_dict(self) -> dict[str, int]:
        """The parameters as stored and shown (camelCase)."""
        return {"threshold": self.threshold, "risePoints": self.rise_points, "windowDays": self.window_days}

    @classmethod
    def from_dict(cls, values: Mapping[str, object], source: str = "parameters") -> PciParameters:
        """Read stored or given parameters; InputError naming the one that is wrong."""
        unknown = sorted(set(values) - {"threshold", "risePoints", "windowDays"})
        if unknown:
            raise InputError(
                source, f"unknown parameter {unknown[0]!r}; known: threshold, risePoints, windowDays"
            )
        defaults = cls()
        threshold = _bounded(values.get("threshold", defaults.threshold), "threshold", 1, 100, source)
        rise = _bounded(values.get("risePoints", defaults.rise_points), "risePoints", 1, 100, source)
        window = _bounded(values.get("windowDays", defaults.window_days), "windowDays", 1, 3660, source)
        return cls(threshold=threshold, rise_points=rise, window_days=window)


def _bounded(value: object, name: str, low: int, high: int, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(source, f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class RuleScope:
    """Which signals a rule covers by where they come from and whom they are about (empty: all)."""

    clouds: tuple[str, ...] = ()
    system_ids: tuple[str, ...] = ()
    identity_kinds: tuple[str, ...] = ()
    identity_tags: tuple[str, ...] = ()

    def covers(self, signal: Signal, tags: Mapping[str, str] | None = None) -> bool:
        """Whether the signal is in scope; `tags` are its subject's tags (None: unknown, never in a tag scope)."""
        if self.clouds and signal.cloud.value not in self.clouds:
            return False
        if self.system_ids and signal.system_id not in self.system_ids:
            return False
        if self.identity_kinds and signal.subject_kind not in self.identity_kinds:
            return False
        return not self.identity_tags or any(tag_matches(tag, tags or {}) for tag in self.identity_tags)


def tag_matches(tag: str, tags: Mapping[str, str]) -> bool:
    """`key` matches an identity carrying the tag at all, `key=value` one carrying it with that value."""
    key, equals, value = tag.partition("=")
    if key not in tags:
        return False
    return not equals or tags[key] == value


@dataclass(frozen=True, slots=True)
class AlertRule:
    """An alert rule as evaluation reads it."""

    name: str
    kinds: frozenset[SignalKind]
    scope: RuleScope = field(default_factory=RuleScope)
    min_severity: Severity = Severity.LOW
    finding_types: tuple[str, ...] = ()
    pci: PciParameters = field(default_factory=PciParameters)
    enabled: bool = True

    def matches(self, signal: Signal, tags: Mapping[str, str] | None = None) -> bool:
        """Whether this rule turns the signal into an alert (muting aside: see `mute_reason`)."""
        if not self.enabled or signal.kind not in self.kinds:
            return False
        if SEVERITY_ORDER[signal.severity] < SEVERITY_ORDER[self.min_severity]:
            return False
        finding_type = str(signal.evidence.get("findingType", ""))
        if signal.kind in FINDING_KINDS and self.finding_types and finding_type not in self.finding_types:
            return False
        if signal.kind in PCI_KINDS and not self._same_pci(signal):
            return False
        return self.scope.covers(signal, tags)

    def _same_pci(self, signal: Signal) -> bool:
        """A PCI signal is computed with one rule's numbers; a rule matches those computed with its own."""
        given = signal.evidence.get("parameters")
        if not isinstance(given, Mapping):
            return False
        if signal.kind is SignalKind.PCI_THRESHOLD:
            return given.get("threshold") == self.pci.threshold
        return (given.get("risePoints"), given.get("windowDays")) == (
            self.pci.rise_points,
            self.pci.window_days,
        )


def mute_reason(
    rule_muted_until: datetime | None, subject_mutes: Iterable[datetime], at: datetime
) -> str | None:
    """Why an alert made at `at` is muted (its rule muted until later, or its subject), None when it is not."""
    if rule_muted_until is not None and rule_muted_until > at:
        return f"rule muted until {rule_muted_until.isoformat(timespec='seconds')}"
    until = max((when for when in subject_mutes if when > at), default=None)
    if until is not None:
        return f"subject muted until {until.isoformat(timespec='seconds')}"
    return None


# ------------------------------------------------------------------------------------------ checking input


def check_name(name: str, what: str = "rule name") -> str:
    """A rule's or channel's name: letters, digits, space, `._:-`, at most 128 characters."""
    text = name.strip()
    if not NAME_SHAPE.fullmatch(text):
        raise InputError(
            what, f"{name!r} must start with a letter or digit and hold only letters, digits, spaces and ._:-"
        )
    return text


def parse_kinds(values: Iterable[str]) -> frozenset[SignalKind]:
    """Signal kinds by name (`finding.new`, ...); at least one; InputError naming an unknown one."""
    found: set[SignalKind] = set()
    for value in values:
        try:
            found.add(SignalKind(value.strip()))
        except ValueError:
            known = ", ".join(kind.value for kind in SignalKind)
            raise InputError("kinds", f"unknown signal kind {value!r}; known: {known}") from None
    if not found:
        raise InputError("kinds", "a rule needs at least one signal kind")
    return frozenset(found)


def parse_severity(value: str) -> Severity:
    """A severity by name; InputError naming the known ones."""
    try:
        return Severity(value.strip().lower())
    except ValueError:
        known = ", ".join(s.value for s in Severity)
        raise InputError("minimum severity", f"{value!r} is not one of {known}") from None


def parse_clouds(values: Iterable[str]) -> tuple[str, ...]:
    """Cloud names (aws, azure, gcp), sorted and distinct."""
    found: set[str] = set()
    for value in values:
        try:
            found.add(Cloud.parse(value.strip()).value)
        except ValueError as exc:
            raise InputError("clouds", str(exc)) from None
    return tuple(sorted(found))


def clean_list(values: Iterable[str], what: str, *, tags: bool = False) -> tuple[str, ...]:
    """Distinct non-empty items, sorted, at most LIST_LIMIT of them (tags checked for their `key[=value]`)."""
    found = sorted({value.strip() for value in values if value.strip()})
    if len(found) > LIST_LIMIT:
        raise InputError(what, f"at most {LIST_LIMIT} items, got {len(found)}")
    for value in found:
        if len(value) > 2048 or "\x00" in value:
            raise InputError(what, f"{value[:40]!r}... is not a valid item")
        if tags and not TAG_SHAPE.fullmatch(value):
            raise InputError(what, f"{value!r} is not a tag: write KEY or KEY=VALUE")
    return tuple(found)
