"""An Azure plan as people review and run it themselves: an Azure CLI shell script (apply or rollback) and
Terraform removing the assignments (and creating the generated role that replaces some of them).

Apply deletes each assignment by its id (`az role assignment delete --ids`; before the plan is applied, when its
name is not recorded yet, by assignee, role and scope). Rollback re-creates it exactly with `az rest --method put`
on the recorded id: `az role assignment create` cannot choose the assignment's name (it makes a new GUID), so it
is given as a comment only, for an assignment whose recorded state is missing. Every value is shell-quoted.

A generated role is created with `az role definition create --role-definition JSON` and assigned with `az role
assignment create` at each scope, both naming the role by its roleName (unique in the tenant, and the same
whether permscope or the script made it, where the GUIDs differ: az makes its own); rollback deletes those
assignments, then the definition, unless they existed before the plan.

An Entra group membership is removed with `az ad group member remove --group G --member-id P` and added back
with `az ad group member add` (not when the principal was found not to be a direct member when the plan was
applied: nothing was removed). A dynamic or synced group's membership is a manual step: the script shows the
group's membership rule.

Terraform: `azurerm_role_definition` and `azurerm_role_assignment` resources for a generated role (with
permscope's GUIDs), and a `removed` block (Terraform >= 1.7) per removed assignment, `destroy = true`, for the address your
configuration gives the `azurerm_role_assignment` (the label below is a suggestion); an assignment Terraform does
not manage yet is imported first (the command is in the comment). A removed group membership is a `removed` block
for the `azuread_group_member` (import id `<group id>/member/<member id>`) likewise; a configuration that lists
members in `azuread_group.members` instead drops the principal from that list.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from permscope.clouds.azure.grant.connector import role_guid
from permscope.clouds.azure.remediation.connector import assignment_url, restore_body
from permscope.clouds.azure.remediation.generated import assignment_body
from permscope.core.hcl import REMOVED_VERSION, hcl_label, hcl_list, hcl_string, removed_block
from permscope.core.remediation import StepKind, StepSpec
from permscope.core.scripts import plan_script
from permscope.core.snapshot import SystemSnapshot

TERRAFORM_VERSION = REMOVED_VERSION


def _q(value: Any) -> str:
    return shlex.quote(str(value))


def _prior(step: StepSpec) -> dict[str, Any]:
    recorded = step.parameters.get("prior")
    return dict(recorded) if isinstance(recorded, Mapping) and recorded.get("present") else {}


def _create_line(parameters: Mapping[str, Any]) -> str:
    line = (
        f"az role assignment create --assignee-object-id {_q(parameters['principalId'])} "
        f"--assignee-principal-type {_q(parameters['principalType'])} "
        f"--role {_q(role_guid(str(parameters['roleDefinitionId'])))} --scope {_q(parameters['scope'])}"
    )
    if parameters.get("condition"):
        line += f" --condition {_q(parameters['condition'])} --condition-version {_q(parameters.get('conditionVersion') or '2.0')}"
    if parameters.get("description"):
        line += f" --description {_q(parameters['description'])}"
    return line


def _apply_lines(step: StepSpec) -> list[str]:
    prior = _prior(step)
    if prior.get("id"):
        return [f"az role assignment delete --ids {_q(prior['id'])}"]
    parameters = step.parameters
    return [
        f"az role assignment delete --assignee {_q(parameters['principalId'])} "
        f"--role {_q(role_guid(str(parameters['roleDefinitionId'])))} --scope {_q(parameters['scope'])}"
    ]


def _rollback_lines(step: StepSpec) -> list[str]:
    prior = _prior(step)
    if not prior:
        return [
            "# not applied yet (no recorded assignment): re-creating it by hand gives it a new name:",
            f"# {_create_line(step.parameters)}",
        ]
    body = json.dumps(restore_body(prior), separators=(",", ":"))
    url = assignment_url(str(prior["scope"]), str(prior["name"]))
    return [
        f"# the same assignment, name {prior['name']} (az role assignment create would make a new name):",
        f"az rest --method put --url {_q(url)} --body {_q(body)}",
    ]


def _role_json(document: Mapping[str, Any]) -> str:
    """A generated role in the shape `az role definition create --role-definition` reads."""
    permissions = (document.get("permissions") or [{}])[0]
    role = {
        "Name": document["roleName"],
        "IsCustom": True,
        "Description": document.get("description") or "",
        "Actions": permissions.get("actions") or [],
        "NotActions": permissions.get("notActions") or [],
        "DataActions": permissions.get("dataActions") or [],
        "NotDataActions": permissions.get("notDataActions") or [],
        "AssignableScopes": document["assignableScopes"],
    }
    return json.dumps(role, separators=(",", ":"))


def _generated_apply(step: StepSpec) -> list[str]:
    parameters = step.parameters
    role = _q(parameters["roleName"])
    description = assignment_body(parameters)["properties"]["description"]
    lines = [
        f"# az names the role with a GUID of its own (permscope's connector uses {parameters['roleGuid']}); the",
        "# commands below name it by its roleName, unique in the tenant:",
        f"az role definition create --role-definition {_q(_role_json(parameters['document']))}",
    ]
    lines += [
        f"az role assignment create --assignee-object-id {_q(parameters['principalId'])} "
        f"--assignee-principal-type {_q(parameters['principalType'])} --role {role} "
        f"--scope {_q(entry['scope'])} --description {_q(description)}"
        for entry in parameters["assignments"]
    ]
    return lines


def _generated_rollback(step: StepSpec) -> list[str]:
    parameters = step.parameters
    recorded = parameters.get("prior")
    prior = recorded if isinstance(recorded, Mapping) else {}
    existed = {str(e.get("name")) for e in prior.get("assignments") or () if e.get("before")}
    role = _q(parameters["roleName"])
    lines: list[str] = []
    for entry in reversed(parameters["assignments"]):
        if entry["name"] in existed:
            lines.append(f"# the assignment at {entry['scope']} existed before the plan: kept")
            continue
        lines.append(
            f"az role assignment delete --assignee {_q(parameters['principalId'])} --role {role} "
            f"--scope {_q(entry['scope'])}"
        )
    if prior.get("definition"):
        lines.append(f"# the role {parameters['roleName']} existed before the plan: kept")
    else:
        lines.append(f"az role definition delete --name {role} --scope {_q(parameters['definitionScope'])}")
    return lines


def _member_line(step: StepSpec, verb: str) -> str:
    parameters = step.parameters
    return f"az ad group member {verb} --group {_q(parameters['groupId'])} --member-id {_q(parameters['memberId'])}"


def _member_rollback(step: StepSpec) -> list[str]:
    recorded = step.parameters.get("prior")
    if isinstance(recorded, Mapping) and "member" in recorded and not recorded["member"]:
        return ["# not a direct member when the plan was applied: nothing was removed"]
    return [_member_line(step, "add")]


def _manual_line(step: StepSpec) -> str:
    parameters = step.parameters
    if step.kind is StepKind.REMOVE_RULED_MEMBER:
        return (
            f"az ad group show --group {_q(parameters['groupId'])} --query membershipRule  # change the rule"
        )
    if step.kind is StepKind.DELETE_APP_CREDENTIAL:
        app = parameters.get("appId") or parameters.get("applicationObjectId") or "<application id>"
        cert = " --cert" if parameters.get("credentialType") == "certificate" else ""
        return f"az ad app credential delete --id {_q(app)} --key-id {_q(parameters['keyId'])}{cert}"
    kind = str(parameters.get("kind") or "")
    verb = {"user": "user delete --id", "group": "group delete --group"}.get(kind, "sp delete --id")
    return f"az ad {verb} {_q(parameters.get('objectId') or step.target)}"


def cli_script(subscription: str, steps: Sequence[StepSpec], *, header: str, rollback: bool) -> str:
    """The Azure CLI commands of the steps (in apply order, or in reverse to roll back), as a shell script."""

    def step_lines(step: StepSpec, _number: int) -> list[str]:
        if step.kind is StepKind.CREATE_GENERATED_ROLE:
            return _generated_rollback(step) if rollback else _generated_apply(step)
        if step.kind is StepKind.REMOVE_GROUP_MEMBER:
            return _member_rollback(step) if rollback else [_member_line(step, "remove")]
        if step.kind is not StepKind.DELETE_ROLE_ASSIGNMENT:
            return []
        return _rollback_lines(step) if rollback else _apply_lines(step)

    intro = [
        f"Review every command; run it signed in to subscription {subscription} (az account set -s ...)."
    ]
    return plan_script(
        header, intro, steps, rollback=rollback, step_lines=step_lines, manual_line=_manual_line
    )


def _generated_terraform(step: StepSpec) -> list[str]:
    """The generated role and its assignments as resources, under permscope's GUIDs."""
    parameters = step.parameters
    document = parameters["document"]
    permissions = (document.get("permissions") or [{}])[0]
    label = hcl_label(str(parameters["roleName"]).lower())
    description = assignment_body(parameters)["properties"]["description"]
    out = [
        f"# {step.label}: the generated least-privilege role, created before the removals it replaces (apply",
        "# it first: terraform apply "
        + " ".join(
            f"-target=azurerm_role_assignment.{label}_{n}" for n in range(len(parameters["assignments"]))
        )
        + ")",
        f'resource "azurerm_role_definition" "{label}" {{',
        f"  role_definition_id = {hcl_string(str(parameters['roleGuid']))}",
        f"  name               = {hcl_string(str(document['roleName']))}",
        f"  scope              = {hcl_string(str(parameters['definitionScope']))}",
        f"  description        = {hcl_string(str(document.get('description') or ''))}",
        "  permissions {",
        f"    actions          = {hcl_list(permissions.get('actions') or [])}",
        f"    not_actions      = {hcl_list(permissions.get('notActions') or [])}",
        f"    data_actions     = {hcl_list(permissions.get('dataActions') or [])}",
        f"    not_data_actions = {hcl_list(permissions.get('notDataActions') or [])}",
        "  }",
        f"  assignable_scopes = {hcl_list([str(s) for s in document['assignableScopes']])}",
        "}",
        "",
    ]
    for number, entry in enumerate(parameters["assignments"]):
        out += [
            f'resource "azurerm_role_assignment" "{label}_{number}" {{',
            f"  name               = {hcl_string(str(entry['name']))}",
            f"  scope              = {hcl_string(str(entry['scope']))}",
            f"  role_definition_id = azurerm_role_definition.{label}.role_definition_resource_id",
            f"  principal_id       = {hcl_string(str(parameters['principalId']))}",
            f"  principal_type     = {hcl_string(str(parameters['principalType']))}",
            f"  description        = {hcl_string(description)}",
            "}",
            "",
        ]
    return out


def _member_terraform(step: StepSpec) -> list[str]:
    """A `removed` block for the azuread_group_member of the membership (or a note for `azuread_group.members`)."""
    parameters = step.parameters
    group, member = str(parameters["groupId"]), str(parameters["memberId"])
    label = hcl_label(f"{parameters.get('groupName') or group}_{member}".lower())
    return [
        f"# {step.label} (azuread provider; a configuration listing members in azuread_group.members drops",
        f"# {member} from that list instead)",
        f"#   terraform import azuread_group_member.{label} {group}/member/{member}",
        *removed_block(f"azuread_group_member.{label}"),
    ]


def terraform(snapshot: SystemSnapshot, identity_id: str, steps: Sequence[StepSpec], *, header: str) -> str:
    """Terraform removing the plan's role assignments and group memberships (see the module docstring)."""
    identity = snapshot.identities_by_id.get(identity_id)
    name = identity.display_name if identity is not None else identity_id
    out = [*(f"# {line}" if line else "#" for line in header.splitlines())]
    out += [
        f"# The role assignments and group memberships of {name} ({identity_id}) the plan removes, and the",
        "# generated role it creates in their place, if any. Each `removed` block names the address your",
        "# configuration gives the assignment or membership: use yours. One Terraform does not manage yet is",
        "# imported first with the command above its block.",
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
            out += _member_terraform(step)
            continue
        if step.kind is not StepKind.DELETE_ROLE_ASSIGNMENT:
            if step.kind.manual:
                out.append(f"# manual, not described here: {step.kind.value} {step.label}")
            continue
        parameters = step.parameters
        role = role_guid(str(parameters["roleDefinitionId"]))
        label = hcl_label(f"{parameters.get('roleName') or role}_{step.target.rsplit('/', 1)[-1]}".lower())
        prior = _prior(step)
        assignment_id = prior.get("id") or (
            f"$(az role assignment list --assignee {_q(parameters['principalId'])} --role {_q(role)} "
            f"--scope {_q(parameters['scope'])} --query '[0].id' -o tsv)"
        )
        out += [
            f"# {step.label}",
            f"#   terraform import azurerm_role_assignment.{label} {assignment_id}",
            *removed_block(f"azurerm_role_assignment.{label}"),
        ]
    return "\n".join(out).rstrip() + "\n"
