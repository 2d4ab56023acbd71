"""A deterministic generator of realistic Google Cloud organization export folders (demo, bench), in the layout
the `gcloud` export script writes (`clouds/gcp/raw.py`): REST JSON, one file per part.

Predefined roles are referenced by their real names and not written (the import takes them from the shipped
catalogue); the custom roles the organization and its projects define are written.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from permscope.estates.aws_vocabulary import EPOCH, FIRST_NAMES, LAST_NAMES, NOW, SERVICES, TEAMS
from permscope.estates.gcp_vocabulary import (
    AUDITED_METHODS,
    BUCKET_ROLES,
    DEFAULT_SCOPES,
    FULL_SCOPE,
    LOCATIONS,
    ORGANIZATION_ROLES,
    PROJECT_ROLES,
    SERVICE_ACCOUNT_ROLES,
    ZONES,
)

JsonObject = dict[str, Any]
CRM = "//cloudresourcemanager.googleapis.com/"
ROLE_NAMES = list(PROJECT_ROLES)
ROLE_WEIGHTS = list(PROJECT_ROLES.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class GcpOrganizationSize:
    """How big a generated organization is."""

    users: int = 50
    groups: int = 10
    service_accounts: int = 25
    projects: int = 3
    folder_levels: int = 2  # below the organization
    bindings: int = 300  # (role, member) grants, over every level
    audit_entries: int = 2_000  # audit-log entries; 0 writes no activity file


DEMO_ORGANIZATION = GcpOrganizationSize()
BENCH_ORGANIZATION = GcpOrganizationSize(
    users=20_000,
    groups=3_000,
    service_accounts=10_000,
    projects=500,
    folder_levels=4,
    bindings=150_000,
    audit_entries=0,
)


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Org:
    """The state of one generation: the random source and the names taken."""

    def __init__(self, number: str, domain: str, seed: int, now: datetime = NOW) -> None:
        self.number = number
        self.now = now  # audit entries and condition expiries are dated around this moment
        self.clock = random.Random(f"{number}:{seed}:dates")  # dates apart: the same names any day
        self.domain = domain
        self.rng = random.Random(f"{number}:{seed}")
        self.taken: dict[str, int] = {}
        self.next_number = int(number[-6:]) * 1_000_000 + 100_000_000_000

    def unique(self, name: str) -> str:
        count = self.taken.get(name, 0)
        self.taken[name] = count + 1
        return name if count == 0 else f"{name}{count + 1}"

    def number_id(self) -> str:
        self.next_number += self.rng.randint(1, 997)
        return str(self.next_number)

    def date(self, start: datetime = EPOCH, end: datetime | None = None) -> datetime:
        """A random moment from `start` to `end` (the generation's `now` when None)."""
        end = self.now if end is None else end
        return start + timedelta(seconds=self.clock.randrange(max(1, int((end - start).total_seconds()))))


@dataclass(slots=True)
class _Project:
    """A generated project and where it sits."""

    project_id: str
    number: str
    parent: str  # folders/N or organizations/N
    ancestry: list[str]  # folders up to the organization, nearest first


def _folders(o: _Org, levels: int) -> tuple[list[JsonObject], list[tuple[str, list[str]]]]:
    """Folders `levels` deep (4 at the top, then 2 per folder); the leaves with their ancestry."""
    org = f"organizations/{o.number}"
    folders, level = [], [(org, [])]  # type: list[JsonObject], list[tuple[str, list[str]]]
    for depth in range(levels):
        below = []
        for parent, ancestry in level:
            for index in range(4 if depth == 0 else 2):
                name = f"folders/{o.number_id()}"
                label = TEAMS[(index * 5 + depth) % len(TEAMS)] if depth == 0 else ("prod", "nonprod")[index]
                folders.append({"name": name, "parent": parent, "displayName": o.unique(label),
                                "lifecycleState": "ACTIVE", "createTime": _time(o.date())})  # fmt: skip
                below.append((name, [name, *ancestry]))
        level = below
    return folders, level


def _people(o: _Org, count: int) -> list[str]:
    return [
        f"{o.unique(f'{o.rng.choice(FIRST_NAMES)}.{o.rng.choice(LAST_NAMES)}')}@{o.domain}"
        for _ in range(count)
    ]


def _groups(o: _Org, count: int, users: list[str]) -> tuple[list[JsonObject], list[JsonObject], list[str]]:
    """Cloud Identity groups, direct memberships (users in 1-2 groups, 15% nested in an earlier group)."""
    emails = [
        f"{o.unique(f'gcp-{TEAMS[i % len(TEAMS)]}-{o.rng.choice(SERVICES)}')}@{o.domain}"
        for i in range(count)
    ]
    groups = [{"name": f"groups/{o.rng.getrandbits(60):015x}", "groupKey": {"id": email}, "displayName": email,
               "labels": {"cloudidentity.googleapis.com/groups.discussion_forum": ""}}
              for email in emails]  # fmt: skip
    members: dict[str, list[JsonObject]] = {email: [] for email in emails}
    if emails:
        for user in users:
            for email in o.rng.sample(emails, min(len(emails), o.rng.randint(1, 2))):
                members[email].append(_membership(o, email, user, "USER"))
        for index, email in enumerate(emails[1:], start=1):
            if o.rng.random() < 0.15:
                members[emails[o.rng.randrange(index)]].append(_membership(o, email, email, "GROUP"))
    return groups, [{"group": key, "members": value} for key, value in members.items() if value], emails


def _membership(o: _Org, group: str, member: str, kind: str) -> JsonObject:
    return {"name": f"groups/{group.split('@')[0]}/memberships/{o.rng.getrandbits(48):012x}",
            "preferredMemberKey": {"id": member}, "roles": [{"name": "MEMBER"}], "type": kind}  # fmt: skip


@dataclass(slots=True)
class _Parts:
    """Every part filled project by project."""

    projects: list[JsonObject]
    service_accounts: list[JsonObject]
    service_account_keys: list[JsonObject]
    resources: list[JsonObject]
    buckets: list[JsonObject]
    functions: list[JsonObject]
    run_services: list[JsonObject]
    instances: list[JsonObject]


def _project_contents(
    o: _Org, parts: _Parts, project: _Project, accounts: int
) -> tuple[list[str], list[str]]:
    """A project's service accounts and resources; the service-account emails and the resource names."""
    emails, resources = [], []
    default = f"{project.number}-compute@developer.gserviceaccount.com"
    for _ in range(accounts):
        account = o.unique(
            f"{o.rng.choice(SERVICES)}-{o.rng.choice(('runner', 'deployer', 'reader', 'sync'))}"
        )[:30]
        email = f"{account}@{project.project_id}.iam.gserviceaccount.com"
        parts.service_accounts.append({
            "name": f"projects/{project.project_id}/serviceAccounts/{email}", "projectId": project.project_id,
            "uniqueId": str(o.rng.getrandbits(66)), "email": email, "displayName": account,
            "disabled": o.rng.random() < 0.03, "oauth2ClientId": str(o.rng.getrandbits(66)),
        })  # fmt: skip
        keys = []
        for _ in range(o.rng.choice((0, 0, 1, 2))):
            start = o.date()
            keys.append({
                "name": f"projects/{project.project_id}/serviceAccounts/{email}/keys/{o.rng.getrandbits(160):040x}",
                "validAfterTime": _time(start), "validBeforeTime": "9999-12-31T23:59:59Z",
                "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "USER_MANAGED",
            })  # fmt: skip
        if keys:
            parts.service_account_keys.append({"serviceAccount": email, "keys": keys})
        emails.append(email)
    location = o.rng.choice(LOCATIONS)
    for purpose in ("data", "logs")[: o.rng.randint(1, 2)]:
        bucket = f"{project.project_id}-{purpose}"
        cmek = o.rng.random() < 0.2
        parts.buckets.append({
            "name": bucket, "projectNumber": project.number, "location": location.upper(),
            "storageClass": "STANDARD", "timeCreated": _time(o.date()),
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": o.rng.random() < 0.8},
                                 "publicAccessPrevention": "enforced" if o.rng.random() < 0.5 else "inherited"},
            **({"encryption": {"defaultKmsKeyName": f"projects/{project.project_id}/locations/{location}/keyRings/"
                                                    f"main/cryptoKeys/{purpose}"}} if cmek else {}),
        })  # fmt: skip
        resources.append(f"//storage.googleapis.com/{bucket}")
    if emails and o.rng.random() < 0.6:
        function = f"projects/{project.project_id}/locations/{location}/functions/{o.rng.choice(SERVICES)}-fn"
        parts.functions.append({"name": function, "state": "ACTIVE", "environment": "GEN_2",
                                "serviceConfig": {"serviceAccountEmail": o.rng.choice(emails)}})  # fmt: skip
    if emails and o.rng.random() < 0.6:
        service = f"projects/{project.project_id}/locations/{location}/services/{o.rng.choice(SERVICES)}"
        parts.run_services.append({"name": service, "uri": f"https://{service.rsplit('/', 1)[1]}.a.run.app",
                                   "template": {"serviceAccount": o.rng.choice(emails)}})  # fmt: skip
    zone = o.rng.choice(ZONES)
    instance = f"vm-{o.rng.choice(SERVICES)}-{o.rng.randrange(100):02d}"
    use_default = o.rng.random() < 0.4
    parts.instances.append({
        "id": str(o.rng.getrandbits(63)), "name": instance, "status": "RUNNING",
        "zone": f"https://www.googleapis.com/compute/v1/projects/{project.project_id}/zones/{zone}",
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{project.project_id}/zones/{zone}/instances/{instance}",
        "serviceAccounts": [{"email": default if use_default or not emails else o.rng.choice(emails),
                             "scopes": [FULL_SCOPE] if o.rng.random() < 0.5 else list(DEFAULT_SCOPES)}],
    })  # fmt: skip
    parts.resources.append({
        "name": f"//compute.googleapis.com/projects/{project.project_id}/zones/{zone}/instances/{instance}",
        "assetType": "compute.googleapis.com/Instance", "project": f"projects/{project.number}",
        "location": zone, "displayName": instance, "state": "RUNNING",
    })  # fmt: skip
    for name in resources:
        parts.resources.append({"name": name, "assetType": "storage.googleapis.com/Bucket",
                                "project": f"projects/{project.number}", "location": location,
                                "displayName": name.rsplit("/", 1)[1]})  # fmt: skip
    return emails, resources


def _custom_roles(o: _Org, projects: list[_Project]) -> list[JsonObject]:
    """Custom roles at the organization and in the first projects (with some permissions Google lists)."""
    org = f"organizations/{o.number}"
    roles = [
        (f"{org}/roles/bucketLister", "Bucket lister", ["storage.buckets.list", "storage.buckets.get"]),
        (f"{org}/roles/instanceOperator", "Instance operator",
         ["compute.instances.get", "compute.instances.list", "compute.instances.start", "compute.instances.stop"]),
        (f"{org}/roles/iamAuditor", "IAM auditor",
         ["resourcemanager.projects.getIamPolicy", "iam.roles.get", "iam.roles.list", "iam.serviceAccounts.list"]),
    ]  # fmt: skip
    for project in projects[:2]:
        roles.append((f"projects/{project.project_id}/roles/deployer", "Deployer",
                      ["run.services.update", "run.services.get", "iam.serviceAccounts.actAs",
                       "cloudfunctions.functions.update"]))  # fmt: skip
    return [{"name": name, "title": title, "description": f"{title} (generated)", "includedPermissions": perms,
             "stage": "GA", "etag": "BwW" + f"{o.rng.getrandbits(40):010x}"} for name, title, perms in roles]  # fmt: skip


def generate_gcp_organization(
    *,
    number: str,
    domain: str,
    size: GcpOrganizationSize = DEMO_ORGANIZATION,
    seed: int = 1,
    now: datetime = NOW,
) -> dict[str, Any]:
    """Every part of one organization's export folder, by file name (without `.json`); activity dated up to
    `now`."""
    o = _Org(number, domain, seed, now)
    org = f"organizations/{number}"
    folders, leaves = _folders(o, size.folder_levels)
    users = _people(o, size.users)
    groups, memberships, group_emails = _groups(o, size.groups, users)
    parts = _Parts([], [], [], [], [], [], [], [])
    projects: list[_Project] = []
    accounts_of: dict[str, list[str]] = {}
    resources_of: dict[str, list[str]] = {}
    for index in range(size.projects):
        parent, ancestry = leaves[index % len(leaves)] if leaves else (org, [])
        team = TEAMS[index % len(TEAMS)]
        project = _Project(o.unique(f"{team}-{('prod', 'dev', 'staging')[index % 3]}-{index:03d}")[:30],
                           o.number_id(), parent, ancestry)  # fmt: skip
        projects.append(project)
        kind, parent_id = parent.split("/")
        parts.projects.append({
            "projectId": project.project_id, "projectNumber": project.number, "name": project.project_id,
            "parent": {"type": kind.rstrip("s"), "id": parent_id}, "lifecycleState": "ACTIVE",
            "createTime": _time(o.date()), "labels": {"team": team},
        })  # fmt: skip
        share = size.service_accounts // max(1, size.projects) + (
            1 if index < size.service_accounts % max(1, size.projects) else 0
        )
        accounts_of[project.project_id], resources_of[project.project_id] = _project_contents(
            o, parts, project, share
        )
    custom = _custom_roles(o, projects)
    policies = _iam_policies(
        o, size, folders, projects, users, group_emails, accounts_of, resources_of, custom
    )
    bundle: dict[str, Any] = {
        "organization": {"name": org, "displayName": domain, "directoryCustomerId": f"C0{o.rng.getrandbits(28):07x}",
                         "state": "ACTIVE", "creationTime": _time(EPOCH)},
        "folders": folders,
        "projects": parts.projects,
        "iam-policies": policies,
        "custom-roles": custom,
        "deny-policies": _deny_policies(o, group_emails),
        "service-accounts": parts.service_accounts,
        "service-account-keys": parts.service_account_keys,
        "groups": groups,
        "group-memberships": memberships,
        "tag-keys": [{"name": "tagKeys/281475000000001", "parent": org, "shortName": "environment",
                      "namespacedName": f"{number}/environment"}],
        "tag-values": [{"name": f"tagValues/28147600000000{i}", "parent": "tagKeys/281475000000001",
                        "shortName": env, "namespacedName": f"{number}/environment/{env}"}
                       for i, env in enumerate(("prod", "nonprod"))],
        "tag-bindings": [{"parent": f"{CRM}projects/{p.number}", "tagValue": f"tagValues/28147600000000{i % 2}",
                          "tagValueNamespacedName": f"{number}/environment/{('prod', 'nonprod')[i % 2]}"}
                         for i, p in enumerate(projects)],
        "resources": parts.resources,
        "buckets": parts.buckets,
        "functions": parts.functions,
        "run-services": parts.run_services,
        "instances": parts.instances,
        "errors": [],
    }  # fmt: skip
    if size.audit_entries:
        bundle["audit-log"] = list(_audit_log(o, size.audit_entries, policies, projects))
    return bundle


def _member(o: _Org, users: list[str], groups: list[str], accounts: list[str]) -> str:
    draw = o.rng.random()
    if draw < 0.45 and groups:
        return f"group:{o.rng.choice(groups)}"
    if draw < 0.8 or not accounts:
        return f"user:{o.rng.choice(users)}"
    return f"serviceAccount:{o.rng.choice(accounts)}"


def _iam_policies(
    o: _Org,
    size: GcpOrganizationSize,
    folders: list[JsonObject],
    projects: list[_Project],
    users: list[str],
    groups: list[str],
    accounts_of: dict[str, list[str]],
    resources_of: dict[str, list[str]],
    custom: list[JsonObject],
) -> list[JsonObject]:
    """Allow policies (search-all-iam-policies results): 2% of grants on the organization, 8% on folders, 70% on
    projects, 20% on buckets and service accounts; some with conditions; two public buckets."""
    org = f"organizations/{o.number}"
    bindings: dict[str, dict[tuple[str, str], set[str]]] = {}  # resource -> (role, condition) -> members
    meta: dict[str, JsonObject] = {}
    folder_ancestry = {f["name"]: f for f in folders}

    def add(resource: str, role: str, member: str, condition: str = "", **where: Any) -> None:
        meta.setdefault(resource, where)
        bindings.setdefault(resource, {}).setdefault((role, condition), set()).add(member)

    org_custom = [r["name"] for r in custom if r["name"].startswith("organizations/")]
    everyone = [a for accounts in accounts_of.values() for a in accounts]
    for _ in range(size.bindings):
        member = _member(o, users, groups, everyone)
        draw = o.rng.random()
        if draw < 0.02 or not projects:
            role = o.rng.choice((*ORGANIZATION_ROLES, *org_custom))
            add(f"{CRM}{org}", role, member, assetType="cloudresourcemanager.googleapis.com/Organization")
            continue
        project = o.rng.choice(projects)
        if draw < 0.1 and project.ancestry:
            folder = o.rng.choice(project.ancestry)
            add(f"{CRM}{folder}", o.rng.choices(ROLE_NAMES, ROLE_WEIGHTS)[0], member,
                assetType="cloudresourcemanager.googleapis.com/Folder",
                folders=_ancestors(folder, folder_ancestry))  # fmt: skip
            continue
        where: JsonObject = {
            "project": f"projects/{project.number}",
            "folders": project.ancestry,
            "organization": org,
        }
        if draw < 0.8:
            role = o.rng.choices(ROLE_NAMES, ROLE_WEIGHTS)[0]
            if o.rng.random() < 0.03:
                role = o.rng.choice([r["name"] for r in custom])
                if role.startswith("projects/") and not role.startswith(f"projects/{project.project_id}/"):
                    role = o.rng.choice(org_custom)
            condition = ""
            if o.rng.random() < 0.03:
                condition = (
                    f'request.time < timestamp("{_time(o.now + timedelta(days=o.rng.randint(-30, 90)))}")'
                )
            add(f"{CRM}projects/{project.number}", role, member, condition,
                assetType="cloudresourcemanager.googleapis.com/Project", **where)  # fmt: skip
        elif resources_of[project.project_id] and o.rng.random() < 0.6:
            bucket = o.rng.choice(resources_of[project.project_id])
            add(
                bucket, o.rng.choice(BUCKET_ROLES), member, assetType="storage.googleapis.com/Bucket", **where
            )
        elif accounts_of[project.project_id]:
            email = o.rng.choice(accounts_of[project.project_id])
            add(f"//iam.googleapis.com/projects/{project.project_id}/serviceAccounts/{email}",
                o.rng.choice(SERVICE_ACCOUNT_ROLES), member, assetType="iam.googleapis.com/ServiceAccount",
                **where)  # fmt: skip
    for project in projects[:2]:  # public buckets
        if resources_of[project.project_id]:
            where = {
                "project": f"projects/{project.number}",
                "folders": project.ancestry,
                "organization": org,
            }
            add(resources_of[project.project_id][0], "roles/storage.objectViewer",
                o.rng.choice(("allUsers", "allAuthenticatedUsers")), assetType="storage.googleapis.com/Bucket",
                **where)  # fmt: skip
    found = []
    for resource, grants in bindings.items():
        policy_bindings = []
        for (role, condition), members in sorted(grants.items()):
            binding: JsonObject = {"role": role, "members": sorted(members)}
            if condition:
                binding["condition"] = {"title": "temporary", "expression": condition}
            policy_bindings.append(binding)
        found.append({"resource": resource, **meta[resource], "policy": {"bindings": policy_bindings}})
    return found


def _ancestors(folder: str, folders: dict[str, JsonObject]) -> list[str]:
    chain, current = [], folder
    while current in folders:
        chain.append(current)
        current = folders[current]["parent"]
    return chain


def _deny_policies(o: _Org, groups: list[str]) -> list[JsonObject]:
    """The organization denies deleting projects and creating SA keys to everyone but one admin group."""
    exception = [f"principalSet://goog/group/{groups[0]}"] if groups else []
    return [{
        "name": f"policies/cloudresourcemanager.googleapis.com%2Forganizations%2F{o.number}/denypolicies/guardrails",
        "attachmentPoint": f"cloudresourcemanager.googleapis.com/organizations/{o.number}",
        "displayName": "Organization guardrails (generated)", "etag": "MTY=",
        "rules": [{"denyRule": {
            "deniedPrincipals": ["principalSet://goog/public:all"], "exceptionPrincipals": exception,
            "deniedPermissions": ["cloudresourcemanager.googleapis.com/projects.delete",
                                  "iam.googleapis.com/serviceAccountKeys.create"],
        }}],
    }]  # fmt: skip


def _audit_log(
    o: _Org, count: int, policies: list[JsonObject], projects: list[_Project]
) -> Iterator[JsonObject]:
    """Cloud Audit Log entries (LogEntry JSON) of members granted on projects: the permission IAM checked."""
    by_number = {p.number: p for p in projects}
    actors = []
    for policy in policies:
        if policy.get("assetType") == "cloudresourcemanager.googleapis.com/Project":
            project = by_number[policy["resource"].rsplit("/", 1)[1]]
            for binding in policy["policy"]["bindings"]:
                actors += [
                    (project, m.split(":", 1)[1])
                    for m in binding["members"]
                    if m.startswith(("user:", "serviceAccount:"))
                ]
    actors = actors[: max(1, len(actors) // 3)]
    for _ in range(count if actors else 0):
        project, email = o.rng.choice(actors)
        service, method, permission, target = o.rng.choice(AUDITED_METHODS)
        when = o.date(o.now - timedelta(days=89), o.now)
        resource = (f"projects/_/buckets/{project.project_id}-data" if target == "bucket"
                    else f"projects/{project.project_id}/zones/{ZONES[0]}/instances/vm" if target == "instance"
                    else f"projects/{project.project_id}")  # fmt: skip
        data_access = permission.endswith((".get", ".access")) or target == "bucket"
        yield {
            "insertId": f"{o.rng.getrandbits(48):012x}", "timestamp": _time(when), "severity": "INFO",
            "logName": f"projects/{project.project_id}/logs/cloudaudit.googleapis.com%2F"
                       f"{'data_access' if data_access else 'activity'}",
            "resource": {"type": "audited_resource", "labels": {"project_id": project.project_id, "service": service}},
            "protoPayload": {
                "@type": "type.googleapis.com/google.cloud.audit.AuditLog", "serviceName": service,
                "methodName": method, "resourceName": resource,
                "authenticationInfo": {"principalEmail": email},
                "authorizationInfo": [{"permission": permission, "granted": True, "resource": resource}],
                "requestMetadata": {"callerIp": "203.0.113.20"}, "status": {},
            },
        }  # fmt: skip
