"""How `permscope simulate gcp --format table` shows one decision: the verdict, then the rules and bindings behind it."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from permscope.workflows.simulation import SimulationOutcome

DECISION_STYLES = {"Allowed": "bold green", "NotAllowed": "bold yellow", "Denied": "bold red"}


def _via(entry: dict[str, Any]) -> str:
    groups = entry.get("via_groups") or []
    return f" (via {' -> '.join(groups)})" if groups else ""


def _condition(entry: dict[str, Any]) -> str:
    condition = entry.get("condition")
    if not condition:
        return "-"
    result = condition.get("error") or str(condition["result"]).lower()
    return f"{condition['expression']} => {result}"


def _deny_table(title: str, rules: list[dict[str, Any]], reasons: bool) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for header in ("Attached to", "Deny policy", "Rule", "Principal", "Permission", "Condition"):
        table.add_column(header, overflow="fold")
    if reasons:
        table.add_column("Why it does not apply", overflow="fold")
    for rule in rules:
        cells = [
            f"{rule['level']} {rule['attached_to']}",
            rule["policy"],
            str(rule["rule"]),
            rule["denied_principal"] + _via(rule),
            rule["denied_permission"],
            _condition(rule),
        ]
        if reasons:
            cells.append(rule["reason"])
        table.add_row(*cells)
    return table


def _binding_table(title: str, bindings: list[dict[str, Any]], reasons: bool) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for header in ("Level", "Resource", "Binding", "Role", "Member", "Condition"):
        table.add_column(header, overflow="fold")
    if reasons:
        table.add_column("Why it does not grant", overflow="fold")
    for binding in bindings:
        level = binding["level"] + (" (inherited)" if binding["inherited"] else "")
        cells = [
            level,
            binding["resource"],
            str(binding["binding"]),
            binding["role"],
            binding["member"] + _via(binding),
            _condition(binding),
        ]
        if reasons:
            cells.append(binding["reason"])
        table.add_row(*cells)
    return table


def render_gcp(outcome: SimulationOutcome) -> Panel:
    """One GCP decision for a person asking "why is this allowed (or not)?"."""
    result = outcome.result
    explanation = result["explanation"]
    decision = result["decision"]
    heading = Text.assemble(
        ("Decision:   ", "bold"), (decision, DECISION_STYLES.get(decision, "bold")), "\n",
        ("Principal:  ", "bold"), explanation["principal"], "\n",
        ("Permission: ", "bold"), explanation["permission"], "\n",
        ("Resource:   ", "bold"), explanation["resource"], "\n",
        ("Why:        ", "bold"), explanation["summary"],
    )  # fmt: skip
    parts: list[Any] = [heading]
    if explanation["denied_by"]:
        parts.append(_deny_table("Deny rules that apply (checked first)", explanation["denied_by"], False))
    if explanation["granted_by"]:
        title = "Bindings that grant" if decision != "Denied" else "Bindings that would grant (the deny wins)"
        parts.append(_binding_table(title, explanation["granted_by"], False))
    skipped = explanation["not_applied"]
    denials = [entry for entry in skipped if entry["kind"] == "deny_rule"]
    bindings = [entry for entry in skipped if entry["kind"] == "binding"]
    if denials:
        parts.append(_deny_table("Deny rules that do not apply", denials, True))
    if bindings:
        parts.append(_binding_table("Bindings of the principal that do not grant", bindings, True))
    lineage = Text("Hierarchy: ", style="bold")
    lineage.append(" <- ".join(explanation["lineage"]), style="")
    parts.append(lineage)
    if explanation["groups"]:
        parts.append(Text("Groups: " + ", ".join(explanation["groups"]), style="dim"))
    for note in explanation["notes"]:
        parts.append(Text(f"Note: {note}", style="dim"))
    case_id = result.get("id")
    title = str(case_id) if case_id is not None else "request"
    if outcome.name:
        title = f"{title} - {outcome.name}"
    return Panel(Group(*parts), title=title, title_align="left")
