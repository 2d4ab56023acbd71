#!/usr/bin/env bash
# Export one Google Cloud organization for `permscope import gcp DIR`, read-only.
#
#   docs/gcp-export.sh ORGANIZATION_ID [OUT_DIR]      (OUT_DIR defaults to gcp-export-ORGANIZATION_ID)
#
# Writes one folder in the layout of permscope's raw GCP bundle (src/permscope/clouds/gcp/raw.py): the
# organization, its folders at every level and its projects, allow policies of every resource (Cloud Asset
# Inventory), custom roles, deny policies, service accounts and their keys, groups and their direct members
# (Cloud Identity, when the caller may read them), tags, resources, buckets, Cloud Functions, Cloud Run services
# and Compute instances, and errors.json: what could not be read. A project the caller may not read is recorded
# there and the rest is exported. It only lists, describes, searches and gets: nothing is changed.
#
# Needs: gcloud (logged in as a principal with the roles of docs/gcp-collection.md) and python3 (gcloud needs
# it too), used to join the pieces into one JSON file per part. Cloud Run services are read from the Cloud Run
# Admin API v2 with an HTTPS GET (gcloud prints the v1 Knative shape), with `gcloud auth print-access-token`.
set -euo pipefail

ORG="${1:?usage: $0 ORGANIZATION_ID [OUT_DIR]}"
ORG="${ORG#organizations/}"
OUT="${2:-gcp-export-$ORG}"
CRM="cloudresourcemanager.googleapis.com"
RUN_ENDPOINT="${RUN_ENDPOINT:-https://run.googleapis.com}"  # Cloud Run Admin API (e.g. a regional endpoint)
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

cat >"$WORK/steps.py" <<'PY'
"""Small JSON steps of the export: join pieces into one list, read values out, wrap, and page a REST list."""
import json, os, sys, urllib.parse, urllib.request
from pathlib import Path


def items(path):
    """A piece's items: a JSON list, a REST page ({"results"|"groups"|...: [...]}), or one object."""
    text = Path(path).read_text().strip()
    if not text:
        return []
    data = json.loads(text)
    if isinstance(data, list):
        return data
    lists = [value for key, value in data.items() if isinstance(value, list) and key != "unreachable"]
    return lists[0] if len(lists) == 1 and "name" not in data else [data]


def dig(item, path):
    for key in path.split("."):
        item = item.get(key) if isinstance(item, dict) else None
    return "" if item is None else item


command, args = sys.argv[1], sys.argv[2:]
if command == "merge":  # merge OUT PIECE...: every piece's items, in order, as one JSON list
    Path(args[0]).write_text(json.dumps([i for piece in args[1:] for i in items(piece)], indent=1) + "\n")
elif command == "objects":  # objects OUT PIECE...: each piece one object, as one JSON list
    Path(args[0]).write_text(json.dumps([json.loads(Path(p).read_text()) for p in args[1:]], indent=1) + "\n")
elif command == "values":  # values FILE KEY...: one tab-separated line of values per item
    for item in items(args[0]):
        print("\t".join(str(dig(item, key)) for key in args[1:]))
elif command == "wrap":  # wrap KEY VALUE LISTKEY PIECE: {KEY: VALUE, LISTKEY: items of PIECE}
    print(json.dumps({args[0]: args[1], args[2]: items(args[3])}))
elif command == "attach":  # attach ATTACHMENT PIECE: the object with its attachmentPoint
    print(json.dumps({**json.loads(Path(args[1]).read_text()), "attachmentPoint": args[0]}))
elif command == "error":  # error SCOPE PART STDERR: one errors.json entry
    lines = [line for line in Path(args[2]).read_text().splitlines() if line.strip()]
    print(json.dumps({"scope": args[0], "part": args[1], "error": (lines[0] if lines else "failed")[:500]}))
elif command == "get":  # get URL KEY: every item of a REST list, following nextPageToken (GET only)
    url, key, found, token = args[0], args[1], [], ""
    while True:
        page_url = url + ("?" + urllib.parse.urlencode({"pageToken": token}) if token else "")
        request = urllib.request.Request(page_url, headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
        with urllib.request.urlopen(request) as response:
            page = json.load(response)
        found.extend(page.get(key, []))
        token = page.get("nextPageToken", "")
        if not token:
            break
    print(json.dumps(found))
elif command == "locations":  # locations RESOURCES ASSET_TYPE PROJECT_NUMBER: the asset type's locations there
    print("\n".join(sorted({r.get("location", "") for r in items(args[0])
                            if r.get("assetType") == args[1] and r.get("project") == "projects/" + args[2]} - {""})))
PY
json() { python3 -S "$WORK/steps.py" "$@"; }  # standard library only: -S skips site-packages

# read_into DIR PART SCOPE COMMAND...: run a read-only command into the next piece of DIR (its path in PIECE);
# when it fails, record the error against PART and SCOPE (an API not enabled in a project holds nothing: no
# error). read_part PART SCOPE COMMAND... is read_into with DIR = PART.
PIECE=""
read_into() {
  local dir="$1" part="$2" scope="$3"
  shift 3
  mkdir -p "$WORK/$dir"
  PIECE="$WORK/$dir/$(printf '%06d' "$(find "$WORK/$dir" -type f | wc -l)").json"
  if "$@" >"$PIECE" 2>"$WORK/stderr"; then
    return 0
  fi
  if grep -q -e SERVICE_DISABLED -e "has not been used in project" -e "is not enabled" "$WORK/stderr"; then
    echo '[]' >"$PIECE"
    return 0
  fi
  rm -f "$PIECE"
  PIECE=""
  json error "$scope" "$part" "$WORK/stderr" >>"$WORK/errors.jsonl"
  echo "warning: $part of $scope not read: $(head -n 1 "$WORK/stderr")" >&2
  return 1
}
read_part() { read_into "$1" "$@"; }

# write PART FILE [objects]: every piece of PART (lists, or single objects) as one list in OUT/FILE.json
write() {
  mkdir -p "$WORK/$1"
  local pieces=()
  while IFS= read -r piece; do pieces+=("$piece"); done < <(find "$WORK/$1" -type f -name '*.json' | sort)
  json "${3:-merge}" "$OUT/$2.json" "${pieces[@]}"
}

echo "organization $ORG" >&2
gcloud organizations describe "$ORG" --format=json >"$OUT/organization.json"
CUSTOMER="$(json values "$OUT/organization.json" owner.directoryCustomerId)"

# folders at every level (breadth first) and the projects of the organization and of each folder
queue=("organizations/$ORG")
while ((${#queue[@]})); do
  parent="${queue[0]}"
  queue=("${queue[@]:1}")
  kind="${parent%%/*}"
  id="${parent#*/}"
  flag="--folder=$id"
  filter="parent.type=folder AND parent.id=$id"
  if [[ "$kind" == organizations ]]; then
    flag="--organization=$id"
    filter="parent.type=organization AND parent.id=$id"
  fi
  read_part projects "$parent" gcloud projects list --filter="$filter" --format=json || true
  if read_part folders "$parent" gcloud resource-manager folders list "$flag" --format=json; then
    while IFS= read -r child; do [[ -n "$child" ]] && queue+=("$child"); done < <(json values "$PIECE" name)
  fi
done
write folders folders
write projects projects
mapfile -t PROJECTS < <(json values "$OUT/projects.json" projectId projectNumber)
echo "${#PROJECTS[@]} projects" >&2

echo "allow policies and resources (Cloud Asset Inventory)" >&2
read_part iam_policies "organizations/$ORG" gcloud asset search-all-iam-policies --scope="organizations/$ORG" --format=json || true
write iam_policies iam-policies
read_part resources "organizations/$ORG" gcloud asset search-all-resources --scope="organizations/$ORG" --format=json || true
write resources resources

echo "custom roles, deny policies, tags" >&2
# roles list omits permissions: each role is described
roles_of() {  # roles_of SCOPE FLAG: the custom roles of an organization or project, each described (the list
  # omits their permissions)
  if read_into role_names custom_roles "$1" gcloud iam roles list "$2" --show-deleted --format=json; then
    while IFS= read -r role; do
      [[ -n "$role" ]] && { read_part custom_roles "$1" gcloud iam roles describe "${role##*/}" "$2" --format=json || true; }
    done < <(json values "$PIECE" name)
  fi
}
deny_of() {  # deny_of SCOPE FULL_RESOURCE_NAME: the deny policies attached there, each read whole
  local point="${2#//}" names
  if read_into deny_names deny_policies "$1" gcloud iam policies list --attachment-point="$point" --kind=denypolicies --format=json; then
    names="$PIECE"
    while IFS= read -r policy; do
      [[ -z "$policy" ]] && continue
      if read_into deny_whole deny_policies "$1" gcloud iam policies get "${policy##*/}" --attachment-point="$point" --kind=denypolicies --format=json; then
        mkdir -p "$WORK/deny_policies"
        json attach "$2" "$PIECE" >"$WORK/deny_policies/$(printf '%06d' "$(find "$WORK/deny_policies" -type f | wc -l)").json"
      fi
    done < <(json values "$names" name)
  fi
}
bindings_of() {  # bindings_of SCOPE FULL_RESOURCE_NAME
  read_part tag_bindings "$1" gcloud resource-manager tags bindings list --parent="$2" --format=json || true
}
roles_of "organizations/$ORG" --organization="$ORG" || true
deny_of "organizations/$ORG" "//$CRM/organizations/$ORG" || true
read_part tag_keys "organizations/$ORG" gcloud resource-manager tags keys list --parent="organizations/$ORG" --format=json || true
bindings_of "organizations/$ORG" "//$CRM/organizations/$ORG"
while IFS= read -r folder; do
  [[ -z "$folder" ]] && continue
  deny_of "$folder" "//$CRM/$folder" || true
  bindings_of "$folder" "//$CRM/$folder"
done < <(json values "$OUT/folders.json" name)
for line in "${PROJECTS[@]}"; do
  project="${line%%$'\t'*}"
  number="${line#*$'\t'}"
  roles_of "projects/$project" --project="$project" || true
  deny_of "projects/$project" "//$CRM/projects/$number" || true
  read_part tag_keys "projects/$project" gcloud resource-manager tags keys list --parent="projects/$number" --format=json || true
  bindings_of "projects/$project" "//$CRM/projects/$number"
done
write custom_roles custom-roles
write deny_policies deny-policies objects
write tag_keys tag-keys
while IFS= read -r key; do
  [[ -n "$key" ]] && { read_part tag_values "$key" gcloud resource-manager tags values list --parent="$key" --format=json || true; }
done < <(json values "$OUT/tag-keys.json" name)
write tag_values tag-values
write tag_bindings tag-bindings

echo "service accounts and keys, buckets, functions, Cloud Run, instances" >&2
TOKEN="$(gcloud auth print-access-token)"
export TOKEN
for line in "${PROJECTS[@]}"; do
  project="${line%%$'\t'*}"
  number="${line#*$'\t'}"
  if read_part service_accounts "projects/$project" gcloud iam service-accounts list --project="$project" --format=json; then
    accounts="$PIECE"
    while IFS= read -r email; do
      [[ -z "$email" ]] && continue
      if read_into key_lists service_account_keys "projects/$project" gcloud iam service-accounts keys list --iam-account="$email" --project="$project" --format=json; then
        mkdir -p "$WORK/service_account_keys"
        json wrap serviceAccount "$email" keys "$PIECE" >"$WORK/service_account_keys/$(printf '%06d' "$(find "$WORK/service_account_keys" -type f | wc -l)").json"
      fi
    done < <(json values "$accounts" email)
  fi
  read_part buckets "projects/$project" gcloud storage buckets list --project="$project" --raw --format=json || true
  read_part functions "projects/$project" gcloud functions list --project="$project" --format=json || true
  while IFS= read -r location; do
    [[ -z "$location" ]] && continue
    read_part run_services "projects/$project" json get "$RUN_ENDPOINT/v2/projects/$project/locations/$location/services" services || true
  done < <(json locations "$OUT/resources.json" run.googleapis.com/Service "$number")
  read_part instances "projects/$project" gcloud compute instances list --project="$project" --format=json || true
done
write service_accounts service-accounts
write service_account_keys service-account-keys objects
write buckets buckets
write functions functions
write run_services run-services
write instances instances

echo "groups (Cloud Identity)" >&2
if [[ -n "$CUSTOMER" ]] && read_part groups "customers/$CUSTOMER" gcloud identity groups search --customer="$CUSTOMER" --labels="cloudidentity.googleapis.com/groups.discussion_forum" --view=full --format=json; then
  write groups groups
  while IFS= read -r email; do
    [[ -z "$email" ]] && continue
    read_into member_lists group_memberships "$email" gcloud identity groups memberships list --group-email="$email" --format=json || continue
    mkdir -p "$WORK/group_memberships"
    json wrap group "$email" members "$PIECE" >"$WORK/group_memberships/$(printf '%06d' "$(find "$WORK/group_memberships" -type f | wc -l)").json"
  done < <(json values "$OUT/groups.json" groupKey.id)
  write group_memberships group-memberships objects
else
  echo "warning: groups not exported (no customer, or the caller may not read Cloud Identity groups): they stay opaque" >&2
fi

touch "$WORK/errors.jsonl"
python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1]) if l.strip()], indent=1))' "$WORK/errors.jsonl" >"$OUT/errors.json"
echo "wrote $OUT" >&2
