"""A plan as people review and run it themselves: an AWS CLI shell script (the connector's own dry-run lines,
apply or rollback) and Terraform describing the identity's after state.

Terraform: the `*_policy_attachments_exclusive` and `*_policies_exclusive` resources of the AWS provider make the
user or role hold exactly the managed and inline policies listed (IAM detaches and deletes the others); a user's
groups are an imported `aws_iam_user_group_membership` listing the groups kept, access keys imported
`aws_iam_access_key` resources with `status = "Inactive"`. `terraform apply` on the file is the plan; the
resources then live in that Terraform state (destroying them later deletes keys: keep the state or `terraform
state rm` them once applied).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from permscope.clouds.aws.remediation.candidates import INLINE_MARK, principal_parts
from permscope.clouds.aws.remediation.connector import AwsRemediationConnector
from permscope.core.arn import Arn
from permscope.core.hcl import hcl_label as _label
from permscope.core.hcl import hcl_list as _hcl_list
from permscope.core.hcl import hcl_string as _hcl
from permscope.core.inventory import AssignmentRelation
from permscope.core.remediation import StepKind, StepSpec
from permscope.core.snapshot import SystemSnapshot

PROVIDER_VERSION = ">= 6.0"  # has the exclusive attachment and inline-policy resources for users and roles
TERRAFORM_VERSION = ">= 1.5"  # import blocks


def _present(step: StepSpec) -> dict[str, Any]:
    """The prior state a script assumes when none was recorded: the target as the plan found it."""
    recorded = step.parameters.get("prior")
    if isinstance(recorded, Mapping) and recorded:
        return dict(recorded)
    kind = step.kind
    if kind is StepKind.DETACH_MANAGED_POLICY:
        return {"attached": True}
    if kind is StepKind.DELETE_INLINE_POLICY:
        document = step.parameters.get("storedDocument")
        text = json.dumps(document, indent=2) if document is not None else None
        return {"exists": True, "document": text}
    if kind is StepKind.REMOVE_FROM_GROUP:
        return {"member": True}
    if kind is StepKind.DEACTIVATE_ACCESS_KEY:
        return {"exists": True, "status": "Active"}
    return {"exists": False}


def _manual_line(step: StepSpec) -> str:
    kind, name = str(step.parameters["principalKind"]), str(step.parameters["principalName"])
    if step.kind is StepKind.DELETE_LOGIN_PROFILE:
        return f"aws iam delete-login-profile --user-name {shlex.quote(name)}"
    return f"aws iam delete-{kind} --{kind}-name {shlex.quote(name)}"


def cli_script(account_id: str, steps: Sequence[StepSpec], *, header: str, rollback: bool) -> str:
    """The AWS CLI commands of the steps (in apply order, or in reverse to roll back), as a shell script."""
    lines = ["#!/bin/sh", *(f"# {line}" if line else "#" for line in header.splitlines())]
    lines += ["# Review every command; run it with credentials of account " + account_id + ".", "set -eu", ""]
    ordered = list(reversed(steps)) if rollback else list(steps)
    for number, step in enumerate(ordered, start=1):
        lines.append(f"# {number}. {step.kind.value}: {step.label}")
        if step.kind.manual:
            if not rollback:
                lines.append("# manual, not applied by permscope (cannot be undone):")
                lines.append(f"# {_manual_line(step)}")
            else:
                lines.append("# manual step: nothing to undo unless you ran it (it cannot be undone)")
            lines.append("")
            continue
        echoed: list[str] = []
        connector = AwsRemediationConnector(account_id, dry_run=True, echo=echoed.append)
        if rollback:
            connector.restore(step.kind, step.principal, step.target, step.parameters, _present(step))
        else:
            connector.apply(step.kind, step.principal, step.target, step.parameters, {})
        lines += echoed or ["# nothing to do"]
        lines.append("")
    return "\n".join(lines)


def terraform(snapshot: SystemSnapshot, identity_id: str, steps: Sequence[StepSpec], *, header: str) -> str:
    """Terraform describing the identity's after state (see the module docstring)."""
    _identity, kind, name = principal_parts(snapshot, identity_id)
    removed = {(step.kind, step.target) for step in steps if not step.kind.manual}
    attached, inline = [], []
    for assignment in snapshot.assignments_of.get(identity_id, ()):
        if assignment.relation is AssignmentRelation.ATTACHED:
            if (StepKind.DETACH_MANAGED_POLICY, assignment.policy_external_id) not in removed:
                attached.append(assignment.policy_external_id)
        elif assignment.relation is AssignmentRelation.INLINE:
            policy = snapshot.policies_by_id.get(assignment.policy_external_id)
            policy_name = policy.name if policy else assignment.policy_external_id.partition(INLINE_MARK)[2]
            if (StepKind.DELETE_INLINE_POLICY, policy_name) not in removed:
                inline.append(policy_name)
    label = _label(name)
    out = [*(f"# {line}" if line else "#" for line in header.splitlines())]
    out += [
        f"# The after state of {kind} {name}: `terraform apply` makes it hold exactly the policies below.",
        "",
        "terraform {",
        f"  required_version = {_hcl(TERRAFORM_VERSION)}",
        "  required_providers {",
        f'    aws = {{ source = "hashicorp/aws", version = {_hcl(PROVIDER_VERSION)} }}',
        "  }",
        "}",
        "",
    ]
    for number, step in enumerate(s for s in steps if s.kind is StepKind.PUT_GENERATED_POLICY):
        policy_name = str(step.parameters["policyName"])
        inline.append(policy_name)
        document = json.dumps(step.parameters["document"], indent=2)
        out += [
            f'resource "aws_iam_{kind}_policy" "{label}_generated_{number}" {{',
            f"  name   = {_hcl(policy_name)}",
            f"  {kind}   = {_hcl(name)}",
            f"  policy = {_hcl(document)}",
            "}",
            "",
        ]
    out += [
        f'resource "aws_iam_{kind}_policy_attachments_exclusive" "{label}" {{',
        f"  {kind}_name   = {_hcl(name)}",
        f"  policy_arns = {_hcl_list(sorted(attached))}",
        "}",
        "",
        f'resource "aws_iam_{kind}_policies_exclusive" "{label}" {{',
        f"  {kind}_name    = {_hcl(name)}",
        f"  policy_names = {_hcl_list(sorted(set(inline)))}",
        "}",
        "",
    ]
    if kind == "user":
        out += _groups(snapshot, identity_id, name, label, removed)
    for step in steps:
        if step.kind is StepKind.DEACTIVATE_ACCESS_KEY:
            key_label = _label(f"{name}_{step.target}")
            out += [
                "import {",
                f"  to = aws_iam_access_key.{key_label}",
                f"  id = {_hcl(step.target)}",
                "}",
                f'resource "aws_iam_access_key" "{key_label}" {{',
                f"  user   = {_hcl(name)}",
                '  status = "Inactive"',
                "}",
                "",
            ]
        elif step.kind.manual:
            out.append(f"# manual, not described here (cannot be undone): {step.kind.value} {step.label}")
    return "\n".join(out).rstrip() + "\n"


def _groups(
    snapshot: SystemSnapshot, identity_id: str, name: str, label: str, removed: set[tuple[StepKind, str]]
) -> list[str]:
    groups = sorted(snapshot.groups_of.get(identity_id, ()))
    if not groups:
        return []
    names = {group: _group_name(group) for group in groups}
    kept = [names[g] for g in groups if (StepKind.REMOVE_FROM_GROUP, g) not in removed]
    if not kept:
        dropped = " ".join(
            f"aws iam remove-user-from-group --user-name {shlex.quote(name)} --group-name {shlex.quote(names[g])};"
            for g in groups
        )
        return [
            "# The user leaves every group, which aws_iam_user_group_membership cannot describe (it lists at",
            f"# least one group): {dropped}",
            "",
        ]
    return [
        "import {",
        f"  to = aws_iam_user_group_membership.{label}",
        f"  id = {_hcl('/'.join([name, *(names[g] for g in groups)]))}",
        "}",
        f'resource "aws_iam_user_group_membership" "{label}" {{',
        f"  user   = {_hcl(name)}",
        f"  groups = {_hcl_list(kept)}",
        "}",
        "",
    ]


def _group_name(group_id: str) -> str:
    parsed = Arn.try_parse(group_id)
    return parsed.name if parsed is not None and parsed.name else group_id
