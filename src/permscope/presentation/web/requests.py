"""The permissions-requests pages as plain data: the list's tabs and rows, one request with its approval step,
change feed and grant/revoke status, and the new-request form (its fields, the draft it makes, and the
workflow's input errors placed by the field they name)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.requests import (
    AwsPolicyGrant,
    AwsStatementsGrant,
    FilterByCurrentUser,
    RequestStatus,
    action_names,
    format_duration,
)
from permscope.presentation.request_draft import RequestDraft, draft_field
from permscope.store.requests import spec_of
from permscope.store.tables import (
    ApprovalStepRow,
    PermissionsRequestRow,
    RequestChangeRow,
    RequestGrantRow,
    SchedulerJobRow,
)
from permscope.workflows.request_body import IDENTITY_TYPES
from permscope.workflows.requests import RequestRecord

# ------------------------------------------------------------------------------------------------- tabs


class RequestTab(StrEnum):
    """The list's tabs."""

    MINE = "mine"
    APPROVAL = "approval"
    ALL = "all"


TAB_LABELS = {
    RequestTab.MINE: "My requests",
    RequestTab.APPROVAL: "Waiting for my approval",
    RequestTab.ALL: "All",
}
# tab -> (filterByCurrentUser, the one status it shows)
TAB_FILTERS: dict[RequestTab, tuple[FilterByCurrentUser | None, RequestStatus | None]] = {
    RequestTab.MINE: (FilterByCurrentUser.CREATED_BY, None),
    RequestTab.APPROVAL: (FilterByCurrentUser.APPROVER, RequestStatus.SUBMITTED),
    RequestTab.ALL: (None, None),
}


def tabs_for(*, approves: bool, reads_others: bool) -> tuple[RequestTab, ...]:
    """The tabs a person has: their own requests always, the approval queue when they approve somewhere,
    all requests when they read other people's."""
    shown = [RequestTab.MINE]
    if approves:
        shown.append(RequestTab.APPROVAL)
    if reads_others:
        shown.append(RequestTab.ALL)
    return tuple(shown)


def parse_tab(text: str | None, allowed: tuple[RequestTab, ...]) -> RequestTab | None:
    """The tab a query parameter names (the first allowed one when empty); None when it names none allowed."""
    if not text:
        return allowed[0]
    try:
        tab = RequestTab(text)
    except ValueError:
        return None
    return tab if tab in allowed else None


def parse_status(text: str | None) -> RequestStatus | None:
    """A status filter from a query parameter (None: every status); ValueError naming the allowed ones."""
    if not text:
        return None
    try:
        return RequestStatus(text)
    except ValueError:
        names = ", ".join(status.value for status in RequestStatus)
        raise ValueError(f"status {text[:40]!r} is not one of {names}") from None


# ------------------------------------------------------------------------------------------------- rows


def when(moment: datetime | None) -> str:
    """A moment for people: `2026-12-07 10:00 UTC` ("" when absent)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def schedule_text(row: PermissionsRequestRow) -> str:
    """When the grant runs: its window once approved, else what was asked."""
    if row.grant_start is not None and row.grant_end is not None:
        return f"{when(row.grant_start)} to {when(row.grant_end)}"
    schedule = spec_of(row).schedule
    start = f"from {when(schedule.start)}" if schedule.start else "from approval"
    if schedule.duration is not None:
        return f"{start}, for {format_duration(schedule.duration)}"
    return f"{start} to {when(schedule.end)}"


@dataclass(frozen=True, slots=True)
class RequestRowView:
    """One request in a list."""

    request_id: str
    status: str
    occurrence: str  # the grant's state while approved ("" before)
    cloud: str
    system_id: str
    identity: str
    grantee: str
    what: tuple[str, ...]
    created_by: str
    created_at: str
    schedule: str
    review: str  # the approval step's result


def request_row(record: RequestRecord) -> RequestRowView:
    """A list row of a stored request."""
    row = record.request
    return RequestRowView(
        request_id=row.request_id,
        status=row.status,
        occurrence=row.occurrence_status or "",
        cloud=row.cloud,
        system_id=row.system_id,
        identity=row.identity_external_id,
        grantee=row.grantee or "",
        what=action_names(row.action),
        created_by=row.created_by,
        created_at=when(row.created_at),
        schedule=schedule_text(row),
        review=record.step.review_result if record.step is not None else "",
    )


# ------------------------------------------------------------------------------------------------ detail


@dataclass(frozen=True, slots=True)
class StatementView:
    """One statement of an AWS actions request."""

    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: str  # JSON, "" for none


@dataclass(frozen=True, slots=True)
class StepView:
    """The approval step."""

    step_id: str
    name: str
    status: str
    result: str
    reviewed_by: str
    reviewed_at: str
    justification: str


@dataclass(frozen=True, slots=True)
class ChangeView:
    """One permissionsRequestChange of the change feed."""

    change_id: str
    at: str
    event: str
    status: str
    occurrence: str
    actor: str
    detail: str


@dataclass(frozen=True, slots=True)
class JobView:
    """The scheduler's grant or revoke job of the occurrence."""

    kind: str
    status: str
    due_at: str
    attempts: int
    finished_at: str
    last_error: str


@dataclass(frozen=True, slots=True)
class GrantItemView:
    """One change a connector makes (or made) in the cloud for the request."""

    kind: str
    principal: str
    target: str
    state: str
    note: str


@dataclass(frozen=True, slots=True)
class RequestDetailView:
    """One request with everything the page shows, and what the person looking may do to it."""

    row: RequestRowView
    kind: str  # statements, policies, actions, roles
    statements: tuple[StatementView, ...]
    values: tuple[str, ...]  # policies, actions or roles
    resource_id: str
    assign_to_role: str
    identity_type: str
    justification: str
    notes: str
    ticket: tuple[tuple[str, str], ...]  # (label, value) of what the ticket says
    requested: str
    decided_by: str
    decided_at: str
    canceled_by: str
    auto_rule_id: int | None
    last_error: str
    step: StepView | None
    changes: tuple[ChangeView, ...]
    jobs: tuple[JobView, ...]
    grants: tuple[GrantItemView, ...]
    may_review: bool
    may_cancel: bool


def _step(step: ApprovalStepRow) -> StepView:
    return StepView(
        step_id=step.step_id,
        name=step.display_name,
        status=step.status,
        result=step.review_result,
        reviewed_by=step.reviewed_by or "",
        reviewed_at=when(step.reviewed_at),
        justification=step.justification or "",
    )


def _change(change: RequestChangeRow) -> ChangeView:
    return ChangeView(
        change_id=change.change_id,
        at=when(change.modified_at),
        event=change.event,
        status=change.status,
        occurrence=change.occurrence_status or "",
        actor=change.actor or "",
        detail=change.detail or "",
    )


def _job(job: SchedulerJobRow) -> JobView:
    return JobView(
        kind=job.kind,
        status=job.status,
        due_at=when(job.due_at),
        attempts=job.attempts or 0,
        finished_at=when(job.finished_at),
        last_error=job.last_error or "",
    )


def _grant(item: RequestGrantRow) -> GrantItemView:
    return GrantItemView(
        kind=item.kind, principal=item.principal, target=item.target, state=item.state, note=item.note or ""
    )


def _requested(row: PermissionsRequestRow) -> str:
    schedule = spec_of(row).schedule
    start = when(schedule.start) if schedule.start else "as soon as approved"
    if schedule.duration is not None:
        return f"start {start}, for {format_duration(schedule.duration)}"
    return f"start {start}, until {when(schedule.end)}"


def request_detail(record: RequestRecord, *, may_review: bool, may_cancel: bool) -> RequestDetailView:
    """The page of one request (a record read with its detail)."""
    row = record.request
    action = row.action
    statements: tuple[StatementView, ...] = ()
    values: tuple[str, ...] = ()
    if isinstance(action, AwsStatementsGrant):
        kind = "statements"
        statements = tuple(
            StatementView(
                effect=s.effect,
                actions=s.actions or tuple(f"everything but {name}" for name in s.not_actions),
                resources=s.resources or tuple(f"everything but {name}" for name in s.not_resources),
                condition=json.dumps(s.condition, sort_keys=True) if s.condition else "",
            )
            for s in action.statements
        )
    elif isinstance(action, AwsPolicyGrant):
        kind, values = "policies", action.policies
    else:
        kind, values = action.kind, action.values
    ticket = (
        ("Number", row.ticket_number),
        ("System", row.ticket_system),
        ("Submitted by", row.ticket_submitter),
        ("Approver", row.ticket_approver),
    )
    return RequestDetailView(
        row=request_row(record),
        kind=kind,
        statements=statements,
        values=tuple(values),
        resource_id=row.resource_id or "",
        assign_to_role=spec_of(row).assign_to_role or "",
        identity_type=row.identity_type,
        justification=row.justification or "",
        notes=row.notes or "",
        ticket=tuple((label, value) for label, value in ticket if value),
        requested=_requested(row),
        decided_by=row.decided_by or "",
        decided_at=when(row.decided_at),
        canceled_by=row.canceled_by or "",
        auto_rule_id=row.auto_rule_id,
        last_error=row.last_error or "",
        step=_step(record.step) if record.step is not None else None,
        changes=tuple(_change(change) for change in record.changes),
        jobs=tuple(_job(job) for job in record.jobs),
        grants=tuple(_grant(item) for item in record.grants),
        may_review=may_review,
        may_cancel=may_cancel,
    )


# -------------------------------------------------------------------------------------------------- form

CLOUD_CHOICES = tuple(cloud.value for cloud in Cloud)
WHAT_CHOICES = ("actions", "policies", "roles")
IDENTITY_TYPE_CHOICES = IDENTITY_TYPES
MAX_FIELD = 20_000  # characters of one field as typed (the workflow's own limits are smaller)
_LIST = re.compile(r"[\r\n,]+")  # actions, policies, roles: one per line or comma-separated
_LINES = re.compile(r"[\r\n]+")  # resources: one per line (an S3 key may hold a comma)


@dataclass(frozen=True, slots=True)
class RequestForm:
    """The new-request form as typed (every field text); `errors` maps a field to what is wrong with it, and
    `problem` is an error no field owns."""

    cloud: str = Cloud.AWS.value
    system_id: str = ""
    identity: str = ""
    identity_type: str = ""  # "": guessed from the id
    what: str = "actions"
    values: str = ""  # one per line (or comma-separated)
    resources: str = ""  # AWS actions: one per line; empty: all
    resource_id: str = ""  # Azure, GCP: the scope
    assign_to_role: str = ""
    start: str = ""
    duration: str = "PT1H"
    end: str = ""
    justification: str = ""
    notes: str = ""
    ticket_number: str = ""
    ticket_system: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)
    problem: str = ""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names of the form's inputs."""
        return tuple(f.name for f in fields(cls) if f.name not in ("errors", "problem"))

    @classmethod
    def from_fields(cls, posted: Mapping[str, Any]) -> RequestForm:
        """The form from posted fields (unknown ones ignored, a missing one empty, each cut at MAX_FIELD)."""
        values: dict[str, Any] = {name: str(posted.get(name) or "")[:MAX_FIELD] for name in cls.field_names()}
        return cls(**values)

    @classmethod
    def prefilled(cls, cloud: str = "", system_id: str = "", identity: str = "") -> RequestForm:
        """A blank form for an identity of a system (the identity page's link), with the scope of the whole
        system for the clouds that need one."""
        form = cls(
            cloud=cloud if cloud in CLOUD_CHOICES else Cloud.AWS.value,
            system_id=system_id[:MAX_FIELD],
            identity=identity[:MAX_FIELD],
        )
        if form.cloud == Cloud.AWS.value:
            return form
        scope = f"/subscriptions/{system_id}" if form.cloud == Cloud.AZURE.value and system_id else system_id
        return replace(form, what="roles", resource_id=scope[:MAX_FIELD])

    def draft(self) -> RequestDraft:
        """What the form asks for, as the shared body builder takes it."""
        return RequestDraft(
            cloud=self.cloud.strip().lower(),
            system_id=self.system_id.strip(),
            identity=self.identity.strip(),
            what=self.what.strip(),
            values=_items(self.values, _LIST),
            identity_type=self.identity_type.strip() or None,
            resources=_items(self.resources, _LINES),
            resource_id=self.resource_id.strip() or None,
            assign_to_role=self.assign_to_role.strip() or None,
            start=self.start.strip() or None,
            duration=self.duration.strip() or None,
            end=self.end.strip() or None,
            justification=self.justification.strip() or None,
            notes=self.notes.strip() or None,
            ticket_number=self.ticket_number.strip() or None,
            ticket_system=self.ticket_system.strip() or None,
        )

    def with_error(self, error: InputError) -> RequestForm:
        """The form showing a workflow's input error by the field it names (or above the form)."""
        name = draft_field(error, self.draft())
        if name is None:
            return replace(self, errors={}, problem=str(error))
        return replace(self, errors={name: error.problem}, problem="")

    def with_problem(self, problem: str) -> RequestForm:
        """The form showing an error no field owns (a refusal, a state)."""
        return replace(self, errors={}, problem=problem)


def _items(text: str, separator: re.Pattern[str]) -> tuple[str, ...]:
    """The entries of a list field, blanks dropped."""
    return tuple(item.strip() for item in separator.split(text) if item.strip())
