"""A plan as the AWS CLI script and Terraform people review: the connector's own commands (quoted), rollback in
reverse, manual steps commented out, and the identity's after state with the exclusive resources."""

from __future__ import annotations

from permscope.clouds.aws.remediation.scripts import cli_script, terraform
from permscope.clouds.base import plugin
from permscope.core.ids import Cloud
from permscope.core.inventory import (
    Assignment,
    AssignmentRelation,
    AuthorizationSystem,
    Identity,
    IdentityKind,
    Membership,
    Policy,
    PolicyKind,
)
from permscope.core.remediation import StepKind, StepSpec
from permscope.core.snapshot import SystemSnapshot

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/o'neil"
KEEP = f"arn:aws:iam::{ACCOUNT}:policy/keep"
DROP = f"arn:aws:iam::{ACCOUNT}:policy/drop"
GROUP = f"arn:aws:iam::{ACCOUNT}:group/ops"
BASE = {"principalKind": "user", "principalName": "o'neil"}
STEPS = [
    StepSpec(StepKind.DETACH_MANAGED_POLICY, USER, DROP, "drop", {**BASE, "policyArn": DROP}, {}),
    StepSpec(
        StepKind.DELETE_INLINE_POLICY,
        USER,
        "legacy",
        "legacy",
        {**BASE, "policyName": "legacy", "storedDocument": {"Version": "2012-10-17", "Statement": []}},
        {},
    ),
    StepSpec(StepKind.REMOVE_FROM_GROUP, USER, GROUP, "ops", {**BASE, "groupName": "ops"}, {}),
    StepSpec(StepKind.DEACTIVATE_ACCESS_KEY, USER, "AKIAOLD", "AKIAOLD", {**BASE, "keyId": "AKIAOLD"}, {}),
    StepSpec(StepKind.DELETE_LOGIN_PROFILE, USER, "o'neil", "console password", BASE, {}),
]


def test_the_cli_script_applies_and_rolls_back_in_reverse() -> None:
    script = cli_script(ACCOUNT, STEPS, header="plan p\nfor o'neil", rollback=False)
    assert script.startswith("#!/bin/sh\n# plan p\n# for o'neil\n")
    assert "aws iam detach-user-policy --user-name 'o'\"'\"'neil' --policy-arn " + DROP in script
    assert "aws iam delete-user-policy --user-name 'o'\"'\"'neil' --policy-name legacy" in script
    assert "aws iam remove-user-from-group --user-name 'o'\"'\"'neil' --group-name ops" in script
    assert "--access-key-id AKIAOLD --status Inactive" in script
    assert "# aws iam delete-login-profile --user-name 'o'\"'\"'neil'" in script  # commented out: manual
    back = cli_script(ACCOUNT, STEPS, header="plan p", rollback=True)
    order = [
        back.index(text)
        for text in ("update-access-key", "add-user-to-group", "put-user-policy", "attach-user-policy")
    ]
    assert order == sorted(order) and "--status Active" in back
    assert "delete-login-profile" not in back


def _snapshot() -> SystemSnapshot:
    aws = plugin(Cloud.AWS)
    identities = [
        Identity(external_id=USER, kind=IdentityKind.USER, display_name="o'neil", source="aws"),
        Identity(external_id=GROUP, kind=IdentityKind.GROUP, display_name="ops", source="aws"),
    ]
    policies = [
        Policy(
            external_id=arn,
            name=arn.rsplit("/", 1)[1],
            kind=PolicyKind.MANAGED,
            managed_by_cloud=False,
            document={},
        )
        for arn in (KEEP, DROP)
    ] + [
        Policy(
            external_id=f"{USER}#inline/legacy",
            name="legacy",
            kind=PolicyKind.INLINE,
            managed_by_cloud=False,
            document={},
        )
    ]
    assignments = [
        Assignment(
            identity_external_id=USER,
            policy_external_id=KEEP,
            relation=AssignmentRelation.ATTACHED,
            scope=ACCOUNT,
        ),
        Assignment(
            identity_external_id=USER,
            policy_external_id=DROP,
            relation=AssignmentRelation.ATTACHED,
            scope=ACCOUNT,
        ),
        Assignment(
            identity_external_id=USER,
            policy_external_id=f"{USER}#inline/legacy",
            relation=AssignmentRelation.INLINE,
            scope=ACCOUNT,
        ),
    ]
    return SystemSnapshot(
        system=AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="demo"),
        identities=identities,
        memberships=[Membership(group_external_id=GROUP, member_external_id=USER)],
        policies=policies,
        assignments=assignments,
        resources=None,
        usages=[],
        has_activity=True,
        index=aws.action_index(),
        view_factory=aws.view,
    )


def test_terraform_describes_the_after_state() -> None:
    text = terraform(_snapshot(), USER, STEPS, header="plan p")
    assert 'resource "aws_iam_user_policy_attachments_exclusive" "o_neil"' in text
    assert f'policy_arns = [\n    "{KEEP}",\n  ]' in text and DROP not in text
    assert "policy_names = []" in text  # the inline policy goes
    # the user leaves its only group: said in words, with the command
    assert "aws iam remove-user-from-group --user-name 'o'\"'\"'neil' --group-name ops" in text
    assert 'id = "AKIAOLD"' in text and 'status = "Inactive"' in text
    assert "# manual, not described here" in text
