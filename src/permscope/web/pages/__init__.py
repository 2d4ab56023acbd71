"""The web UI's page groups: each module named in PAGES (under `permscope.web.pages`) exposes
`router: fastapi.APIRouter`, and `web.app.create_web` includes them in this order.

Paths are relative to the UI's mount (/ui). The navigation (`web.nav`) links to `/` (dashboard), `/systems`,
`/identities`, `/findings`, `/requests`, `/remediation`, `/alerts` and `/docs` once a page group serves them.
"""

from __future__ import annotations

PAGES: tuple[str, ...] = (
    "signin",
    "dashboard",
    "systems",
    "identities",
    "findings",
    "requests",
    "autopilot",  # before "remediation": /remediation/autopilot is not a plan
    "remediation",
    "alerts",
    "reports",
    "docs",
)
