"""`permscope who-can ACTION RESOURCE`: every stored principal allowed an action on a resource, and why."""

from __future__ import annotations

import csv
import sys
from typing import Any

import typer

from permscope.cli.output import (
    EXIT_BAD_INPUT,
    WIDE_HELP,
    Column,
    OutputFormat,
    engine_of,
    fail,
    print_json,
    reports_errors,
    stderr,
    stdout,
    table_of,
)

CONTEXT_HELP = "A condition key the request carries, KEY=VALUE (repeatable), e.g. aws:SourceIp=203.0.113.7"
COLUMNS = [
    Column("principal", "Principal", name=True, detail="why"),
    Column("kind", "Kind", wide=True),
    Column("conditional", "Conditional", wide=True),
    Column("why", "Why", wide=True, text=True),
]
CSV_FIELDS = ("principal", "kind", "display_name", "conditional", "condition_keys", "why")


def parse_context(pairs: list[str]) -> dict[str, str]:
    """`--context KEY=VALUE` options as a request context (exit 2 for one without `=`)."""
    context: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--context: {pair!r} is not KEY=VALUE", EXIT_BAD_INPUT)
        context[key.strip()] = value
    return context


@reports_errors
def who_can_command(
    ctx: typer.Context,
    action: str = typer.Argument(..., metavar="ACTION", help="One action, e.g. s3:GetObject or iam:PassRole"),
    resource: str = typer.Argument(
        ..., metavar="RESOURCE", help="The resource's ARN, or * for an action without a resource"
    ),
    system: str | None = typer.Option(
        None,
        "--system",
        "-s",
        help="The AWS account whose principals to ask (default: the resource's account)",
    ),
    context: list[str] = typer.Option([], "--context", "-c", help=CONTEXT_HELP, metavar="KEY=VALUE"),
    fmt: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv"),
    wide: bool = typer.Option(False, "--wide", "-w", help=WIDE_HELP),
) -> None:
    """Who can do ACTION on RESOURCE: every stored user and role the engine allows, and why.

    Each principal's request is decided with its identity policies (and its groups'), its permissions
    boundary, the organization's SCPs and the resource's policy when it is stored (a role's trust policy, a
    collected bucket's policy). A condition permscope cannot decide from the inventory (MFA, source IP) makes a
    principal allowed "only if" it holds; --context gives such keys a value."""
    from permscope.presentation.access import decision_reason, who_can_to_wire
    from permscope.workflows.who_can import who_can

    answer = who_can(engine_of(ctx), action, resource, system_id=system, context=parse_context(context))
    if fmt is OutputFormat.JSON:
        print_json(who_can_to_wire(answer))
        return
    records: list[dict[str, Any]] = [
        {
            "principal": decision.principal,
            "kind": decision.kind,
            "display_name": decision.display_name,
            "conditional": decision.conditional,
            "condition_keys": ", ".join(decision.condition_keys),
            "why": decision_reason(decision),
        }
        for decision in answer.principals
    ]
    if fmt is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        writer.writerows([["yes" if r[f] is True else "no" if r[f] is False else r[f] for f in CSV_FIELDS]
                          for r in records])  # fmt: skip
        return
    heading = f"Who can {answer.action} on {answer.resource} in {answer.system_id}"
    if not records:
        stderr().print(
            f"[dim]nobody: no stored principal of {answer.system_id} is allowed[/dim]", highlight=False
        )
        return
    certain = sum(1 for record in records if not record["conditional"])
    stdout().print(table_of(records, COLUMNS, title=heading, wide=wide))
    stdout().print(
        f"{certain} principal(s) allowed, {len(records) - certain} only under conditions.", highlight=False
    )
