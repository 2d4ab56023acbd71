"""Azure's part of remediation plans (`clouds.base.RemediationRules`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from permscope.clouds.azure.authorization import ArmAuthorization
from permscope.clouds.azure.remediation import candidates as found
from permscope.clouds.azure.remediation import generated, scripts
from permscope.clouds.azure.remediation.connector import AzureRemediationConnector
from permscope.clouds.base import Echo
from permscope.core.inventory import Assignment, Policy
from permscope.core.remediation import Candidate, RemediationConnector, StepKind, StepSpec
from permscope.core.snapshot import SystemSnapshot


class AzureRemediationRules:
    """Candidates from the stored subscription, the ARM connector, Azure CLI scripts and Terraform."""

    replaceable: frozenset[StepKind] = frozenset(
        {StepKind.DELETE_ROLE_ASSIGNMENT}
    )  # a generated role's place

    def candidates(self, snapshot: SystemSnapshot, identity: str) -> list[Candidate]:
        """Role assignments inside the subscription, and group memberships (manual)."""
        return found.grant_candidates(snapshot, identity)

    def manual_steps(self, snapshot: SystemSnapshot, identity: str) -> list[Candidate]:
        """The principal itself (never applied)."""
        return found.manual_candidates(snapshot, identity)

    def recently_used(self, snapshot: SystemSnapshot, identity: str, since: datetime) -> int:
        """Nothing beyond the usage rows (the Activity Log is all Azure says about use)."""
        return 0

    def generated_step(
        self, snapshot: SystemSnapshot, identity: str, name: str, document: dict[str, Any]
    ) -> tuple[Candidate, Policy, tuple[Assignment, ...]]:
        """Creating the generated custom role and assigning it at its scopes (ValueError when it cannot be)."""
        return generated.generated_step(snapshot, identity, name, document)

    def generated_quota(
        self,
        snapshot: SystemSnapshot,
        identity: str,
        documents: Sequence[tuple[str, dict[str, Any]]],
    ) -> str | None:
        """No quota checked: one custom role and a few assignments (ARM's limits, 5,000 custom roles per tenant
        and 4,000 assignments per subscription, are reported by apply when reached)."""
        return None

    def credential_step(
        self, snapshot: SystemSnapshot, identity: str, credential_id: str
    ) -> Candidate | None:
        """Deleting an unused client secret or certificate (manual)."""
        return found.credential_step(snapshot, identity, credential_id)

    def connector(
        self, system_id: str, *, settings: Any, dry_run: bool, echo: Echo | None
    ) -> RemediationConnector:
        """The ARM connector of one subscription (the azure_grant_* service principal, else the default chain)."""
        secret = settings.azure_grant_client_secret
        arm = ArmAuthorization(
            system_id,
            tenant_id=settings.azure_grant_tenant_id,
            client_id=settings.azure_grant_client_id,
            client_secret=secret.get_secret_value() if secret is not None else None,
        )
        return AzureRemediationConnector(arm, dry_run=dry_run, echo=echo)

    def script(self, steps: Sequence[StepSpec], *, header: str, rollback: bool) -> str:
        """Azure CLI commands of the steps, as a shell script."""
        subscription = next(
            (str(s.parameters["subscription"]) for s in steps if "subscription" in s.parameters), ""
        )
        return scripts.cli_script(subscription, steps, header=header, rollback=rollback)

    def terraform(
        self, snapshot: SystemSnapshot, identity: str, steps: Sequence[StepSpec], *, header: str
    ) -> str:
        """Terraform removing the plan's role assignments."""
        return scripts.terraform(snapshot, identity, steps, header=header)
