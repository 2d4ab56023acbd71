"""What an alert says when it is delivered: a Slack-compatible webhook body (`text`, Block Kit `blocks`, and the
facts in a `permscope` object for other receivers), and an e-mail with a plain-text part and a readable HTML part
(every value escaped)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import orjson

ICONS = {
    "critical": ":rotating_light:",
    "high": ":warning:",
    "medium": ":large_orange_diamond:",
    "low": ":information_source:",
}
COLOURS = {"critical": "#8b0000", "high": "#c0392b", "medium": "#d35400", "low": "#2c3e50"}
HEADER_LIMIT = 150  # Slack's plain_text header
SECTION_LIMIT = 3000  # Slack's section text


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """The facts of one alert as deliveries tell them."""

    alert_id: str
    rule_name: str
    kind: str
    severity: str
    cloud: str
    system_id: str
    subject_kind: str
    subject_name: str
    subject_id: str
    observed_at: datetime
    summary: str
    explanation: str
    evidence: dict[str, Any] = field(default_factory=dict)
    link: str | None = None  # the alert in the web UI, when the server's public URL is known

    def facts(self) -> dict[str, Any]:
        """The alert as JSON for machines (camelCase)."""
        return {
            "alertId": self.alert_id,
            "rule": self.rule_name,
            "kind": self.kind,
            "severity": self.severity,
            "authorizationSystemType": self.cloud,
            "authorizationSystemId": self.system_id,
            "subjectKind": self.subject_kind,
            "subjectName": self.subject_name,
            "subjectId": self.subject_id,
            "observedDateTime": self.observed_at.isoformat(),
            "summary": self.summary,
            "explanation": self.explanation,
            "evidence": self.evidence,
            "link": self.link,
        }


def _mrkdwn(text: str) -> str:
    """Text safe inside Slack mrkdwn: its three control characters escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(message: AlertMessage) -> str:
    return f"{message.cloud} {message.system_id}".strip() or "every system"


def webhook_payload(message: AlertMessage) -> dict[str, Any]:
    """A Slack-compatible message: `text` (the notification's line), `blocks` (the card), `permscope` (facts)."""
    icon = ICONS.get(message.severity, ":bell:")
    text = f"{icon} permscope [{message.severity}] {message.summary} ({_where(message)}; rule {message.rule_name})"
    fields = [
        ("Severity", message.severity),
        ("Kind", message.kind),
        ("System", _where(message)),
        ("Subject", f"{message.subject_name} ({message.subject_kind})"),
        ("Rule", message.rule_name),
        ("Observed", message.observed_at.isoformat(timespec="seconds")),
    ]
    context = f"alert {message.alert_id} · subject {_mrkdwn(message.subject_id)}"
    if message.link:
        context += f" · <{message.link}|open in permscope>"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(message.summary, HEADER_LIMIT)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _cut(_mrkdwn(message.explanation or message.summary), SECTION_LIMIT)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{_cut(_mrkdwn(value), 1900)}"} for name, value in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(context, SECTION_LIMIT)}]},
    ]  # fmt: skip
    return {"text": _mrkdwn(text), "blocks": blocks, "permscope": message.facts()}


def _rows(message: AlertMessage) -> list[tuple[str, str]]:
    return [
        ("Severity", message.severity),
        ("Kind", message.kind),
        ("System", _where(message)),
        ("Subject", f"{message.subject_name} ({message.subject_kind})"),
        ("Subject id", message.subject_id),
        ("Rule", message.rule_name),
        ("Observed", message.observed_at.isoformat(timespec="seconds")),
        ("Alert", message.alert_id),
    ]


def email_text(message: AlertMessage) -> str:
    """The plain-text part."""
    lines = [message.summary, "", message.explanation, ""]
    lines += [f"{name + ':':<12} {value}" for name, value in _rows(message)]
    if message.evidence:
        lines += [
            "",
            "Evidence:",
            orjson.dumps(message.evidence, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode(),
        ]
    if message.link:
        lines += ["", f"Open in permscope: {message.link}"]
    return "\n".join(lines) + "\n"


def email_html(message: AlertMessage) -> str:
    """The HTML part: a small self-contained page (inline styles only; mail clients drop the rest)."""
    e = html.escape
    colour = COLOURS.get(message.severity, "#2c3e50")
    rows = "".join(
        f'<tr><th style="text-align:left;padding:4px 12px 4px 0;color:#555;font-weight:600">{e(name)}</th>'
        f'<td style="padding:4px 0;font-family:monospace">{e(value)}</td></tr>'
        for name, value in _rows(message)
    )
    evidence = ""
    if message.evidence:
        dumped = orjson.dumps(message.evidence, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
        evidence = (
            '<h3 style="font-size:14px;margin:16px 0 4px">Evidence</h3>'
            f'<pre style="background:#f4f4f4;padding:8px;font-size:12px;white-space:pre-wrap">{e(dumped)}</pre>'
        )
    link = f'<p><a href="{e(message.link, quote=True)}">Open in permscope</a></p>' if message.link else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(message.summary)}</title></head>"
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#222;max-width:720px">'
        f'<p style="display:inline-block;background:{colour};color:#fff;padding:2px 8px;border-radius:3px;'
        f'text-transform:uppercase;font-size:12px">{e(message.severity)}</p>'
        f'<h2 style="font-size:18px;margin:8px 0">{e(message.summary)}</h2>'
        f"<p>{e(message.explanation)}</p>"
        f'<table style="border-collapse:collapse;font-size:14px">{rows}</table>'
        f"{evidence}{link}"
        '<p style="color:#777;font-size:12px">Sent by permscope because the alert rule '
        f"&ldquo;{e(message.rule_name)}&rdquo; matched.</p></body></html>"
    )


def new_mail(
    subject: str, sender: str, recipients: Sequence[str], now: datetime, message_id: str
) -> EmailMessage:
    """An e-mail with permscope's headers: the subject (cut to 200 characters), sender, recipients, date and a
    Message-ID naming what it delivers (so a repeated sending is recognised)."""
    mail = EmailMessage()
    mail["Subject"] = _cut(subject, 200)
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id
    return mail


def email_message(
    message: AlertMessage, sender: str, recipients: list[str], delivery_id: int, now: datetime
) -> EmailMessage:
    """The e-mail of one delivery: text and HTML alternatives; its Message-ID names the delivery, so a repeated
    sending is recognised as the same message."""
    subject = f"[permscope] {message.severity}: {message.summary}"
    mail = new_mail(subject, sender, recipients, now, f"<alert-{message.alert_id}.{delivery_id}@permscope>")
    mail["X-Permscope-Alert"] = message.alert_id
    mail.set_content(email_text(message))
    mail.add_alternative(email_html(message), subtype="html")
    return mail
