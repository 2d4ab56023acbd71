"""The navigation shows only the page groups that are served and that the person may use."""

from __future__ import annotations

from permscope.core.requests import SystemRole
from permscope.settings import Settings
from permscope.web.nav import NAVIGATION, navigation
from permscope.workflows.apikeys import ApiPrincipal, ApiRole, KeyScope

EVERY_PAGE = frozenset(entry.path for entry in NAVIGATION)
SETTINGS = Settings(database_url="sqlite://")


def _labels(principal: ApiPrincipal, served: frozenset[str] = EVERY_PAGE, **settings: object) -> list[str]:
    chosen = SETTINGS.model_copy(update=settings)
    return [link.label for link in navigation(principal, chosen, served, "/ui", "/ui/")]


def test_an_admin_and_a_viewer_see_every_page() -> None:
    every = [
        "Dashboard",
        "Systems",
        "Identities",
        "Findings",
        "Requests",
        "Remediation",
        "Alerts",
        "API docs",
    ]
    assert _labels(ApiPrincipal("k1", "admin", ApiRole.ADMIN)) == every
    assert _labels(ApiPrincipal("k2", "viewer", ApiRole.VIEWER)) == every


def test_a_requestor_sees_no_inventory_or_findings() -> None:
    requestor = ApiPrincipal("k3", "r", ApiRole.SCOPED, scopes=(KeyScope(SystemRole.REQUESTOR, "aws", "1"),))
    assert _labels(requestor) == ["Dashboard", "Systems", "Requests", "API docs"]
    assert "Identities" in _labels(requestor, inventory_open_to_all_keys=True)


def test_a_key_without_any_role_sees_only_the_dashboard_and_docs() -> None:
    assert _labels(ApiPrincipal("k4", "nobody", ApiRole.SCOPED)) == ["Dashboard", "API docs"]


def test_pages_not_served_are_not_linked() -> None:
    admin = ApiPrincipal("k1", "admin", ApiRole.ADMIN)
    assert _labels(admin, frozenset({"/findings", "/sign-in"})) == ["Findings"]


def test_the_current_page_is_marked() -> None:
    admin = ApiPrincipal("k1", "admin", ApiRole.ADMIN)
    links = navigation(admin, SETTINGS, EVERY_PAGE, "/ui", "/ui/identities/aws/1/x")
    assert [link.label for link in links if link.current] == ["Identities"]
    assert {link.href for link in links} >= {"/ui/", "/ui/findings", "/ui/docs"}
