"""The UI's URLs that page groups link to each other with: one function per URL (`root` is the UI's mount,
`web.session.ui_root`)."""

from __future__ import annotations

from urllib.parse import quote, urlencode


def identity_url(root: str, cloud: str, system_id: str, external_id: str) -> str:
    """One identity's page: `/ui/identities/{cloud}/{system_id}?id=<external id>`."""
    return f"{root}/identities/{quote(cloud, safe='')}/{quote(system_id, safe='')}?{urlencode({'id': external_id})}"


def system_url(root: str, cloud: str, system_id: str) -> str:
    """One authorization system's page: `/ui/systems/{cloud}/{system_id}`."""
    return f"{root}/systems/{quote(cloud, safe='')}/{quote(system_id, safe='')}"


def findings_url(root: str, **filters: str) -> str:
    """The findings list with filters (`cloud`, `system`, `type`, `severity`, `state`, ...; empty ones left
    out): `/ui/findings?...`."""
    given = [(name, value) for name, value in filters.items() if value]
    return f"{root}/findings" + (f"?{urlencode(given)}" if given else "")


def finding_url(root: str, finding_id: str) -> str:
    """One finding's page: `/ui/findings/{finding id}` (the API's id of the finding)."""
    return f"{root}/findings/{quote(finding_id, safe='')}"
