"""CloudTrail activity read during a live AWS collection, once the accounts' inventory is stored.

`permscope collect aws --cloudtrail-s3 URI` reads each trail bucket per collected account (its
`AWSLogs/[<org id>/]<account>/CloudTrail/` folders) with the credentials of the collected account that owns the
bucket, else the caller's (see `collect.activity`); `--lookup-events` reads LookupEvents per collected account
and region through the session the collector read that account with. Everything goes into sinks the workflow
makes (so through `store.usage.merge_activity`, the one write path for activity), incrementally: objects, files
and LookupEvents windows counted before are skipped, so collecting again counts nothing twice.
A failure (a bucket or region the credentials may not read, an unreadable object) is a warning on that
account's report and never stops the other accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from permscope.clouds.aws.activity.imports import import_bucket, import_lookup
from permscope.clouds.aws.activity.sources import parse_s3_uri
from permscope.clouds.aws.collect.accounts import AccountClients, account_regions
from permscope.clouds.aws.collect.activity import AccountReach, bucket_owner
from permscope.clouds.aws.collect.support import describe_error
from permscope.core.activity import ActivityReport, ActivitySink
from permscope.core.errors import ConfigurationError

NewSink = Callable[[], ActivitySink]

DEFAULT_DAYS = 90  # LookupEvents' event history, and the usage window of `exercised`
FAILURES_NAMED = 5  # unreadable inputs named per account's warning (the rest are counted)


@dataclass(slots=True, kw_only=True)
class AwsActivityOptions:
    """CloudTrail activity to read during a collection: trail buckets and/or LookupEvents, from `start`."""

    cloudtrail_s3: Sequence[str] = ()  # s3://bucket/prefix of trail buckets (standard or organization layout)
    lookup_events: bool = False  # LookupEvents per collected account and region
    start: datetime | None = None  # None: DEFAULT_DAYS before now
    end: datetime | None = None  # None: now (LookupEvents: a few minutes before, see workflows.activity)

    def __post_init__(self) -> None:
        self.cloudtrail_s3 = list(dict.fromkeys(self.cloudtrail_s3))
        for uri in self.cloudtrail_s3:
            parse_s3_uri(uri)  # InputError naming the URI, before anything is collected
        self.start, self.end = _utc(self.start), _utc(self.end)
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ConfigurationError(
                f"the activity start ({self.start.isoformat()}) is not before its end ({self.end.isoformat()})"
            )

    @property
    def wanted(self) -> bool:
        """Whether any activity is to be read."""
        return bool(self.cloudtrail_s3) or self.lookup_events


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _failures_warning(what: str, failures: list[tuple[str, str]]) -> str:
    named = "; ".join(f"{source}: {problem}" for source, problem in failures[:FAILURES_NAMED])
    more = f" (and {len(failures) - FAILURES_NAMED} more)" if len(failures) > FAILURES_NAMED else ""
    return f"activity: {len(failures)} {what} not read, retried next time: {named}{more}"


def _problem(exc: Exception, store_failed: Callable[[BaseException], bool]) -> str:
    """The error in one line; a store error is not an account's problem and is raised again."""
    if store_failed(exc):
        raise exc
    return describe_error(exc)


def import_collected_activity(
    new_sink: NewSink,
    options: AwsActivityOptions,
    reach: Sequence[AccountReach],
    *,
    regions: Sequence[str] | None = None,
    warn: Callable[[str, str], None],
    now: datetime | None = None,
) -> dict[str, ActivityReport]:
    """Import the activity of every account reached (after their inventory is stored), each part into a new
    sink; each account's report. `regions`: those the collection was asked for (LookupEvents; None: each
    account's enabled regions). `warn(account, message)` records a warning on that account's report."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    start = options.start or (moment - timedelta(days=DEFAULT_DAYS)).replace(microsecond=0)
    reports = {account.account_id: ActivityReport() for account in reach}
    for uri in options.cloudtrail_s3:
        _import_bucket(new_sink, uri, reach, reports, start, options.end, warn)
    if options.lookup_events:
        for account in reach:
            _import_lookup(new_sink, account, reports[account.account_id], regions, start, options.end, warn)
    return reports


def _bucket_reader(uri: str, reach: Sequence[AccountReach]) -> tuple[str, AccountClients] | None:
    """Whose credentials read the bucket: the collected account that owns it, else the caller."""
    bucket, _prefix = parse_s3_uri(uri)
    owner = bucket_owner(bucket, {account.account_id: account.buckets for account in reach})
    for account in reach:
        if account.account_id == owner and account.clients is not None:
            return owner, account.clients
    caller = next((account.caller_clients for account in reach if account.caller_clients is not None), None)
    return (caller.account_id, caller) if caller is not None else None


def _import_bucket(
    new_sink: NewSink,
    uri: str,
    reach: Sequence[AccountReach],
    reports: dict[str, ActivityReport],
    start: datetime,
    end: datetime | None,
    warn: Callable[[str, str], None],
) -> None:
    reader = _bucket_reader(uri, reach)
    if reader is None:
        return
    reader_account, clients = reader
    s3 = clients.client("s3")
    # each account asks for its own folder: a denial may be for one account's folder only (a bucket policy
    # by prefix), so a refusal is that account's warning and the next account still asks
    for account in reach:
        total = reports[account.account_id]
        total.notes.append(f"{uri} read with the credentials of account {reader_account}")
        sink = new_sink()
        try:
            import_bucket(
                sink,
                uri,
                client=s3,
                accounts=[account.account_id],
                start=start.date(),
                end=end.date() if end is not None else None,
            )
            part = sink.finish()
        except Exception as exc:  # botocore's errors, PermscopeError: the account's problem, not the run's
            problem = _problem(exc, sink.store_failed)
            warn(
                account.account_id,
                f"activity from {uri} not imported (read as account {reader_account}): {problem}",
            )
            continue
        part.notes = [note for note in part.notes if not note.startswith("no CloudTrail log objects")]
        total.add(part)
        if part.failures:
            warn(account.account_id, _failures_warning(f"log objects of {uri}", part.failures))


def _import_lookup(
    new_sink: NewSink,
    account: AccountReach,
    total: ActivityReport,
    asked: Sequence[str] | None,
    start: datetime,
    end: datetime | None,
    warn: Callable[[str, str], None],
) -> None:
    if account.clients is None:
        warn(account.account_id, "activity: LookupEvents not read (the account could not be reached)")
        return
    clients = account.clients
    try:
        regions = account.regions or account_regions(clients, asked)
    except Exception as exc:
        warn(account.account_id, f"activity: LookupEvents not read (no regions): {describe_error(exc)}")
        return
    for region in regions:  # one region failing leaves the others (and what it read before) counted
        sink = new_sink()
        try:
            import_lookup(
                sink,
                regions=[region],
                start=start,
                end=end,
                account_id=account.account_id,
                clients={region: clients.client("cloudtrail", region)},
            )
            part = sink.finish()
        except Exception as exc:
            warn(
                account.account_id,
                f"activity: LookupEvents in {region} not imported: {_problem(exc, sink.store_failed)}",
            )
            continue
        total.add(part)
