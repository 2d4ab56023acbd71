"""The cloud seam: the `CloudPlugin` protocol every cloud package implements, and the registry of clouds.

Workflows and analytics reach a cloud only through `plugin(cloud)`: its action catalogue, file readers and live
collector, the raw-to-core transform, the evaluator (one request -> decision and explanation), the
effective-permission compiler, activity readers, escalation, the facts analytics asks of it, the
permissions-on-demand grant connector, and least-privilege documents generated from activity. Nothing outside `permscope.clouds` imports a cloud package
(an import-linter contract enforces it). Plugins import their heavy parts (boto3, the catalogue) on first use,
so looking a cloud up costs nothing.

Adding a cloud: a package `clouds/<cloud>/` with a `plugin.py` whose object satisfies `CloudPlugin`, and one
line in `CLOUDS` below (docs/architecture.md has the checklist).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

from permscope.core.errors import CloudNotBuiltError, ConfigurationError
from permscope.core.ids import Cloud
from permscope.userfiles import DEFAULT_LIMITS, FileLimits

if TYPE_CHECKING:  # the protocols' types only: `permscope simulate` reaches `simulator` without loading them
    from permscope.core.access_decisions import AccessDecision
    from permscope.core.activity import ActivityReport, ActivitySink
    from permscope.core.catalog import ActionCatalog, ActionIndex
    from permscope.core.escalation import EscalationModel, TechniqueInfo
    from permscope.core.grants import GrantConnector
    from permscope.core.inventory import (
        Assignment,
        AuthorizationSystem,
        Identity,
        InventoryBatch,
        Policy,
        Usage,
    )
    from permscope.core.least_privilege import Generated, GenerationOptions
    from permscope.core.permissions import ActionVerdict, EffectivePermissions, PrincipalResult
    from permscope.core.remediation import Candidate, RemediationConnector, StepKind, StepSpec
    from permscope.core.requests import RequestSpec
    from permscope.core.snapshot import CloudView, SnapshotSlice, SystemSnapshot

Progress = Callable[[int, int], None]
Echo = Callable[[str], None]
OrganizationLevels = Sequence[Mapping[str, Any]]  # policy levels above a system, root first (cloud's shape)


# -- effective permissions ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PermissionScope:
    """Which stored rows decide a cloud's effective permissions (the store loads exactly these)."""

    identity_kinds: tuple[str, ...]  # identities evaluated (AWS: user, group, role)
    policy_kinds: tuple[str, ...]  # policies that grant (AWS: managed, inline)
    relations: tuple[str, ...]  # assignment relations that count (AWS: attached, inline, boundary)
    scoped: bool = False  # the evaluator needs each assignment's scope and condition (Azure, GCP)
    shared_principals: tuple[
        str, ...
    ] = ()  # principal ids whose assignments reach everyone (Azure: "Everyone")


@dataclass(frozen=True, slots=True)
class EvaluatedIdentity:
    """An identity as an evaluator needs it."""

    external_id: str
    kind: str
    managed_by_cloud: bool = False


@dataclass(slots=True)
class PermissionInventory:
    """What decides one system's effective permissions: identities, policy documents, assignments, groups."""

    identities: list[EvaluatedIdentity] = field(default_factory=list)
    policies: dict[str, tuple[str, Any]] = field(default_factory=dict)  # id -> (name, document or JSON text)
    assignments: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # identity -> [(policy, rel)]
    groups_of: dict[str, list[str]] = field(default_factory=dict)  # member -> its groups
    # identity -> [(policy, relation, scope, condition)], filled when the cloud's PermissionScope is `scoped`
    scoped: dict[str, list[tuple[str, str, str, Any]]] = field(default_factory=dict)


class PermissionEvaluator(Protocol):
    """Effective permissions of one system's identities, each distinct policy compiled once."""

    def evaluate(self, external_id: str) -> PrincipalResult:
        """One identity's effective permissions and the problems met (KeyError for an unknown identity)."""
        ...

    def explain(self, external_id: str) -> list[ActionVerdict]:
        """Every action an identity's policies allow, granted or not in the end, with its reasons."""
        ...

    def statistics(self) -> dict[str, Any]:
        """distinctPolicies, distinctCombinations and unknownActions (per policy name) so far."""
        ...


# -- files, collection, activity ------------------------------------------------------------------------------
class LazyBatches(Sequence["InventoryBatch"]):
    """Batches built each time one is read and not kept: an Azure tenant's or a GCP organization's batches
    repeat every identity reaching each system (8 M identity-project pairs in the issue's organization), so
    only one is ever alive. Its systems' ids are known without building any."""

    __slots__ = ("_build", "_ids")

    def __init__(self, system_ids: Iterable[str], build: Callable[[str], InventoryBatch]) -> None:
        self._ids = tuple(system_ids)
        self._build = build

    @property
    def system_ids(self) -> tuple[str, ...]:
        """The systems' ids, in batch order."""
        return self._ids

    def then(self, finish: Callable[[InventoryBatch], None]) -> LazyBatches:
        """The same batches, each passed to `finish` (which may change it) when it is built."""
        build = self._build

        def finished(system_id: str) -> InventoryBatch:
            batch = build(system_id)
            finish(batch)
            return batch

        return LazyBatches(self._ids, finished)

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> InventoryBatch: ...

    @overload
    def __getitem__(self, index: slice) -> LazyBatches: ...

    def __getitem__(self, index: int | slice) -> InventoryBatch | LazyBatches:
        if isinstance(index, slice):
            return LazyBatches(self._ids[index], self._build)
        return self._build(self._ids[index])

    def __iter__(self) -> Iterator[InventoryBatch]:
        for system_id in self._ids:
            yield self._build(system_id)


@dataclass(slots=True)
class ImportedFiles:
    """What a cloud read from exported files: one batch per authorization system (a list, or `LazyBatches`
    built one at a time), and warnings for all. Every InputError about the files is raised before this exists:
    building a batch cannot fail on the files."""

    batches: Sequence[InventoryBatch]
    warnings: list[str] = field(default_factory=list)
    # the tenant's / organization's home (`system.attributes["role"] == "home"`): its identities, direct
    # memberships, policies and every grant with its anchor, stored once; the batches then carry their system,
    # resources, scopes and residents only. None while the cloud stores each system whole (AWS; Azure, GCP today)
    home: InventoryBatch | None = None

    @property
    def system_ids(self) -> list[str]:
        """The systems' ids in batch order, without building lazy batches."""
        if isinstance(self.batches, LazyBatches):
            return list(self.batches.system_ids)
        return [batch.system.system_id for batch in self.batches]

    def finish_batches(self, finish: Callable[[InventoryBatch], None]) -> None:
        """Pass every batch to `finish` (which may change it): now, or for lazy batches each when it is built."""
        if isinstance(self.batches, LazyBatches):
            self.batches = self.batches.then(finish)
        else:
            for batch in self.batches:
                finish(batch)


@dataclass(slots=True, kw_only=True)
class CollectedSystem:
    """One authorization system a live collection read (or failed to): its batch, or why there is none."""

    system: AuthorizationSystem  # what is known of it even when it failed (id, name, organization placement)
    source: str
    started_at: datetime
    batch: InventoryBatch | None  # None: it could not be read or transformed
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    reach: Any = None  # what the cloud keeps to read the system's activity afterwards (its clients)


class Collector(Protocol):
    """Live, read-only collection through the cloud's SDK."""

    @property
    def parts(self) -> tuple[str, ...]:
        """What can be collected (the `--skip` / `--part` choices)."""
        ...

    def options(self, **values: Any) -> Any:
        """The cloud's collection options from the CLI's values (ConfigurationError when they conflict)."""
        ...

    def collect(self, options: Any, on_start: Callable[[list[str]], None]) -> Iterator[CollectedSystem]:
        """Every system of the options, each as soon as it is read (in no particular order)."""
        ...


@dataclass(frozen=True, slots=True)
class InventoryPorts:
    """How a cloud's activity readers read the stored inventory (clouds never open the store): identities of
    some systems (objects with system_id, external_id, kind, name, unique_id) and the people of a directory
    (objects with system_id, external_id, user_name, email)."""

    identities: Callable[[Collection[str]], Iterable[Any]]
    people: Callable[[], Iterable[Any]]
    # (systems, ids, aliases) -> the identities of those systems (every system of the cloud when none is named)
    # whose external id is one of `ids` or whose unique id is one of `aliases`, without case: actors that name an
    # identity of a whole directory (Azure object ids, UPNs, application ids; tenant-wide sign-ins)
    matching: Callable[[Collection[str], Collection[str], Collection[str]], Iterable[Any]] | None = None


class ActorResolution(Protocol):
    """How the actor keys of a cloud's usage aggregates name stored identities."""

    def load(self, actors: Iterable[str]) -> None:
        """Read what resolving these actors needs (once per system)."""
        ...

    def resolve(self, actor: str) -> str | None:
        """The stored identity an actor is, its own id when not stored, None when it cannot be named."""
        ...

    def system_of(self, actor: str) -> str | None:
        """The authorization system an actor acted in."""
        ...

    def known(self, external_id: str) -> bool:
        """Whether the inventory holds this identity."""
        ...

    def person_label(self, actor: str) -> str | None:
        """`<system>/<session name>` for a person's session key, None for any other actor."""
        ...


@runtime_checkable
class SpreadResolution(ActorResolution, Protocol):
    """A resolution whose actors may count in several systems at once (an Azure sign-in is tenant-wide)."""

    def systems_of(self, actor: str) -> list[str]:
        """Every authorization system an actor's usage and activity count in (replaces `system_of`)."""
        ...


class ActivityReaders(Protocol):
    """A cloud's activity logs into an `ActivitySink`: files, a log bucket, the cloud's event API, and the
    activity of the systems a live collection just read."""

    def resolver(self, ports: InventoryPorts) -> ActorResolution:
        """The resolver of actor keys over the stored inventory."""
        ...

    def import_files(
        self,
        sink: ActivitySink,
        paths: Sequence[str | Path],
        *,
        workers: int,
        progress: Progress | None,
        limits: FileLimits = DEFAULT_LIMITS,
    ) -> None:
        """Log files (and folders of them)."""
        ...

    def import_bucket(self, sink: ActivitySink, uri: str, **options: Any) -> None:
        """The log objects of a bucket (e.g. a CloudTrail trail bucket)."""
        ...

    def import_api(self, sink: ActivitySink, **options: Any) -> None:
        """Events from the cloud's event-history API (e.g. CloudTrail LookupEvents)."""
        ...

    def collected_options(self, **values: Any) -> Any:
        """What activity to read during a live collection (ConfigurationError / InputError when invalid)."""
        ...

    def import_collected(
        self,
        new_sink: Callable[[], ActivitySink],
        options: Any,
        reaches: Sequence[Any],
        *,
        regions: Sequence[str] | None,
        warn: Callable[[str, str], None],
    ) -> dict[str, ActivityReport]:
        """The activity of collected systems (`CollectedSystem.reach`), one report per system."""
        ...

    def problem(self, error: BaseException) -> str | None:
        """One line naming a cloud SDK error that stopped an import; None for any other exception."""
        ...


# -- permissions on demand ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InventoryLookups:
    """What a request check may ask of the stored inventory of the request's system."""

    identity_kind: Callable[[str], str | None]  # external id -> its kind, None when not stored
    policy_stored: Callable[[str], bool]  # whether a managed policy (role definition) is stored


class RequestRules(Protocol):
    """A cloud's checks of a permissions request against its inventory and catalogue, and its connector."""

    def validate(self, spec: RequestSpec, system_id: str, lookups: InventoryLookups) -> str:
        """Check a request; the identity that receives the grant. InputError naming the body field."""
        ...

    def connector(self, system_id: str, *, settings: Any, dry_run: bool, echo: Echo | None) -> GrantConnector:
        """The grant connector of one system, configured from the settings."""
        ...


# -- remediation ----------------------------------------------------------------------------------------------
class RemediationRules(Protocol):
    """A cloud's part of remediation plans (docs/remediation.md): what of an identity a plan may remove, the
    use its other facts record, the connector that applies and restores steps, and the scripts people review."""

    replaceable: frozenset[StepKind]  # the kinds of removal a generated document may replace

    def candidates(self, snapshot: SystemSnapshot, identity: str) -> list[Candidate]:
        """The identity's grants (policies, memberships) and credentials a plan may remove or deactivate."""
        ...

    def manual_steps(self, snapshot: SystemSnapshot, identity: str) -> list[Candidate]:
        """What removing an inactive identity entirely would take beyond the reversible steps (listed only)."""
        ...

    def recently_used(self, snapshot: SystemSnapshot, identity: str, since: datetime) -> int:
        """Actions (bits of the snapshot's index) the cloud's other facts say were used since `since`, beyond
        the usage rows (AWS: Access Advisor's services and tracked actions)."""
        ...

    def generated_step(
        self, snapshot: SystemSnapshot, identity: str, name: str, document: dict[str, Any]
    ) -> tuple[Candidate, Policy, tuple[Assignment, ...]]:
        """The step that puts a generated document on the identity, and how it then sits in the inventory: the
        policy and its assignments to the identity (to evaluate the after state). ValueError when the cloud
        cannot hold it (the plan then goes on without it, saying why); PlanRefusedError when the cloud's plans
        do not put generated documents."""
        ...

    def generated_quota(
        self,
        snapshot: SystemSnapshot,
        identity: str,
        documents: Sequence[tuple[str, dict[str, Any]]],
    ) -> str | None:
        """Why the generated documents (name, document) cannot be put on the identity beside the grants it holds
        when the put runs (first, before the plan removes anything): a quota of the cloud over them together;
        None when they can."""
        ...

    def credential_step(
        self, snapshot: SystemSnapshot, identity: str, credential_id: str
    ) -> Candidate | None:
        """The step that deactivates one credential of the identity (None when it cannot be named to the cloud)."""
        ...

    def connector(
        self, system_id: str, *, settings: Any, dry_run: bool, echo: Echo | None
    ) -> RemediationConnector:
        """The remediation connector of one system, configured from the settings."""
        ...

    def script(self, steps: Sequence[StepSpec], *, header: str, rollback: bool) -> str:
        """A shell script of the cloud's CLI that applies the steps (or, `rollback`, undoes them)."""
        ...

    def terraform(
        self, snapshot: SystemSnapshot, identity: str, steps: Sequence[StepSpec], *, header: str
    ) -> str:
        """Terraform describing the identity's after state."""
        ...


class AccessGenerator(Protocol):
    """Least-privilege permissions generated from an identity's observed activity (docs/remediation.md)."""

    def generate(
        self, snapshot: SystemSnapshot, identity: str, usages: Sequence[Usage], options: GenerationOptions
    ) -> Generated:
        """Documents of the cloud's kind that allow every (action, resource) of `usages` (the identity's usage in
        the window), each observation decided by the cloud's engine against the documents alone; a refusal
        when the cloud cannot generate for this identity. `snapshot` holds the identity and what grants it
        today (the plugin's `decision_slice`)."""
        ...


# -- the plugin -------------------------------------------------------------------------------------------------
class CloudPlugin(Protocol):
    """Everything that differs per cloud. A member that is None is a part the cloud has not built."""

    cloud: Cloud
    label: str  # how people name the cloud: "AWS"
    system_noun: str  # what an authorization system is called there: "account", "subscription", "project"
    need_hints: Mapping[str, str]  # detector need -> how to get that data in this cloud
    permission_scope: PermissionScope

    @property
    def collector(self) -> Collector | None:
        """Live collection, None when not built."""
        ...

    @property
    def requests(self) -> RequestRules | None:
        """Permissions-on-demand checks and connector, None when not built."""
        ...

    @property
    def activity(self) -> ActivityReaders | None:
        """Activity log readers, None when not built."""
        ...

    @property
    def remediation(self) -> RemediationRules | None:
        """Remediation plans (candidates, connector, scripts), None when not built."""
        ...

    @property
    def least_privilege(self) -> AccessGenerator | None:
        """Least-privilege documents generated from activity (remediation), None when not built."""
        ...

    # -- the action catalogue
    def catalog_version(self) -> str:
        """The version of the installed catalogue (cheap: no actions are read)."""
        ...

    def catalog(self) -> ActionCatalog:
        """Every action of the cloud (read once per process)."""
        ...

    def action_index(self) -> ActionIndex:
        """The bitset index of the installed catalogue (built once per process)."""
        ...

    # -- files and transform
    def read_files(
        self,
        paths: Sequence[str | Path],
        *,
        system_name: str | None = None,
        progress: Progress | None = None,
        limits: FileLimits = DEFAULT_LIMITS,
    ) -> ImportedFiles:
        """Read exported files and transform them: one batch per system they hold (InputError naming a file)."""
        ...

    # -- effective permissions and decisions
    def organization_levels(
        self, system: AuthorizationSystem, attached: Iterable[tuple[str, str, Any, Mapping[str, Any] | None]]
    ) -> list[dict[str, Any]] | None:
        """The organization policy levels above a system from its stored facts (None: organization unknown)."""
        ...

    def evaluator(
        self, inventory: PermissionInventory, index: ActionIndex, organization: OrganizationLevels | None
    ) -> PermissionEvaluator:
        """An evaluator of one system's identities (InputError when the organization levels are malformed)."""
        ...

    def simulate(self, case: Mapping[str, Any], source: str) -> dict[str, Any]:
        """Decide one case of the cloud's simulation format: {"id", "decision", "explanation"}."""
        ...

    def simulate_json(self, case: Mapping[str, Any], source: str) -> bytes:
        """`simulate`, already encoded as one line of compact JSON."""
        ...

    def assumable(self, snapshot: SystemSnapshot, identity: str) -> list[str]:
        """The identities (roles) `identity` may act as, each decided by the cloud's engine."""
        ...

    def decide_stored(
        self, snapshot: SystemSnapshot, principal: str, action: str, resource: str, context: Mapping[str, Any]
    ) -> AccessDecision:
        """One stored principal's request decided with its stored policies (NotFoundError, InputError)."""
        ...

    def who_can(
        self, snapshot: SystemSnapshot, action: str, resource: str, context: Mapping[str, Any]
    ) -> list[AccessDecision]:
        """Every principal of the system allowed `action` on `resource`, each with why (InputError)."""
        ...

    def decision_slice(self, principal: str, resource: str) -> SnapshotSlice:
        """What of a system's stored inventory `decide_stored` reads for `principal`'s request on `resource`
        (the store loads only that; the decision is the one the whole inventory gives)."""
        ...

    def acting_slice(self, identity: str) -> SnapshotSlice:
        """What of a system's stored inventory `assumable` reads for `identity`."""
        ...

    # -- analysis
    def view(self, snapshot: SystemSnapshot) -> CloudView:
        """The cloud's view of a snapshot: effective permissions and the facts analytics asks."""
        ...

    def available_data(self, system: AuthorizationSystem, identities: Sequence[Identity]) -> frozenset[str]:
        """The cloud-specific detector needs the data satisfies (credentials, organization, ...)."""
        ...

    def escalation(
        self,
        snapshot: SystemSnapshot,
        *,
        is_super: Callable[[EffectivePermissions], bool],
        skip: Callable[[str], bool],
        max_targets: int,
    ) -> EscalationModel | None:
        """The escalation graph of a snapshot and what each step gives; None when the cloud has none yet."""
        ...

    def escalation_techniques(self) -> Mapping[str, TechniqueInfo]:
        """The escalation techniques of the cloud by id, in words, with the page describing each."""
        ...

    def system_of(self, external_id: str) -> str | None:
        """The authorization system an identity's external id names (an ARN's account), None if none."""
        ...


def _aws() -> CloudPlugin:
    from permscope.clouds.aws.plugin import PLUGIN

    return PLUGIN


def _azure() -> CloudPlugin:
    from permscope.clouds.azure.plugin import PLUGIN

    return PLUGIN


def _gcp() -> CloudPlugin:
    try:  # the engine's libraries first: without the gcp extra, one line saying what to install
        import permscope.clouds.gcp.engine.simulate  # noqa: F401
    except ModuleNotFoundError as exc:  # cel, msgspec or tzdata: the gcp extra
        raise ConfigurationError(
            f"the GCP engine needs the {exc.name} package: pip install 'permscope[gcp]'"
        ) from exc
    from permscope.clouds.gcp.plugin import PLUGIN

    return PLUGIN


# The registry: cloud -> the function that returns its plugin (imported on first use).
CLOUDS: dict[Cloud, Callable[[], CloudPlugin]] = {
    Cloud.AWS: _aws,
    Cloud.AZURE: _azure,
    Cloud.GCP: _gcp,
}


class Simulator(Protocol):
    """A cloud's evaluation engine on its own case format (`permscope simulate <cloud>`)."""

    def simulate(self, case: Mapping[str, Any], source: str) -> dict[str, Any]:
        """Decide one case: {"id", "decision", "explanation"} (InputError naming `source` when malformed)."""
        ...

    def simulate_json(self, case: Mapping[str, Any], source: str) -> bytes:
        """`simulate`, already encoded as one line of compact JSON."""
        ...


def simulator(cloud: Cloud) -> Simulator:
    """The engine that simulates a cloud's cases; CloudNotBuiltError when the cloud has none yet."""
    if cloud not in CLOUDS:
        raise CloudNotBuiltError(cloud.value, "simulation")
    return plugin(cloud)


def plugin(cloud: Cloud) -> CloudPlugin:
    """The plugin of a cloud; CloudNotBuiltError when the cloud has none yet."""
    factory = CLOUDS.get(cloud)
    if factory is None:
        raise CloudNotBuiltError(cloud.value)
    return factory()


def built_clouds() -> list[Cloud]:
    """The clouds that have a plugin, in registry order."""
    return list(CLOUDS)
