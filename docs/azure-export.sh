#!/usr/bin/env bash
# Export one Azure tenant, read-only, into a folder that `permscope import azure DIR` reads.
#
#   az login --tenant TENANT        # a reader of the tenant (docs/azure-collection.md says which roles)
#   bash docs/azure-export.sh OUT_DIR [TENANT_ID]
#
# Every request is an HTTP GET through `az rest` (Azure Resource Manager and Microsoft Graph), paging followed
# (`nextLink`, `@odata.nextLink`). Each file of OUT_DIR holds one part of the bundle described in
# src/permscope/clouds/azure/raw.py, as a JSON list of the objects the REST APIs return. A scope that refuses a
# read (403, 404) is written to errors.json and the export goes on. Needs: az (Azure CLI 2.x) and jq.
set -euo pipefail

OUT=${1:?usage: azure-export.sh OUT_DIR [TENANT_ID]}
TENANT=${2:-}
ARM=https://management.azure.com
GRAPH=https://graph.microsoft.com/v1.0
V_SUBSCRIPTIONS=2022-12-01
V_GROUPS=2023-04-01
V_AUTH=2022-04-01
V_PIM=2020-10-01
V_RESOURCES=2021-04-01
V_MSI=2023-01-31
V_STORAGE=2023-05-01
V_NETWORK=2024-05-01
V_COMPUTE=2024-07-01
V_WEB=2023-12-01
V_KEYVAULT=2023-07-01
PAGE='$top=999'  # the largest page Graph gives of directory objects
USER_FIELDS='id,displayName,userPrincipalName,mail,accountEnabled,userType,createdDateTime,creationType,externalUserState,onPremisesSyncEnabled,onPremisesSecurityIdentifier,lastPasswordChangeDateTime'

mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# get URL: one GET, retried with a growing wait while the API throttles (429) or is busy (503)
get() {
    local attempt
    for attempt in 1 2 3 4 5 6; do
        if az rest --method get --url "$1" --output json 2>"$WORK/get-stderr"; then
            return 0
        fi
        grep -qiE 'too ?many ?requests|429|throttl|503|service ?unavailable' "$WORK/get-stderr" || break
        sleep $((attempt * attempt))
    done
    cat "$WORK/get-stderr" >&2
    return 1
}

# pages URL: every item of a REST collection as JSON lines, following the next links
pages() {
    local url=$1 page
    while [[ -n $url ]]; do
        page=$(get "$url") || return 1
        jq -c '.value[]?' <<<"$page"
        url=$(jq -r '.nextLink // ."@odata.nextLink" // empty' <<<"$page")
    done
}

# refused PART SCOPE: record what the last read's error said under errors.json
refused() {
    jq -cn --arg scope "$2" --arg part "$1" --arg error "$(tr '\n' ' ' <"$WORK/stderr" | cut -c1-400)" \
        '{scope: $scope, part: $part, error: $error}' >>"$WORK/errors.jsonl"
}

# fetch PART SCOPE URL: the collection's items appended to the part; a refusal recorded, the export goes on
fetch() {
    local items
    if items=$(pages "$3" 2>"$WORK/stderr"); then
        [[ -z $items ]] || printf '%s\n' "$items" >>"$WORK/$1.jsonl"
        return 0
    fi
    refused "$1" "$2"
    return 1
}

# write PART FILE [unique]: one part's items as a JSON list (unique: the first of each id, ids case-insensitive)
write() {
    local filter='.'
    [[ ${3:-} != unique ]] || filter='reduce .[] as $i ([[], {}];
        ($i.id | ascii_downcase) as $k | if .[1][$k] then . else [.[0] + [$i], .[1] + {($k): true}] end) | .[0]'
    touch "$WORK/$1.jsonl"
    jq -s "$filter" "$WORK/$1.jsonl" >"$OUT/$2.json"
}

# ---- Microsoft Graph: the directory ------------------------------------------------------------------------
fetch tenant / "$GRAPH/organization" || true
if [[ -s $WORK/tenant.jsonl ]]; then
    TENANT=$(head -n 1 "$WORK/tenant.jsonl" | jq -r .id)
    head -n 1 "$WORK/tenant.jsonl" | jq . >"$OUT/tenant.json"
else
    echo null >"$OUT/tenant.json"
fi
if [[ -z $TENANT ]]; then
    TENANT=$(az account show --query tenantId --output tsv)
fi
# users with their last sign-in when the tenant allows it (AuditLog.Read.All, Entra ID P1), else without
if ! fetch users "/tenants/$TENANT" "$GRAPH/users?\$select=$USER_FIELDS,signInActivity&$PAGE"; then
    sed -i '$d' "$WORK/errors.jsonl"
    refused users.signInActivity "/tenants/$TENANT"
    fetch users "/tenants/$TENANT" "$GRAPH/users?\$select=$USER_FIELDS&$PAGE" || true
fi
fetch groups "/tenants/$TENANT" "$GRAPH/groups?$PAGE" || true
fetch service_principals "/tenants/$TENANT" "$GRAPH/servicePrincipals?$PAGE" || true
fetch applications "/tenants/$TENANT" "$GRAPH/applications?$PAGE" || true
fetch directory_role_definitions "/tenants/$TENANT" "$GRAPH/roleManagement/directory/roleDefinitions" || true
fetch directory_role_assignments "/tenants/$TENANT" "$GRAPH/roleManagement/directory/roleAssignments" || true
touch "$WORK/groups.jsonl" "$WORK/applications.jsonl" "$WORK/service_principals.jsonl"
for id in $(jq -r .id "$WORK/groups.jsonl"); do  # direct members; the transform resolves nesting
    if members=$(pages "$GRAPH/groups/$id/members?$PAGE" 2>"$WORK/stderr"); then
        jq -cs --arg id "$id" '{groupId: $id, members: .}' <<<"$members" >>"$WORK/group_members.jsonl"
    else
        refused group_members "$id"
        jq -cn --arg id "$id" '{groupId: $id, members: []}' >>"$WORK/group_members.jsonl"
    fi
done
for id in $(jq -r .id "$WORK/applications.jsonl"); do
    if owners=$(pages "$GRAPH/applications/$id/owners" 2>"$WORK/stderr"); then
        [[ -z $owners ]] || jq -cs --arg id "$id" '{applicationId: $id, owners: .}' <<<"$owners" \
            >>"$WORK/application_owners.jsonl"
    else
        refused application_owners "$id"
    fi
done
# Graph application permissions: the app role assignments of every service principal that defines app roles
for id in $(jq -r 'select((.appRoles // []) | length > 0) | .id' "$WORK/service_principals.jsonl"); do
    fetch app_role_assignments "$id" "$GRAPH/servicePrincipals/$id/appRoleAssignedTo" || true
done

# ---- Azure Resource Manager: management groups and what is assigned at each ----------------------------------
ROOT="/providers/Microsoft.Management/managementGroups/$TENANT"
if get "$ARM$ROOT?api-version=$V_GROUPS" >"$WORK/root.json" 2>"$WORK/stderr"; then
    jq -c . "$WORK/root.json" >>"$WORK/management_groups.jsonl"
    fetch management_groups "$ROOT" "$ARM$ROOT/descendants?api-version=$V_GROUPS" || true
else
    refused management_groups "$ROOT"
    fetch management_groups / "$ARM/providers/Microsoft.Management/managementGroups?api-version=$V_GROUPS" || true
fi
touch "$WORK/management_groups.jsonl"
AT_SCOPE='$filter=atScope()'
CUSTOM="\$filter=type%20eq%20'CustomRole'"
for mg in $(jq -r 'select((.type // "") | ascii_downcase == "microsoft.management/managementgroups") | .id' \
    "$WORK/management_groups.jsonl"); do
    auth="$ARM$mg/providers/Microsoft.Authorization"
    fetch role_definitions "$mg" "$auth/roleDefinitions?$CUSTOM&api-version=$V_AUTH" || true
    fetch role_assignments "$mg" "$auth/roleAssignments?$AT_SCOPE&api-version=$V_AUTH" || true
    fetch deny_assignments "$mg" "$auth/denyAssignments?$AT_SCOPE&api-version=$V_AUTH" || true
    fetch role_eligibility_schedules "$mg" "$auth/roleEligibilityScheduleInstances?$AT_SCOPE&api-version=$V_PIM" || true
    fetch role_assignment_schedules "$mg" "$auth/roleAssignmentScheduleInstances?$AT_SCOPE&api-version=$V_PIM" || true
done

# ---- subscriptions -------------------------------------------------------------------------------------------
pages "$ARM/subscriptions?api-version=$V_SUBSCRIPTIONS" |
    jq -c --arg t "$TENANT" 'select((.tenantId // $t | ascii_downcase) == ($t | ascii_downcase))' \
        >"$WORK/subscriptions.jsonl"
READABLE=$(jq -r 'select((.state // "Enabled") | ascii_downcase | IN("enabled", "warned", "pastdue")) |
    .subscriptionId' "$WORK/subscriptions.jsonl")
# the built-in role definitions once, at the first subscription that answers
for sub in $READABLE; do
    pages "$ARM/subscriptions/$sub/providers/Microsoft.Authorization/roleDefinitions?\$filter=type%20eq%20'BuiltInRole'&api-version=$V_AUTH" \
        >>"$WORK/role_definitions.jsonl" 2>"$WORK/stderr" && break
done
for sub in $READABLE; do
    s="/subscriptions/$sub"
    auth="$ARM$s/providers/Microsoft.Authorization"
    fetch resource_groups "$s" "$ARM$s/resourcegroups?api-version=$V_RESOURCES" || true
    fetch role_definitions "$s" "$auth/roleDefinitions?$CUSTOM&api-version=$V_AUTH" || true
    # every assignment at the subscription, its resource groups and resources (and those inherited from above)
    fetch role_assignments "$s" "$auth/roleAssignments?api-version=$V_AUTH" || true
    fetch deny_assignments "$s" "$auth/denyAssignments?api-version=$V_AUTH" || true
    fetch role_eligibility_schedules "$s" "$auth/roleEligibilityScheduleInstances?api-version=$V_PIM" || true
    fetch role_assignment_schedules "$s" "$auth/roleAssignmentScheduleInstances?api-version=$V_PIM" || true
    fetch managed_identities "$s" \
        "$ARM$s/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=$V_MSI" || true
    if accounts=$(pages "$ARM$s/providers/Microsoft.Storage/storageAccounts?api-version=$V_STORAGE" 2>"$WORK/stderr"); then
        [[ -z $accounts ]] || printf '%s\n' "$accounts" >>"$WORK/storage_accounts.jsonl"
        for account in $(jq -r .id <<<"$accounts"); do
            fetch blob_containers "$account" \
                "$ARM$account/blobServices/default/containers?api-version=$V_STORAGE" || true
        done
    else
        refused storage_accounts "$s"
    fi
    fetch network_security_groups "$s" \
        "$ARM$s/providers/Microsoft.Network/networkSecurityGroups?api-version=$V_NETWORK" || true
    fetch network_interfaces "$s" "$ARM$s/providers/Microsoft.Network/networkInterfaces?api-version=$V_NETWORK" || true
    fetch virtual_machines "$s" "$ARM$s/providers/Microsoft.Compute/virtualMachines?api-version=$V_COMPUTE" || true
    fetch web_apps "$s" "$ARM$s/providers/Microsoft.Web/sites?api-version=$V_WEB" || true
    fetch key_vaults "$s" "$ARM$s/providers/Microsoft.KeyVault/vaults?api-version=$V_KEYVAULT" || true
done

# ---- the folder: one file per part ---------------------------------------------------------------------------
write management_groups management-groups unique
write subscriptions subscriptions
write resource_groups resource-groups
write role_definitions role-definitions unique
write role_assignments role-assignments unique
write deny_assignments deny-assignments unique
write role_eligibility_schedules role-eligibility-schedules unique
write role_assignment_schedules role-assignment-schedules unique
write users users
write groups groups
write group_members group-members
write service_principals service-principals
write applications applications
write application_owners application-owners
write directory_role_definitions directory-role-definitions
write directory_role_assignments directory-role-assignments
write app_role_assignments app-role-assignments
write managed_identities managed-identities
write storage_accounts storage-accounts
write blob_containers blob-containers
write network_security_groups network-security-groups
write network_interfaces network-interfaces
write virtual_machines virtual-machines
write web_apps web-apps
write key_vaults key-vaults
write errors errors
echo "exported tenant $TENANT to $OUT ($(jq length "$OUT/subscriptions.json") subscriptions," \
    "$(jq length "$OUT/errors.json") reads refused: see errors.json)" >&2
