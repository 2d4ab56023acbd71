"""The resource hierarchy of a bundle: organization, folders, projects, and where each allow policy sits.

Scopes are written as IAM writes a parent: `organizations/N`, `folders/F`, `projects/<project id>` (a project's
number is read as its id), and any other resource by its full resource name (`//storage.googleapis.com/...`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CRM = "//cloudresourcemanager.googleapis.com/"
LEVEL_PREFIXES = ("organizations/", "folders/", "projects/")


@dataclass(slots=True)
class Project:
    """One project of the bundle."""

    project_id: str
    number: str | None
    name: str
    parent: str | None  # organizations/N or folders/F
    state: str | None


@dataclass(slots=True)
class Hierarchy:
    """Organization, folders (name -> parent) and projects (id -> Project), with lookups both ways."""

    organization: str | None
    organization_name: str | None
    folder_parent: dict[str, str] = field(default_factory=dict)
    folder_names: dict[str, str] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    by_number: dict[str, str] = field(default_factory=dict)  # project number -> id

    def project_of(self, text: str | None) -> str | None:
        """The project id of `projects/<id or number>` or a bare id or number; None when unknown."""
        if not text:
            return None
        key = text[len("projects/") :] if text.startswith("projects/") else text
        if key in self.projects:
            return key
        return self.by_number.get(key)

    def scope_of(self, name: str) -> str:
        """A full resource name or short name as a scope (organizations/N, folders/F, projects/ID, or full)."""
        short = name[len(CRM) :] if name.startswith(CRM) else name
        if short.startswith("projects/") and short.count("/") == 1:
            project = self.project_of(short)
            return f"projects/{project}" if project else short
        if short.startswith(("organizations/", "folders/")) and short.count("/") == 1:
            return short
        return name

    def ancestry(self, project_id: str) -> list[str]:
        """The project's ancestors, nearest first (folders up to the organization)."""
        found: list[str] = []
        node = self.projects[project_id].parent
        while node and node not in found and len(found) < 32:
            found.append(node)
            node = self.folder_parent.get(node)
        return found


def _parent_name(parent: Any) -> str | None:
    if isinstance(parent, str):
        return parent or None
    if isinstance(parent, Mapping):
        kind, ident = parent.get("type"), parent.get("id")
        if isinstance(kind, str) and isinstance(ident, str) and ident:
            return f"{kind if kind.endswith('s') else kind + 's'}/{ident}"
    return None


def read_hierarchy(bundle: Mapping[str, Any]) -> Hierarchy:
    """The hierarchy of a bundle (parts absent are empty)."""
    organization = bundle.get("organization")
    org_name = str(organization["name"]) if isinstance(organization, Mapping) else None
    scope = str(bundle.get("scope") or "")
    if org_name is None and scope.startswith("organizations/"):
        org_name = scope
    found = Hierarchy(
        org_name,
        str(organization.get("displayName") or org_name) if isinstance(organization, Mapping) else None,
    )
    for folder in bundle.get("folders") or ():
        name = str(folder["name"])
        parent = _parent_name(folder.get("parent"))
        if parent:
            found.folder_parent[name] = parent
        found.folder_names[name] = str(folder.get("displayName") or name)
    for item in bundle.get("projects") or ():
        project_id = str(item["projectId"])
        number = item.get("projectNumber") or (
            str(item["name"])[len("projects/") :]
            if str(item.get("name", "")).startswith("projects/")
            else None
        )
        title = item.get("displayName") or (
            item.get("name") if not str(item.get("name", "")).startswith("projects/") else None
        )
        found.projects[project_id] = Project(
            project_id,
            str(number) if number else None,
            str(title or project_id),
            _parent_name(item.get("parent")),
            str(item.get("lifecycleState") or item.get("state") or "") or None,
        )
        if number:
            found.by_number[str(number)] = project_id
    return found
