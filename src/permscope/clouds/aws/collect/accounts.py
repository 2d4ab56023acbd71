"""Live, read-only collection of AWS accounts through boto3: one raw bundle per account.

From the caller's credentials (the standard boto3 chain, or a named profile) it reads the organization
(management or delegated-admin account) and Identity Center once, then every account — the organization's
active accounts, or the accounts asked for — through a role assumed in each (`--role-name`, with an
ExternalId when given; the caller's own account is read with the caller's credentials). Accounts are read
`max_accounts` at a time, and within an account its regions and IAM reports `max_regions` at a time. Every
client retries with botocore's adaptive mode (client-side rate limiting plus exponential backoff), so
throttling slows a collection down but loses nothing; an error that outlives the retries fails that
account's run, never the others, and never stores a silently partial account.

Nothing here logs or returns credentials: assumed-role keys live only inside botocore's credential object.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from permscope.clouds.aws.collect.iam import (
    collect_access_advisor,
    collect_access_keys,
    collect_authorization_details,
    collect_credential_report,
    collect_identity_providers,
    users_with_access_keys,
)
from permscope.clouds.aws.collect.identity_center import collect_identity_center
from permscope.clouds.aws.collect.organization import active_account_ids, collect_organization
from permscope.clouds.aws.collect.resources import collect_resources
from permscope.clouds.aws.collect.support import CollectionError, describe_error, is_skippable
from permscope.clouds.aws.transform.bundle import empty_bundle
from permscope.clouds.aws.transform.organization import account_name
from permscope.core.arn import Arn
from permscope.core.errors import ConfigurationError, PermscopeError

log = logging.getLogger(__name__)

PARTS = (
    "organization",
    "identity-center",
    "credential-report",
    "access-keys",
    "identity-providers",
    "access-advisor",
    "resources",
)
DEFAULT_ROLE_NAME = "PermscopeCollector"
SESSION_NAME = "permscope-collector"
GLOBAL_REGION = "us-east-1"
ROLE_SESSION_SECONDS = 3600
T = TypeVar("T")


@dataclass(slots=True, kw_only=True)
class CollectOptions:
    """What to collect and how: credentials, accounts, regions, parts, concurrency and retries."""

    profile: str | None = None
    role_name: str = DEFAULT_ROLE_NAME
    external_id: str | None = field(default=None, repr=False)
    accounts: Sequence[str] | None = None  # None: every active account of the organization (or the caller's)
    regions: Sequence[str] | None = None  # None: the regions enabled in each account
    endpoint_url: str | None = None  # e.g. a moto server; every client uses it
    home_region: str | None = None  # region of the global APIs (STS, IAM, Organizations)
    identity_center_region: str | None = None  # None: the home region
    parts: frozenset[str] = frozenset(PARTS)
    max_accounts: int = 4
    max_regions: int = 4
    max_attempts: int = 10
    poll_interval: float = 2.0  # seconds between polls of credential-report and Access Advisor jobs
    poll_timeout: float = 600.0
    session: boto3.Session | None = None  # the caller's session (default: built from `profile`)
    session_hook: Callable[[boto3.Session], None] | None = None  # called on every session made (events)
    # called on every client made through AccountClients with (account id, service, client): tests attach
    # botocore Stubbers to clients of calls moto lacks
    client_hook: Callable[[str, str, Any], None] | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.parts) - set(PARTS))
        if unknown:
            raise ConfigurationError(f"unknown collection parts {unknown}; known: {', '.join(PARTS)}")
        if self.max_accounts < 1 or self.max_regions < 1 or self.max_attempts < 1:
            raise ConfigurationError("max_accounts, max_regions and max_attempts must be at least 1")


@dataclass(slots=True, kw_only=True)
class AccountOutcome:
    """What collecting one account gave: its bundle, or the error that stopped it, and warnings."""

    account_id: str
    name: str | None
    source: str
    started_at: datetime
    finished_at: datetime
    bundle: dict[str, Any] | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    organization: dict[str, Any] | None = None
    # for reads after the collection (activity): clients of the session the account was read with (None
    # when it could not be reached), of the caller's session, and the regions its resources were read in
    clients: AccountClients | None = field(default=None, repr=False)
    caller_clients: AccountClients | None = field(default=None, repr=False)
    regions: list[str] | None = None


class _StaticProvider(CredentialProvider):
    """Hands one (refreshable) credentials object to a botocore session."""

    METHOD = "permscope-assume-role"
    CANONICAL_NAME = "permscope-assume-role"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        """The credentials."""
        return self._credentials


class AccountClients:
    """Clients of one account's session, all with the same endpoint, region default and retry configuration."""

    def __init__(
        self,
        session: boto3.Session,
        config: Config,
        endpoint_url: str | None,
        region: str,
        *,
        account_id: str,
        hook: Callable[[str, str, Any], None] | None = None,
    ) -> None:
        self.session = session
        self.config = config
        self.endpoint_url = endpoint_url
        self.region = region
        self.account_id = account_id
        self.hook = hook
        self._lock = threading.Lock()  # a boto3 Session is not thread-safe; its clients are

    def client(self, service: str, region: str | None = None) -> Any:
        """A new client of `service` (in the home region unless told otherwise)."""
        with self._lock:
            made = self.session.client(
                service,  # type: ignore[call-overload]
                region_name=region or self.region,
                endpoint_url=self.endpoint_url,
                config=self.config,
            )
        if self.hook is not None:
            self.hook(self.account_id, service, made)
        return made


def retry_config(options: CollectOptions) -> Config:
    """botocore adaptive retries, and enough pooled connections for the concurrent calls of one client."""
    return Config(
        retries={"mode": "adaptive", "max_attempts": options.max_attempts},
        max_pool_connections=max(10, options.max_regions * 2),
        connect_timeout=10,
        read_timeout=120,
        user_agent_extra="permscope-collector",
    )


class _Collection:
    """One collection run: the caller's session, the organization-wide data, and the per-account work."""

    def __init__(self, options: CollectOptions) -> None:
        self.options = options
        self.config = retry_config(options)
        session = options.session or boto3.Session(profile_name=options.profile)
        self.home_region = options.home_region or session.region_name or GLOBAL_REGION
        if options.session_hook is not None:
            options.session_hook(session)
        self.source_session = session
        self.clients = AccountClients(
            session, self.config, options.endpoint_url, self.home_region, account_id="caller"
        )
        try:
            identity = self.clients.client("sts").get_caller_identity()
        except NoCredentialsError:
            raise ConfigurationError(
                "no AWS credentials: configure a profile (--profile) or the standard AWS environment"
            ) from None
        except (ClientError, BotoCoreError) as exc:
            raise ConfigurationError(f"the AWS credentials do not work: {describe_error(exc)}") from None
        self.caller_account = str(identity["Account"])
        self.clients.account_id = self.caller_account  # known now; later clients are reported under it
        self.clients.hook = options.client_hook
        caller = Arn.try_parse(identity.get("Arn"))
        if caller is None:
            raise ConfigurationError(f"STS GetCallerIdentity returned no ARN: {identity.get('Arn')!r}")
        self.partition = caller.partition
        self.shared_warnings: list[str] = []
        self.organization: dict[str, Any] | None = None
        self.identity_center: dict[str, Any] | None = None

    def wanted(self, part: str) -> bool:
        return part in self.options.parts

    def optional(self, part: str, warnings: list[str], read: Callable[[], T]) -> T | None:
        """An optional part: None when not asked for, or (with a warning) when AWS refuses it."""
        if not self.wanted(part):
            return None
        try:
            return read()
        except Exception as exc:  # botocore's ResponseParserError, for one, is no BotoCoreError
            if not is_skippable(exc):
                raise CollectionError(f"{part} not collected: {describe_error(exc)}") from exc
            warnings.append(f"{part} not collected: {describe_error(exc)}")
            return None

    def accounts(self) -> list[str]:
        """The accounts to collect: those asked for, else the organization's active ones, else the caller's."""
        if self.options.accounts:
            return sorted(dict.fromkeys(str(a) for a in self.options.accounts))
        if self.organization and self.organization.get("Accounts"):
            return active_account_ids(self.organization)
        return [self.caller_account]

    def read_organization_wide(self) -> list[str]:
        """Read the organization and Identity Center once; returns the accounts to collect.

        PermscopeError when one of them fails beyond what a warning can say (e.g. throttled past the retries):
        without them no account's SCPs or SSO mapping would be right.
        """
        try:
            return self._read_organization_wide()
        except CollectionError as exc:
            raise PermscopeError(f"nothing collected: {exc}") from exc

    def _read_organization_wide(self) -> list[str]:
        self.organization = self.optional(
            "organization",
            self.shared_warnings,
            lambda: collect_organization(self.clients.client("organizations"), self.shared_warnings),
        )
        accounts = self.accounts()
        region = self.options.identity_center_region or self.home_region
        self.identity_center = self.optional(
            "identity-center",
            self.shared_warnings,
            lambda: collect_identity_center(
                self.clients.client("sso-admin", region),
                self.clients.client("identitystore", region),
                accounts,
            ),
        )
        refused = any(w.startswith("identity-center") for w in self.shared_warnings)
        if self.wanted("identity-center") and self.identity_center is None and not refused:
            self.shared_warnings.append(
                f"no IAM Identity Center instance in {region}: SSO roles are not mapped to people "
                "(if Identity Center lives in another region, collect with --region set to it)"
            )
        return accounts

    def source_label(self, account_id: str) -> str:
        """The run's source as recorded in collection_runs (never the ExternalId or any credential)."""
        if account_id == self.caller_account:
            return "live:boto3"
        return f"live:boto3 role/{self.options.role_name}"

    def session_for(self, account_id: str) -> boto3.Session:
        """The caller's session for its own account, else a session on the collector role of the account."""
        if account_id == self.caller_account:
            return self.source_session
        role_arn = f"arn:{self.partition}:iam::{account_id}:role/{self.options.role_name}"
        sts = self.clients.client("sts")
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": SESSION_NAME,
            "DurationSeconds": ROLE_SESSION_SECONDS,
        }
        if self.options.external_id:
            params["ExternalId"] = self.options.external_id

        def fetch() -> dict[str, str]:
            credentials = sts.assume_role(**params)["Credentials"]
            expiration = credentials["Expiration"]
            return {
                "access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": expiration.isoformat()
                if isinstance(expiration, datetime)
                else str(expiration),
            }

        try:
            metadata = fetch()
        except (ClientError, BotoCoreError) as exc:
            raise _AccountUnreachableError(f"cannot assume {role_arn}: {describe_error(exc)}") from None
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=metadata, refresh_using=fetch, method=_StaticProvider.METHOD
        )
        core = botocore.session.Session()
        core.register_component("data_loader", self.source_session._session.get_component("data_loader"))
        core.get_component("credential_provider").insert_before("env", _StaticProvider(credentials))
        session = boto3.Session(botocore_session=core, region_name=self.home_region)
        if self.options.session_hook is not None:
            self.options.session_hook(session)
        return session

    def regions_of(self, clients: AccountClients) -> list[str]:
        """The regions to read resources in: those asked for, else the account's enabled regions."""
        return account_regions(clients, self.options.regions)

    def collect_account(self, account_id: str) -> AccountOutcome:
        """Read one account into a bundle; any failure becomes the outcome's error, never an exception."""
        started = datetime.now(UTC)
        warnings = list(self.shared_warnings)
        outcome = AccountOutcome(
            account_id=account_id,
            name=account_name(self.organization, account_id),
            source=self.source_label(account_id),
            started_at=started,
            finished_at=started,
            warnings=warnings,
            organization=self.organization,
            caller_clients=self.clients,
        )
        try:
            outcome.bundle = self._read_account(outcome)
        except (_AccountUnreachableError, CollectionError) as exc:
            outcome.error = str(exc)
        except (ClientError, BotoCoreError) as exc:
            outcome.error = describe_error(exc)
        except Exception as exc:
            log.debug("account %s failed", account_id, exc_info=True)
            outcome.error = describe_error(exc)
        outcome.finished_at = datetime.now(UTC)
        if outcome.error:
            log.warning("account %s not collected: %s", account_id, outcome.error)
        return outcome

    def _read_account(self, outcome: AccountOutcome) -> dict[str, Any]:
        account_id, warnings = outcome.account_id, outcome.warnings
        session = self.session_for(account_id)
        clients = AccountClients(
            session,
            self.config,
            self.options.endpoint_url,
            self.home_region,
            account_id=account_id,
            hook=self.options.client_hook,
        )
        outcome.clients = clients
        iam = clients.client("iam")
        interval, timeout = self.options.poll_interval, self.options.poll_timeout
        bundle = empty_bundle(account_id)
        bundle["organization"] = self.organization
        bundle["identity_center"] = self.identity_center
        with ThreadPoolExecutor(
            self.options.max_regions, thread_name_prefix=f"permscope-{account_id}"
        ) as pool:
            details_job = pool.submit(collect_authorization_details, iam)
            report_job = pool.submit(
                self.optional,
                "credential-report",
                warnings,
                lambda: collect_credential_report(iam, interval=interval, timeout=timeout),
            )
            providers_job = pool.submit(
                self.optional, "identity-providers", warnings, lambda: collect_identity_providers(iam)
            )
            resources_job: Future[dict[str, Any] | None] | None = None
            if self.wanted("resources"):
                resources_job = pool.submit(self._resources, session, clients, outcome)
            details = _result("authorization-details", details_job)
            report = report_job.result()
            users = [str(user["UserName"]) for user in details["UserDetailList"]]
            keys_job = pool.submit(
                self.optional,
                "access-keys",
                warnings,
                lambda: collect_access_keys(iam, users_with_access_keys(report, users)),
            )
            principals = [
                str(item["Arn"]) for key in ("UserDetailList", "RoleDetailList") for item in details[key]
            ]
            advisor_job = pool.submit(
                self.optional,
                "access-advisor",
                warnings,
                lambda: collect_access_advisor(iam, principals, interval=interval, timeout=timeout),
            )
            bundle["authorization_details"] = details
            bundle["credential_report"] = report
            bundle["identity_providers"] = providers_job.result()
            bundle["access_keys"] = keys_job.result()
            bundle["access_advisor"] = advisor_job.result()
            bundle["resources"] = _result("resources", resources_job) if resources_job is not None else None
        return bundle

    def _resources(
        self, session: boto3.Session, clients: AccountClients, outcome: AccountOutcome
    ) -> dict[str, Any]:
        regions = outcome.regions = self.regions_of(clients)
        return collect_resources(
            session,
            outcome.account_id,
            regions,
            endpoint_url=self.options.endpoint_url,
            config=self.config,
            max_workers=self.options.max_regions,
        )


def account_regions(clients: AccountClients, asked: Sequence[str] | None = None) -> list[str]:
    """The regions asked for, else those enabled in the clients' account (ec2:DescribeRegions)."""
    if asked:
        return list(dict.fromkeys(asked))
    regions = clients.client("ec2").describe_regions(AllRegions=False)["Regions"]
    return sorted(str(region["RegionName"]) for region in regions)


def _result(part: str, job: Future[T]) -> T:
    """A required part's result; its failure names the part."""
    try:
        return job.result()
    except Exception as exc:
        raise CollectionError(f"{part} not collected: {describe_error(exc)}") from exc


class _AccountUnreachableError(Exception):
    """An account could not be reached (its role could not be assumed)."""


def collect_accounts(
    options: CollectOptions, *, on_start: Callable[[list[str]], None] | None = None
) -> Iterator[AccountOutcome]:
    """Collect every account and yield each one's outcome as soon as it is done (not in account order).

    Organization-wide reads happen first; `on_start(accounts)` is then told which accounts will be read.
    A failed account is an outcome with `error` set; the others go on. ConfigurationError when the
    caller's credentials do not work at all.
    """
    run = _Collection(options)
    accounts = run.read_organization_wide()
    if on_start is not None:
        on_start(accounts)
    pool = ThreadPoolExecutor(options.max_accounts, thread_name_prefix="permscope-account")
    try:
        jobs = [pool.submit(run.collect_account, account_id) for account_id in accounts]
        for job in as_completed(jobs):
            yield job.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
