"""The UI's addresses, one function per page, so every page links to another the same way (ids quoted)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

UI = "/ui"


def _query(values: dict[str, str | None]) -> str:
    kept = {key: value for key, value in values.items() if value}
    return "?" + urlencode(kept) if kept else ""


def identity_url(cloud: str, system_id: str, external_id: str, **extra: str | None) -> str:
    """One identity's page (its external id in the query: ARNs and GCP members hold `/` and `:`)."""
    return f"{UI}/identities/{quote(cloud, safe='')}/{quote(system_id, safe='')}" + _query(
        {"id": external_id, **extra}
    )


def identities_url(**filters: str | None) -> str:
    """The identity search, with its filters (q, cloud, system, kind, page, size)."""
    return f"{UI}/identities" + _query(filters)


def why_url(cloud: str, system_id: str, external_id: str, **extra: str | None) -> str:
    """The "why can it do this?" answer for one identity (action and resource in `extra`)."""
    return f"{UI}/identities/{quote(cloud, safe='')}/{quote(system_id, safe='')}/why" + _query(
        {"id": external_id, **extra}
    )


def findings_url(**filters: str | None) -> str:
    """The findings list, with its filters (cloud, system, type, severity, state...)."""
    return f"{UI}/findings" + _query(filters)


def system_url(cloud: str, system_id: str) -> str:
    """One authorization system's page."""
    return f"{UI}/systems/{quote(cloud, safe='')}/{quote(system_id, safe='')}"


def request_new_url(cloud: str, system_id: str, identity: str) -> str:
    """The form that asks for time-bound access for an identity."""
    return f"{UI}/requests/new" + _query({"cloud": cloud, "system": system_id, "identity": identity})


def requests_url(**filters: str | None) -> str:
    """The permissions requests lists, with their tab, status and paging."""
    return f"{UI}/requests" + _query(filters)


def request_url(request_id: str) -> str:
    """One permissions request's page."""
    return f"{UI}/requests/{quote(request_id, safe='')}"


def finding_url(finding_id: str) -> str:
    """One finding's page (the API's opaque id of the finding)."""
    return f"{UI}/findings/{quote(finding_id, safe='')}"


def report_url(kind: str, cloud: str, system_id: str, fmt: str) -> str:
    """A report of one system to download (kind: analytics, pci, ...; fmt: csv, xlsx, pdf, ocsf)."""
    return f"{UI}/reports/{quote(kind, safe='')}" + _query(
        {"cloud": cloud, "system": system_id, "format": fmt}
    )


def plans_url(**filters: str | None) -> str:
    """The remediation plans list, with its status filter and paging."""
    return f"{UI}/remediation" + _query(filters)


def plan_url(plan_id: str, **extra: str | None) -> str:
    """One remediation plan's page (`done`: the result of what was just done; `terraform`: show it)."""
    return f"{UI}/remediation/{quote(plan_id, safe='')}" + _query(extra)


def plan_preview_url(plan_id: str, operation: str) -> str:
    """The dry run of a plan's apply or rollback: the calls it would make, and the button that makes them."""
    return f"{UI}/remediation/{quote(plan_id, safe='')}/preview/{quote(operation, safe='')}"


def plan_file_url(plan_id: str, name: str) -> str:
    """A plan's file to download (apply.sh, rollback.sh, main.tf, removed-actions.txt)."""
    return f"{UI}/remediation/{quote(plan_id, safe='')}/files/{quote(name, safe='')}"


def plan_new_url(cloud: str, system_id: str, identity: str) -> str:
    """The form that plans an identity's remediation."""
    return f"{UI}/remediation/new" + _query({"cloud": cloud, "system": system_id, "identity": identity})


def autopilot_rules_url() -> str:
    """The autopilot rules list."""
    return f"{UI}/remediation/autopilot"


def autopilot_rule_url(rule_id: str, **extra: str | None) -> str:
    """One autopilot rule's page with its runs (`done`: the result of what was just done)."""
    return f"{UI}/remediation/autopilot/{quote(rule_id, safe='')}" + _query(extra)
