"""Alert rules and channels: add, list, remove, enable, mute (docs/monitoring.md). Channel secrets (a webhook's
URL and signing secret, an SMTP password) are sealed with the server's key before they reach the database, and
never shown or logged; listings show where a channel delivers, not how to reach it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from permscope.core.alerts import (
    AlertRule,
    ChannelKind,
    PciParameters,
    RuleScope,
    check_name,
    clean_list,
    parse_clouds,
    parse_kinds,
    parse_severity,
)
from permscope.core.errors import InputError, NotFoundError
from permscope.core.inventory import IdentityKind
from permscope.core.signals import SignalKind
from permscope.settings import Settings
from permscope.store import alerts as store
from permscope.store.report_deliveries import schedules_sending_through
from permscope.store.tables import AlertChannelRow, AlertRuleRow
from permscope.workflows.mail import DEFAULT_PORTS, SmtpSecurity, SmtpServer
from permscope.workflows.secrets import seal, sealing_key, unseal

SUBJECT_KINDS = frozenset({kind.value for kind in IdentityKind} | {"system"})
ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+")  # one plain address: no display name, no header tricks
MIN_SECRET = 16
MAX_SECRET = 512


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """An alert rule as given (CLI options, API body, form), checked by `add_rule`."""

    name: str
    kinds: Sequence[str]
    channels: Sequence[str] = ()
    clouds: Sequence[str] = ()
    system_ids: Sequence[str] = ()
    identity_kinds: Sequence[str] = ()
    identity_tags: Sequence[str] = ()
    min_severity: str = "low"
    finding_types: Sequence[str] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class RuleView:
    """A stored rule with its channels' names."""

    row: AlertRuleRow
    channels: list[str]

    @property
    def rule(self) -> AlertRule:
        """The core rule evaluation reads."""
        return rule_of_row(self.row)


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A channel as shown: its name, kind, where it delivers (no secret), who added it and when."""

    name: str
    kind: str
    target: str
    created_by: str
    created_at: datetime
    rules: list[str]


def rule_of_row(row: AlertRuleRow) -> AlertRule:
    """The core rule a stored row holds."""
    return AlertRule(
        name=row.name,
        kinds=frozenset(SignalKind(kind) for kind in row.kinds if kind in SignalKind._value2member_map_),
        scope=RuleScope(
            clouds=tuple(row.clouds),
            system_ids=tuple(row.system_ids),
            identity_kinds=tuple(row.identity_kinds),
            identity_tags=tuple(row.identity_tags),
        ),
        min_severity=parse_severity(row.min_severity),
        finding_types=tuple(row.finding_types),
        pci=PciParameters.from_dict(row.parameters or {}, f"rule {row.name!r}"),
        enabled=row.enabled,
    )


# ------------------------------------------------------------------------------------------------- rules


def add_rule(engine: Engine, spec: RuleSpec, created_by: str, now: datetime) -> RuleView:
    """Store a new rule after checking every part (InputError naming the part that is wrong)."""
    name = check_name(spec.name)
    kinds = parse_kinds(spec.kinds)
    identity_kinds = clean_list(spec.identity_kinds, "identity kinds")
    unknown = sorted(set(identity_kinds) - SUBJECT_KINDS)
    if unknown:
        raise InputError(
            "identity kinds", f"unknown kind {unknown[0]!r}; known: {', '.join(sorted(SUBJECT_KINDS))}"
        )
    parameters = PciParameters.from_dict(spec.parameters).to_dict()
    values = {
        "name": name,
        "enabled": spec.enabled,
        "kinds": sorted(kind.value for kind in kinds),
        "clouds": list(parse_clouds(spec.clouds)),
        "system_ids": list(clean_list(spec.system_ids, "systems")),
        "identity_kinds": list(identity_kinds),
        "identity_tags": list(clean_list(spec.identity_tags, "identity tags", tags=True)),
        "min_severity": parse_severity(spec.min_severity).value,
        "finding_types": list(clean_list(spec.finding_types, "finding types")),
        "parameters": parameters,
        "muted_until": None,
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
    }
    channel_names = clean_list(spec.channels, "channels")
    with Session(engine, expire_on_commit=False) as session, session.begin():
        if store.rule_named(session, name) is not None:
            raise InputError(
                "rule name", f"a rule named {name!r} exists already; remove it first or pick another"
            )
        channels = [_channel(session, channel) for channel in channel_names]
        row = AlertRuleRow(**values)
        session.add(row)
        session.flush()
        store.set_rule_channels(session, row.id, [channel.id for channel in channels])
    return RuleView(row, [channel.name for channel in channels])


def _channel(session: Session, name: str) -> AlertChannelRow:
    found = store.channel_named(session, name)
    if found is None:
        raise InputError(
            "channels", f"no channel named {name!r}; add it first (permscope alerts channels add-...)"
        )
    return found


def list_rules(engine: Engine) -> list[RuleView]:
    """Every rule, by name, with its channels."""
    with Session(engine) as session:
        channels = store.channels_of_rules(session)
        return [
            RuleView(row, [channel.name for channel in channels.get(row.id, [])])
            for row in store.rule_rows(session)
        ]


def get_rule(engine: Engine, name: str) -> RuleView:
    """One rule by name (NotFoundError)."""
    with Session(engine) as session:
        row = store.rule_named(session, name)
        if row is None:
            raise NotFoundError(f"no alert rule named {name!r}")
        channels = store.channels_of_rules(session).get(row.id, [])
        return RuleView(row, [channel.name for channel in channels])


def remove_rule(engine: Engine, name: str) -> None:
    """Remove a rule; its alerts stay (naming it), its pending deliveries still go out."""
    with Session(engine) as session, session.begin():
        row = store.rule_named(session, name)
        if row is None:
            raise NotFoundError(f"no alert rule named {name!r}")
        session.delete(row)


def update_rule(
    engine: Engine,
    name: str,
    now: datetime,
    *,
    enabled: bool | None = None,
    muted_until: datetime | None = None,
    unmute: bool = False,
) -> RuleView:
    """Enable or disable a rule, mute it until a time, or unmute it."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = store.rule_named(session, name)
        if row is None:
            raise NotFoundError(f"no alert rule named {name!r}")
        if enabled is not None:
            row.enabled = enabled
        if muted_until is not None:
            if muted_until <= now:
                raise InputError("mute", "the end of a mute must be in the future")
            row.muted_until = muted_until
        if unmute:
            row.muted_until = None
        row.updated_at = now
        channels = store.channels_of_rules(session).get(row.id, [])
    return RuleView(row, [channel.name for channel in channels])


# ---------------------------------------------------------------------------------------------- channels


def _seal_context(name: str) -> str:
    return f"alert channel {name!r}"


def webhook_target(url: str) -> str:
    """What a listing shows of a webhook URL: its scheme and host (the path may be the secret, as Slack's is)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/…"


def add_webhook_channel(
    engine: Engine,
    settings: Settings,
    name: str,
    url: str,
    secret: str | None,
    created_by: str,
    now: datetime,
) -> tuple[ChannelView, str]:
    """Store a webhook channel: (the channel, its signing secret). Without a secret given, one is made: the
    caller shows it once, for the receiver to verify signatures with; it cannot be read back."""
    name = check_name(name, "channel name")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or any(c in url for c in "\r\n\x00 "):
        raise InputError("webhook URL", "must be an absolute http:// or https:// URL")
    shared = secret if secret is not None else secrets.token_urlsafe(32)
    if not MIN_SECRET <= len(shared) <= MAX_SECRET:
        raise InputError("webhook secret", f"must hold {MIN_SECRET} to {MAX_SECRET} characters")
    sealed = {"url": url.strip(), "secret": shared}
    view = _add_channel(
        engine,
        settings,
        name,
        ChannelKind.WEBHOOK,
        {"target": webhook_target(url.strip())},
        sealed,
        created_by,
        now,
    )
    return view, shared


def add_email_channel(
    engine: Engine,
    settings: Settings,
    name: str,
    *,
    host: str,
    sender: str,
    recipients: Sequence[str],
    created_by: str,
    now: datetime,
    port: int | None = None,
    security: str = "starttls",
    username: str | None = None,
    password: str | None = None,
    ca_file: str | None = None,
) -> ChannelView:
    """Store an e-mail channel (SMTP server, sender, recipients; the password sealed)."""
    name = check_name(name, "channel name")
    try:
        mode = SmtpSecurity(security.strip().lower())
    except ValueError:
        raise InputError("SMTP security", f"{security!r} is not one of tls, starttls, none") from None
    host = host.strip()
    if not host or any(c in host for c in "/\\ \r\n\x00@"):
        raise InputError("SMTP host", f"{host!r} is not a host name or address")
    chosen = port if port is not None else DEFAULT_PORTS[mode]
    if not 0 < chosen < 65536:
        raise InputError("SMTP port", f"{chosen} is not a port (1-65535)")
    addresses = [check_address(sender, "sender")] + [check_address(r, "recipient") for r in recipients]
    if len(addresses) < 2:
        raise InputError("recipients", "an e-mail channel needs at least one recipient")
    if password and not username:
        raise InputError("SMTP password", "a password needs a user name (--username)")
    shown = {
        "host": host,
        "port": chosen,
        "security": mode.value,
        "username": username or None,
        "sender": addresses[0],
        "recipients": sorted(set(addresses[1:])),
        "caFile": ca_file or None,
        "target": f"{', '.join(sorted(set(addresses[1:])))} via {host}:{chosen} ({mode.value})",
    }
    return _add_channel(
        engine, settings, name, ChannelKind.EMAIL, shown, {"password": password or ""}, created_by, now
    )


def check_address(text: str, what: str) -> str:
    """One plain e-mail address (no display name, no header tricks); InputError naming `what` otherwise."""
    value = text.strip()
    if not ADDRESS.fullmatch(value) or len(value) > 320:
        raise InputError(f"e-mail {what}", f"{text!r} is not an e-mail address (write name@example.com)")
    return value


def _add_channel(
    engine: Engine,
    settings: Settings,
    name: str,
    kind: ChannelKind,
    shown: dict[str, Any],
    hidden: dict[str, Any],
    created_by: str,
    now: datetime,
) -> ChannelView:
    key = sealing_key(engine, settings)
    sealed = seal(key, orjson.dumps(hidden).decode(), _seal_context(name))
    with Session(engine) as session, session.begin():
        if store.channel_named(session, name) is not None:
            raise InputError("channel name", f"a channel named {name!r} exists already")
        session.add(
            AlertChannelRow(
                name=name,
                kind=kind.value,
                settings=shown,
                sealed=sealed,
                created_by=created_by,
                created_at=now,
            )
        )
    return ChannelView(name, kind.value, str(shown["target"]), created_by, now, [])


def list_channels(engine: Engine) -> list[ChannelView]:
    """Every channel by name, with the rules it delivers for (never a secret)."""
    with Session(engine) as session:
        return [
            ChannelView(
                row.name,
                row.kind,
                str((row.settings or {}).get("target", "")),
                row.created_by,
                row.created_at,
                store.rules_using(session, row.id),
            )
            for row in store.channel_rows(session)
        ]


def remove_channel(engine: Engine, name: str) -> None:
    """Remove a channel no rule uses (its queued deliveries go with it)."""
    with Session(engine) as session, session.begin():
        row = store.channel_named(session, name)
        if row is None:
            raise NotFoundError(f"no alert channel named {name!r}")
        rules = store.rules_using(session, row.id)
        if rules:
            raise InputError(
                f"channel {name!r}",
                f"rules deliver through it ({', '.join(rules)}); remove it from them first",
            )
        schedules = schedules_sending_through(session, row.name)
        if schedules:
            raise InputError(
                f"channel {name!r}",
                f"report schedules mail through it ({', '.join(schedules)}); remove them first",
            )
        session.execute(delete(AlertChannelRow).where(AlertChannelRow.id == row.id))


@dataclass(frozen=True, slots=True)
class OpenedChannel:
    """A channel with its secrets opened, to send through (never stored or logged as it is)."""

    name: str
    kind: ChannelKind
    settings: dict[str, Any]
    url: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    def smtp(self) -> SmtpServer:
        """The SMTP server of an e-mail channel."""
        return SmtpServer(
            host=str(self.settings["host"]),
            port=int(self.settings["port"]),
            security=SmtpSecurity(self.settings["security"]),
            username=self.settings.get("username") or None,
            password=self.password or None,
            ca_file=self.settings.get("caFile") or None,
        )


def open_channel(key: bytes, row: AlertChannelRow) -> OpenedChannel:
    """A stored channel with its secrets unsealed (SealedSecretError when the server secret changed)."""
    hidden = orjson.loads(unseal(key, row.sealed, _seal_context(row.name)))
    return OpenedChannel(
        name=row.name,
        kind=ChannelKind(row.kind),
        settings=dict(row.settings or {}),
        url=str(hidden.get("url", "")),
        secret=str(hidden.get("secret", "")),
        password=str(hidden.get("password", "")),
    )
