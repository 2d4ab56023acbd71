"""Roles a CloudTrail event passed to an AWS service: the `iam:PassRole` it exercised, which CloudTrail never logs.

Creating a Lambda function, an ECS task definition, a CloudFormation stack with a service role... passes a role
to the service, and IAM checks `iam:PassRole` on that role (with `iam:PassedToService` = the service's
principal) inside the call; the event is logged under the service's own name. `ROLE_PASSING` lists, per action,
the top-level request parameters that name the role by ARN and the service principal it is passed to (each
service's documentation of the parameter and of `iam:PassedToService`). An event of such an action counts one
`iam:PassRole` use on every role ARN it names. Roles passed inside nested parameters (EventBridge targets,
Firehose destinations) and through EC2 instance profiles (named by profile, not role) are not counted:
docs/remediation.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from permscope.core.arn import Arn

PASS_ROLE = "iam:PassRole"  # noqa: S105  (an action name)


@dataclass(frozen=True, slots=True)
class RolePassing:
    """Where an action's request names the roles it passes, and to which service principal."""

    parameters: tuple[str, ...]
    service: str  # the iam:PassedToService value


def _passing(service: str, parameters: tuple[str, ...], *actions: str) -> dict[str, RolePassing]:
    return dict.fromkeys(actions, RolePassing(parameters, service))


ROLE_PASSING: dict[str, RolePassing] = {
    **_passing(
        "lambda.amazonaws.com", ("role",), "lambda:CreateFunction", "lambda:UpdateFunctionConfiguration"
    ),
    **_passing("ecs-tasks.amazonaws.com", ("taskRoleArn", "executionRoleArn"), "ecs:RegisterTaskDefinition"),
    **_passing("glue.amazonaws.com", ("role",), "glue:CreateJob", "glue:CreateCrawler"),
    **_passing("glue.amazonaws.com", ("roleArn",), "glue:CreateDevEndpoint"),
    **_passing(
        "cloudformation.amazonaws.com",
        ("roleARN",),
        "cloudformation:CreateStack",
        "cloudformation:UpdateStack",
        "cloudformation:CreateChangeSet",
        "cloudformation:DeleteStack",
    ),
    **_passing(
        "states.amazonaws.com", ("roleArn",), "states:CreateStateMachine", "states:UpdateStateMachine"
    ),
    **_passing(
        "codebuild.amazonaws.com", ("serviceRole",), "codebuild:CreateProject", "codebuild:UpdateProject"
    ),
    **_passing(
        "sagemaker.amazonaws.com",
        ("roleArn", "executionRoleArn"),
        "sagemaker:CreateNotebookInstance",
        "sagemaker:CreateTrainingJob",
        "sagemaker:CreateProcessingJob",
        "sagemaker:CreateModel",
    ),
    **_passing(
        "rolesanywhere.amazonaws.com",
        ("roleArns",),
        "rolesanywhere:CreateProfile",
        "rolesanywhere:UpdateProfile",
    ),
    **_passing("eks.amazonaws.com", ("roleArn",), "eks:CreateCluster"),
    **_passing("batch.amazonaws.com", ("serviceRole",), "batch:CreateComputeEnvironment"),
}
# the request parameters any entry reads (the typed CloudTrail decoder keeps them)
PASSING_PARAMETERS = tuple(sorted({name for entry in ROLE_PASSING.values() for name in entry.parameters}))
_SERVICES = {action.lower(): entry.service for action, entry in ROLE_PASSING.items()}


def is_role_arn(value: object) -> bool:
    """Whether a value is an IAM role ARN."""
    if not isinstance(value, str) or not value.startswith("arn:"):
        return False
    arn = Arn.try_parse(value)
    return arn is not None and arn.service == "iam" and arn.resource_type == "role"


def passed_roles(action: str, request: Any) -> tuple[str, ...]:
    """The role ARNs an event of `action` passed (none for an action that passes no role)."""
    entry = ROLE_PASSING.get(action)
    if entry is None or not isinstance(request, dict):
        return ()
    found: list[str] = []
    for name in entry.parameters:
        value = request.get(name)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and is_role_arn(item) and item not in found:
                found.append(item)
    return tuple(found)


def passed_to_service(action: str) -> str | None:
    """The service principal an action passes roles to (case-insensitive), None when it passes none."""
    return _SERVICES.get(action.lower())
