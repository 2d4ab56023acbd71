"""`permscope alerts`: rules (add, list, remove, enable, disable), channels (webhook, e-mail; list, remove,
test), alerts (list, ack, mute) and evaluation on demand (docs/monitoring.md). The command line acts as an
administrator (it has the database), as `--as NAME` or local:<your user name>."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from permscope.cli.output import OutputFormat, engine_of, fail, render, reports_errors, state, stderr
from permscope.core.errors import InputError
from permscope.core.requests import parse_duration

if TYPE_CHECKING:
    from permscope.workflows.apikeys import ApiPrincipal

app = typer.Typer(help="Alerts: rules, channels, the alerts themselves, evaluation.", no_args_is_help=True)
rules_app = typer.Typer(
    help="Alert rules: which signals make alerts, and where they go.", no_args_is_help=True
)
channels_app = typer.Typer(help="Where alerts go: signed webhooks and e-mail.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(channels_app, name="channels")

FORMAT_OPTION = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv")
AS_OPTION = typer.Option(
    None, "--as", help="Who acts (acknowledgedBy, createdBy); default local:<your user name>"
)
MAX_SECRET_FILE = 4096


def _now() -> datetime:
    return datetime.now(UTC)


def _who(name: str | None) -> str:
    return name or f"local:{getpass.getuser()}"


def _actor(name: str | None) -> ApiPrincipal:
    from permscope.workflows.requests import local_actor

    return local_actor(_who(name))


def _secret_file(path: Path, what: str) -> str:
    """The first line of a small file (a secret is never taken on the command line, where `ps` shows it)."""
    try:
        raw = path.read_bytes()[: MAX_SECRET_FILE + 1]
    except OSError as exc:
        raise InputError(str(path), f"cannot read the {what}: {exc.strerror or exc}") from None
    if len(raw) > MAX_SECRET_FILE:
        raise InputError(str(path), f"the {what} file is larger than {MAX_SECRET_FILE} bytes")
    lines = raw.decode("utf-8", "replace").splitlines()
    value = lines[0].strip() if lines else ""
    if not value:
        raise InputError(str(path), f"the {what} file is empty")
    return value


def _until(duration: str | None, until: str | None) -> datetime:
    """The end of a mute: `--for` an ISO 8601 duration (PT2H, P1D) or `--until` an ISO date and time."""
    if (duration is None) == (until is None):
        fail("give either --for DURATION (e.g. PT2H, P1D) or --until DATETIME", 2)
    if duration is not None:
        try:
            return _now() + parse_duration(duration)
        except ValueError as exc:
            raise InputError("--for", str(exc)) from None
    assert until is not None
    try:
        moment = datetime.fromisoformat(until)
    except ValueError:
        raise InputError(
            "--until", f"{until!r} is not an ISO date and time such as 2026-12-31T18:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------- rules


@rules_app.command("add")
@reports_errors
def add_rule_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The rule's name"),
    kind: list[str] = typer.Option(
        ...,
        "--kind",
        "-k",
        help="A signal kind (repeatable): finding.new, finding.reopened, pci.threshold, ...",
    ),
    channel: list[str] = typer.Option([], "--channel", "-c", help="A channel that delivers (repeatable)"),
    cloud: list[str] = typer.Option([], "--cloud", help="Only this cloud (repeatable)"),
    system: list[str] = typer.Option([], "--system", help="Only this authorization system (repeatable)"),
    identity_kind: list[str] = typer.Option(
        [], "--identity-kind", help="Only identities of this kind (user, role, ...)"
    ),
    tag: list[str] = typer.Option(
        [], "--tag", help="Only identities carrying KEY or KEY=VALUE (repeatable: any)"
    ),
    min_severity: str = typer.Option("low", "--min-severity", help="low, medium, high or critical"),
    finding_type: list[str] = typer.Option(
        [], "--finding-type", help="Only findings of this type (repeatable)"
    ),
    threshold: int | None = typer.Option(
        None, "--threshold", help="pci.threshold: the score to alert at (default 67)"
    ),
    rise: int | None = typer.Option(None, "--rise", help="pci.rise: the points to rise by (default 20)"),
    window_days: int | None = typer.Option(
        None, "--window-days", help="pci.rise: within this many days (default 30)"
    ),
    disabled: bool = typer.Option(False, "--disabled", help="Store it disabled"),
    actor: str | None = AS_OPTION,
) -> None:
    """Add an alert rule."""
    from permscope.workflows.alert_rules import RuleSpec, add_rule

    parameters = {
        key: value
        for key, value in {"threshold": threshold, "risePoints": rise, "windowDays": window_days}.items()
        if value is not None
    }
    spec = RuleSpec(
        name=name,
        kinds=kind,
        channels=channel,
        clouds=cloud,
        system_ids=system,
        identity_kinds=identity_kind,
        identity_tags=tag,
        min_severity=min_severity,
        finding_types=finding_type,
        parameters=parameters,
        enabled=not disabled,
    )
    view = add_rule(engine_of(ctx), spec, _who(actor), _now())
    typer.echo(
        f"added rule {view.row.name!r} ({', '.join(view.row.kinds)}; channels: {', '.join(view.channels) or 'none'})"
    )


@rules_app.command("list")
@reports_errors
def list_rules_command(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List the alert rules."""
    from permscope.presentation.alerts import RULE_COLUMNS, rule_record
    from permscope.workflows.alert_rules import list_rules

    records = [rule_record(view) for view in list_rules(engine_of(ctx))]
    render(
        fmt,
        records,
        RULE_COLUMNS,
        title="Alert rules",
        empty="no alert rules: add one with `permscope alerts rules add`",
    )


@rules_app.command("remove")
@reports_errors
def remove_rule_command(ctx: typer.Context, name: str = typer.Argument(..., help="The rule's name")) -> None:
    """Remove a rule (its alerts stay)."""
    from permscope.workflows.alert_rules import remove_rule

    remove_rule(engine_of(ctx), name)
    typer.echo(f"removed rule {name!r}")


@rules_app.command("enable")
@reports_errors
def enable_rule_command(ctx: typer.Context, name: str = typer.Argument(..., help="The rule's name")) -> None:
    """Enable a rule."""
    from permscope.workflows.alert_rules import update_rule

    update_rule(engine_of(ctx), name, _now(), enabled=True)
    typer.echo(f"enabled rule {name!r}")


@rules_app.command("disable")
@reports_errors
def disable_rule_command(ctx: typer.Context, name: str = typer.Argument(..., help="The rule's name")) -> None:
    """Disable a rule: it makes no alerts until enabled again."""
    from permscope.workflows.alert_rules import update_rule

    update_rule(engine_of(ctx), name, _now(), enabled=False)
    typer.echo(f"disabled rule {name!r}")


# ------------------------------------------------------------------------------------------------- channels


@channels_app.command("add-webhook")
@reports_errors
def add_webhook_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The channel's name"),
    url: str = typer.Argument(..., help="The webhook URL (e.g. a Slack incoming webhook); kept sealed"),
    secret_file: Path | None = typer.Option(
        None,
        "--secret-file",
        help="A file whose first line is the shared signing secret; default: a new one, printed once",
    ),
    actor: str | None = AS_OPTION,
) -> None:
    """Add a webhook channel; messages are signed with the shared secret (docs/monitoring.md)."""
    from permscope.workflows.alert_rules import add_webhook_channel

    secret = _secret_file(secret_file, "secret") if secret_file is not None else None
    view, shared = add_webhook_channel(
        engine_of(ctx), state(ctx).settings(), name, url, secret, _who(actor), _now()
    )
    stderr().print(f"added webhook channel {view.name!r} to {view.target}")
    if secret is None:
        stderr().print(
            "[bold yellow]The signing secret follows; give it to the receiver now: it is not shown again.[/]"
        )
        typer.echo(shared)


@channels_app.command("add-email")
@reports_errors
def add_email_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The channel's name"),
    host: str = typer.Option(..., "--host", help="The SMTP server"),
    sender: str = typer.Option(..., "--from", help="The sender address"),
    to: list[str] = typer.Option(..., "--to", help="A recipient address (repeatable)"),
    port: int | None = typer.Option(
        None, "--port", help="Default: 465 with tls, 587 with starttls, 25 with none"
    ),
    security: str = typer.Option("starttls", "--security", help="tls, starttls or none"),
    username: str | None = typer.Option(None, "--username", help="The SMTP user name"),
    password_file: Path | None = typer.Option(
        None, "--password-file", help="A file whose first line is the password"
    ),
    ask_password: bool = typer.Option(False, "--ask-password", help="Ask for the password (not echoed)"),
    ca_file: str | None = typer.Option(None, "--ca-file", help="Also trust this CA certificate (PEM)"),
    actor: str | None = AS_OPTION,
) -> None:
    """Add an e-mail channel (SMTP; the password kept sealed)."""
    from permscope.workflows.alert_rules import add_email_channel

    password = None
    if password_file is not None:
        password = _secret_file(password_file, "password")
    elif ask_password:
        password = typer.prompt("SMTP password", hide_input=True)
    view = add_email_channel(
        engine_of(ctx),
        state(ctx).settings(),
        name,
        host=host,
        sender=sender,
        recipients=to,
        port=port,
        security=security,
        username=username,
        password=password,
        ca_file=ca_file,
        created_by=_who(actor),
        now=_now(),
    )
    typer.echo(f"added e-mail channel {view.name!r}: {view.target}")


@channels_app.command("list")
@reports_errors
def list_channels_command(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List the channels (never their secrets)."""
    from permscope.workflows.alert_rules import list_channels

    records = [
        {
            "name": c.name,
            "kind": c.kind,
            "target": c.target,
            "rules": ", ".join(c.rules),
            "created_at": c.created_at,
        }
        for c in list_channels(engine_of(ctx))
    ]
    columns = [
        ("name", "Name"),
        ("kind", "Kind"),
        ("target", "Delivers to"),
        ("rules", "Rules"),
        ("created_at", "Added"),
    ]
    render(
        fmt,
        records,
        columns,
        title="Alert channels",
        empty="no channels: add one with `permscope alerts channels add-webhook`",
    )


@channels_app.command("remove")
@reports_errors
def remove_channel_command(
    ctx: typer.Context, name: str = typer.Argument(..., help="The channel's name")
) -> None:
    """Remove a channel no rule uses."""
    from permscope.workflows.alert_rules import remove_channel

    remove_channel(engine_of(ctx), name)
    typer.echo(f"removed channel {name!r}")


@channels_app.command("test")
@reports_errors
def test_channel_command(
    ctx: typer.Context, name: str = typer.Argument(..., help="The channel's name")
) -> None:
    """Send a test message through a channel now."""
    from permscope.workflows.alert_delivery import send_test_message

    note = send_test_message(engine_of(ctx), state(ctx).settings(), name, _now())
    typer.echo(f"sent a test message through {name!r}" + (f" ({note})" if note else ""))


# --------------------------------------------------------------------------------------------------- alerts


@app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    status: list[str] = typer.Option(
        [], "--status", help="open, acknowledged or muted (repeatable); default all"
    ),
    kind: list[str] = typer.Option([], "--kind", help="A signal kind (repeatable)"),
    severity: list[str] = typer.Option([], "--severity", help="A severity (repeatable)"),
    system: list[str] = typer.Option([], "--system", help="An authorization system (repeatable)"),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="At most this many, newest first"),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List alerts, newest first."""
    from permscope.presentation.alerts import ALERT_COLUMNS, alert_record
    from permscope.workflows.alerts import AlertFilter, list_alerts

    wanted = AlertFilter(statuses=status, kinds=kind, severities=severity, system_ids=system)
    rows, total = list_alerts(engine_of(ctx), _actor(None), wanted, limit=limit)
    render(
        fmt,
        [alert_record(row) for row in rows],
        ALERT_COLUMNS,
        title=f"Alerts ({len(rows)} of {total})",
        empty="no alerts",
    )


@app.command("ack")
@reports_errors
def ack_command(
    ctx: typer.Context,
    alert_id: list[str] = typer.Argument(..., help="The alert id(s) `alerts list` shows"),
    actor: str | None = AS_OPTION,
) -> None:
    """Acknowledge alerts."""
    from permscope.workflows.alerts import acknowledge

    for one in alert_id:
        row = acknowledge(engine_of(ctx), _actor(actor), one, _now())
        typer.echo(f"acknowledged {row.alert_id} (by {row.acknowledged_by})")


@app.command("mute")
@reports_errors
def mute_command(
    ctx: typer.Context,
    rule: str | None = typer.Option(None, "--rule", help="Mute this rule"),
    alert: str | None = typer.Option(None, "--alert", help="Mute the subject of this alert"),
    subject: str | None = typer.Option(
        None, "--subject", help="Mute this identity (external id) of --system"
    ),
    system: str | None = typer.Option(
        None, "--system", help="The subject's system (alone: the whole system)"
    ),
    cloud: str = typer.Option("aws", "--cloud", help="The system's cloud"),
    duration: str | None = typer.Option(
        None, "--for", help="How long: an ISO 8601 duration (PT2H, P1D, P2W)"
    ),
    until: str | None = typer.Option(None, "--until", help="Until when: an ISO date and time"),
    reason: str = typer.Option("", "--reason", help="Why (shown with the mute)"),
    actor: str | None = AS_OPTION,
) -> None:
    """Mute a rule, the subject of an alert, an identity, or a whole system, for a while."""
    from permscope.core.ids import Cloud
    from permscope.workflows import alerts as workflow
    from permscope.workflows.alert_rules import update_rule

    end = _until(duration, until)
    chosen = [option for option in (rule, alert, system) if option]
    if len(chosen) != 1 or (subject and not system):
        fail("give one of --rule NAME, --alert ID, or --system ID (with --subject ID for one identity)", 2)
    engine, now = engine_of(ctx), _now()
    if rule:
        update_rule(engine, rule, now, muted_until=end)
        typer.echo(f"muted rule {rule!r} until {end.isoformat(timespec='seconds')}")
        return
    if alert:
        row = workflow.mute_alert_subject(engine, _actor(actor), alert, end, reason, now)
    else:
        row = workflow.mute_subject(
            engine, _actor(actor), cloud=Cloud.parse(cloud).value, system_id=system or "", subject_id=subject or "",
            until=end, reason=reason, now=now,
        )  # fmt: skip
    what = row.subject_id or f"every subject of {row.cloud} {row.system_id}"
    typer.echo(f"muted {what} until {row.until.isoformat(timespec='seconds')} (mute {row.id})")


@app.command("evaluate")
@reports_errors
def evaluate_command(
    ctx: typer.Context,
    since: str | None = typer.Option(
        None, "--since", help="Also evaluate again the signals observed since this date (e.g. for a new rule)"
    ),
    send: bool = typer.Option(True, "--send/--no-send", help="Send the deliveries that are due afterwards"),
) -> None:
    """Evaluate the rules on pending signals now (and send what is due); nothing is ever alerted twice."""
    from permscope.workflows.alert_delivery import deliver_alerts
    from permscope.workflows.alerts import evaluate_pending, reevaluate

    engine, now = engine_of(ctx), _now()
    report = evaluate_pending(engine, now)
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise InputError("--since", f"{since!r} is not an ISO date such as 2026-12-01") from None
        report.add(reevaluate(engine, start if start.tzinfo else start.replace(tzinfo=UTC), now))
    typer.echo(
        f"evaluated {report.signals} signal(s): {report.alerts} new alert(s) ({report.muted} muted), "
        f"{report.deliveries} delivery(ies) queued"
    )
    if send:
        delivered = deliver_alerts(engine, state(ctx).settings(), _now())
        typer.echo(
            f"delivered {delivered.sent}, failed {delivered.failed} (failures are retried by the scheduler)"
        )
        if delivered.failed:
            raise typer.Exit(1)
