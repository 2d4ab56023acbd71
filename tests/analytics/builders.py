"""Small hand-built AWS account snapshots for detector tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from permscope.clouds.aws.effective.account import ScpLevel
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
    PolicyVersion,
    Resource,
    Usage,
)
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.effective import action_index

ACCOUNT = "111111111111"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=400)
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}


def allow(*actions: str, resource: Any = "*", effect: str = "Allow", **extra: Any) -> dict[str, Any]:
    """A one-statement policy document."""
    statement = {"Effect": effect, "Action": list(actions), "Resource": resource, **extra}
    return {"Version": "2012-10-17", "Statement": [statement]}


def days_ago(days: int) -> datetime:
    """An instant `days` before NOW."""
    return NOW - timedelta(days=days)


def arn(kind: str, name: str) -> str:
    """The ARN of a user, role or group of the test account."""
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


@dataclass
class Account:
    """A test account being built; `snapshot()` freezes it."""

    identities: list[Identity] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    resources: list[Resource] | None = None
    usages: list[Usage] = field(default_factory=list)
    scp_levels: list[ScpLevel] = field(default_factory=list)
    organization_id: str | None = None
    _count: int = 0

    def identity(
        self,
        kind: str,
        name: str,
        *documents: dict[str, Any],
        boundary: dict[str, Any] | None = None,
        trust: dict[str, Any] | None = None,
        created: datetime | None = OLD,
        last_active: datetime | None = None,
        service_linked: bool = False,
        attributes: dict[str, Any] | None = None,
    ) -> str:
        """Add a user, group or role with inline policies (and boundary / trust); returns its ARN."""
        external_id = arn(kind, name)
        self.identities.append(
            Identity(
                external_id=external_id,
                kind=IdentityKind(kind),
                display_name=name,
                source="aws",
                created_at=created,
                last_active_at=last_active,
                managed_by_cloud=service_linked,
                attributes=dict(attributes or {}),
            )
        )
        for document in documents:
            self._policy(external_id, document, PolicyKind.INLINE, AssignmentRelation.INLINE)
        if boundary is not None:
            self._policy(external_id, boundary, PolicyKind.MANAGED, AssignmentRelation.BOUNDARY)
        if trust is not None:
            self._policy(external_id, trust, PolicyKind.TRUST, AssignmentRelation.TRUST)
        return external_id

    def _policy(
        self, owner: str, document: dict[str, Any], kind: PolicyKind, relation: AssignmentRelation
    ) -> None:
        self._count += 1
        policy_id = f"{owner}#policy{self._count}"
        self.policies.append(
            Policy(
                external_id=policy_id,
                name=f"policy{self._count}",
                kind=kind,
                managed_by_cloud=False,
                document=document,
            )
        )
        self.assignments.append(
            Assignment(
                identity_external_id=owner, policy_external_id=policy_id, relation=relation, scope=ACCOUNT
            )
        )

    def managed(self, name: str, document: dict[str, Any], *holders: str,
                others: tuple[dict[str, Any], ...] = ()) -> str:  # fmt: skip
        """Add a customer managed policy attached to `holders`: `document` its default version (v1), `others`
        its non-default versions (v2, v3, ...); returns its ARN."""
        external_id = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        versions = [PolicyVersion(version_id="v1", document=document, is_default=True)]
        versions += [
            PolicyVersion(version_id=f"v{n}", document=d, is_default=False) for n, d in enumerate(others, 2)
        ]
        self.policies.append(Policy(external_id=external_id, name=name, kind=PolicyKind.MANAGED,
                                    managed_by_cloud=False, document=document, default_version="v1",
                                    versions=versions))  # fmt: skip
        for holder in holders:
            self.assignments.append(Assignment(identity_external_id=holder, policy_external_id=external_id,
                                               relation=AssignmentRelation.ATTACHED, scope=ACCOUNT))  # fmt: skip
        return external_id

    def member(self, group: str, user: str) -> None:
        """Put a user in a group."""
        self.memberships.append(Membership(group_external_id=group, member_external_id=user))

    def used(self, identity: str, *actions: str, when: datetime | None = None) -> None:
        """Record usage of actions."""
        moment = when or days_ago(5)
        for action in actions:
            self.usages.append(
                Usage(
                    identity_external_id=identity,
                    action=action,
                    resource=None,
                    first_seen=moment,
                    last_seen=moment,
                    count=1,
                )
            )

    def resource(self, resource_type: str, name: str, **facts: Any) -> str:
        """Add a collected resource ("s3:bucket", "ec2:instance", "ec2:security-group", "lambda:function")."""
        service = resource_type.split(":", 1)[0]
        if resource_type == "s3:bucket":
            external_id = f"arn:aws:s3:::{name}"
        elif resource_type == "lambda:function":
            external_id = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
        elif resource_type == "ec2:instance":
            external_id = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{name}"
            facts.setdefault("instanceId", name)
        else:
            external_id = f"arn:aws:{service}:us-east-1:{ACCOUNT}:{resource_type.split(':', 1)[1]}/{name}"
        if self.resources is None:
            self.resources = []
        self.resources.append(
            Resource(
                external_id=external_id,
                resource_type=resource_type,
                service=service,
                display_name=name,
                region=None if service == "s3" else "us-east-1",
                facts=facts,
            )
        )
        return external_id

    def scp(self, *documents: dict[str, Any]) -> None:
        """Add an SCP level holding these documents."""
        level = len(self.scp_levels) + 1
        self.scp_levels.append(
            ScpLevel(
                label=f"level{level}", policies=tuple((f"scp{level}-{n}", d) for n, d in enumerate(documents))
            )
        )

    def snapshot(self, *, activity: bool | None = None, **settings: Any) -> SystemSnapshot:
        """The snapshot (activity known when any usage was recorded, unless said otherwise)."""
        attributes = {"organizationId": self.organization_id} if self.organization_id else {}
        aws = plugin(Cloud.AWS)
        system = AuthorizationSystem(cloud=Cloud.AWS, system_id=ACCOUNT, name="test", attributes=attributes)
        return SystemSnapshot(
            system=system,
            identities=self.identities,
            memberships=self.memberships,
            policies=self.policies,
            assignments=self.assignments,
            resources=self.resources,
            usages=self.usages,
            has_activity=bool(self.usages) if activity is None else activity,
            index=action_index(),
            view_factory=aws.view,
            available=aws.available_data(system, self.identities),
            organization=[level.to_dict() for level in self.scp_levels],
            settings=AnalysisSettings(now=NOW, **settings),
            taken_at=NOW,
        )


def types_of(findings: Any) -> dict[str, str]:
    """{subject name: finding type} of some findings."""
    return {f.subject_name: f.finding_type for f in findings}
