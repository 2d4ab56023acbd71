"""A GCP plan as people review and run it themselves: a gcloud shell script (apply or rollback) and Terraform.

Apply takes the member out of each binding with the resource type's `remove-iam-policy-binding` (the command
group of its row in `kinds.KINDS`: `gcloud projects`, `gcloud compute instances ... --zone`, `gcloud run services
... --region`, `gcloud secrets`, ...), with the binding's exact condition (`--condition=expression=...,title=...`, or
`--condition-from-file` written just before when a value holds a comma, which the flag's syntax cannot carry;
`--condition=None` for an unconditional binding; `--all` for a merged assignment not yet applied, whose single
bindings are known only once captured). Where gcloud has no IAM command for the type (BigQuery datasets), or its
command takes no --condition and the binding has one (Cloud Run services), the script reads the policy with curl,
edits it with jq (the member out of, or back into, the binding of the role under exactly that condition) and
writes it back with its etag. Rollback runs `add-iam-policy-binding` with the same conditions, from the
bindings recorded when the plan was applied. Keys: `gcloud iam service-accounts keys disable / enable`. Group
memberships: `gcloud identity groups memberships delete`, rolled back by `... memberships add` with the roles
recorded when the plan was applied. Every value is shell-quoted.

A generated role (createGeneratedRole) is `gcloud iam roles create` (`undelete` then `update` when IAM holds the
id soft-deleted, `update` when it exists), then `add-iam-policy-binding --condition=None` at each place; rolled
back by `remove-iam-policy-binding` where the member was not bound before and `gcloud iam roles delete` (or
`update` back to the recorded definition when the role existed before the plan).

Terraform: `google_project_iam_custom_role` and a `google_*_iam_member` (the type's row in `kinds.KINDS`) per
place for a generated role; a
`removed` block (Terraform >= 1.7) per removed binding, `destroy = true`, for the address your
configuration gives the `google_*_iam_member` (the label below is a suggestion), with the import command of a
binding Terraform does not manage yet; likewise per removed group membership
(`google_cloud_identity_group_membership`, imported by its membership name).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from permscope.clouds.gcp.iam_client import POLICY_VERSION
from permscope.clouds.gcp.remediation.kinds import Style
from permscope.clouds.gcp.remediation.places import Place, place_of
from permscope.core.hcl import REMOVED_VERSION, hcl_label, hcl_list, hcl_string, removed_block
from permscope.core.remediation import StepKind, StepSpec
from permscope.core.scripts import plan_script
from permscope.core.snapshot import SystemSnapshot

TERRAFORM_VERSION = REMOVED_VERSION
# jq: does a binding hold the role under exactly $c (expression and title; null: unconditional)?
_MATCHES = (
    ".role == $role and ((.condition // null) | if . == null then null "
    "else {expression, title: (.title // null)} end) == $c"
)


def _q(value: Any) -> str:
    return shlex.quote(str(value))


def _prior(step: StepSpec) -> dict[str, Any]:
    recorded = step.parameters.get("prior")
    return dict(recorded) if isinstance(recorded, Mapping) and recorded.get("present") else {}


def _place(parameters: Mapping[str, Any], scope: Any) -> Place | None:
    """The place of a step's scope (the project named by id, or by the step's `projectNumber`)."""
    number = parameters.get("projectNumber")
    return place_of(str(scope), str(parameters["project"]), str(number) if number else None)


def _gcloud(place: Place, verb: str, member: Any, role: Any) -> str:
    """`gcloud <group> <verb> <resource and its flags> --member --role` for a place."""
    spec = place.spec
    return f"{spec.gcloud} {verb} {place.fill(spec.gcloud_args, _q)} --member={_q(member)} --role={_q(role)}"


def _by_gcloud(place: Place, condition: Mapping[str, Any] | None) -> bool:
    """Whether gcloud can edit this binding (a command for the type, taking the condition when there is one)."""
    return place.spec.gcloud is not None and (not condition or place.spec.gcloud_conditions)


def _curl_lines(
    place: Place, role: str, member: str, condition: Mapping[str, Any] | None, file_name: str, *, adding: bool
) -> list[str]:
    """Read-modify-write of a place's policy with curl and jq (for a binding gcloud cannot edit)."""
    method, url, body = place.read_call()
    write_method, write_url = place.write_call()
    exact = (
        {"expression": str(condition["expression"]), "title": condition.get("title") or None}
        if condition
        else None
    )
    full = (
        {k: str(condition[k]) for k in ("title", "expression", "description") if condition.get(k)}
        if condition
        else None
    )
    if adding:
        edit = (
            f"if any(.bindings[]?; {_MATCHES}) then .bindings |= map(if ({_MATCHES}) and "
            "((.members | index($member)) | not) then .members += [$member] else . end) "
            "else .bindings += [{role: $role, members: [$member]} + "
            "(if $full == null then {} else {condition: $full} end)] end"
        )
    else:
        edit = (
            f".bindings = [.bindings[]? | if {_MATCHES} then .members -= [$member] else . end "
            "| select(.members | length > 0)]"
        )
    wrap = "." if place.spec.style is Style.STORAGE else "{policy: .}"
    auth = (
        "-H \"Authorization: Bearer $(gcloud auth print-access-token)\" -H 'Content-Type: application/json'"
    )
    read_body = f" -d {_q(json.dumps(body))}" if body else ""
    new = f"{file_name}.new"
    return [
        f"# {place.spec.gcloud or 'gcloud'} cannot edit this binding: read, edit and write the policy (with its etag)",
        f"curl -sS -f -X {method} {auth} {_q(url)}{read_body} > {_q(file_name)}",
        f"jq --arg role {_q(role)} --arg member {_q(member)} --argjson c {_q(json.dumps(exact))} "
        f"--argjson full {_q(json.dumps(full))} {_q(f'{edit} | .version = {POLICY_VERSION} | {wrap}')} "
        f"{_q(file_name)} > {_q(new)}",
        f"curl -sS -f -X {write_method} {auth} {_q(write_url)} -d @{_q(new)}",
    ]


def _condition_args(condition: Mapping[str, Any] | None, file_name: str) -> tuple[list[str], str]:
    """(lines to run first, the flag) naming one binding's condition to gcloud."""
    if not condition:
        return [], "--condition=None"
    fields = {k: str(condition[k]) for k in ("expression", "title", "description") if condition.get(k)}
    if any("," in value for value in fields.values()):
        document = json.dumps(fields)
        return [f"printf '%s\\n' {_q(document)} > {_q(file_name)}"], f"--condition-from-file={_q(file_name)}"
    return [], "--condition=" + _q(",".join(f"{k}={v}" for k, v in fields.items()))


def _binding_lines(step: StepSpec, number: int, *, adding: bool) -> list[str]:
    parameters = step.parameters
    place = _place(parameters, parameters["resource"])
    verb = "add-iam-policy-binding" if adding else "remove-iam-policy-binding"
    if place is None:
        return [
            f"# permscope does not know the gcloud command for the IAM policy of {parameters['resource']}"
        ]
    prior = _prior(step)
    member = prior.get("member") or parameters["member"]
    role = str(parameters["role"])
    if prior:
        conditions = [b.get("condition") for b in prior.get("bindings") or ()]
    elif adding:
        return ["# not applied yet: nothing recorded to put back"]
    elif parameters.get("merged"):
        if place.spec.gcloud is None or not place.spec.gcloud_conditions:
            return [f"# several conditional bindings of {role} on {place.scope}: apply the plan with permscope "
                    "(it records each), or remove them in the console"]  # fmt: skip
        return [
            f"{_gcloud(place, verb, member, role)} --all  # every conditional binding of the role holding the member"
        ]
    else:
        conditions = [parameters.get("condition")]
    lines: list[str] = []
    for index, condition in enumerate(conditions, start=1):
        if not _by_gcloud(place, condition):
            lines += _curl_lines(
                place, role, str(member), condition, f"policy-{number}-{index}.json", adding=adding
            )
            continue
        if not place.spec.gcloud_conditions:
            lines.append(_gcloud(place, verb, member, role))
            continue
        before, flag = _condition_args(condition, f"condition-{number}-{index}.json")
        lines += [*before, f"{_gcloud(place, verb, member, role)} {flag}"]
    return lines


def _unconditional_lines(place: Place, member: str, role: str, number: int, *, adding: bool) -> list[str]:
    """The member into (or out of) the role's unconditional binding at a place (a generated role)."""
    if place.spec.gcloud is None:
        return _curl_lines(place, role, member, None, f"policy-{number}.json", adding=adding)
    verb = "add-iam-policy-binding" if adding else "remove-iam-policy-binding"
    flag = " --condition=None" if place.spec.gcloud_conditions else ""
    return [f"{_gcloud(place, verb, member, role)}{flag}"]


def _key_lines(step: StepSpec, *, rollback: bool) -> list[str]:
    parameters = step.parameters
    recorded = step.parameters.get("prior")
    if rollback and isinstance(recorded, Mapping) and recorded.get("disabled"):
        return ["# the key was disabled before the plan: it stays disabled"]
    verb = "enable" if rollback else "disable"
    return [
        f"gcloud iam service-accounts keys {verb} {_q(parameters['keyId'])} "
        f"--iam-account={_q(parameters['serviceAccount'])}"
    ]


def _membership_lines(step: StepSpec, *, rollback: bool) -> list[str]:
    """The member out of the group, or back in with the roles recorded when the step was applied."""
    parameters = step.parameters
    where = f"--group-email={_q(parameters['group'])} --member-email={_q(parameters['member'])}"
    if not rollback:
        return [f"gcloud identity groups memberships delete {where}"]
    prior = _prior(step)
    if not prior:
        return ["# not applied yet (or the member was not in the group): nothing recorded to put back"]
    roles = [dict(role) for role in prior.get("roles") or ()]
    lines = [
        f"# role {role['name']} expires at {role['expiryDetail']['expireTime']} (recorded): the add below sets no "
        "expiry; set it again yourself"
        for role in roles
        if role.get("expiryDetail")
    ]
    names = ",".join(str(role["name"]) for role in roles) or "MEMBER"
    return [*lines, f"gcloud identity groups memberships add {where} --roles={_q(names)}"]


def _manual_line(step: StepSpec) -> str:
    parameters = step.parameters
    if parameters.get("kind") == "serviceAccount":
        return f"gcloud iam service-accounts delete {_q(parameters['email'])}"
    return f"remove {parameters.get('kind')} {parameters.get('email')} in the Cloud Identity (or Workspace) admin console"


def _role_flags(role: Mapping[str, Any]) -> str:
    """gcloud's flags of a custom role's definition."""
    flags = [f"--{k}={_q(role[k])}" for k in ("title", "description", "stage") if role.get(k)]
    flags.append("--permissions=" + _q(",".join(role.get("includedPermissions") or ())))
    return " ".join(flags)


def _generated_lines(step: StepSpec, *, rollback: bool) -> list[str]:
    """The generated role: created (undeleted when IAM holds it deleted, updated when it differs), then the member
    bound at each place; to roll back, the member out where it was not before and the role deleted (or its
    recorded definition put back when it existed before the plan)."""
    parameters = step.parameters
    project, role_id, member = parameters["project"], parameters["roleId"], parameters["member"]
    role = parameters["document"]["role"]
    where = f"{_q(role_id)} --project={_q(project)}"
    prior = _prior(step)
    lines: list[str] = []
    places = [(_place(parameters, scope), scope) for scope in parameters["resources"]]
    role_name = str(parameters["role"])
    if rollback:
        if not prior:
            return ["# not applied yet: nothing to undo"]
        before = {str(e["resource"]): bool(e.get("present")) for e in prior.get("places") or ()}
        for number, (place, scope) in reversed(list(enumerate(places, start=1))):
            if place is not None and not before.get(str(scope)):
                lines += _unconditional_lines(place, str(member), role_name, number, adding=False)
        earlier = prior.get("role") or {}
        if earlier.get("state") == "present":
            lines.append(
                f"gcloud iam roles update {where} {_role_flags(earlier)} --quiet  # as before the plan"
            )
        else:
            lines.append(f"gcloud iam roles delete {where} --quiet")
        return lines
    lines += [
        f"state=$(gcloud iam roles describe {where} --format='value(deleted)' 2>/dev/null || echo absent)",
        'case "$state" in',
        f"  absent) gcloud iam roles create {where} {_role_flags(role)} ;;",
        f"  True) gcloud iam roles undelete {where} && gcloud iam roles update {where} {_role_flags(role)} --quiet ;;",
        f"  *) gcloud iam roles update {where} {_role_flags(role)} --quiet ;;",
        "esac",
    ]
    for number, (place, _scope) in enumerate(places, start=1):
        if place is not None:
            lines += _unconditional_lines(place, str(member), role_name, number, adding=True)
    return lines


def cli_script(project: str, steps: Sequence[StepSpec], *, header: str, rollback: bool) -> str:
    """The gcloud commands of the steps (in apply order, or in reverse to roll back), as a shell script."""

    def step_lines(step: StepSpec, number: int) -> list[str]:
        if step.kind is StepKind.REMOVE_BINDING:
            return _binding_lines(step, number, adding=rollback)
        if step.kind is StepKind.CREATE_GENERATED_ROLE:
            return _generated_lines(step, rollback=rollback)
        if step.kind is StepKind.DISABLE_SERVICE_ACCOUNT_KEY:
            return _key_lines(step, rollback=rollback)
        if step.kind is StepKind.REMOVE_GROUP_MEMBER:
            return _membership_lines(step, rollback=rollback)
        return []

    intro = [f"Review every command; run it with gcloud signed in (project {project})."]
    return plan_script(
        header, intro, steps, rollback=rollback, step_lines=step_lines, manual_line=_manual_line
    )


def _import_id(place: Place, role: str, member: str, condition: Mapping[str, Any] | None) -> str:
    found = f"{place.fill(place.spec.import_id)} {role} {member}"
    return f"{found} {condition['title']}" if condition and condition.get("title") else found


def terraform(snapshot: SystemSnapshot, identity_id: str, steps: Sequence[StepSpec], *, header: str) -> str:
    """Terraform removing the plan's bindings (see the module docstring)."""
    out = [*(f"# {line}" if line else "#" for line in header.splitlines())]
    out += [
        f"# The IAM bindings (and group memberships) of {identity_id} the plan removes. Each `removed` block names",
        "# the address your configuration gives the binding: use yours. A binding Terraform does not manage yet is",
        "# imported first with the command above its block. Keys are disabled with gcloud (Terraform has no disabled key).",
        "",
        "terraform {",
        f'  required_version = "{TERRAFORM_VERSION}"',
        "}",
        "",
    ]
    for step in steps:
        if step.kind is StepKind.CREATE_GENERATED_ROLE:
            out += _generated_terraform(step)
            continue
        if step.kind is StepKind.REMOVE_GROUP_MEMBER:
            out += _membership_terraform(step)
            continue
        if step.kind is not StepKind.REMOVE_BINDING:
            out.append(f"# not described here: {step.kind.value} {step.label}")
            continue
        parameters = step.parameters
        place = _place(parameters, parameters["resource"])
        if place is None:
            continue
        prior = _prior(step)
        member = str(prior.get("member") or parameters["member"])
        conditions = [b.get("condition") for b in prior.get("bindings") or ()] or [
            parameters.get("condition")
        ]
        kind = place.spec.terraform
        for index, condition in enumerate(conditions):
            suffix = f"_{index + 1}" if len(conditions) > 1 else ""
            label = hcl_label(
                f"{parameters['role'].rsplit('/', 1)[-1]}_{place.name.rsplit('/', 1)[-1]}{suffix}".lower()
            )
            out += [
                f"# {step.label}",
                f"#   terraform import {kind}.{label} {_q(_import_id(place, str(parameters['role']), member, condition))}",
                *removed_block(f"{kind}.{label}"),
            ]
    return "\n".join(out).rstrip() + "\n"


def _membership_terraform(step: StepSpec) -> list[str]:
    """A `removed` block for the member's `google_cloud_identity_group_membership`, with its import command (the
    membership's name as recorded, else the gcloud lookup that finds it)."""
    parameters = step.parameters
    group, member = str(parameters["group"]), str(parameters["member"])
    label = hcl_label(f"{group.split('@')[0]}_{member.split('@')[0]}".lower())
    kind = "google_cloud_identity_group_membership"
    name = _prior(step).get("name")
    found = (
        _q(name)
        if name
        else '"$(gcloud identity groups memberships lookup '
        f"--group-email={_q(group)} --member-email={_q(member)} --format='value(name)')\""
    )
    return [
        f"# {step.label}: {member}",
        f"#   terraform import {kind}.{label} {found}",
        *removed_block(f"{kind}.{label}"),
    ]


def _generated_terraform(step: StepSpec) -> list[str]:
    """The generated role as `google_project_iam_custom_role` (the provider undeletes a soft-deleted role of the
    same id on create) and the member's `google_*_iam_member` at each place."""
    parameters = step.parameters
    project, member = str(parameters["project"]), str(parameters["member"])
    role = parameters["document"]["role"]
    label = hcl_label(str(parameters["roleId"]).lower())
    out = [
        f"# {step.label}",
        f'resource "google_project_iam_custom_role" "{label}" {{',
        f"  project     = {hcl_string(project)}",
        f"  role_id     = {hcl_string(str(parameters['roleId']))}",
        f"  title       = {hcl_string(str(role.get('title') or parameters['roleId']))}",
        f"  description = {hcl_string(str(role.get('description') or ''))}",
        f"  stage       = {hcl_string(str(role.get('stage') or 'GA'))}",
        f"  permissions = {hcl_list([str(p) for p in role.get('includedPermissions') or ()])}",
        "}",
        "",
    ]
    for number, scope in enumerate(parameters["resources"], start=1):
        place = _place(parameters, scope)
        if place is None:
            continue
        out += [
            f'resource "{place.spec.terraform}" "{label}_{number}" {{',
            *(
                f"  {key.ljust(18)} = {hcl_string(place.fill(value))}"
                for key, value in place.spec.terraform_args
            ),
            f"  role               = google_project_iam_custom_role.{label}.name",
            f"  member             = {hcl_string(member)}",
            "}",
            "",
        ]
    return out
