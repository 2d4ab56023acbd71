"""The Findings pages' view-models: the list's filters (read from the URL's query, written back into links),
its rows, and one finding's evidence, fix and history, built from the store's records and the contract's JSON
(`presentation.stored_findings`). Pure: no SQL, no web framework."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from permscope.analytics.registry import DETECTORS
from permscope.core.access import Systems
from permscope.core.findings import Severity
from permscope.core.ids import Cloud
from permscope.presentation.findings import EXTENSION, finding_id, finding_type_named, remediation_of
from permscope.presentation.inventory import GRAPH
from permscope.store.findings import EVER, FindingOrder, FindingQuery, FindingStatus, TimeRange
from permscope.store.tables import SEVERITY_RANK, AuthorizationSystemRow

STATES = (
    (FindingStatus.OPEN, "Open (reopened included)"),
    (FindingStatus.REOPENED, "Reopened"),
    (FindingStatus.RESOLVED, "Resolved"),
    (FindingStatus.ALL, "Any state"),
)
ORDERS = (
    (FindingOrder.SEVERITY, "Severity, worst first"),
    (FindingOrder.LAST_SEEN, "Last seen, newest first"),
    (FindingOrder.FIRST_SEEN, "First seen, newest first"),
)
SEVERITIES = tuple(sorted(Severity, key=lambda s: -SEVERITY_RANK[s.value]))  # critical first
DATE_FIELDS = ("first_seen_from", "first_seen_to", "last_seen_from", "last_seen_to")
MAX_TEXT = 200  # longer filter values are refused (no id or type name is that long)
MAX_ITEMS = 50  # evidence lists show this many items, then how many more there are
MAX_DEPTH = 4  # nested evidence deeper than this is shown as its JSON text


class FilterError(ValueError):
    """A filter value the list cannot use: which field, and what is wrong with it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name
        self.message = message


@dataclass(frozen=True, slots=True)
class FindingFilters:
    """What the findings list shows: the URL's query parameters, checked."""

    cloud: str = ""
    system: str = ""  # an authorizationSystemId, within `cloud` when one is given
    finding_type: str = ""
    severity: str = ""
    state: FindingStatus = FindingStatus.OPEN
    first_seen_from: date | None = None
    first_seen_to: date | None = None  # inclusive: the whole day
    last_seen_from: date | None = None
    last_seen_to: date | None = None
    order: FindingOrder = FindingOrder.SEVERITY

    def params(self) -> list[tuple[str, str]]:
        """The filters as query parameters, defaults left out (links keep exactly this view)."""
        found = [("cloud", self.cloud), ("system", self.system), ("type", self.finding_type)]
        found.append(("severity", self.severity))
        if self.state is not FindingStatus.OPEN:
            found.append(("state", self.state.value))
        found += [(name, value.isoformat() if value else "") for name, value in self._dates()]
        if self.order is not FindingOrder.SEVERITY:
            found.append(("sort", self.order.value))
        return [(name, value) for name, value in found if value]

    def _dates(self) -> list[tuple[str, date | None]]:
        return [(name, getattr(self, name)) for name in DATE_FIELDS]

    def query(self, system_pks: Sequence[int] | None, scope: Systems) -> FindingQuery:
        """The store's query of these filters, in the systems a key may read (`system_pks`: the system
        filter's system, looked up by the caller; None for no system filter)."""
        return FindingQuery(
            types=(self.finding_type,) if self.finding_type else (),
            system_pks=system_pks,
            status=self.state,
            clouds=(self.cloud,) if self.cloud else (),
            severities=(self.severity,) if self.severity else (),
            first_seen=day_range(self.first_seen_from, self.first_seen_to),
            last_seen=day_range(self.last_seen_from, self.last_seen_to),
            scope=scope,
        )


def day_range(first: date | None, last: date | None) -> TimeRange:
    """The time range of whole UTC days, `first` to `last` included (either may be open)."""
    if first is None and last is None:
        return EVER
    since = datetime.combine(first, time(), UTC) if first else None
    before = datetime.combine(last + timedelta(days=1), time(), UTC) if last else None
    return TimeRange(since, before)


def _text(params: Mapping[str, str], name: str) -> str:
    value = (params.get(name) or "").strip()
    if len(value) > MAX_TEXT:
        raise FilterError(name, f"is longer than {MAX_TEXT} characters")
    return value


def _date(params: Mapping[str, str], name: str) -> date | None:
    value = _text(params, name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _choice(params: Mapping[str, str], name: str, choices: Sequence[str], what: str) -> str:
    value = _text(params, name).lower()
    if value and value not in choices:
        raise FilterError(name, f"{value!r} is not {what}; use one of {', '.join(choices)}")
    return value


def parse_filters(params: Mapping[str, str]) -> FindingFilters:
    """The filters of a query string (one value per name); FilterError names the first bad one.

    `state` absent is open; empty or "all" is every state."""
    cloud = _choice(params, "cloud", [c.value for c in Cloud], "a cloud")
    named = _text(params, "type")
    finding_type = finding_type_named(named) if named else ""
    if finding_type is None:
        raise FilterError("type", f"{named!r} is not a finding type")
    severity = _choice(params, "severity", [s.value for s in SEVERITIES], "a severity")
    state_text = (
        _choice(params, "state", [s.value for s, _ in STATES], "a state") if "state" in params else "open"
    )
    order_text = (
        _choice(params, "sort", [o.value for o, _ in ORDERS], "an order") or FindingOrder.SEVERITY.value
    )
    filters = FindingFilters(
        cloud=cloud,
        system=_text(params, "system"),
        finding_type=finding_type,
        severity=severity,
        state=FindingStatus(state_text or FindingStatus.ALL.value),
        order=FindingOrder(order_text),
        first_seen_from=_date(params, "first_seen_from"),
        first_seen_to=_date(params, "first_seen_to"),
        last_seen_from=_date(params, "last_seen_from"),
        last_seen_to=_date(params, "last_seen_to"),
    )
    for prefix in ("first_seen", "last_seen"):
        first, last = getattr(filters, f"{prefix}_from"), getattr(filters, f"{prefix}_to")
        if first and last and first > last:
            raise FilterError(f"{prefix}_to", "is before the start of the range")
    return filters


# ------------------------------------------------------------------------------------------------ options


@dataclass(frozen=True, slots=True)
class FilterOptions:
    """The choices of the filter form: (value, label) pairs."""

    clouds: list[tuple[str, str]]
    systems: list[tuple[str, str]]
    types: list[tuple[str, str]]
    severities: list[tuple[str, str]]
    states: list[tuple[str, str]]
    orders: list[tuple[str, str]]


def type_label(finding_type: str) -> str:
    """A finding type as people read it: its detector's title, then the type's name."""
    detector = DETECTORS.get(finding_type)
    return f"{detector.title}: {finding_type}" if detector is not None else finding_type


def system_label(system: AuthorizationSystemRow) -> str:
    """A system in a list of choices: cloud, id and (when it has one) its name."""
    name = f" ({system.name})" if system.name and system.name != system.system_id else ""
    known = {cloud.value: cloud.label for cloud in Cloud}
    return f"{known.get(system.cloud, system.cloud)} {system.system_id}{name}"


def filter_options(systems: Sequence[AuthorizationSystemRow], cloud: str = "") -> FilterOptions:
    """The filter form's choices: the clouds, the systems (of `cloud` when one is chosen) the key reads, every
    finding type (of `cloud` when chosen), the severities, states and orders."""
    wanted = Cloud(cloud) if cloud else None
    types = sorted(
        {
            name
            for detector in DETECTORS.values()
            for name in (detector.types_for(wanted) if wanted else detector.finding_types)
        },
        key=type_label,
    )
    return FilterOptions(
        clouds=[(c.value, c.label) for c in Cloud],
        systems=[
            (system.system_id, system_label(system))
            for system in systems
            if not cloud or system.cloud == cloud
        ],
        types=[(name, type_label(name)) for name in types],
        severities=[(s.value, s.value.capitalize()) for s in SEVERITIES],
        states=[(s.value, label) for s, label in STATES],
        orders=[(o.value, label) for o, label in ORDERS],
    )


# ------------------------------------------------------------------------------------------------ the list


@dataclass(frozen=True, slots=True)
class FindingListRow:
    """One row of the findings list."""

    url: str
    title: str
    finding_type: str
    severity: str
    subject_name: str
    subject_id: str
    cloud: str
    system_id: str
    pci: int | None
    state: str
    first_seen: datetime
    last_seen: datetime
    summary: str


def list_row(record: Mapping[str, Any], finding_url: Callable[[str], str]) -> FindingListRow:
    """A row of the list from a finding record (`store.findings.finding_record`)."""
    detector = DETECTORS.get(record["finding_type"])
    return FindingListRow(
        url=finding_url(finding_id(record["fingerprint"])),
        title=detector.title if detector is not None else record["finding_type"],
        finding_type=record["finding_type"],
        severity=record["severity"],
        subject_name=record["subject_name"],
        subject_id=record["subject_id"],
        cloud=record["cloud"],
        system_id=record["system_id"],
        pci=record["pci"],
        state=record["status"],
        first_seen=record["first_seen"],
        last_seen=record["last_seen"],
        summary=record["summary"],
    )


# ------------------------------------------------------------------------------------------- one finding


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """A piece of evidence: a label with a text, or with items under it (a list or an object)."""

    label: str
    text: str = ""
    items: list[EvidenceItem] = field(default_factory=list)
    more: int = 0  # items left out of a long list


@dataclass(frozen=True, slots=True)
class EntityRef:
    """An identity or resource the finding names, with what it is to the finding."""

    relation: str
    name: str
    external_id: str
    kind: str
    url: str = ""  # an identity's page; empty for resources


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """One step of an escalation path: the technique and what it uses."""

    technique_id: str
    technique_name: str
    source: str
    target: str
    actions: list[str]
    resources: list[str]
    via: str
    yields: str
    conditional: bool
    condition_keys: list[str]


@dataclass(frozen=True, slots=True)
class EscalationPath:
    """One escalation path of a privilege escalation finding."""

    name: str
    description: str
    reaches: str
    steps: list[EscalationStep]


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """A point of the finding's history."""

    when: datetime
    what: str


@dataclass(frozen=True, slots=True)
class FindingDetail:
    """One finding's page."""

    finding_id: str
    title: str
    finding_type: str
    severity: str
    summary: str
    state: str
    cloud: str
    system_id: str
    system_name: str
    subject_name: str
    subject_id: str
    pci: int | None
    pci_band: str
    pci_factors: list[tuple[str, str]]
    action_summary: list[tuple[str, int]]
    identities: list[EntityRef]
    resources: list[EntityRef]
    escalations: list[EscalationPath]
    evidence: list[EvidenceItem]
    details: list[EvidenceItem]
    remediation: str
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    reopened: int
    snapshot_at: datetime | None
    events: list[HistoryEvent]
    api_path: str


_WORDS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|_")
IDENTITY_RELATIONS = ("identity", "role", "group", "accessKey")
RESOURCE_RELATIONS = ("storageBucket", "securityGroup", "storageAccount", "ec2Instance")
# wire keys the page shows in their own sections (or that only repeat the header)
_SHOWN = frozenset(
    {
        "@odata.type",
        "id",
        "createdDateTime",
        "actionSummary",
        "permissionsCreepIndex",
        "privilegeEscalationDetails",
        "virtualMachines",
        "affectedSystem",
        EXTENSION,
        *IDENTITY_RELATIONS,
        *RESOURCE_RELATIONS,
    }
)


def words(name: str) -> str:
    """A camelCase or snake_case key as words: `allResourcesActions` -> `All resources actions`."""
    text = " ".join(part for part in _WORDS.split(name) if part).lower()
    return text[:1].upper() + text[1:]


def _scalar(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def evidence_item(label: str, value: Any, depth: int = 0) -> EvidenceItem:
    """Any JSON value as an evidence item: scalars as text, lists and objects as items (long lists cut). Keys
    inside a value are shown as they are: they are often data (a service, an action), not field names."""
    if isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            return EvidenceItem(label, text=str(dict(value)))
        return EvidenceItem(label, items=[evidence_item(str(k), v, depth + 1) for k, v in value.items()])
    if isinstance(value, list | tuple):
        if not value:
            return EvidenceItem(label, text="none")
        if all(not isinstance(item, Mapping | list | tuple) for item in value):
            shown = [EvidenceItem("", text=_scalar(item)) for item in value[:MAX_ITEMS]]
        else:
            shown = [evidence_item(str(n), item, depth + 1) for n, item in enumerate(value[:MAX_ITEMS], 1)]
        return EvidenceItem(label, items=shown, more=max(0, len(value) - MAX_ITEMS))
    return EvidenceItem(label, text=_scalar(value))


def _kind(item: Mapping[str, Any]) -> str:
    odata = str(item.get("@odata.type") or "")
    return words(odata.removeprefix(GRAPH)) if odata else str(item.get("resourceType") or "")


def _entity(relation: str, item: Mapping[str, Any], identity_url: Callable[[str], str] | None) -> EntityRef:
    external_id = str(item.get("externalId") or "")
    return EntityRef(
        relation=words(relation),
        name=str(item.get("displayName") or external_id),
        external_id=external_id,
        kind=_kind(item),
        url=identity_url(external_id) if identity_url is not None and external_id else "",
    )


def _entities(
    wire: Mapping[str, Any], identity_url: Callable[[str], str]
) -> tuple[list[EntityRef], list[EntityRef]]:
    identities: list[EntityRef] = []
    resources: list[EntityRef] = []
    for relation in IDENTITY_RELATIONS:
        item = wire.get(relation)
        if isinstance(item, Mapping):
            identities.append(_entity(relation, item, identity_url))
            owner = item.get("owner")
            if isinstance(owner, Mapping):
                identities.append(_entity("owner", owner, identity_url))
    for relation in RESOURCE_RELATIONS:
        item = wire.get(relation)
        if isinstance(item, Mapping):
            resources.append(_entity(relation, item, None))
    for detail in wire.get("virtualMachines") or []:
        machine = detail.get("virtualMachine") if isinstance(detail, Mapping) else None
        if isinstance(machine, Mapping):
            resources.append(_entity("virtualMachine", machine, None))
    return identities, resources


def _strings(values: Any) -> list[str]:
    found = []
    for value in values or []:
        if isinstance(value, Mapping):
            value = value.get("externalId") or value.get("id") or ""
        if value:
            found.append(str(value))
    return found


def _escalations(wire: Mapping[str, Any]) -> list[EscalationPath]:
    paths = []
    for detail in wire.get("privilegeEscalationDetails") or []:
        if not isinstance(detail, Mapping):
            continue
        steps = [
            EscalationStep(
                technique_id=str(step.get("techniqueId") or ""),
                technique_name=str(step.get("techniqueName") or ""),
                source=str(step.get("source") or ""),
                target=str(step.get("target") or ""),
                actions=_strings(step.get("actions")),
                resources=_strings(step.get("resources")),
                via=str(step.get("via") or ""),
                yields=str(step.get("yields") or ""),
                conditional=bool(step.get("conditional")),
                condition_keys=_strings(step.get("conditionKeys")),
            )
            for step in [*(detail.get("steps") or []), *(detail.get("reach") or [])]
            if isinstance(step, Mapping)
        ]
        paths.append(
            EscalationPath(
                name=str(detail.get("displayName") or ""),
                description=str(detail.get("description") or ""),
                reaches=words(str(detail.get("reaches") or "")),
                steps=steps,
            )
        )
    return paths


def history_events(
    first_seen: datetime, last_seen: datetime, resolved_at: datetime | None
) -> list[HistoryEvent]:
    """What the store keeps of a finding's history, oldest first: first seen, last seen, and when resolved (the
    store keeps the latest resolution; how often it was reopened is a count, `FindingDetail.reopened`)."""
    events = [HistoryEvent(first_seen, "First seen by an analysis")]
    if last_seen != first_seen:
        events.append(HistoryEvent(last_seen, "Last seen by an analysis"))
    if resolved_at is not None:
        events.append(HistoryEvent(resolved_at, "Resolved: an analysis no longer found it"))
    return sorted(events, key=lambda event: event.when)


def finding_detail(
    wire: Mapping[str, Any],
    record: Mapping[str, Any],
    system: AuthorizationSystemRow,
    identity_url: Callable[[str], str],
) -> FindingDetail:
    """One finding's page from its contract JSON (`stored_finding_to_wire`) and its record
    (`store.findings.finding_record`); `identity_url` links an external id to its identity page."""
    ours: Mapping[str, Any] = wire.get(EXTENSION) or {}
    finding_type = record["finding_type"]
    detector = DETECTORS.get(finding_type)
    given_pci = wire.get("permissionsCreepIndex")
    pci: Mapping[str, Any] = given_pci if isinstance(given_pci, Mapping) else {}
    identities, resources = _entities(wire, identity_url)
    summary = wire.get("actionSummary")
    details = [evidence_item(words(key), value) for key, value in wire.items() if key not in _SHOWN]
    return FindingDetail(
        finding_id=str(wire["id"]),
        title=detector.title if detector is not None else finding_type,
        finding_type=finding_type,
        severity=record["severity"],
        summary=record["summary"],
        state=record["status"],
        cloud=record["cloud"],
        system_id=record["system_id"],
        system_name=system.name or system.system_id,
        subject_name=record["subject_name"],
        subject_id=record["subject_id"],
        pci=record["pci"],
        pci_band=str(pci.get("band") or "") if record["pci"] is not None else "",
        pci_factors=[(words(str(k)), _scalar(v)) for k, v in (pci.get("factors") or {}).items()],
        action_summary=[(words(k), int(v)) for k, v in summary.items() if isinstance(v, int)]
        if isinstance(summary, Mapping)
        else [],
        identities=identities,
        resources=resources,
        escalations=_escalations(wire),
        evidence=[evidence_item(words(str(k)), v) for k, v in (ours.get("evidence") or {}).items()],
        details=details,
        remediation=remediation_of(finding_type),
        first_seen=record["first_seen"],
        last_seen=record["last_seen"],
        resolved_at=record["resolved_at"],
        reopened=int(record["reopened"]),
        snapshot_at=wire.get("createdDateTime"),
        events=history_events(record["first_seen"], record["last_seen"], record["resolved_at"]),
        api_path=(
            f"/identityGovernance/permissionsAnalytics/{record['cloud']}/findings/{wire['id']}"
            f"/microsoft.graph.{finding_type}"
        ),
    )
