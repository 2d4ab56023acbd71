"""What a scheduled report's e-mail says: a plain-text and a readable HTML part (the report, what it covers, its
systems with their collection and analysis times, when it was generated; every value escaped, inline styles
only) and the report attached with its media type."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from permscope.workflows.alert_messages import new_mail
from permscope.workflows.reports import ReportFile, ReportSystem

SHOWN_SYSTEMS = 50  # systems listed in a message's body; the report itself lists them all


@dataclass(frozen=True, slots=True)
class ReportLetter:
    """The facts a scheduled report's e-mail tells."""

    schedule: str
    slot: datetime
    title: str  # the report's title, e.g. "Permissions Analytics Report"
    about: str  # what the report holds, in a sentence
    scope: str  # "aws 111122223333", "every system"
    fmt: str
    systems: Sequence[ReportSystem]
    generated_at: datetime
    file: ReportFile
    size: int
    delivery_id: int


def _moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "never"


def _size(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB" if size >= 1_048_576 else f"{max(1, round(size / 1024))} kB"


def _facts(letter: ReportLetter) -> list[tuple[str, str]]:
    return [
        ("Report", letter.title),
        ("Covers", letter.scope),
        ("Generated", _moment(letter.generated_at)),
        ("Attached", f"{letter.file.filename} ({letter.fmt.upper()}, {_size(letter.size)})"),
        ("Schedule", f"{letter.schedule}, slot {_moment(letter.slot)}"),
    ]


def _system_rows(letter: ReportLetter) -> list[tuple[str, str, str, str, str]]:
    return [
        (s.cloud.value, s.system_id, s.name, _moment(s.collected_at), _moment(s.analyzed_at))
        for s in letter.systems[:SHOWN_SYSTEMS]
    ]


def _more(letter: ReportLetter) -> str:
    hidden = len(letter.systems) - SHOWN_SYSTEMS
    return f"and {hidden} more systems (the report lists them all)" if hidden > 0 else ""


def _subject(letter: ReportLetter) -> str:
    return f"[permscope] {letter.title}: {letter.scope} ({letter.generated_at:%Y-%m-%d})"


def report_text(letter: ReportLetter) -> str:
    """The plain-text part."""
    lines = [f"{letter.title} of {letter.scope}", "", f"It holds {letter.about}.", ""]
    lines += [f"{name + ':':<11} {value}" for name, value in _facts(letter)]
    lines += ["", f"Systems ({len(letter.systems)}):"]
    lines += [
        f"- {cloud} {system_id} ({name}): collected {collected}, analyzed {analyzed}"
        for cloud, system_id, name, collected, analyzed in _system_rows(letter)
    ]
    if _more(letter):
        lines.append(f"- {_more(letter)}")
    return "\n".join(lines) + "\n"


CELL = "padding:4px 12px 4px 0;border-bottom:1px solid #eee"
HEAD = "text-align:left;padding:4px 12px 4px 0;color:#555;font-weight:600"


def report_html(letter: ReportLetter) -> str:
    """The HTML part: a small self-contained page (inline styles only; mail clients drop the rest)."""
    e = html.escape
    facts = "".join(
        f'<tr><th style="{HEAD}">{e(name)}</th><td style="padding:4px 0">{e(value)}</td></tr>'
        for name, value in _facts(letter)
    )
    header = "".join(
        f'<th style="{HEAD}">{e(name)}</th>' for name in ("Cloud", "System", "Name", "Collected", "Analyzed")
    )
    rows = "".join(
        "<tr>" + "".join(f'<td style="{CELL}">{e(value)}</td>' for value in row) + "</tr>"
        for row in _system_rows(letter)
    )
    more = f'<p style="color:#555">{e(_more(letter))}</p>' if _more(letter) else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(letter.title)}</title></head>"
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#222;max-width:760px">'
        f'<h2 style="font-size:18px;margin:8px 0">{e(letter.title)} of {e(letter.scope)}</h2>'
        f"<p>The attached report holds {e(letter.about)}.</p>"
        f'<table style="border-collapse:collapse;font-size:14px">{facts}</table>'
        f'<h3 style="font-size:15px;margin:16px 0 4px">Systems ({len(letter.systems)})</h3>'
        f'<table style="border-collapse:collapse;font-size:13px"><tr>{header}</tr>{rows}</table>{more}'
        '<p style="color:#777;font-size:12px">Sent by permscope because the report schedule '
        f"&ldquo;{e(letter.schedule)}&rdquo; ran. Findings are those open after each system's latest "
        "analysis.</p></body></html>"
    )


def report_message(
    letter: ReportLetter, data: bytes, sender: str, recipients: Sequence[str], now: datetime
) -> EmailMessage:
    """The e-mail of one slot's report: text and HTML alternatives and the report attached. Its Message-ID names
    the slot's delivery, so a sending repeated after a crash is recognised as the same message."""
    mail = new_mail(_subject(letter), sender, recipients, now, f"<report-{letter.delivery_id}@permscope>")
    mail["X-Permscope-Schedule"] = letter.schedule
    mail.set_content(report_text(letter))
    mail.add_alternative(report_html(letter), subtype="html")
    media, _, parameters = letter.file.media_type.partition(";")
    maintype, _, subtype = media.strip().partition("/")
    params = dict(
        (key.strip().lower(), value.strip())
        for key, _, value in (item.partition("=") for item in parameters.split(";"))
        if key.strip()
    )
    mail.add_attachment(
        data, maintype=maintype, subtype=subtype, filename=letter.file.filename, params=params
    )
    return mail
