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
    RemediationConnector,
    StepKind,
    StepSpec,
)
from permscope.core.snapshot import SystemSnapshot


class GcpRemediationRules:
    """Candidates from the stored project, the IAM connector, gcloud scripts and Terraform."""

    replaceable: frozenset[StepKind] = frozenset(
        {StepKind.REMOVE_BINDING}
    )  # a generated role replaces bindings

    def candidates(self, snapshot: SystemSnapshot, identity: str) -> list[Candidate]:
        """Bindings in the project (the project and its resources of `kinds.KINDS`), and direct group memberships."""
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
        """Creating the generated custom role and binding the member to it where the generator chose
        (ValueError for a resource type the connector does not write)."""
        return found.generated_step(snapshot, identity, name, document)

    def generated_quota(
        self,
        snapshot: SystemSnapshot,
        identity: str,
        documents: Sequence[tuple[str, dict[str, Any]]],
    ) -> str | None:
        """None: a generated role is one custom role of the project, with no quota shared with other grants
        (IAM's own limits, 3,000 permissions per role and 300 custom roles per project, are left to IAM)."""
        return None

    def credential_step(
        self, snapshot: SystemSnapshot, identity: str, credential_id: str
    ) -> Candidate | None:
        """Disabling an unused user-managed service-account key (enabled again by rollback)."""
        return found.credential_step(snapshot, identity, credential_id)

    def connector(
        self, system_id: str, *, settings: Any, dry_run: bool, echo: Echo | None
    ) -> RemediationConnector:
        """The IAM and Cloud Identity connector of one project (the gcp_grant_* credentials, else application
        default ones)."""
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
        """Terraform removing the plan's bindings and group memberships (and creating the generated role with its
        bindings)."""
        return scripts.terraform(snapshot, identity, steps, header=header)
