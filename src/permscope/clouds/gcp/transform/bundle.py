"""One raw GCP bundle (an export folder or a live collection) into one `InventoryBatch` per project.

A project's batch holds (docs/gcp.md):
- the system: the project (system_id = project id), its parent folder or organization, and in `attributes`
  `organizationId`, `projectNumber`, `ancestry` (nearest first, up to the organization) and `ancestryNames`;
- the identities: every member of a binding that reaches the project (bindings on the organization and folders
  above it, on the project, and on its resources), the members of those groups (transitively, when the group
  memberships were read), the project's own service accounts, and the service accounts its compute runs as;
- the roles those bindings use, and the custom roles defined in the project or its organization;
- one `Assignment(relation=attached)` per member, role and scope, with the IAM condition (bindings of the same
  member, role and scope under several conditions are one assignment whose condition is their disjunction;
  an unconditional one wins);
- memberships: group members, and audience memberships (`allUsers`, `allAuthenticatedUsers`, `domain:D`, whole
  pools) for the identities they cover (`transform.members`);
- the deny policies attached to the project and its ancestors (`Policy(kind=organization)`, `Assignment(
  relation=deny, identity=<attachment point>, scope=<attachment point>)`);
- resources (`transform.resources`) when any resource part was collected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from permscope.clouds.base import ImportedFiles, LazyBatches
from permscope.clouds.gcp.engine.principals import MemberError
from permscope.clouds.gcp.transform.hierarchy import Hierarchy, Project, read_hierarchy
from permscope.clouds.gcp.transform.members import (
    ReadMember,
    audience_covers,
    email_of,
    is_service_agent,
    read_binding_member,
)
from permscope.clouds.gcp.transform.policies import (
    Binding,
    Placed,
    attachment_scope,
    custom_role_home,
    deny_policy,
    placed_policies,
    role_policy,
)
from permscope.clouds.gcp.transform.resources import project_resources
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    InventoryBatch,
    Membership,
    ParentKind,
    Policy,
    Resource,
)


def transform_bundle(bundle: Mapping[str, Any], *, source: str) -> ImportedFiles:
    """The bundle read and checked once, every active project's batch cut from it when read (`LazyBatches`: an
    import holds one project's batch at a time), and warnings for the whole bundle (those the projects' cuts
    give included, found up front)."""
    context, projects, warnings = _prepare(bundle)
    return ImportedFiles(
        batches=LazyBatches(projects, lambda project: context.batch(project, source)), warnings=warnings
    )


def transform_home(bundle: Mapping[str, Any], *, source: str) -> ImportedFiles:
    """The bundle as the organization's home (its identities, memberships, roles, deny policies and every
    binding with its anchor, once) and one thin batch per active project (system, resources, scopes, residents),
    with the warnings of `transform_bundle`. A bundle without an organization (a standalone project) is its own
    home: `transform_bundle`'s batches, no home."""
    context, projects, warnings = _prepare(bundle)
    if context.hierarchy.organization is None:
        return ImportedFiles(
            batches=LazyBatches(projects, lambda project: context.batch(project, source)), warnings=warnings
        )
    return ImportedFiles(
        batches=LazyBatches(projects, lambda project: context.member(project, source)),
        warnings=warnings,
        home=context.home(projects, source),
    )


def _prepare(bundle: Mapping[str, Any]) -> tuple[_Context, list[str], list[str]]:
    """The context, the active projects (sorted) and the bundle's warnings (every project's cut's included)."""
    warnings: list[str] = []
    hierarchy = read_hierarchy(bundle)
    scope = str(bundle.get("scope") or "")
    if scope.startswith("projects/") and scope[len("projects/") :] not in hierarchy.projects:
        project = scope[len("projects/") :]
        hierarchy.projects[project] = Project(project, None, project, None, None)
    context = _Context(bundle, hierarchy, warnings)
    projects = []
    for project in sorted(hierarchy.projects):
        state = hierarchy.projects[project].state
        if state and state not in ("ACTIVE", "LIFECYCLE_STATE_UNSPECIFIED"):
            warnings.append(f"project {project}: {state} (skipped)")
            continue
        projects.append(project)
        context.warn(project)
    for error in bundle.get("errors") or ():
        warnings.append(
            f"{error.get('scope') or 'export'}: {error.get('part') or 'part'} not read: {error['error']}"
        )
    return context, projects, warnings


@dataclass(frozen=True, slots=True)
class _Read:
    """An allow policy with its members read once (the organization's and folders' policies reach every project
    below them): per binding, the members that are identities or audiences."""

    scope: str
    anchor: str  # the level node the policy is placed at: its scope, or `projects/P` for a resource of P
    bindings: tuple[tuple[Binding, tuple[ReadMember, ...]], ...]
    roles: frozenset[str]  # the roles of bindings that grant someone
    skipped: frozenset[str]  # deleted and legacy members, as written
    problems: tuple[str, ...]  # warnings: members that are no IAM member (skipped)


def _read(policy: Placed) -> _Read:
    bindings = []
    roles: set[str] = set()
    skipped: set[str] = set()
    problems: list[str] = []
    for binding in policy.bindings:
        members = []
        for text in binding.members:
            try:
                member = read_binding_member(text)
            except MemberError as error:
                problems.append(f"binding of {binding.role} on {policy.scope}: {error} (skipped)")
                continue
            if member.skipped:
                skipped.add(text)
            else:
                members.append(member)
        bindings.append((binding, tuple(members)))
        if members:
            roles.add(binding.role)
    anchor = f"projects/{policy.project}" if policy.scope.startswith("//") else policy.scope
    return _Read(policy.scope, anchor, tuple(bindings), frozenset(roles), frozenset(skipped), tuple(problems))


@dataclass(slots=True)
class _Bound:
    """What some placed allow policies bind: the identities they name (by kind), the audiences, the conditions
    of each (member, role, scope), the roles that grant someone, the members skipped, and each scope's anchor."""

    kinds: dict[str, IdentityKind] = field(default_factory=dict)
    audiences: set[str] = field(default_factory=set)
    conditions: dict[tuple[str, str, str], list[dict[str, Any]] | None] = field(default_factory=dict)
    roles: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    anchors: dict[str, str] = field(default_factory=dict)


def _bound(policies: Iterable[_Read]) -> _Bound:
    """The bindings of `policies` gathered (in order: the first kind a member is read with is kept)."""
    found = _Bound()
    for policy in policies:
        for binding, members in policy.bindings:
            for member in members:
                if member.kind is not None:
                    found.kinds.setdefault(member.key, member.kind)
                else:
                    found.audiences.add(member.key)
                _merge(found.conditions, (member.key, binding.role, policy.scope), binding.condition)
        found.roles |= policy.roles
        found.skipped |= policy.skipped
        found.anchors[policy.scope] = policy.anchor
    return found


def _skipped_warnings(skipped: set[str]) -> list[str]:
    return [f"{len(skipped)} deleted or legacy members skipped (they grant nothing)"] if skipped else []


class _Context:
    """What every project's batch is cut from."""

    def __init__(self, bundle: Mapping[str, Any], hierarchy: Hierarchy, warnings: list[str]) -> None:
        self.bundle, self.hierarchy, self.warnings = bundle, hierarchy, warnings
        self.placed = placed_policies(bundle, hierarchy, warnings)
        self.by_scope: dict[str, list[_Read]] = {}
        self.by_project: dict[str, list[_Read]] = {}
        for policy in self.placed:
            if policy.scope.startswith("//"):
                self.by_project.setdefault(policy.project or "", []).append(_read(policy))
            else:
                self.by_scope.setdefault(policy.scope, []).append(_read(policy))
        self.role_warnings: dict[str, list[str]] = {}  # role name -> what reading it warns
        self.custom = {str(role["name"]): role for role in bundle.get("custom_roles") or ()}
        self.denies: dict[str, list[Policy]] = {}
        for item in bundle.get("deny_policies") or ():
            where = attachment_scope(item, hierarchy)
            self.denies.setdefault(where, []).append(deny_policy(item, where))
        self.accounts = {str(a["email"]).lower(): a for a in bundle.get("service_accounts") or ()}
        self.keys = {
            str(k["serviceAccount"]).lower(): k["keys"] for k in bundle.get("service_account_keys") or ()
        }
        self.groups = {str(g["groupKey"]["id"]).lower(): g for g in bundle.get("groups") or ()}
        self.group_members: dict[str, list[tuple[str, str | None]]] | None = None
        if bundle.get("group_memberships") is not None:
            self.group_members = {}
            for item in bundle.get("group_memberships") or ():
                members = self.group_members.setdefault(f"group:{str(item['group']).lower()}", [])
                for member in item.get("members") or ():
                    members.append((str(member["preferredMemberKey"]["id"]).lower(), member.get("type")))
        self.resources = project_resources(bundle, hierarchy, self.placed)

    # -- identities -----------------------------------------------------------------------------------
    def _member_key(self, email: str, kind: str | None) -> tuple[str, IdentityKind]:
        if (
            kind == "GROUP"
            or (kind is None and f"group:{email}" in (self.group_members or {}))
            or (kind is None and email in self.groups)
        ):
            return f"group:{email}", IdentityKind.GROUP
        if kind == "SERVICE_ACCOUNT" or (kind is None and email.endswith(".gserviceaccount.com")):
            return f"serviceAccount:{email}", IdentityKind.SERVICE_ACCOUNT
        return f"user:{email}", IdentityKind.USER

    def _lineage(self, project: str) -> list[str]:
        return [f"projects/{project}", *self.hierarchy.ancestry(project)]

    def _placed(self, project: str, lineage: list[str]) -> list[_Read]:
        """The allow policies reaching a project: on its lineage (nearest first), then on its resources."""
        return [p for node in lineage for p in self.by_scope.get(node, ())] + self.by_project.get(project, [])

    def warn(self, project: str) -> None:
        """Add the warnings cutting a project's batch gives (before any batch is built, so that they are all
        known before anything is stored): its bindings' members that are no IAM member, and the roles it names
        that neither the catalogue nor the export defines."""
        lineage = self._lineage(project)
        roles: set[str] = set()
        for policy in self._placed(project, lineage):
            self.warnings.extend(policy.problems)
            roles |= policy.roles
        for name in self._role_names(project, roles, lineage):
            if name not in self.role_warnings:
                self.role_warnings[name] = []
                role_policy(name, self.custom, self.role_warnings[name])
            self.warnings.extend(self.role_warnings[name])

    def batch(self, project: str, source: str) -> InventoryBatch:
        """The batch of one project."""
        lineage = self._lineage(project)
        bound = _bound(self._placed(project, lineage))
        resources = self._resources_of(project)
        for key in self._residents(project, resources):
            bound.kinds.setdefault(key, IdentityKind.SERVICE_ACCOUNT)
        memberships = self._memberships(bound.kinds, bound.audiences, lineage)
        policies = self._roles(project, bound.roles, lineage)
        assignments = self._grants(bound, anchored=False)
        denies, denied = self._denies(lineage, anchored=False)
        return InventoryBatch(
            system=self._system(project, lineage),
            source=source,
            identities=[self._identity(key, kind, project) for key, kind in sorted(bound.kinds.items())],
            memberships=memberships,
            policies=policies + denies,
            assignments=assignments + denied,
            resources=resources,
            warnings=_skipped_warnings(bound.skipped),
        )

    def home(self, projects: list[str], source: str) -> InventoryBatch:
        """The organization's home: `batch` over the policies of every node and resource reaching an active
        project, every such project's service accounts and those its compute runs as, each binding with its
        anchor, each deny policy once (anchored at its attachment point), the roles the projects' batches name."""
        lineages = [self._lineage(project) for project in projects]
        nodes = list(dict.fromkeys(node for lineage in lineages for node in lineage))
        bound = _bound(
            [
                *(policy for node in nodes for policy in self.by_scope.get(node, ())),
                *(policy for project in projects for policy in self.by_project.get(project, ())),
            ]
        )
        for project in projects:
            for key in self._residents(project, self._resources_of(project)):
                bound.kinds.setdefault(key, IdentityKind.SERVICE_ACCOUNT)
        memberships = self._memberships(bound.kinds, bound.audiences, nodes) + self._deny_members(nodes)
        names: set[str] = set()
        for project, lineage in zip(projects, lineages, strict=True):
            names.update(self._role_names(project, bound.roles, lineage))
        denies, denied = self._denies(nodes, anchored=True)
        hierarchy = self.hierarchy
        return InventoryBatch(
            system=AuthorizationSystem(
                cloud=Cloud.GCP,
                system_id=str(hierarchy.organization),
                name=hierarchy.organization_name or str(hierarchy.organization),
                attributes={"role": "home", "organizationId": hierarchy.organization},
            ),
            source=source,
            identities=[self._identity(key, kind, None) for key, kind in sorted(bound.kinds.items())],
            memberships=memberships,
            policies=[role_policy(name, self.custom, []) for name in sorted(names)] + denies,
            assignments=self._grants(bound, anchored=True) + denied,
            warnings=_skipped_warnings(bound.skipped),
        )

    def member(self, project: str, source: str) -> InventoryBatch:
        """A project of the home: its system, resources, scopes (its node, then its ancestry upward) and
        residents (its own service accounts and those its compute runs as); identities and grants are the
        home's."""
        lineage = self._lineage(project)
        skipped: set[str] = set()
        for policy in self._placed(project, lineage):
            skipped |= policy.skipped
        resources = self._resources_of(project)
        return InventoryBatch(
            system=self._system(project, lineage),
            source=source,
            resources=resources,
            warnings=_skipped_warnings(skipped),
            scopes=lineage,
            residents=self._residents(project, resources),
        )

    def _resources_of(self, project: str) -> list[Resource] | None:
        return None if self.resources is None else self.resources.get(project, [])

    def _residents(self, project: str, resources: list[Resource] | None) -> list[str]:
        """The project's own service accounts, and those its compute runs as."""
        found = [
            f"serviceAccount:{email}"
            for email, account in self.accounts.items()
            if account.get("projectId") == project or email.endswith(f"@{project}.iam.gserviceaccount.com")
        ]
        for resource in resources or ():
            runs_as = resource.facts.get("serviceAccount")
            if runs_as:
                found.append(str(runs_as))
        return list(dict.fromkeys(found))

    def _memberships(
        self, kinds: dict[str, IdentityKind], audiences: set[str], nodes: list[str]
    ) -> list[Membership]:
        """The bound groups' members (who join `kinds`), the memberships of the groups the deny policies at
        `nodes` name, and the audiences' memberships of the identities they cover."""
        memberships = self._groups(kinds)
        memberships += self._deny_groups(nodes, kinds)
        for audience in sorted(audiences):
            memberships += [
                Membership(group_external_id=audience, member_external_id=key)
                for key, kind in kinds.items()
                if audience_covers(audience, key, kind)
            ]
        return memberships

    def _grants(self, bound: _Bound, *, anchored: bool) -> list[Assignment]:
        """One assignment per member, role and scope (anchored at its level node in a home)."""
        return [
            Assignment(
                identity_external_id=member,
                policy_external_id=role,
                relation=AssignmentRelation.ATTACHED,
                scope=scope,
                condition=_condition(found),
                anchor=bound.anchors[scope] if anchored else None,
            )
            for (member, role, scope), found in bound.conditions.items()
        ]

    def _denies(self, nodes: list[str], *, anchored: bool) -> tuple[list[Policy], list[Assignment]]:
        """The deny policies attached at `nodes`, and one assignment each naming its attachment point."""
        policies: list[Policy] = []
        assignments: list[Assignment] = []
        for node in nodes:
            for deny in self.denies.get(node, ()):
                policies.append(deny)
                assignments.append(
                    Assignment(
                        identity_external_id=node,
                        policy_external_id=deny.external_id,
                        relation=AssignmentRelation.DENY,
                        scope=node,
                        anchor=node if anchored else None,
                    )
                )
        return policies, assignments

    def _deny_members(self, nodes: list[str]) -> list[Membership]:
        """In a home: each deny policy's groups (those its rules name, and the groups nested in them) as its
        members, so that a project's view knows whose memberships its deny policies need (a group named there
        may hold no grant reaching it); they make nobody a member of anything."""
        if not self.group_members:
            return []
        found: list[Membership] = []
        for node in nodes:
            for deny in self.denies.get(node, ()):
                found += [
                    Membership(group_external_id=deny.external_id, member_external_id=group)
                    for group in sorted(self._groups_below(_named_groups(deny)))
                ]
        return found

    def _groups_below(self, groups: set[str]) -> set[str]:
        """`groups` and every group nested in them."""
        found: set[str] = set()
        frontier = list(groups)
        while frontier:
            group = frontier.pop()
            if group in found:
                continue
            found.add(group)
            for email, kind in (self.group_members or {}).get(group, ()):
                key, member_kind = self._member_key(email, kind)
                if member_kind is IdentityKind.GROUP:
                    frontier.append(key)
        return found

    def _groups(self, kinds: dict[str, IdentityKind]) -> list[Membership]:
        """Members of the batch's groups, transitively (members join the batch's identities)."""
        if not self.group_members:
            return []
        found: list[Membership] = []
        frontier = [key for key, kind in kinds.items() if kind is IdentityKind.GROUP]
        done: set[str] = set()
        while frontier:
            group = frontier.pop()
            if group in done:
                continue
            done.add(group)
            for email, kind in self.group_members.get(group, ()):
                key, member_kind = self._member_key(email, kind)
                if key not in kinds:
                    kinds[key] = member_kind
                found.append(Membership(group_external_id=group, member_external_id=key))
                if member_kind is IdentityKind.GROUP:
                    frontier.append(key)
        return found

    def _deny_groups(self, lineage: list[str], kinds: dict[str, IdentityKind]) -> list[Membership]:
        """The memberships of the groups deny rules name (denied or excepted) that no binding brought in: the
        batch's identities in them (through nested groups too); the groups themselves stay out of the
        identities (they hold no binding here)."""
        if not self.group_members:
            return []
        named: set[str] = set()
        for node in lineage:
            for deny in self.denies.get(node, ()):
                named |= _named_groups(deny)
        found: list[Membership] = []
        frontier = [group for group in named if group not in kinds]
        done: set[str] = set()
        while frontier:
            group = frontier.pop()
            if group in done:
                continue
            done.add(group)
            for email, kind in self.group_members.get(group, ()):
                key, member_kind = self._member_key(email, kind)
                if member_kind is IdentityKind.GROUP:
                    if key not in kinds:
                        frontier.append(key)
                elif key not in kinds:
                    continue
                found.append(Membership(group_external_id=group, member_external_id=key))
        return found

    def _role_names(self, project: str, used: set[str], lineage: list[str]) -> list[str]:
        """The roles a project's batch holds: those its bindings use, and the custom roles defined in it or in
        its organization."""
        names = set(used)
        homes = {f"projects/{project}", *(node for node in lineage if node.startswith("organizations/"))}
        names.update(name for name in self.custom if custom_role_home(name) in homes)
        return sorted(names)

    def _roles(self, project: str, used: set[str], lineage: list[str]) -> list[Policy]:
        # what reading them warns was given by `warn`, before any batch
        return [role_policy(name, self.custom, []) for name in self._role_names(project, used, lineage)]

    def _system(self, project: str, lineage: list[str]) -> AuthorizationSystem:
        found = self.hierarchy.projects[project]
        parent = lineage[1] if len(lineage) > 1 else None
        hierarchy = self.hierarchy
        names = [
            hierarchy.folder_names.get(node)
            or (hierarchy.organization_name if node == hierarchy.organization else node)
            for node in lineage[1:]
        ]
        return AuthorizationSystem(
            cloud=Cloud.GCP,
            system_id=project,
            name=found.name,
            parent_id=parent,
            parent_kind=None
            if parent is None
            else ParentKind.FOLDER
            if parent.startswith("folders/")
            else ParentKind.ORGANIZATION,
            attributes={
                "organizationId": hierarchy.organization,
                "projectNumber": found.number,
                "ancestry": lineage[1:],
                "ancestryNames": names,
                "lifecycleState": found.state,
            },
        )

    def _identity(self, key: str, kind: IdentityKind, project: str | None) -> Identity:
        """An identity's facts; `inProject` (whether a service account lives in `project`) only in a project's
        own batch, not in a home's."""
        email = email_of(key)
        if kind is IdentityKind.SERVICE_ACCOUNT and email is not None:
            account = self.accounts.get(email, {})
            keys = self.keys.get(email, [])
            user_keys = [
                {
                    "id": str(k["name"]).rpartition("/")[2],
                    "validAfter": k.get("validAfterTime"),
                    "validBefore": k.get("validBeforeTime"),
                    "disabled": bool(k.get("disabled")),
                    "algorithm": k.get("keyAlgorithm"),
                    "origin": k.get("keyOrigin"),
                }
                for k in keys
                if k.get("keyType") != "SYSTEM_MANAGED"
            ]
            home = account.get("projectId") or _sa_project(email)
            return Identity(
                external_id=key,
                kind=kind,
                display_name=str(account.get("displayName") or email),
                source="gcp",
                managed_by_cloud=is_service_agent(email),
                attributes={
                    "email": email,
                    "uniqueId": account.get("uniqueId"),
                    "projectId": home,
                    "disabled": bool(account.get("disabled")),
                    **({} if project is None else {"inProject": home == project}),
                    "listed": bool(account),
                    "keys": user_keys,
                    "systemManagedKeys": sum(1 for k in keys if k.get("keyType") == "SYSTEM_MANAGED"),
                },
            )
        if kind is IdentityKind.GROUP:
            group = self.groups.get(email or "", {})
            known = self.group_members is not None and key in self.group_members
            return Identity(
                external_id=key,
                kind=kind,
                display_name=str(group.get("displayName") or email or key),
                source="gsuite" if email else "federated",
                attributes={"email": email, "membersKnown": known},
            )
        return Identity(
            external_id=key,
            kind=kind,
            display_name=email or key,
            source="gsuite" if email else "federated",
            attributes={"email": email},
        )


def _named_groups(deny: Policy) -> set[str]:
    """The groups a deny policy's rules name, denied or excepted."""
    named: set[str] = set()
    for rule in deny.document.get("rules") or ():
        body = rule.get("denyRule") or {}
        for text in (*body.get("deniedPrincipals", ()), *body.get("exceptionPrincipals", ())):
            if str(text).startswith("principalSet://goog/group/"):
                named.add("group:" + str(text)[len("principalSet://goog/group/") :].lower())
    return named


def _sa_project(email: str) -> str | None:
    domain = email.rpartition("@")[2]
    return domain.split(".", 1)[0] if domain.endswith(".iam.gserviceaccount.com") else None


def _merge(
    found: dict[tuple[str, str, str], list[dict[str, Any]] | None],
    key: tuple[str, str, str],
    condition: dict[str, Any] | None,
) -> None:
    if key in found and found[key] is None:
        return
    if condition is None:
        found[key] = None
        return
    listed = found.setdefault(key, [])
    if listed is not None and condition not in listed:
        listed.append(condition)


def _condition(found: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    if not found:
        return None
    if len(found) == 1:
        return dict(found[0])
    return {
        "expression": " || ".join(f"({c['expression']})" for c in found),
        "title": " | ".join(str(c.get("title") or "untitled") for c in found),
        "bindings": len(found),
    }
