"""`collect_bundle`: read an organization (or one project) live into the raw bundle of `gcp.raw`, read-only.

The hierarchy comes first (organization, folders at every level, projects); then the organization-wide reads
(Cloud Asset Inventory's allow policies and resources, organization custom roles, tags, groups) and the reads of
every project (custom roles, service accounts and keys, deny policies, buckets, functions, Cloud Run services,
Compute instances). Quota errors are retried with backoff (`clients.make_retry`). A read the caller may not make
(403, 404), or one that outlived its retries, is recorded in the `errors` part and the rest is collected; a part
that could not be read at all stays None (not collected). An API that is not enabled in a project holds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

from google.api_core import exceptions as core_exceptions
from google.auth.credentials import Credentials
from googleapiclient.errors import HttpError

from permscope.clouds.gcp import raw
from permscope.clouds.gcp.collect.clients import Clients, credentials_of, make_retry
from permscope.clouds.gcp.collect.convert import folder_v2, organization_v1, project_v1, to_json
from permscope.clouds.gcp.collect.errors import describe_error, is_denied, service_disabled
from permscope.clouds.gcp.collect.options import CollectOptions

log = logging.getLogger(__name__)
CRM = "cloudresourcemanager.googleapis.com"
RUN_SERVICE = "run.googleapis.com/Service"
READ_ERRORS = (core_exceptions.GoogleAPICallError, core_exceptions.RetryError, HttpError)


@dataclass(slots=True)
class _Run:
    """One collection: the options, clients, the bundle being filled and what went wrong."""

    options: CollectOptions
    clients: Clients
    retry: Any
    bundle: dict[str, Any]
    warn: Callable[[str], None]
    errors: list[dict[str, str]] = field(default_factory=list)
    pool: ThreadPoolExecutor | None = None

    def read(self, scope: str, part: str, fn: Callable[[], list[Any]]) -> list[Any] | None:
        """`fn()`, or None with the error recorded against `scope` when it may not be read."""
        try:
            return fn()
        except READ_ERRORS as exc:
            if service_disabled(exc):
                return []
            self.errors.append({"scope": scope, "part": part, "error": describe_error(exc)})
            log.info("gcp %s %s not read: %s", scope, part, describe_error(exc))
            return None

    def gather(self, part: str, reads: Iterable[tuple[str, Callable[[], list[Any]]]]) -> list[Any]:
        """Every scope's read of one part, `max_workers` at a time, concatenated in the scopes' order (an
        unreadable scope adds an error, not items)."""
        todo = list(reads)
        if self.pool is None or len(todo) < 2:
            results = [self.read(scope, part, fn) for scope, fn in todo]
        else:
            results = list(self.pool.map(lambda read: self.read(read[0], part, read[1]), todo))
        return [item for found in results if found is not None for item in found]


def collect_bundle(
    options: CollectOptions,
    *,
    warn: Callable[[str], None] | None = None,
    on_projects: Callable[[list[str]], None] | None = None,
    credentials: Credentials | None = None,
) -> dict[str, Any]:
    """The raw bundle of the options' organization or project, read live with `credentials` (default: the
    options'; ConfigurationError when there are none; a GoogleAPICallError when the organization or project
    itself cannot be read)."""
    credentials = credentials or credentials_of(options)
    run = _Run(
        options=options,
        clients=Clients(options, credentials),
        retry=make_retry(options, lambda exc: log.info("gcp retrying after %s", describe_error(exc))),
        bundle=raw.empty_bundle(options.scope),
        warn=warn or (lambda message: log.warning("%s", message)),
    )
    if options.max_workers > 1:
        with ThreadPoolExecutor(options.max_workers, thread_name_prefix="gcp-collect") as pool:
            run.pool = pool
            return _collect(run, on_projects)
    return _collect(run, on_projects)


def _collect(run: _Run, on_projects: Callable[[list[str]], None] | None) -> dict[str, Any]:
    options = run.options
    if options.organization is not None:
        _organization_hierarchy(run, options.organization)
    else:
        _project_hierarchy(run, options.project or "")
    projects = run.bundle["projects"]
    if on_projects is not None:
        on_projects([project["projectId"] for project in projects])
    _allow_policies(run)
    _custom_roles(run, projects)
    _deny_policies(run, projects)
    _service_accounts(run, projects)
    _groups(run)
    _tags(run, projects)
    _resources(run)
    _buckets(run, projects)
    _functions(run, projects)
    _run_services(run, projects)
    _instances(run, projects)
    run.bundle["errors"] = sorted(run.errors, key=lambda error: (error["scope"], error["part"]))
    return run.bundle


def _pages(run: _Run, method: Callable[..., Any], request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a GAPIC list call, following nextPageToken, as REST JSON."""
    return [to_json(item) for item in method(request=request, retry=run.retry)]


def _get(run: _Run, method: Callable[..., Any], name: str) -> list[dict[str, Any]]:
    """One resource of a GAPIC get call, as a one-item list of REST JSON."""
    return [to_json(method(name=name, retry=run.retry))]


# -- hierarchy ----------------------------------------------------------------------------------------------
def _organization_hierarchy(run: _Run, number: str) -> None:
    """The organization, its folders at every level and every project under them."""
    org_name = f"organizations/{number}"
    org = run.clients.organizations.get_organization(name=org_name, retry=run.retry)
    run.bundle["organization"] = organization_v1(to_json(org))
    folders: list[dict[str, Any]] = []
    projects: list[dict[str, Any]] = []
    level = [org_name]  # one level of the tree at a time, its parents read together
    while level:
        listed = run.gather(
            "projects",
            ((p, partial(_pages, run, run.clients.projects.list_projects, {"parent": p})) for p in level),
        )
        projects.extend(project_v1(project) for project in listed)
        children = run.gather(
            "folders",
            ((p, partial(_pages, run, run.clients.folders.list_folders, {"parent": p})) for p in level),
        )
        folders.extend(folder_v2(folder) for folder in children)
        level = [folder["name"] for folder in children]
    run.bundle["folders"] = folders
    run.bundle["projects"] = projects


def _project_hierarchy(run: _Run, project_id: str) -> None:
    """One project, and whatever of its folders and organization the caller may read."""
    project = to_json(run.clients.projects.get_project(name=f"projects/{project_id}", retry=run.retry))
    run.bundle["projects"] = [project_v1(project)]
    folders: list[dict[str, Any]] = []
    parent = project.get("parent", "")
    while parent.startswith("folders/"):
        scope = parent
        found = run.read(
            scope,
            "folders",
            partial(_get, run, run.clients.folders.get_folder, scope),
        )
        if not found:
            break
        folders.append(folder_v2(found[0]))
        parent = found[0].get("parent", "")
    run.bundle["folders"] = folders
    if parent.startswith("organizations/"):
        org = run.read(
            parent,
            "organization",
            partial(_get, run, run.clients.organizations.get_organization, parent),
        )
        if org:
            run.bundle["organization"] = organization_v1(org[0])


def _org_name(run: _Run) -> str | None:
    org = run.bundle["organization"]
    return str(org["name"]) if org else None


def _containers(run: _Run, projects: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """Every readable resource-hierarchy node: (scope as `organizations/N` / `folders/F` / `projects/ID`,
    its full resource name with the project number)."""
    org = _org_name(run)
    if org is not None:
        yield org, f"//{CRM}/{org}"
    for folder in run.bundle["folders"] or []:
        yield folder["name"], f"//{CRM}/{folder['name']}"
    for project in projects:
        yield f"projects/{project['projectId']}", f"//{CRM}/projects/{project['projectNumber']}"


# -- IAM --------------------------------------------------------------------------------------------------
def _allow_policies(run: _Run) -> None:
    """Allow policies of every resource in scope (Cloud Asset Inventory `searchAllIamPolicies`)."""
    if not run.options.wants("iam-policies"):
        return
    scope = run.options.scope
    run.bundle["iam_policies"] = run.read(
        scope,
        "iam_policies",
        partial(
            _pages,
            run,
            run.clients.asset.search_all_iam_policies,
            {"scope": scope, "page_size": min(run.options.page_size, 500)},
        ),
    )


def _custom_roles(run: _Run, projects: list[dict[str, Any]]) -> None:
    """Custom roles of the organization and of every project, with their permissions, deleted ones too."""
    if not run.options.wants("custom-roles"):
        return
    from google.cloud.iam_admin_v1 import RoleView

    parents = [name for name, _full in _containers(run, projects) if not name.startswith("folders/")]

    def roles_of(parent: str) -> list[dict[str, Any]]:
        request = {"parent": parent, "view": RoleView.FULL, "show_deleted": True, "page_size": 1000}
        return _pages(run, run.clients.iam_admin.list_roles, request)

    run.bundle["custom_roles"] = run.gather("custom_roles", ((p, partial(roles_of, p)) for p in parents))


def _deny_policies(run: _Run, projects: list[dict[str, Any]]) -> None:
    """IAM v2 deny policies attached to the organization, every folder and every project (each one read
    whole: the list gives no rules), with the attachment point's full resource name."""
    if not run.options.wants("deny-policies"):
        return

    def attached(full_name: str) -> list[dict[str, Any]]:
        parent = "policies/" + quote(full_name.removeprefix("//"), safe="") + "/denypolicies"
        listed = _pages(run, run.clients.deny.list_policies, {"parent": parent})
        found = []
        for item in listed:
            policy = to_json(run.clients.deny.get_policy(name=item["name"], retry=run.retry))
            found.append({**policy, "attachmentPoint": full_name})
        return found

    containers = list(_containers(run, projects))
    run.bundle["deny_policies"] = run.gather(
        "deny_policies", ((scope, partial(attached, full)) for scope, full in containers)
    )


def _service_accounts(run: _Run, projects: list[dict[str, Any]]) -> None:
    """Service accounts of every project, and each one's keys (user- and system-managed)."""
    accounts_wanted = run.options.wants("service-accounts")
    keys_wanted = run.options.wants("service-account-keys")
    if not (accounts_wanted or keys_wanted):
        return
    iam = run.clients.iam_admin
    accounts = run.gather(
        "service_accounts",
        (
            (
                f"projects/{p['projectId']}",
                partial(
                    _pages,
                    run,
                    iam.list_service_accounts,
                    {"name": f"projects/{p['projectId']}", "page_size": 100},
                ),
            )
            for p in projects
        ),
    )
    if accounts_wanted:
        run.bundle["service_accounts"] = accounts
    if not keys_wanted:
        return
    run.bundle["service_account_keys"] = run.gather(
        "service_account_keys",
        ((f"projects/{account['projectId']}", partial(_keys, run, account)) for account in accounts),
    )


def _keys(run: _Run, account: dict[str, Any]) -> list[dict[str, Any]]:
    """A service account's keys, as the one `{"serviceAccount", "keys"}` entry of the part (no pages)."""
    name = f"projects/{account['projectId']}/serviceAccounts/{account['email']}"
    found = run.clients.iam_admin.list_service_account_keys(name=name, retry=run.retry).keys
    return [{"serviceAccount": account["email"], "keys": [to_json(key) for key in found]}]


def _identity_pages(run: _Run, collection: Any, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a Cloud Identity list call (googleapiclient), following nextPageToken, retried."""
    items: list[dict[str, Any]] = []
    request = collection.list(**params)
    while request is not None:
        response = run.retry(request.execute)()
        items.extend(response.get(key, []))
        request = collection.list_next(request, response)
    return items


def _groups(run: _Run) -> None:
    """Cloud Identity groups of the organization's customer and their direct members; when the caller may not
    read them (or no customer is known), both parts stay None and groups stay opaque."""
    if not run.options.wants("groups"):
        return
    org = run.bundle["organization"] or {}
    customer = run.options.customer or (org.get("owner") or {}).get("directoryCustomerId")
    if not customer:
        run.warn(
            "groups not collected: no Cloud Identity customer is known (give --customer); groups stay opaque"
        )
        return
    parent = customer if customer.startswith("customers/") else f"customers/{customer}"
    try:
        groups_api = run.clients.identity.groups()
        groups = _identity_pages(run, groups_api, "groups", parent=parent, view="FULL", pageSize=500)
        memberships = []
        for group in groups:
            members = _identity_pages(
                run, groups_api.memberships(), "memberships", parent=group["name"], pageSize=500
            )
            memberships.append({"group": group["groupKey"]["id"], "members": members})
    except READ_ERRORS as exc:
        if not is_denied(exc):
            raise
        run.errors.append({"scope": parent, "part": "groups", "error": describe_error(exc)})
        run.warn(
            f"groups not collected ({describe_error(exc)}): the caller may not read Cloud Identity groups of "
            f"{parent}; group members stay opaque"
        )
        return
    run.bundle["groups"] = groups
    run.bundle["group_memberships"] = memberships


def _tags(run: _Run, projects: list[dict[str, Any]]) -> None:
    """Tag keys of the organization and projects, their values, and the tags bound directly to the
    organization, folders and projects."""
    if not run.options.wants("tags"):
        return
    containers = list(_containers(run, projects))
    key_parents = [
        (scope, _tag_parent(scope, full)) for scope, full in containers if not scope.startswith("folders/")
    ]
    keys = run.gather(
        "tag_keys",
        (
            (scope, partial(_pages, run, run.clients.tag_keys.list_tag_keys, {"parent": parent}))
            for scope, parent in key_parents
        ),
    )
    values = run.gather(
        "tag_values",
        (
            (
                key["name"],
                partial(_pages, run, run.clients.tag_values.list_tag_values, {"parent": key["name"]}),
            )
            for key in keys
        ),
    )
    bindings = run.gather(
        "tag_bindings",
        (
            (scope, partial(_pages, run, run.clients.tag_bindings.list_tag_bindings, {"parent": full}))
            for scope, full in containers
        ),
    )
    run.bundle["tag_keys"] = keys
    run.bundle["tag_values"] = values
    run.bundle["tag_bindings"] = bindings


def _tag_parent(scope: str, full: str) -> str:
    """The parent tag keys are listed under: `organizations/N` or `projects/NUMBER`."""
    return full.removeprefix(f"//{CRM}/") if scope.startswith("projects/") else scope


# -- resources ----------------------------------------------------------------------------------------------
def _resources(run: _Run) -> None:
    """Every resource in scope (Cloud Asset Inventory `searchAllResources`)."""
    if not run.options.wants("resources"):
        return
    scope = run.options.scope
    run.bundle["resources"] = run.read(
        scope,
        "resources",
        partial(
            _pages,
            run,
            run.clients.asset.search_all_resources,
            {"scope": scope, "page_size": min(run.options.page_size, 500)},
        ),
    )


def _per_project(
    run: _Run,
    projects: list[dict[str, Any]],
    part: str,
    read: Callable[[dict[str, Any]], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    return run.gather(part, ((f"projects/{p['projectId']}", partial(read, p)) for p in projects))


def _buckets(run: _Run, projects: list[dict[str, Any]]) -> None:
    """Cloud Storage buckets of every project with their IAM configuration and default KMS key."""
    if not run.options.wants("buckets"):
        return

    def buckets_of(project: dict[str, Any]) -> list[dict[str, Any]]:
        client = run.clients.storage(project["projectId"])
        found = client.list_buckets(project=project["projectId"], retry=run.retry)
        return [dict(bucket._properties) for bucket in found]

    run.bundle["buckets"] = _per_project(run, projects, "buckets", buckets_of)


def _functions(run: _Run, projects: list[dict[str, Any]]) -> None:
    """Cloud Functions (v2 API: 1st and 2nd gen) of every project, in every location."""
    if not run.options.wants("functions"):
        return
    list_functions = run.clients.functions.list_functions
    run.bundle["functions"] = _per_project(
        run,
        projects,
        "functions",
        lambda p: _pages(run, list_functions, {"parent": f"projects/{p['projectId']}/locations/-"}),
    )


def _run_services(run: _Run, projects: list[dict[str, Any]]) -> None:
    """Cloud Run services of every project, in each location Cloud Asset Inventory has one (the v2 API lists
    one location at a time)."""
    if not run.options.wants("run-services"):
        return
    resources = run.bundle["resources"]
    if resources is None:
        scope = run.options.scope
        request = {"scope": scope, "asset_types": [RUN_SERVICE], "page_size": min(run.options.page_size, 500)}
        resources = run.read(
            scope, "run_services", partial(_pages, run, run.clients.asset.search_all_resources, request)
        )
        if resources is None:
            return
    locations: dict[str, set[str]] = {}
    for resource in resources:
        if resource.get("assetType") == RUN_SERVICE and resource.get("location"):
            locations.setdefault(str(resource.get("project", "")), set()).add(resource["location"])

    def services_of(project: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for location in sorted(locations.get(f"projects/{project['projectNumber']}", ())):
            parent = f"projects/{project['projectId']}/locations/{location}"
            found.extend(_pages(run, run.clients.run_services.list_services, {"parent": parent}))
        return found

    run.bundle["run_services"] = _per_project(run, projects, "run_services", services_of)


def _instances(run: _Run, projects: list[dict[str, Any]]) -> None:
    """Compute Engine instances of every project in every zone, with their service accounts and scopes."""
    if not run.options.wants("instances"):
        return

    def instances_of(project: dict[str, Any]) -> list[dict[str, Any]]:
        request = {"project": project["projectId"], "max_results": min(run.options.page_size, 500)}
        found: list[dict[str, Any]] = []
        for _zone, scoped in run.clients.instances.aggregated_list(request=request, retry=run.retry):
            found.extend(to_json(instance) for instance in scoped.instances)
        return found

    run.bundle["instances"] = _per_project(run, projects, "instances", instances_of)
