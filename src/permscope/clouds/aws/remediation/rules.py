"""AWS's part of remediation plans (`clouds.base.RemediationRules`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from permscope.clouds.aws.remediation import candidates as found
from permscope.clouds.aws.remediation import scripts
from permscope.clouds.aws.remediation.connector import AwsRemediationConnector
from permscope.clouds.base import Echo
from permscope.core.arn import Arn
from permscope.core.inventory import Assignment, Policy
from permscope.core.remediation import Candidate, RemediationConnector, StepKind, StepSpec
from permscope.core.snapshot import SystemSnapshot


class AwsRemediationRules:
    """Candidates from the stored account, the boto3 connector, AWS CLI scripts and Terraform."""

    replaceable: frozenset[StepKind] = frozenset(
        {StepKind.DETACH_MANAGED_POLICY, StepKind.DELETE_INLINE_POLICY, StepKind.REMOVE_FROM_GROUP}
    )  # generated documents replace policy attachments, inline policies and (users) group memberships

    def candidates(self, snapshot: SystemSnapshot, identity: str) -> list[Candidate]:
        """Attached managed policies, inline policies and group memberships of a user or role."""
        return found.grant_candidates(snapshot, identity)

    def manual_steps(self, snapshot: SystemSnapshot, identity: str) -> list[Candidate]:
        """The console password and the user or role itself (never applied)."""
        return found.manual_candidates(snapshot, identity)

    def recently_used(self, snapshot: SystemSnapshot, identity: str, since: datetime) -> int:
        """What Access Advisor says the identity used since `since`."""
        return found.access_advisor_bits(snapshot, identity, since)

    def generated_step(
        self, snapshot: SystemSnapshot, identity: str, name: str, document: dict[str, Any]
    ) -> tuple[Candidate, Policy, tuple[Assignment, ...]]:
        """A generated document as an inline policy of the identity."""
        return found.generated_step(snapshot, identity, name, document)

    def generated_quota(
        self,
        snapshot: SystemSnapshot,
        identity: str,
        documents: Sequence[tuple[str, dict[str, Any]]],
    ) -> str | None:
        """Over IAM's inline-policy quota: the generated documents and the inline policies the identity holds."""
        return found.inline_quota_problem(snapshot, identity, documents)

    def credential_step(
        self, snapshot: SystemSnapshot, identity: str, credential_id: str
    ) -> Candidate | None:
        """Deactivating one of the user's access keys (None for a key the credential report names by slot)."""
        return found.key_step(snapshot, identity, credential_id)

    def connector(
        self, system_id: str, *, settings: Any, dry_run: bool, echo: Echo | None
    ) -> RemediationConnector:
        """The boto3 connector of one account (the grant role, endpoint and region of the settings)."""
        return AwsRemediationConnector(
            system_id,
            role_arn=settings.aws_grant_role,
            endpoint_url=settings.aws_endpoint_url,
            region=settings.aws_region,
            dry_run=dry_run,
            echo=echo,
        )

    def script(self, steps: Sequence[StepSpec], *, header: str, rollback: bool) -> str:
        """AWS CLI commands of the steps, as a shell script."""
        parsed = [Arn.try_parse(step.principal) for step in steps]
        account = next((arn.account_id for arn in parsed if arn is not None and arn.account_id), "")
        return scripts.cli_script(account, steps, header=header, rollback=rollback)

    def terraform(
        self, snapshot: SystemSnapshot, identity: str, steps: Sequence[StepSpec], *, header: str
    ) -> str:
        """The identity's after state in Terraform."""
        return scripts.terraform(snapshot, identity, steps, header=header)
