"""How `permscope simulate azure --format table` shows one decision: the verdict, the assignments, the conditions."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from permscope.cli.simulate import _title
from permscope.workflows.simulation import SimulationOutcome

AZURE_DECISION_STYLES = {"Allowed": "bold green", "NotAllowed": "bold yellow", "Denied": "bold red"}
# An assignment's verdict in the explanation -> (what the table says, its style).
AZURE_VERDICTS = {
    "grants": ("grants", "green"),
    "applies": ("denies", "red"),
    "scope_not_covered": ("scope does not cover", "dim"),
    "action_not_in_role": ("action not in role", "dim"),
    "action_not_denied": ("action not denied", "dim"),
    "removed_by_not_actions": ("removed by NotActions", "yellow"),
    "action_excepted": ("excepted by NotActions", "yellow"),
    "condition_false": ("condition false", "yellow"),
    "condition_invalid": ("condition invalid", "yellow"),
    "role_condition_false": ("role condition false", "yellow"),
    "role_definition_missing": ("role unknown", "yellow"),
    "principal_not_listed": ("not for this principal", "dim"),
    "principal_excluded": ("principal excluded", "yellow"),
}


def _verdict(row: dict[str, Any]) -> Text:
    label, style = AZURE_VERDICTS.get(row.get("verdict", ""), (str(row.get("verdict")), ""))
    return Text(label, style=style)


def _azure_assignments(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        title="Role assignments of the principal and its groups", title_justify="left", header_style="bold"
    )
    for header in ("Role", "Scope", "Via", "Verdict", "Why"):
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.get("role")),
            str(row.get("scope")),
            str(row.get("via")),
            _verdict(row),
            row.get("reason", ""),
        )
    return table


def _azure_denies(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Deny assignments", title_justify="left", header_style="bold")
    for header in ("Deny assignment", "Scope", "Verdict", "Why"):
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.get("name") or row.get("id")), str(row.get("scope")), _verdict(row), row.get("reason", "")
        )
    return table


def _azure_conditions(rows: list[dict[str, Any]]) -> list[Any]:
    parts: list[Any] = []
    for row in rows:
        condition = row.get("condition")
        if not condition:
            continue
        if "error" in condition:
            parts.append(
                Text(
                    f"Condition of {row.get('role')} at {row.get('scope')}: cannot be evaluated", style="bold"
                )
            )
            parts.append(Text(f"  {condition['error']}"))
            continue
        result = "holds" if condition.get("result") else "is false"
        parts.append(Text(f"Condition of {row.get('role')} at {row.get('scope')} {result}:", style="bold"))
        for step in condition.get("expressions", []):
            detail = f" ({step['detail']})" if step.get("detail") else ""
            mark = Text("true " if step["result"] else "false", style="green" if step["result"] else "red")
            parts.append(Text.assemble("  ", mark, f" {step['expression']}{detail}"))
    return parts


def render_azure_table(outcome: SimulationOutcome) -> Panel:
    """One Azure case: the decision, the assignments that decided it, and what each condition found."""
    result = outcome.result
    explanation = result["explanation"]
    decision = result["decision"]
    groups = explanation.get("groups") or []
    member_of = f" (member of {len(groups)} group{'s' if len(groups) != 1 else ''})" if groups else ""
    heading = Text.assemble(
        ("Decision:  ", "bold"), (decision, AZURE_DECISION_STYLES.get(decision, "bold")), "\n",
        ("Principal: ", "bold"), outcome.principal, member_of, "\n",
        ("Action:    ", "bold"), outcome.action, f" ({explanation.get('plane')} plane)", "\n",
        ("Scope:     ", "bold"), outcome.resource, f" ({explanation.get('scope_level')})", "\n",
        ("Why:       ", "bold"), str(explanation.get("reason")),
    )  # fmt: skip
    parts: list[Any] = [heading]
    rows = explanation.get("role_assignments") or []
    if rows:
        parts.append(_azure_assignments(rows))
    else:
        parts.append(Text("No role assignment names the principal or any of its groups.", style="dim"))
    if explanation.get("deny_assignments"):
        parts.append(_azure_denies(explanation["deny_assignments"]))
    parts.extend(_azure_conditions(rows))
    return Panel(Group(*parts), title=_title(outcome, "request"), title_align="left")
