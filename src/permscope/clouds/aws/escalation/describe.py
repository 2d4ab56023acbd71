"""The AWS escalation techniques in words, with the page that describes each, for reports: pathfinding.cloud's
ids keep their public page at https://pathfinding.cloud/paths/<id>; permscope's own techniques (`grant-*`,
`iam-setdefault-*`) are described in docs/privilege-escalation.md, which a standalone report cannot link to."""

from __future__ import annotations

import re

from permscope.clouds.aws.escalation.techniques import TECHNIQUES, Kind, Technique
from permscope.core.escalation import TechniqueInfo

PATHFINDING_PAGE = "https://pathfinding.cloud/paths/{}"
PATHFINDING_ID = re.compile(r"[a-z0-9]+-\d{3}")
# the resource a service creates to run code as the role passed to it
SERVICE_RESOURCES = {
    "lambda.amazonaws.com": "Lambda function",
    "ec2.amazonaws.com": "EC2 instance",
    "ecs-tasks.amazonaws.com": "ECS task",
    "glue.amazonaws.com": "Glue job or development endpoint",
    "cloudformation.amazonaws.com": "CloudFormation stack",
    "codebuild.amazonaws.com": "CodeBuild project",
    "sagemaker.amazonaws.com": "SageMaker notebook or job",
    "datapipeline.amazonaws.com": "Data Pipeline pipeline",
    "tasks.apprunner.amazonaws.com": "App Runner service",
    "bedrock-agentcore.amazonaws.com": "Bedrock AgentCore code interpreter",
}
_KIND_WORDS = {
    Kind.SELF_PRINCIPAL: "writes its own permissions policies",
    Kind.SELF_GROUP: "writes the permissions policies of a group it belongs to",
    Kind.SELF_POLICY: "publishes a new default version of a managed policy attached to it",
    Kind.JOIN_GROUP: "adds itself to a more privileged group",
    Kind.USER_MODIFY: "writes another user's policies, then creates an access key to act as that user",
    Kind.ROLE_ASSUME: "assumes a role that trusts it",
    Kind.ROLE_TRUST: "rewrites a role's trust policy to trust itself, then assumes the role",
    Kind.ROLE_MODIFY: "writes a role's permissions policies, then assumes the role",
    Kind.POLICY_ROLE: "publishes a new version of a managed policy attached to a role, then assumes the role",
    Kind.SELF_VERSION: "makes another stored version of a managed policy attached to it the default one",
    Kind.VERSION_ROLE: "makes another stored version of a managed policy attached to a role the default one, then "
    "assumes the role",
    Kind.GRANT_USER: "writes another user's policies, giving that user administrator-equivalent rights",
    Kind.GRANT_ROLE: "writes another role's policies, giving that role administrator-equivalent rights",
    Kind.GRANT_GROUP: "writes a group's policies, giving its members administrator-equivalent rights",
    Kind.GRANT_JOIN: "adds another user to a group with administrator-equivalent rights",
}
OWN_PREFIXES = ("grant-",)  # ids of permscope's own techniques, which pathfinding.cloud does not describe


def technique_words(technique: Technique) -> str:
    """What a technique does, in words (lower case, no final stop)."""
    if technique.kind in _KIND_WORDS:
        return _KIND_WORDS[technique.kind]
    if technique.kind is Kind.USER_CREDENTIALS:
        if "iam:CreateAccessKey" in technique.action_names:
            return "creates an access key for another user and acts as that user"
        return "sets another user's console password and signs in as that user"
    resource = technique.existing.label if technique.existing else None
    if technique.kind is Kind.NEW_PASSROLE:
        made = next((SERVICE_RESOURCES[s] for s in technique.services if s in SERVICE_RESOURCES), "resource")
        if resource:
            return f"passes a privileged role to {_a(made)} {made} through an existing {resource} and runs code as that role"
        return f"passes a privileged role to a new {made} and runs code as that role"
    if technique.kind is Kind.EXISTING and resource:
        return f"runs code through an existing {resource} and acts with its role"
    return "uses " + " + ".join(technique.action_names)


def _a(noun: str) -> str:
    """The indefinite article of a noun (`an ECS task`, `a Lambda function`)."""
    return "an" if noun[:1] in "AEIOU" else "a"


def technique_page(technique_id: str) -> str | None:
    """The public page describing a technique (pathfinding.cloud's catalogue ids), None when there is none."""
    if technique_id.startswith(OWN_PREFIXES) or not PATHFINDING_ID.fullmatch(technique_id):
        return None  # ours (grant-*, iam-setdefault-*): described in docs/privilege-escalation.md
    return PATHFINDING_PAGE.format(technique_id)


def technique_catalogue() -> dict[str, TechniqueInfo]:
    """Every technique by id, in words, with its page."""
    return {
        technique.technique_id: TechniqueInfo(
            technique.technique_id, technique_words(technique), technique_page(technique.technique_id)
        )
        for technique in TECHNIQUES
    }
