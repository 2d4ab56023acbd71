"""GCP's part of remediation plans (`clouds.base.RemediationRules`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from permscope.clouds.base import Echo
from permscope.clouds.gcp.iam_client import GcpIam
from permscope.clouds.gcp.remediation import candidates as found
from permscope.clouds.gcp.remediation import scripts
from permscope.clouds.gcp.remediation.connector import GcpRemediationConnector
from permscope.core.inventory import Assignment, Policy
from permscope.core.remediation import (
    Candidate,
    GrantRef,
    PlanRefusedError,
    RemediationConnector,
    StepKind,
    StepSpec,
)
from permscope.core.snapshot import SystemSnapshot


class GcpRemediationRules:
    """Candidates from the stored project, the IAM connector, gcloud scripts and Terraform."""

    replaceable: frozenset[StepKind] = frozenset()  # plans put no generated role yet

    def candidates(self, snapshot: SystemSnapshot, identity: str) -> list[Candidate]:
        """Bindings in the project (project, service accounts, buckets), and group memberships (manual)."""
        return found.grant_candidates(snapshot, identity)

    def manual_steps(self, snapshot: SystemSnapshot, identity: str) -> list[Candidate]:
        """The member itself (never applied)."""
        return found.manual_candidates(snapshot, identity)

    def recently_used(self, snapshot: SystemSnapshot, identity: str, since: datetime) -> int:
        """Nothing beyond the usage rows (the audit logs are all GCP says about use)."""
        return 0

    def generated_step(
        self, snapshot: SystemSnapshot, identity: str, name: str, document: dict[str, Any]
    ) -> tuple[Candidate, Policy, tuple[Assignment, ...]]:
        """Not built for GCP: a generated custom role is created and bound by hand for now."""
        raise PlanRefusedError(
            "GCP plans do not put a generated role in place yet: create the generated custom role and bind it "
            "(permscope remediation generate) first, then plan"
        )

    def generated_quota(
        self,
        snapshot: SystemSnapshot,
        identity: str,
        documents: Sequence[tuple[str, dict[str, Any]]],
        removed: frozenset[GrantRef],
    ) -> str | None:
        """No quota to check: plans put no generated role yet."""
        return None

    def credential_step(
        self, snapshot: SystemSnapshot, identity: str, credential_id: str
    ) -> Candidate | None:
        """Disabling an unused user-managed service-account key (enabled again by rollback)."""
        return found.credential_step(snapshot, identity, credential_id)

    def connector(
        self, system_id: str, *, settings: Any, dry_run: bool, echo: Echo | None
    ) -> RemediationConnector:
        """The IAM connector of one project (the gcp_grant_* credentials, else application default ones)."""
        iam = GcpIam(
            system_id,
            credentials_file=settings.gcp_grant_credentials_file,
            impersonate=settings.gcp_grant_impersonate,
        )
        return GcpRemediationConnector(iam, dry_run=dry_run, echo=echo)

    def script(self, steps: Sequence[StepSpec], *, header: str, rollback: bool) -> str:
        """gcloud commands of the steps, as a shell script."""
        project = next((str(s.parameters["project"]) for s in steps if "project" in s.parameters), "")
        return scripts.cli_script(project, steps, header=header, rollback=rollback)

    def terraform(
        self, snapshot: SystemSnapshot, identity: str, steps: Sequence[StepSpec], *, header: str
    ) -> str:
        """Terraform removing the plan's bindings."""
        return scripts.terraform(snapshot, identity, steps, header=header)
