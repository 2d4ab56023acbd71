"""Render a `ScanResult` as one self-contained HTML page: overview, then every flagged identity, the one with
the most severe finding first (then by Permission Creep Index).

Every text that comes from the scanned files (names, ARNs, policy names, evidence) goes through `html.escape`:
exports are hostile input. Only flagged identities get a full section, and long lists are cut with a count of
what was left out, so the page of a 17,500-identity account stays a size a browser opens quickly. A list of
more than FOLD_AT actions is folded (opened on a click), and a list the page already showed is a link to it:
the administrators of an account all share the same secret-reading and security-tool actions. An escalation
step names its technique in words, linked to the technique's public description.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from permscope.core.findings import TOTAL_SUFFIX
from permscope.presentation.report.style import CSS, SCRIPT
from permscope.workflows.scan import DETAILED

if TYPE_CHECKING:
    from permscope.core.escalation import TechniqueInfo
    from permscope.workflows.scan import IdentityView, ReportedFinding, ScanAccount, ScanResult

MAX_SERVICES = 12  # services listed per identity (by high-severity, then granted count)
MAX_USED = 40  # used actions listed per identity
MAX_LIST = 15  # items of one evidence list
MAX_DEPTH = 3  # nesting of evidence shown
MAX_PATHS = 5  # escalation paths drawn per finding
MAX_SECTIONS = DETAILED  # flagged identities with a full section; the others get one table row each
OPENED = 3  # the riskiest identities' sections are open when the page loads
MAX_OTHER = 500  # findings about buckets, keys, groups... listed per type
BANDS = ("high", "medium", "low")
UNSEEN_KEYS = ("dependsOnUnseenResource", "resourceNotSeen", "unseenResource", "assumesResource")
FOLD_AT = 8  # action lists longer than this are folded
REPEAT_AT = 3  # action lists at least this long, shown before, are a link to where they were shown
ACTION = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9*?]+")
ALL_RESOURCES = "allResources"


class Folds:
    """The action lists a page has shown: one longer than FOLD_AT is folded, and one of at least REPEAT_AT
    actions shown before becomes a link to where it was first shown (`subject` names the identity or resource
    being rendered)."""

    def __init__(self) -> None:
        self.seen: dict[bytes | str, tuple[str, str]] = {}
        self.subject = ""

    def show(self, value: Any, count: int) -> str:
        """The action list `value` whole (`_actions_html`), folded under its count when long; a link when
        shown before (then not rendered at all)."""
        key = _list_key(value)
        first = self.seen.get(key)
        if first is not None:
            anchor, subject = first
            return (
                f'<span class="muted">the same {count} actions as for <a class="same" href="#{anchor}">'
                f"{e(subject)}</a></span>"
            )
        anchor = f"actions-{len(self.seen) + 1}"
        self.seen[key] = (anchor, self.subject)
        render = _actions_html(value)
        if count > FOLD_AT:
            return f'<details class="fold" id="{anchor}"><summary>{count} actions</summary>{render}</details>'
        return f'<span id="{anchor}">{render}</span>'


_KEY_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _list_key(value: Any) -> bytes | str:
    """Equal for equal action lists: their JSON with sorted keys, written by orjson; by `json` when orjson
    refuses the value (text with a lone surrogate), as text, which never equals orjson's bytes."""
    try:
        return orjson.dumps(value, option=_KEY_OPTIONS, default=str)
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value, sort_keys=True, default=str)


def _action_list(value: Any) -> list[str] | None:
    """The actions an evidence value lists: a list of action names, {action: status}, or {group: {action:
    status}} (e.g. the secret-reading actions by service); None for anything else."""
    if isinstance(value, list | tuple):
        if value and all(_is_action(item) for item in value):
            return list(value)
        return None
    if not (type(value) is dict or isinstance(value, Mapping)) or not value:  # a dict: no ABC check
        return None
    if all(_is_action(key) and isinstance(v, str) for key, v in value.items()):
        return list(value)
    found: list[str] = []
    for inner in value.values():
        names = _action_list(inner) if type(inner) is dict or isinstance(inner, Mapping) else None
        if names is None:
            return None
        found.extend(names)
    return found


def _actions_html(value: Any) -> str:
    """An action list whole: names as code, a status only where it is not "on all resources"."""
    if isinstance(value, list | tuple):
        return ", ".join(f"<code>{e(name)}</code>" for name in value)
    if all(isinstance(v, str) for v in value.values()):
        return ", ".join(
            f"<code>{e(name)}</code>"
            + ("" if status == ALL_RESOURCES else f" <span class='muted'>({e(status)})</span>")
            for name, status in value.items()
        )
    rows = "".join(
        f"<dt>{_words(str(group))}</dt><dd>{_actions_html(inner)}</dd>" for group, inner in value.items()
    )
    return f'<dl class="evidence">{rows}</dl>'


# short texts -> their escaped form / whether they are action names: a report repeats the same ARNs and actions
_ESCAPED: dict[str, str] = {}
_ACTION_NAMES: dict[str, bool] = {}
_MAX_REMEMBERED = 65_536  # texts remembered by each, at most _MAX_TEXT characters long
_MAX_TEXT = 256


def e(value: Any) -> str:
    """Escaped text of any value (quotes included, so it is safe in attributes too)."""
    text = value if type(value) is str else "" if value is None else str(value)
    found = _ESCAPED.get(text)
    if found is None:
        found = escape(text, quote=True)
        if len(_ESCAPED) < _MAX_REMEMBERED and len(text) <= _MAX_TEXT:
            _ESCAPED[text] = found
    return found


def _is_action(value: object) -> bool:
    """Whether a value is an action name (`service:Action`, wildcards allowed), remembered per text."""
    if type(value) is not str:
        return isinstance(value, str) and ACTION.fullmatch(value) is not None
    found = _ACTION_NAMES.get(value)
    if found is None:
        found = ACTION.fullmatch(value) is not None
        if len(_ACTION_NAMES) < _MAX_REMEMBERED and len(value) <= _MAX_TEXT:
            _ACTION_NAMES[value] = found
    return found


@lru_cache(maxsize=4096)
def _words(key: str) -> str:
    """camelCase or snake_case key -> lower-case words; other keys (action names, ARNs) as code."""
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key):
        return f"<code>{e(key)}</code>"
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ")
    return e(spaced[:1].upper() + spaced[1:].lower())


def _severity(value: str) -> str:
    return f'<span class="sev sev-{e(value)}">{e(value)}</span>'


def _pci(view_pci: Any) -> str:
    if view_pci is None:
        return '<span class="pci pci-none" title="Permission Creep Index">PCI n/a</span>'
    return (
        f'<span class="pci pci-{e(view_pci.band)}" title="Permission Creep Index ({e(view_pci.band)})">'
        f"PCI {int(view_pci.score)}</span>"
    )


def _more(total: int, shown: int) -> str:
    return f' <span class="muted">... and {total - shown} more</span>' if total > shown else ""


def _label(item: Any) -> str:
    """The text of an action or resource reference (a string, or a dict with externalId / displayName)."""
    if isinstance(item, Mapping):
        for key in ("externalId", "displayName", "id", "name", "arn"):
            if item.get(key):
                return str(item[key])
        return ", ".join(f"{k}={v}" for k, v in item.items() if not str(k).startswith("@"))
    return str(item)


_PLAIN = frozenset({str, int, float})  # evidence values that `_value` writes as their escaped text


def _value(value: Any, depth: int = 0, folds: Folds | None = None, total: int | None = None) -> str:
    """Evidence as words: lists comma-separated (cut; `total`: how many a bounded list had in all), objects as
    nested definition lists, long action lists folded (with `folds`)."""
    if type(value) in _PLAIN:  # most evidence values: no list to fold, no structure (bool is not among them)
        return e(value)
    if folds is not None:
        actions = _action_list(value)
        if actions is not None and len(actions) >= REPEAT_AT:
            return folds.show(value, len(actions))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return '<span class="muted">none</span>'
    if type(value) is dict or isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            return f"<code>{e(_label(value))}</code>"
        return _evidence(value, depth + 1, folds)
    if isinstance(value, list | tuple):
        if not value:
            return '<span class="muted">none</span>'
        if all(type(item) in _PLAIN or not isinstance(item, Mapping | list | tuple) for item in value):
            shown = value[:MAX_LIST]
            words = ", ".join(f"<code>{e(item)}</code>" for item in shown)
            return words + _more(total or len(value), len(shown))
        shown = value[:MAX_LIST]
        items = "".join(f"<li>{_value(item, depth + 1, folds)}</li>" for item in shown)
        return f'<ul class="compact">{items}</ul>{_more(total or len(value), len(shown))}'
    return e(value)


def _evidence(evidence: Mapping[str, Any], depth: int = 0, folds: Folds | None = None) -> str:
    """Evidence as a definition list; a bounded list (`core.findings.bounded`) is shown with the count of what
    it left out, and its count is not a row of its own."""
    if not evidence:
        return ""
    rows = []
    for key, value in evidence.items():
        name = str(key)
        if name.endswith(TOTAL_SUFFIX) and isinstance(evidence.get(name.removesuffix(TOTAL_SUFFIX)), list):
            continue
        total = evidence.get(name + TOTAL_SUFFIX) if isinstance(value, list) else None
        total = total if isinstance(total, int) and not isinstance(total, bool) else None
        rows.append(f"<dt>{_words(name)}</dt><dd>{_value(value, depth, folds, total)}</dd>")
    return f'<dl class="evidence">{"".join(rows)}</dl>'


def _unseen(step: Mapping[str, Any]) -> bool:
    if any(step.get(key) for key in UNSEEN_KEYS):
        return True
    return step.get("resourceSeen") is False or step.get("targetSeen") is False


def _node(text: str, *, target: bool = False) -> str:
    css = "node target" if target else "node"
    return f'<span class="{css}">{e(text)}</span>'


def _technique(technique: str, name: Any, techniques: Mapping[str, TechniqueInfo]) -> list[str]:
    """A step's technique: its id (linked to its description when it has one), what it does in words, else
    its name."""
    info = techniques.get(technique)
    if info is None:
        head = [f'<span class="tech">{e(technique)}</span>']
        return [*head, f" {e(name)}"] if name and name != technique else head
    link = (
        f'<a class="tech" href="{e(info.url)}" target="_blank" rel="noopener noreferrer">{e(technique)}</a>'
        if info.url
        else f'<span class="tech">{e(technique)}</span>'
    )
    return [link, f" {e(info.words[:1].upper() + info.words[1:])}"]


def escalation_path(
    source: str, steps: Sequence[Any], techniques: Mapping[str, TechniqueInfo] | None = None
) -> str:
    """The chain source -> technique (id linked to its description, what it does, actions) -> target, one
    line per step."""
    items = []
    current = source
    for number, step in enumerate(steps, start=1):
        if not isinstance(step, Mapping):
            items.append(f"<li>{_node(current)}<span class='edge'>{e(step)}</span></li>")
            continue
        technique = step.get("techniqueId") or step.get("displayName") or "step"
        name = step.get("techniqueName")
        actions = [_label(a) for a in step.get("actions") or ()]
        resources = [_label(r) for r in step.get("resources") or ()]
        start = _label(step["source"]) if step.get("source") else current
        target = _label(step["target"]) if step.get("target") else (resources[-1] if resources else "")
        edge = _technique(str(technique), name, techniques or {})
        if actions:
            shown = actions[:8]
            edge.append(
                ": " + ", ".join(f"<code>{e(a)}</code>" for a in shown) + _more(len(actions), len(shown))
            )
        if step.get("via"):
            edge.append(f" <span class='muted'>through {e(step['via'])}</span>")
        if step.get("conditional"):
            keys = ", ".join(str(k) for k in step.get("conditionKeys") or ())
            edge.append(
                f" <span class='muted'>(only under conditions{': ' + e(keys) if keys else ''})</span>"
            )
        if step.get("description") and not step.get("techniqueId"):
            edge.append(f'<br><span class="muted">{e(step["description"])}</span>')
        if _unseen(step):
            edge.append(
                ' <span class="unseen" title="the files did not include this resource">'
                "depends on a resource permscope has not seen</span>"
            )
        parts = [_node(start), f'<span class="edge">&rarr; {"".join(edge)} &rarr;</span>']
        parts.append(_node(target or "(more permissions)", target=number == len(steps)))
        items.append(f"<li><b>{number}.</b> {''.join(parts)}</li>")
        current = target or current
    return f'<ol class="path">{"".join(items)}</ol>'


def escalation_paths(
    source: str, details: Sequence[Any], techniques: Mapping[str, TechniqueInfo] | None = None
) -> str:
    """Every path of a privilege-escalation finding: what it reaches, then its steps (see `escalation_path`).

    A detail with `steps` is one path; details without are taken as the steps of a single path."""
    paths = [d for d in details if isinstance(d, Mapping) and isinstance(d.get("steps"), list)]
    if not paths:
        return escalation_path(source, details, techniques)
    out = []
    shown = paths[:MAX_PATHS]
    for number, path in enumerate(shown, start=1):
        reaches = path.get("reaches")
        if reaches == "grantsAdmin":  # the source makes another principal administrator-equivalent
            heading = f"Path {number}: grants administrator-equivalent rights to"
            heading += f" <code>{e(_label(path.get('target') or ''))}</code>"
            reach = path.get("reach") if isinstance(path.get("reach"), list) else []
            then = (
                f"<p class='muted'>and then reaches it:</p>{escalation_path(source, reach)}"
                if reach
                else "<p class='muted'>(it cannot itself act as that principal)</p>"
            )
            out.append(f"<h4>{heading}</h4>{escalation_path(source, path['steps'])}{then}")
            continue
        heading = f"Path {number}" + (f": reaches {e(reaches)}" if reaches else "")
        if path.get("target"):
            heading += f" as <code>{e(_label(path['target']))}</code>"
        out.append(f"<h4>{heading}</h4>{escalation_path(source, path['steps'], techniques)}")
    return "".join(out) + _more(len(paths), len(shown))


def _finding(reported: ReportedFinding, page: _Page, *, about: bool = False) -> str:
    finding = reported.finding
    if about:
        page.folds.subject = finding.subject_name
    out = [f'<div class="finding f-{e(finding.severity.value)}">']
    heading = f"{_severity(finding.severity.value)} <b>{e(reported.title)}</b> <code>{e(finding.finding_type)}</code>"
    if about:
        heading += f" &mdash; {e(finding.subject_name)} <span class='muted'>{e(finding.subject_id)}</span>"
    out.append(f"<div>{heading}</div>")
    out.append(f"<p>{e(finding.summary)}</p>")
    details = finding.properties.get("privilegeEscalationDetails")
    if isinstance(details, list) and details:
        out.append("<h3>Escalation path</h3>")
        out.append(escalation_paths(finding.subject_id, details, page.techniques))
    out.append(_evidence(finding.evidence, folds=page.folds))
    if reported.remediation:
        out.append(f'<div class="fix"><b>Fix:</b> {e(reported.remediation)}</div>')
    out.append("</div>")
    return "".join(out)


def _identity(view: IdentityView, page: _Page, *, opened: bool = False) -> str:
    findings = page.findings
    page.folds.subject = view.display_name
    mine = [findings[position] for position in view.findings]
    types = sorted({reported.finding.finding_type for reported in mine})
    search = " ".join([view.display_name, view.external_id, *types]).lower()
    summary = (
        f"{_pci(view.pci)} {e(view.display_name)}"
        f'<span class="meta">{e(view.kind)} in {e(view.system_id)} &middot; {len(mine)} finding(s) &middot; '
        f"{view.granted} actions, {view.high_severity} high severity</span>"
    )
    all_services = view.services or []
    services = all_services[:MAX_SERVICES]
    rows = "".join(
        f'<tr><td>{e(s.service)}</td><td class="n">{s.granted}</td><td class="n">{s.high_severity}</td></tr>'
        for s in services
    )
    can_do = (
        f"<p>{view.granted} actions granted in {len(all_services)} services, {view.high_severity} of them "
        "write or permissions-management (high severity).</p>"
        '<table><tr><th>Service</th><th class="n">Granted</th><th class="n">High severity</th></tr>'
        f"{rows}</table>{_more(len(all_services), len(services))}"
    )
    if not view.granted:
        can_do = (
            "<p>No action granted by its own policies (it may still act through roles it can assume).</p>"
        )
    if view.used is None:
        used = '<p class="muted">The files held no activity (no CloudTrail, Access Advisor or credential report).</p>'
    elif not view.used:
        used = "<p>No action used in the activity window.</p>"
    else:
        shown = view.used[:MAX_USED]
        used = (
            f"<p>{len(view.used)} distinct actions used in the window"
            + (f" ({len(view.used) * 100 // view.granted}% of what it holds)" if view.granted else "")
            + ":</p><p>"
            + ", ".join(f"<code>{e(a)}</code>" for a in shown)
            + _more(len(view.used), len(shown))
            + "</p>"
        )
    pci_factors = ""
    if view.pci is not None and view.pci.factors:
        pci_factors = f"<h3>Permission Creep Index factors</h3>{_evidence(view.pci.factors)}"
    flagged = "".join(_finding(reported, page) for reported in mine)
    return (
        f'<details class="identity" data-search="{e(search)}"{" open" if opened else ""}>'
        f"<summary>{summary}</summary>"
        f'<p class="muted"><code>{e(view.external_id)}</code></p>'
        f'<div class="cols"><div><h3>What it can do</h3>{can_do}</div>'
        f"<div><h3>What it used</h3>{used}{pci_factors}</div></div>"
        f"<h3>Why it is flagged</h3>{flagged}</details>"
    )


def _compact(views: Sequence[IdentityView], findings: Sequence[ReportedFinding]) -> str:
    """One row per flagged identity beyond the full sections (the JSON output holds every finding whole)."""
    if not views:
        return ""
    rows = []
    for view in views:
        types = sorted({findings[position].finding.finding_type for position in view.findings})
        rows.append(
            f"<tr><td>{_pci(view.pci)}</td><td>{e(view.display_name)}<br>"
            f"<span class='muted'>{e(view.external_id)}</span></td><td>{e(view.kind)}</td>"
            f"<td class='n'>{view.granted}</td><td class='n'>{view.high_severity}</td>"
            f"<td>{', '.join(f'<code>{e(t)}</code>' for t in types)}</td></tr>"
        )
    return (
        f"<h3>{len(views)} more flagged identities (less risky; every finding is in the JSON output)</h3>"
        "<table><tr><th>PCI</th><th>Identity</th><th>Kind</th><th class='n'>Granted</th>"
        f"<th class='n'>High severity</th><th>Findings</th></tr>{''.join(rows)}</table>"
    )


def _bar(distribution: Mapping[str, Mapping[str, int]]) -> str:
    totals = {band: sum(distribution.get(band, {}).values()) for band in BANDS}
    whole = sum(totals.values())
    if not whole:
        return '<span class="muted">n/a</span>'
    spans = "".join(
        f'<span class="b-{band}" style="width:{totals[band] * 100 / whole:.2f}%" '
        f'title="{band}: {totals[band]}"></span>'
        for band in BANDS
        if totals[band]
    )
    return f'<div class="bar">{spans}</div>'


def _accounts(accounts: Sequence[ScanAccount]) -> str:
    rows = []
    for account in accounts:
        counts = account.counts
        dist: Mapping[str, Mapping[str, int]] = account.pci_distribution or {}
        cells = "".join(
            f'<td class="n">{dist.get(band, {}).get("humanCount", 0)} / '
            f"{dist.get(band, {}).get('nonHumanCount', 0)}</td>"
            for band in BANDS
        )
        rows.append(
            f"<tr><td>{e(account.name)}<br><span class='muted'>{e(account.system_id)}</span></td>"
            f'<td class="n">{counts.get("users", 0)}</td><td class="n">{counts.get("groups", 0)}</td>'
            f'<td class="n">{counts.get("roles", 0)}</td><td class="n">{counts.get("policies", 0)}</td>'
            f"{cells}<td>{_bar(dist)}</td>"
            f"<td>{'yes' if account.has_activity else 'no'}</td>"
            f"<td>{'yes' if account.has_resources else 'no'}</td></tr>"
        )
    head = (
        "<tr><th>Account</th><th class='n'>Users</th><th class='n'>Groups</th><th class='n'>Roles</th>"
        "<th class='n'>Policies</th><th class='n'>PCI high (human / non-human)</th><th class='n'>medium</th>"
        "<th class='n'>low</th><th>PCI distribution</th><th>Activity</th><th>Resources</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _counts(result: ScanResult) -> str:
    by_type = result.counts_by_type()
    if not by_type:
        return "<p>No findings.</p>"
    severities = ("critical", "high", "medium", "low")
    head = (
        "<tr><th>Finding type</th>"
        + "".join(f"<th class='n'>{s}</th>" for s in severities)
        + "<th class='n'>Total</th></tr>"
    )
    rows = "".join(
        f"<tr><td><code>{e(kind)}</code></td>"
        + "".join(f"<td class='n'>{counts.get(s, '') or ''}</td>" for s in severities)
        + f"<td class='n'>{sum(counts.values())}</td></tr>"
        for kind, counts in by_type.items()
    )
    return f"<table>{head}{rows}</table>"


def _skipped(accounts: Sequence[ScanAccount]) -> str:
    reasons: dict[str, list[str]] = {}
    for account in accounts:
        for skipped in account.skipped:
            reasons.setdefault(skipped.reason, [])
            if skipped.finding_type not in reasons[skipped.reason]:
                reasons[skipped.reason].append(skipped.finding_type)
    if not reasons:
        return "<p>Every check ran.</p>"
    items = "".join(
        f"<li>{e(reason)}: " + ", ".join(f"<code>{e(t)}</code>" for t in types) + "</li>"
        for reason, types in reasons.items()
    )
    return f"<p>Not checked, because the files do not hold what these checks need:</p><ul>{items}</ul>"


def _warnings(accounts: Sequence[ScanAccount]) -> str:
    warnings = [(account.system_id, warning) for account in accounts for warning in account.warnings]
    if not warnings:
        return ""
    shown = warnings[:200]
    items = "".join(f"<li>{e(system)}: {e(text)}</li>" for system, text in shown)
    return (
        f"<details><summary>{len(warnings)} import warning(s)</summary><ul>{items}</ul>"
        f"{_more(len(warnings), len(shown))}</details>"
    )


def _others(page: _Page, flagged: Iterable[int]) -> str:
    findings = page.findings
    seen = set(flagged)
    by_type: dict[str, list[ReportedFinding]] = {}
    for position, reported in enumerate(findings):
        if position not in seen:
            by_type.setdefault(reported.finding.finding_type, []).append(reported)
    if not by_type:
        return ""
    out = ["<h2>Other findings (groups, keys, buckets, security groups, trusts)</h2>"]
    for kind, items in by_type.items():
        shown = items[:MAX_OTHER]
        out.append(f"<h3>{e(items[0].title)} <code>{e(kind)}</code> ({len(items)})</h3>")
        out.extend(_finding(reported, page, about=True) for reported in shown)
        out.append(_more(len(items), len(shown)))
    return "".join(out)


class _Page:
    """What every section of one page shares: the findings, the techniques in words, the folded lists."""

    def __init__(self, result: ScanResult) -> None:
        self.findings = result.findings
        self.techniques = result.techniques
        self.folds = Folds()


def render_html(result: ScanResult) -> str:
    """The report as one HTML document (inline CSS and a small inline script; nothing fetched)."""
    page = _Page(result)
    flagged_positions = [p for view in result.identities for p in view.findings]
    severities: dict[str, int] = {}
    for reported in result.findings:
        severities[reported.finding.severity.value] = severities.get(reported.finding.severity.value, 0) + 1
    cards = [
        ("Accounts", len(result.accounts)),
        ("Findings", len(result.findings)),
        ("Flagged identities", len(result.identities)),
        *((f"{name.capitalize()} severity", severities.get(name, 0)) for name in ("critical", "high")),
    ]
    body = [
        "<header><h1>permscope scan report</h1>",
        f"<p>{e(result.created.strftime('%Y-%m-%d %H:%M UTC'))} &middot; "
        + e(", ".join(result.files))
        + "</p></header><main>",
        "<h2>Overview</h2><div class='cards'>",
        "".join(f"<div class='card'><b>{value}</b>{e(name)}</div>" for name, value in cards),
        "</div>",
        "<h2>Accounts</h2>",
        _accounts(result.accounts),
        _warnings(result.accounts),
        "<h2>Findings by type and severity</h2>",
        _counts(result),
        "<h2>What was not checked</h2>",
        _skipped(result.accounts),
        f"<h2>Flagged identities ({len(result.identities)}), most severe finding first, then by PCI</h2>",
        "<p><input id='filter' type='search' placeholder='Filter by name, ARN or finding type'></p>",
        "".join(
            _identity(view, page, opened=rank < OPENED)
            for rank, view in enumerate(result.identities[:MAX_SECTIONS])
        ),
        _compact(result.identities[MAX_SECTIONS:], result.findings),
        _others(page, flagged_positions),
        "</main>",
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<title>permscope scan report</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}<script>{SCRIPT}</script></body></html>"
    )


def write_html(result: ScanResult, path: str | Path) -> Path:
    """Write the report to `path` (UTF-8) and return it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(result), encoding="utf-8")
    return target
