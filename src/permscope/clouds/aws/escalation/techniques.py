"""Our encoding of the AWS privilege-escalation techniques catalogued by pathfinding.cloud (ids kept).

Each technique names the actions it needs, what each action is performed on (`Ref`), what it targets (`Kind`:
the source itself, another user, a role, a role passed to a new resource, an existing resource and its role,
...) and what it yields: the target principal's permissions, or (`Yield.CEILING`) whatever the target may be
given: an attacker who can write a principal's policies gives it `*`, limited only by its permissions boundary
and the SCPs. The table is ours; tests/analytics/privesc compares its ids and action sets with the published
list (../shared/data/aws/privesc_paths_pathfinding_cloud.json), which is never read at runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Ref(StrEnum):
    """What one required action is performed on (the resource ARN the engine decides the action for)."""

    SELF = "self"  # the acting principal's own ARN
    USER = "user"  # the target user
    ROLE = "role"  # the target role (modified, assumed, or whose trust policy is rewritten)
    GROUP = "group"  # the target group
    POLICY = "policy"  # a customer managed policy attached to the target
    PASSED = "passed"  # the role passed to a service (iam:PassRole; iam:PassedToService is set)
    NEW = "new"  # a resource the attacker creates: any resource of the service in the account
    EXISTING = "existing"  # the existing resource acted on (its ARN when collected, else any of its type)
    ANY = "any"  # "*": an action without a resource (e.g. ec2:DescribeInstances)


class Kind(StrEnum):
    """How a technique chooses its targets."""

    SELF_PRINCIPAL = "selfPrincipal"  # write the source's own policies
    SELF_GROUP = "selfGroup"  # write the policies of a group the source user belongs to
    SELF_POLICY = "selfPolicy"  # new default version of a customer policy attached to the source
    JOIN_GROUP = "joinGroup"  # add the source user to a group: it gains the group's permissions
    USER_CREDENTIALS = "userCredentials"  # obtain another user's credentials
    USER_MODIFY = "userModify"  # write another user's policies, then obtain its credentials
    ROLE_ASSUME = "roleAssume"  # sts:AssumeRole (identity policy and trust policy)
    ROLE_TRUST = "roleTrust"  # rewrite a role's trust policy, then assume it
    ROLE_MODIFY = "roleModify"  # write a role's policies, then assume it (trust or rewritten trust)
    POLICY_ROLE = "policyRole"  # new version of a customer policy attached to a role, then assume it
    SELF_VERSION = (
        "selfVersion"  # make another existing version of a customer policy attached to the source default
    )
    VERSION_ROLE = "versionRole"  # the same for a policy attached to a role, then assume it
    NEW_PASSROLE = "newPassRole"  # pass a role trusting a service to a new resource of that service
    EXISTING = "existing"  # run code in an existing resource that carries a role
    # the source changes ANOTHER principal's permissions and stays itself (`Step.grants`): the target gains
    GRANT_USER = "grantUser"  # write another user's policies
    GRANT_ROLE = "grantRole"  # write another role's policies
    GRANT_GROUP = "grantGroup"  # write a group's policies: its members gain
    GRANT_JOIN = "grantJoin"  # add another user to a group: that user gains the group's permissions


class Yield(StrEnum):
    """What reaching the target gives the attacker."""

    TARGET = "target"  # the target principal's (or group's) effective permissions
    CEILING = "ceiling"  # `*` within the target's permissions boundary and the SCPs
    JOINED = "joined"  # the target user's permissions once in the `via` group (under its own boundary)
    VERSION = "version"  # the target's permissions with the `via` policy version ("<policy ARN>#<version>")
    #                      in place of that policy's default one


@dataclass(frozen=True, slots=True)
class ExistingResource:
    """The kind of existing resource a technique needs; `collected` types are checked against the inventory."""

    label: str  # e.g. "Lambda function"
    service: str  # Resource.service, e.g. "lambda"
    resource_type: str  # e.g. "function" (Resource.resource_type is "function" or "lambda:function")
    collected: bool = False  # permscope collects these resources (and their role)


@dataclass(frozen=True, slots=True)
class Technique:
    """One escalation technique: its id and name, the actions it needs, what it targets and yields."""

    technique_id: str
    name: str
    category: str  # self-escalation, principal-access, new-passrole, existing-passrole
    kind: Kind
    actions: tuple[tuple[str, Ref], ...]  # every one must be allowed, on what its Ref names
    yields: Yield = Yield.TARGET
    services: tuple[str, ...] = ()  # the service principals the target role must trust
    existing: ExistingResource | None = None  # an existing resource the technique needs
    instance_profile: bool = False  # the passed role must have an instance profile (EC2)
    source_kinds: tuple[str, ...] = ("user", "role")  # which principals can use it
    action_names: tuple[str, ...] = field(init=False)  # the required actions, in order

    def __post_init__(self) -> None:
        object.__setattr__(self, "action_names", tuple(action for action, _ref in self.actions))


LAMBDA_FUNCTION = ExistingResource("Lambda function", "lambda", "function", collected=True)
EC2_INSTANCE = ExistingResource("EC2 instance", "ec2", "instance", collected=True)
APPRUNNER_SERVICE = ExistingResource("App Runner service", "apprunner", "service")
CODE_INTERPRETER = ExistingResource(
    "Bedrock AgentCore code interpreter", "bedrock-agentcore", "code-interpreter"
)
STACK = ExistingResource("CloudFormation stack", "cloudformation", "stack")
STACK_SET = ExistingResource("CloudFormation stack set", "cloudformation", "stackset")
CODEBUILD_PROJECT = ExistingResource("CodeBuild project", "codebuild", "project")
LAUNCH_TEMPLATE = ExistingResource("EC2 launch template", "ec2", "launch-template")
ECS_CLUSTER = ExistingResource("ECS cluster", "ecs", "cluster")
ECS_TASK_DEFINITION = ExistingResource("ECS task definition", "ecs", "task-definition")
ECS_TASK = ExistingResource("running ECS task", "ecs", "task")
GLUE_ENDPOINT = ExistingResource("Glue development endpoint", "glue", "devEndpoint")
GLUE_JOB = ExistingResource("Glue job", "glue", "job")
NOTEBOOK = ExistingResource("SageMaker notebook instance", "sagemaker", "notebook-instance")

APPRUNNER = ("tasks.apprunner.amazonaws.com",)
BEDROCK = ("bedrock-agentcore.amazonaws.com",)
CLOUDFORMATION = ("cloudformation.amazonaws.com",)
CODEBUILD = ("codebuild.amazonaws.com",)
DATAPIPELINE = ("datapipeline.amazonaws.com", "elasticmapreduce.amazonaws.com")
EC2 = ("ec2.amazonaws.com",)
ECS_TASKS = ("ecs-tasks.amazonaws.com",)
GLUE = ("glue.amazonaws.com",)
LAMBDA = ("lambda.amazonaws.com",)
SAGEMAKER = ("sagemaker.amazonaws.com",)

PASS = ("iam:PassRole", Ref.PASSED)
_NEW, _EXISTING = "new-passrole", "existing-passrole"
_SELF, _ACCESS = "self-escalation", "principal-access"
GRANTS = "grants-admin"  # our category: the source hands another principal administrator-equivalent rights


def _new(action: str) -> tuple[str, Ref]:
    return (action, Ref.NEW)


def _on(action: str) -> tuple[str, Ref]:
    return (action, Ref.EXISTING)


def _passrole(tid: str, name: str, services: tuple[str, ...], *actions: tuple[str, Ref],
              existing: ExistingResource | None = None, instance_profile: bool = False) -> Technique:  # fmt: skip
    """A technique that passes a role trusting `services` to a resource it creates (or updates)."""
    return Technique(tid, name, _NEW, Kind.NEW_PASSROLE, (PASS, *actions), services=services,
                     existing=existing, instance_profile=instance_profile)  # fmt: skip


def _existing(tid: str, name: str, services: tuple[str, ...], resource: ExistingResource,
              *actions: tuple[str, Ref], category: str = _EXISTING) -> Technique:  # fmt: skip
    """A technique that runs code in an existing resource and acts with that resource's role (an EC2 instance
    or launch template acts through an instance profile: the role must have one)."""
    return Technique(tid, name, category, Kind.EXISTING, actions, services=services, existing=resource,
                     instance_profile=resource.service == "ec2")  # fmt: skip


# fmt: off
TECHNIQUES: tuple[Technique, ...] = (
    _passrole("apprunner-001", "iam:PassRole + apprunner:CreateService", APPRUNNER,
              _new("apprunner:CreateService")),
    _existing("apprunner-002", "apprunner:UpdateService", APPRUNNER, APPRUNNER_SERVICE,
              _on("apprunner:UpdateService")),
    _passrole("bedrock-001", "iam:PassRole + bedrock-agentcore:CreateCodeInterpreter + "
              "bedrock-agentcore:StartCodeInterpreterSession + bedrock-agentcore:InvokeCodeInterpreter", BEDROCK,
              _new("bedrock-agentcore:CreateCodeInterpreter"), _new("bedrock-agentcore:StartCodeInterpreterSession"),
              _new("bedrock-agentcore:InvokeCodeInterpreter")),
    _existing("bedrock-002", "bedrock-agentcore:StartCodeInterpreterSession + "
              "bedrock-agentcore:InvokeCodeInterpreter", BEDROCK, CODE_INTERPRETER,
              _on("bedrock-agentcore:StartCodeInterpreterSession"), _on("bedrock-agentcore:InvokeCodeInterpreter")),
    _passrole("cloudformation-001", "iam:PassRole + cloudformation:CreateStack", CLOUDFORMATION,
              _new("cloudformation:CreateStack")),
    _existing("cloudformation-002", "cloudformation:UpdateStack", CLOUDFORMATION, STACK,
              _on("cloudformation:UpdateStack")),
    _passrole("cloudformation-003", "iam:PassRole + cloudformation:CreateStackSet + "
              "cloudformation:CreateStackInstances", CLOUDFORMATION,
              _new("cloudformation:CreateStackSet"), _new("cloudformation:CreateStackInstances")),
    _passrole("cloudformation-004", "iam:PassRole + cloudformation:UpdateStackSet", CLOUDFORMATION,
              _on("cloudformation:UpdateStackSet"), existing=STACK_SET),
    _existing("cloudformation-005", "cloudformation:CreateChangeSet + cloudformation:ExecuteChangeSet",
              CLOUDFORMATION, STACK, _on("cloudformation:CreateChangeSet"), _on("cloudformation:ExecuteChangeSet"),
              category=_NEW),
    _passrole("codebuild-001", "iam:PassRole + codebuild:CreateProject + codebuild:StartBuild", CODEBUILD,
              _new("codebuild:CreateProject"), _new("codebuild:StartBuild")),
    _existing("codebuild-002", "codebuild:StartBuild", CODEBUILD, CODEBUILD_PROJECT, _on("codebuild:StartBuild")),
    _existing("codebuild-003", "codebuild:StartBuildBatch", CODEBUILD, CODEBUILD_PROJECT,
              _on("codebuild:StartBuildBatch")),
    _passrole("codebuild-004", "iam:PassRole + codebuild:CreateProject + codebuild:StartBuildBatch", CODEBUILD,
              _new("codebuild:CreateProject"), _new("codebuild:StartBuildBatch")),
    _passrole("datapipeline-001", "iam:PassRole + datapipeline:CreatePipeline + "
              "datapipeline:PutPipelineDefinition + datapipeline:ActivatePipeline", DATAPIPELINE,
              _new("datapipeline:CreatePipeline"), _new("datapipeline:PutPipelineDefinition"),
              _new("datapipeline:ActivatePipeline")),
    _passrole("ec2-001", "iam:PassRole + ec2:RunInstances", EC2, _new("ec2:RunInstances"), instance_profile=True),
    _existing("ec2-002", "ec2:ModifyInstanceAttribute + ec2:StopInstances + ec2:StartInstances", EC2,
              EC2_INSTANCE, _on("ec2:ModifyInstanceAttribute"), _on("ec2:StopInstances"),
              _on("ec2:StartInstances")),
    _passrole("ec2-003", "iam:PassRole + ec2:RequestSpotInstances", EC2, _new("ec2:RequestSpotInstances"),
              instance_profile=True),
    _existing("ec2-004", "ec2:CreateLaunchTemplateVersion + ec2:ModifyLaunchTemplate", EC2, LAUNCH_TEMPLATE,
              _on("ec2:CreateLaunchTemplateVersion"), _on("ec2:ModifyLaunchTemplate")),
    _existing("ec2instanceconnect-003", "ec2-instance-connect:SendSSHPublicKey", EC2, EC2_INSTANCE,
              _on("ec2-instance-connect:SendSSHPublicKey"), ("ec2:DescribeInstances", Ref.ANY)),
    _passrole("ecs-001", "iam:PassRole + ecs:CreateCluster + ecs:RegisterTaskDefinition + ecs:CreateService",
              ECS_TASKS, _new("ecs:CreateCluster"), _new("ecs:RegisterTaskDefinition"), _new("ecs:CreateService")),
    _passrole("ecs-002", "iam:PassRole + ecs:CreateCluster + ecs:RegisterTaskDefinition + ecs:RunTask",
              ECS_TASKS, _new("ecs:CreateCluster"), _new("ecs:RegisterTaskDefinition"), _new("ecs:RunTask")),
    _passrole("ecs-003", "iam:PassRole + ecs:RegisterTaskDefinition + ecs:CreateService", ECS_TASKS,
              _new("ecs:RegisterTaskDefinition"), _new("ecs:CreateService"), existing=ECS_CLUSTER),
    _passrole("ecs-004", "iam:PassRole + ecs:RegisterTaskDefinition + ecs:RunTask", ECS_TASKS,
              _new("ecs:RegisterTaskDefinition"), _new("ecs:RunTask"), existing=ECS_CLUSTER),
    _passrole("ecs-005", "iam:PassRole + ecs:RegisterTaskDefinition + ecs:StartTask", ECS_TASKS,
              _new("ecs:RegisterTaskDefinition"), _new("ecs:StartTask"), existing=ECS_CLUSTER),
    # ecs-006 is not in the published list we compare with (a newer pathfinding.cloud id): a shell in a running
    # task through ECS Exec (the CLI calls DescribeTasks first), then the task role's credentials.
    _existing("ecs-006", "ecs:ExecuteCommand + ecs:DescribeTasks", ECS_TASKS, ECS_TASK,
              _on("ecs:ExecuteCommand"), _on("ecs:DescribeTasks")),
    # ecs-008 is not in the published list we compare with (a newer pathfinding.cloud id): a task definition
    # that exists already is run with another role passed as its task role.
    _passrole("ecs-008", "iam:PassRole + ecs:RunTask", ECS_TASKS, _on("ecs:RunTask"), existing=ECS_TASK_DEFINITION),
    _passrole("glue-001", "iam:PassRole + glue:CreateDevEndpoint", GLUE, _new("glue:CreateDevEndpoint")),
    _existing("glue-002", "glue:UpdateDevEndpoint", GLUE, GLUE_ENDPOINT, _on("glue:UpdateDevEndpoint")),
    _passrole("glue-003", "iam:PassRole + glue:CreateJob + glue:StartJobRun", GLUE,
              _new("glue:CreateJob"), _new("glue:StartJobRun")),
    _passrole("glue-004", "iam:PassRole + glue:CreateJob + glue:CreateTrigger", GLUE,
              _new("glue:CreateJob"), _new("glue:CreateTrigger")),
    _passrole("glue-005", "iam:PassRole + glue:UpdateJob + glue:StartJobRun", GLUE,
              _on("glue:UpdateJob"), _on("glue:StartJobRun"), existing=GLUE_JOB),
    _passrole("glue-006", "iam:PassRole + glue:UpdateJob + glue:CreateTrigger", GLUE,
              _on("glue:UpdateJob"), _new("glue:CreateTrigger"), existing=GLUE_JOB),
    # glue-007 is not in the published list we compare with (a newer pathfinding.cloud id): an interactive
    # session runs with the passed role, and RunStatement executes code in it.
    _passrole("glue-007", "iam:PassRole + glue:CreateSession + glue:RunStatement", GLUE,
              _new("glue:CreateSession"), _new("glue:RunStatement")),
    Technique("iam-001", "iam:CreatePolicyVersion", _SELF, Kind.SELF_POLICY,
              (("iam:CreatePolicyVersion", Ref.POLICY),), Yield.CEILING),
    # Ours (pathfinding.cloud folds it into iam-001): another version a customer policy already has becomes its
    # default; an escalation only when that version grants more than the target holds (the export carries
    # every version in PolicyVersionList).
    Technique("iam-setdefault-001", "iam:SetDefaultPolicyVersion", _SELF, Kind.SELF_VERSION,
              (("iam:SetDefaultPolicyVersion", Ref.POLICY),), Yield.VERSION),
    Technique("iam-setdefault-002", "iam:SetDefaultPolicyVersion + sts:AssumeRole", _ACCESS, Kind.VERSION_ROLE,
              (("iam:SetDefaultPolicyVersion", Ref.POLICY), ("sts:AssumeRole", Ref.ROLE)), Yield.VERSION),
    Technique("iam-002", "iam:CreateAccessKey", _ACCESS, Kind.USER_CREDENTIALS,
              (("iam:CreateAccessKey", Ref.USER),)),
    Technique("iam-003", "iam:CreateAccessKey + iam:DeleteAccessKey", _ACCESS, Kind.USER_CREDENTIALS,
              (("iam:CreateAccessKey", Ref.USER), ("iam:DeleteAccessKey", Ref.USER))),
    Technique("iam-004", "iam:CreateLoginProfile", _ACCESS, Kind.USER_CREDENTIALS,
              (("iam:CreateLoginProfile", Ref.USER),)),
    Technique("iam-005", "iam:PutRolePolicy", _SELF, Kind.SELF_PRINCIPAL,
              (("iam:PutRolePolicy", Ref.SELF),), Yield.CEILING, source_kinds=("role",)),
    Technique("iam-006", "iam:UpdateLoginProfile", _ACCESS, Kind.USER_CREDENTIALS,
              (("iam:UpdateLoginProfile", Ref.USER),)),
    Technique("iam-007", "iam:PutUserPolicy", _SELF, Kind.SELF_PRINCIPAL,
              (("iam:PutUserPolicy", Ref.SELF),), Yield.CEILING, source_kinds=("user",)),
    Technique("iam-008", "iam:AttachUserPolicy", _SELF, Kind.SELF_PRINCIPAL,
              (("iam:AttachUserPolicy", Ref.SELF),), Yield.CEILING, source_kinds=("user",)),
    Technique("iam-009", "iam:AttachRolePolicy", _SELF, Kind.SELF_PRINCIPAL,
              (("iam:AttachRolePolicy", Ref.SELF),), Yield.CEILING, source_kinds=("role",)),
    Technique("iam-010", "iam:AttachGroupPolicy", _SELF, Kind.SELF_GROUP,
              (("iam:AttachGroupPolicy", Ref.GROUP),), Yield.CEILING, source_kinds=("user",)),
    Technique("iam-011", "iam:PutGroupPolicy", _SELF, Kind.SELF_GROUP,
              (("iam:PutGroupPolicy", Ref.GROUP),), Yield.CEILING, source_kinds=("user",)),
    Technique("iam-012", "iam:UpdateAssumeRolePolicy", _ACCESS, Kind.ROLE_TRUST,
              (("iam:UpdateAssumeRolePolicy", Ref.ROLE),)),
    Technique("iam-013", "iam:AddUserToGroup", _SELF, Kind.JOIN_GROUP,
              (("iam:AddUserToGroup", Ref.GROUP),), source_kinds=("user",)),
    Technique("iam-014", "iam:AttachRolePolicy + sts:AssumeRole", _ACCESS, Kind.ROLE_MODIFY,
              (("iam:AttachRolePolicy", Ref.ROLE), ("sts:AssumeRole", Ref.ROLE)), Yield.CEILING),
    Technique("iam-015", "iam:AttachUserPolicy + iam:CreateAccessKey", _ACCESS, Kind.USER_MODIFY,
              (("iam:AttachUserPolicy", Ref.USER), ("iam:CreateAccessKey", Ref.USER)), Yield.CEILING),
    Technique("iam-016", "iam:CreatePolicyVersion + sts:AssumeRole", _ACCESS, Kind.POLICY_ROLE,
              (("iam:CreatePolicyVersion", Ref.POLICY), ("sts:AssumeRole", Ref.ROLE)), Yield.CEILING),
    Technique("iam-017", "iam:PutRolePolicy + sts:AssumeRole", _ACCESS, Kind.ROLE_MODIFY,
              (("iam:PutRolePolicy", Ref.ROLE), ("sts:AssumeRole", Ref.ROLE)), Yield.CEILING),
    Technique("iam-018", "iam:PutUserPolicy + iam:CreateAccessKey", _ACCESS, Kind.USER_MODIFY,
              (("iam:PutUserPolicy", Ref.USER), ("iam:CreateAccessKey", Ref.USER)), Yield.CEILING),
    Technique("iam-019", "iam:AttachRolePolicy + iam:UpdateAssumeRolePolicy", _ACCESS, Kind.ROLE_MODIFY,
              (("iam:AttachRolePolicy", Ref.ROLE), ("iam:UpdateAssumeRolePolicy", Ref.ROLE)), Yield.CEILING),
    Technique("iam-020", "iam:CreatePolicyVersion + iam:UpdateAssumeRolePolicy", _ACCESS, Kind.POLICY_ROLE,
              (("iam:CreatePolicyVersion", Ref.POLICY), ("iam:UpdateAssumeRolePolicy", Ref.ROLE)),
              Yield.CEILING),
    Technique("iam-021", "iam:PutRolePolicy + iam:UpdateAssumeRolePolicy", _ACCESS, Kind.ROLE_MODIFY,
              (("iam:PutRolePolicy", Ref.ROLE), ("iam:UpdateAssumeRolePolicy", Ref.ROLE)), Yield.CEILING),
    _passrole("lambda-001", "iam:PassRole + lambda:CreateFunction + lambda:InvokeFunction", LAMBDA,
              _new("lambda:CreateFunction"), _new("lambda:InvokeFunction")),
    _passrole("lambda-002", "iam:PassRole + lambda:CreateFunction + lambda:CreateEventSourceMapping", LAMBDA,
              _new("lambda:CreateFunction"), _new("lambda:CreateEventSourceMapping")),
    _existing("lambda-003", "lambda:UpdateFunctionCode", LAMBDA, LAMBDA_FUNCTION, _on("lambda:UpdateFunctionCode")),
    _existing("lambda-004", "lambda:UpdateFunctionCode + lambda:InvokeFunction", LAMBDA, LAMBDA_FUNCTION,
              _on("lambda:UpdateFunctionCode"), _on("lambda:InvokeFunction")),
    _existing("lambda-005", "lambda:UpdateFunctionCode + lambda:AddPermission", LAMBDA, LAMBDA_FUNCTION,
              _on("lambda:UpdateFunctionCode"), _on("lambda:AddPermission")),
    _passrole("lambda-006", "iam:PassRole + lambda:CreateFunction + lambda:AddPermission", LAMBDA,
              _new("lambda:CreateFunction"), _new("lambda:AddPermission")),
    _passrole("sagemaker-001", "iam:PassRole + sagemaker:CreateNotebookInstance", SAGEMAKER,
              _new("sagemaker:CreateNotebookInstance")),
    _passrole("sagemaker-002", "iam:PassRole + sagemaker:CreateTrainingJob", SAGEMAKER,
              _new("sagemaker:CreateTrainingJob")),
    _passrole("sagemaker-003", "iam:PassRole + sagemaker:CreateProcessingJob", SAGEMAKER,
              _new("sagemaker:CreateProcessingJob")),
    _existing("sagemaker-004", "sagemaker:CreatePresignedNotebookInstanceUrl", SAGEMAKER, NOTEBOOK,
              _on("sagemaker:CreatePresignedNotebookInstanceUrl")),
    _existing("sagemaker-005", "sagemaker:CreateNotebookInstanceLifecycleConfig + sagemaker:StopNotebookInstance"
              " + sagemaker:UpdateNotebookInstance + sagemaker:StartNotebookInstance", SAGEMAKER, NOTEBOOK,
              _new("sagemaker:CreateNotebookInstanceLifecycleConfig"), _on("sagemaker:StopNotebookInstance"),
              _on("sagemaker:UpdateNotebookInstance"), _on("sagemaker:StartNotebookInstance")),
    _existing("ssm-001", "ssm:StartSession", EC2, EC2_INSTANCE, _on("ssm:StartSession")),
    _existing("ssm-002", "ssm:SendCommand", EC2, EC2_INSTANCE, _on("ssm:SendCommand")),
    Technique("sts-001", "sts:AssumeRole", _ACCESS, Kind.ROLE_ASSUME, (("sts:AssumeRole", Ref.ROLE),)),
    # Ours (not pathfinding.cloud ids): the policy-writing actions of iam-005/007/008/009/010/011/013 used on
    # ANOTHER principal, by a source that cannot become it. The target, not the source, gains `*` (within its
    # own boundary and the SCPs); kept only when that makes the target administrator-equivalent.
    Technique("grant-001", "iam:PutUserPolicy on another user", GRANTS, Kind.GRANT_USER,
              (("iam:PutUserPolicy", Ref.USER),), Yield.CEILING),
    Technique("grant-002", "iam:AttachUserPolicy on another user", GRANTS, Kind.GRANT_USER,
              (("iam:AttachUserPolicy", Ref.USER),), Yield.CEILING),
    Technique("grant-003", "iam:PutRolePolicy on another role", GRANTS, Kind.GRANT_ROLE,
              (("iam:PutRolePolicy", Ref.ROLE),), Yield.CEILING),
    Technique("grant-004", "iam:AttachRolePolicy on another role", GRANTS, Kind.GRANT_ROLE,
              (("iam:AttachRolePolicy", Ref.ROLE),), Yield.CEILING),
    Technique("grant-005", "iam:PutGroupPolicy on a group of other users", GRANTS, Kind.GRANT_GROUP,
              (("iam:PutGroupPolicy", Ref.GROUP),), Yield.CEILING),
    Technique("grant-006", "iam:AttachGroupPolicy on a group of other users", GRANTS, Kind.GRANT_GROUP,
              (("iam:AttachGroupPolicy", Ref.GROUP),), Yield.CEILING),
    Technique("grant-007", "iam:AddUserToGroup: another user into an administrator group", GRANTS,
              Kind.GRANT_JOIN, (("iam:AddUserToGroup", Ref.GROUP),), Yield.JOINED),
)
# fmt: on

GRANT_KINDS = frozenset({Kind.GRANT_USER, Kind.GRANT_ROLE, Kind.GRANT_GROUP, Kind.GRANT_JOIN})

TECHNIQUES_BY_ID: dict[str, Technique] = {technique.technique_id: technique for technique in TECHNIQUES}
