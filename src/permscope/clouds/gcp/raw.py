"""The raw GCP bundle: what a live collection and an export folder both give, before the one transform.

A bundle holds one organization (or, for `--project` collections without organization access, one project and
what is readable above it). Every part is a list of JSON objects in the shape the REST (JSON) API returns them,
camelCase fields as in the API reference and as `gcloud ... --format=json` prints them, or None when it was not
collected (None keeps what an earlier run stored; an empty list means "collected, there is none"). The live
collector turns the client libraries' messages into that JSON (`MessageToDict(msg._pb)` for proto-plus
messages, `json_format.MessageToDict` for protobuf ones, both with camelCase names); the export script
(`docs/gcp-export.sh`) writes it with `gcloud`, so files and live give the same dicts.

Export folder (one per organization), each file one part: a JSON list, a REST page
(`{"results"|"assets"|"roles"|...: [...], "nextPageToken"}`) or JSON lines; gzip allowed (`.json.gz`):

| file                          | part                  | source                                                                          |
|-------------------------------|-----------------------|---------------------------------------------------------------------------------|
| organization.json             | organization (object) | `gcloud organizations describe` (`name` "organizations/N", `displayName`)       |
| folders.json                  | folders               | `gcloud resource-manager folders list` at every level (`name`, `parent`, `displayName`, `lifecycleState`) |
| projects.json                 | projects              | `gcloud projects list` (`projectId`, `projectNumber`, `parent {type, id}`, `name`, `lifecycleState`) |
| iam-policies.json             | iam_policies          | `gcloud asset search-all-iam-policies --scope=organizations/N` (`resource`, `assetType`, `project`, `folders`, `organization`, `policy {bindings [{role, members, condition}]}`); `gcloud asset export --content-type=iam-policy` items (`name`, `assetType`, `iamPolicy`, `ancestors`) are read too |
| custom-roles.json             | custom_roles          | `gcloud iam roles list --organization` and `--project` for every project (`name`, `title`, `includedPermissions`, `stage`, `deleted`) |
| deny-policies.json            | deny_policies         | `gcloud iam policies list --kind=denypolicies --attachment-point=...` with each policy's `get`, plus `"attachmentPoint"` (the full resource name it is attached to) |
| service-accounts.json         | service_accounts      | `gcloud iam service-accounts list` for every project (`name`, `email`, `uniqueId`, `projectId`, `displayName`, `disabled`) |
| service-account-keys.json     | service_account_keys  | one object per service account: `{"serviceAccount": email, "keys": [keys list items: name, keyType, keyOrigin, validAfterTime, validBeforeTime, disabled]}` |
| groups.json                   | groups                | Cloud Identity `groups.list` (`name` "groups/ID", `groupKey {id}`, `displayName`); None when not readable |
| group-memberships.json        | group_memberships     | one object per group: `{"group": email, "members": [memberships list items: preferredMemberKey {id}, roles]}` (direct; nesting resolved by the transform) |
| tag-keys.json / tag-values.json | tag_keys / tag_values | Resource Manager tagKeys / tagValues (`name`, `parent`, `shortName`, `namespacedName`) |
| tag-bindings.json             | tag_bindings          | `gcloud resource-manager tags bindings list --parent=//cloudresourcemanager.googleapis.com/...` for the org, folders, projects (`parent`, `tagValue`, `tagValueNamespacedName`) |
| resources.json                | resources             | `gcloud asset search-all-resources` (`name`, `assetType`, `project`, `location`, `displayName`, `additionalAttributes`) |
| buckets.json                  | buckets               | Cloud Storage `buckets.list` per project (`name`, `iamConfiguration {publicAccessPrevention, uniformBucketLevelAccess}`, `encryption {defaultKmsKeyName}`, `projectNumber`) |
| functions.json                | functions             | Cloud Functions v2 `functions.list` (`name`, `serviceConfig {serviceAccountEmail}`, `state`) |
| run-services.json             | run_services          | Cloud Run v2 `services.list` (`name`, `template {serviceAccount}`)               |
| instances.json                | instances             | Compute `instances.aggregatedList` items (`name`, `selfLink`, `zone`, `serviceAccounts [{email, scopes}]`) |
| errors.json                   | errors                | `[{"scope": "projects/P" or "folders/F", "part": part, "error": text}]` what could not be read |

Activity (Cloud Audit Logs) is not part of the inventory bundle: it is read by the activity readers from
`audit-log*.json` in the same folder (or any other path).

An authorization system is a project; the transform gives one `InventoryBatch` per project.
"""

from __future__ import annotations

from typing import Any

# part name -> file name in an export folder (without `.json` / `.json.gz`)
PART_FILES: dict[str, str] = {
    "organization": "organization",
    "folders": "folders",
    "projects": "projects",
    "iam_policies": "iam-policies",
    "custom_roles": "custom-roles",
    "deny_policies": "deny-policies",
    "service_accounts": "service-accounts",
    "service_account_keys": "service-account-keys",
    "groups": "groups",
    "group_memberships": "group-memberships",
    "tag_keys": "tag-keys",
    "tag_values": "tag-values",
    "tag_bindings": "tag-bindings",
    "resources": "resources",
    "buckets": "buckets",
    "functions": "functions",
    "run_services": "run-services",
    "instances": "instances",
    "errors": "errors",
}

PARTS: tuple[str, ...] = tuple(PART_FILES)


def empty_bundle(scope: str) -> dict[str, Any]:
    """A bundle of the organization (`organizations/N`) or project (`projects/ID`) with no part collected yet."""
    return {"scope": scope, **dict.fromkeys(PARTS)}
