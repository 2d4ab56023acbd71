"""Documented service-specific rules that change the evaluation of a request, each with its source."""

from __future__ import annotations

from dataclasses import dataclass

from permscope.core.arn import AWS_OWNED, arn_fields

# https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html: "No permissions are
# required to perform this operation. If an administrator attaches a policy to your identity that explicitly
# denies access to the sts:GetCallerIdentity action, you can still perform this operation."
ALWAYS_ALLOWED_ACTIONS = frozenset({"sts:getcalleridentity"})

# https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html#rcp-supported-services
# (the list of services RCPs apply to, as published in 2025; RCPs do not affect any other service).
RCP_SERVICES = frozenset(
    {
        "aoss", "appconfig", "appstream", "autoscaling", "autoscaling-plans", "budgets", "clouddirectory",
        "cloudfront", "cloudsearch", "cloudtrail-data", "codeartifact", "codebuild", "codecommit",
        "codepipeline", "cognito-identity", "cognito-idp", "comprehend", "comprehendmedical",
        "compute-optimizer", "cost-optimization-hub", "dax", "dsql", "dynamodb", "ecr", "ecr-public",
        "events", "firehose", "fis", "fms", "gamelift", "health", "inspector-scan", "kendra", "kinesisvideo",
        "kms", "logs", "memorydb", "networkmonitor", "notifications", "opensearch", "pca-connector-ad",
        "personalize", "polly", "pricing", "resource-groups", "rolesanywhere", "s3", "secretsmanager",
        "servicediscovery", "signin", "sqs", "sts", "support", "swf", "textract", "timestream-influxdb",
        "transcribe", "transfer", "translate", "wafv2", "workspaces", "xray",
    }
)  # fmt: skip
# Same page, "Resources and entities not restricted by RCPs".
RCP_EXEMPT_ACTIONS = frozenset({"kms:retiregrant"})

# Role trust policies: the actions a trust policy authorizes on the role.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html (trust policy)
TRUST_POLICY_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
    }
)

# https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html: "You cannot
# change the permissions defined in AWS managed policies."
MANAGED_POLICY_CHANGES = frozenset(
    {
        "iam:createpolicy",
        "iam:createpolicyversion",
        "iam:deletepolicy",
        "iam:deletepolicyversion",
        "iam:setdefaultpolicyversion",
        "iam:tagpolicy",
        "iam:untagpolicy",
    }
)
# https://repost.aws/knowledge-center/identity-center-aws-reserved-sso: "Cannot perform the operation on the
# protected role 'AWSReservedSSO_...' - this role is only modifiable by AWS"; the roles IAM Identity Center
# creates live under /aws-reserved/sso.amazonaws.com/ and are changed through permission sets
# (https://docs.aws.amazon.com/singlesignon/latest/userguide/using-service-linked-roles.html). Nor can an IAM
# principal pass one to a service (iam:PassRole): their trust policy admits only the account's Identity Center
# SAML provider, and iam-simulate's reserved-role fixtures deny it alike.
RESERVED_ROLE_PATH = "role/aws-reserved/sso.amazonaws.com/"  # the start of their resource segment
RESERVED_ROLE_CHANGES = frozenset(
    {
        "iam:attachrolepolicy",
        "iam:createrole",
        "iam:createservicelinkedrole",
        "iam:deleterole",
        "iam:deleterolepermissionsboundary",
        "iam:deleterolepolicy",
        "iam:deleteservicelinkedrole",
        "iam:detachrolepolicy",
        "iam:passrole",
        "iam:putrolepermissionsboundary",
        "iam:putrolepolicy",
        "iam:tagrole",
        "iam:untagrole",
        "iam:updateassumerolepolicy",
        "iam:updaterole",
        "iam:updateroledescription",
    }
)
# https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html: "The alias name cannot begin with
# alias/aws/. The alias/aws/ prefix is reserved for AWS managed keys."
KMS_ALIAS_CHANGES = frozenset({"kms:createalias", "kms:deletealias", "kms:updatealias"})
_PROTECTING = (
    MANAGED_POLICY_CHANGES | RESERVED_ROLE_CHANGES | KMS_ALIAS_CHANGES
)  # what protected_resource reads


@dataclass(frozen=True, slots=True)
class ServiceRule:
    """A rule of the service itself that decides the request whatever the policies say."""

    allowed: bool
    reason: str


def always_allowed(action_key: str) -> ServiceRule | None:
    """The rule that allows `action_key` (lower-case `service:action`) with no permission at all, if any."""
    if action_key in ALWAYS_ALLOWED_ACTIONS:
        return ServiceRule(True, f"{action_key} needs no permission and cannot be denied (STS API reference)")
    return None


def may_protect(action_key: str) -> bool:
    """Whether `protected_resource` can refuse `action_key` on some resource (False: on none, whatever it is)."""
    return action_key in _PROTECTING


def protected_resource(
    action_key: str, resource: str, *, caller_is_service_linked: bool
) -> ServiceRule | None:
    """The rule that refuses to change an AWS-owned resource (a managed policy, a reserved role, an alias)."""
    if action_key in MANAGED_POLICY_CHANGES and _is_iam(resource, "policy/", account=AWS_OWNED):
        return ServiceRule(False, "AWS managed policies cannot be changed by an account (IAM user guide)")
    if (
        action_key in RESERVED_ROLE_CHANGES
        and _is_iam(resource, RESERVED_ROLE_PATH)
        and not caller_is_service_linked
    ):
        return ServiceRule(
            False,
            "roles IAM Identity Center creates (aws-reserved/sso.amazonaws.com) are only modifiable by AWS",
        )
    if action_key in KMS_ALIAS_CHANGES and ":alias/aws/" in resource:
        return ServiceRule(
            False, "the alias/aws/ prefix is reserved for AWS managed KMS keys (KMS API reference)"
        )
    return None


def resource_policy_required(action_key: str, resource: str) -> str | None:
    """Why the resource's own policy must allow this request even within one account, or None.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html:
    "IAM role trust policies and KMS key policies are exceptions to this logic, because they must explicitly
    allow access for principals."
    """
    if action_key in TRUST_POLICY_ACTIONS and _is_iam(resource, "role/"):
        return "a role's trust policy must allow this (same-account requests included)"
    if action_key.startswith("kms:"):
        fields = arn_fields(resource)
        if fields is not None and fields[1] == "kms" and fields[4].startswith("key/"):
            return "a KMS key policy must allow this (same-account requests included)"
    return None


def _is_iam(resource: str, prefix: str, *, account: str | None = None) -> bool:
    """Whether the request's resource (an ARN, or a wildcard request's ARN pattern) is an IAM resource whose
    resource segment starts with `prefix` (and whose account is `account`, when given)."""
    fields = arn_fields(resource)
    return (
        fields is not None
        and fields[1] == "iam"
        and fields[4].startswith(prefix)
        and (account is None or fields[3] == account)
    )


def rcps_apply_to(action_key: str) -> bool:
    """Whether RCPs restrict `action_key` (its service supports RCPs and the action is not exempt)."""
    service = action_key.split(":", 1)[0]
    return service in RCP_SERVICES and action_key not in RCP_EXEMPT_ACTIONS
