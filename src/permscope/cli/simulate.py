"""`permscope simulate`: is a request allowed, and why (one case, or a batch of JSON lines)."""

from __future__ import annotations

import mmap
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson
import typer

from permscope.cli.output import reports_errors, stdout
from permscope.core.errors import InputError
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.userfiles import open_regular
from permscope.workflows.simulation import (
    MAX_CASE_BYTES,
    SimulationOutcome,
    simulate_document,
    simulate_lines,
    simulate_lines_json,
)

if TYPE_CHECKING:  # Rich is imported to draw a table: `--batch` and `--format json` print JSON only
    from rich.panel import Panel
    from rich.table import Table

app = typer.Typer(help="Simulate authorization requests: is it allowed, and why?", no_args_is_help=True)

TYPE_LABELS = {
    "identity": "Identity-based policies",
    "resource": "Resource-based policy",
    "boundary": "Permissions boundary",
    "session": "Session policy",
    "scp": "Service control policies (SCPs)",
    "rcp": "Resource control policies (RCPs)",
    "vpcEndpoint": "VPC endpoint policy",
    "serviceRule": "AWS service rule",
}
DECISION_STYLES = {"Allowed": "bold green", "ImplicitlyDenied": "bold yellow", "ExplicitlyDenied": "bold red"}


class SimulateFormat(StrEnum):
    """How `simulate` prints its answers."""

    JSON = "json"
    TABLE = "table"


@contextmanager
def _opened(file: str) -> Iterator[tuple[IO[bytes], str]]:
    """The input as a binary stream and the name errors use for it ("-" is standard input)."""
    if file == "-":
        yield sys.stdin.buffer, "<stdin>"
        return
    if not Path(file).exists():
        raise InputError(file, "no such file")
    with open_regular(file) as handle:  # a FIFO or a device is refused, never waited on
        yield handle, file


READ_BUFFER = 1024 * 1024  # reading 20 KB lines through the default 8 KB buffer cost more than deciding them


def _lines(handle: IO[bytes]) -> Iterator[bytes]:
    """The input's lines, none read past the size a case may have (a longer one is then refused whole).

    A regular file (or standard input redirected from one) is mapped and its lines cut from the mapping, from
    the current position on; a pipe is read through a 1 MiB buffer of its own (nothing read from it yet).
    """
    try:
        descriptor = handle.fileno()
    except (OSError, ValueError):  # no descriptor (a test's BytesIO): io.UnsupportedOperation is both
        yield from _read_lines(handle)
        return
    try:
        start = os.lseek(descriptor, 0, os.SEEK_CUR)
        mapped = mmap.mmap(descriptor, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # a pipe, a terminal, an empty file
        with open(descriptor, "rb", buffering=READ_BUFFER, closefd=False) as reader:
            yield from _read_lines(reader)
        return
    with mapped:
        size = len(mapped)
        while start < size:
            end = mapped.find(b"\n", start)
            stop = size if end < 0 else end + 1
            yield mapped[start : min(stop, start + MAX_CASE_BYTES + 1)]
            start = stop


def _read_lines(reader: IO[bytes]) -> Iterator[bytes]:
    while line := reader.readline(MAX_CASE_BYTES + 1):
        yield line


def _verdicts(explanation: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(policy type, verdict, style) rows: a deny first, then what failed to allow, then what allowed."""
    rows: list[tuple[str, str, str]] = []
    shown: set[str] = set()
    for kinds, verdict, style in (
        (explanation["denied_by"], "explicitly denies", "red"),
        (explanation["not_allowed_by"], "does not allow (and must)", "yellow"),
        (explanation["allowed_by"], "allows", "green"),
    ):
        for kind in kinds:
            if kind not in shown:
                shown.add(kind)
                rows.append((TYPE_LABELS.get(kind, kind), verdict, style))
    return rows


def _statements_table(matches: list[dict[str, Any]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    levels = any(match.get("level") for match in matches)
    table = Table(title="Statements that apply", title_justify="left", header_style="bold")
    headers = (
        "Policy type",
        "Policy",
        *(("Level",) if levels else ()),
        "Statement",
        "Effect",
        "Condition keys",
    )
    for header in headers:
        table.add_column(header, overflow="fold")
    for match in matches:
        effect = Text(match["effect"], style="red" if match["effect"] == "Deny" else "green")
        cells: list[Any] = [TYPE_LABELS.get(match["policy_type"], match["policy_type"]), match["policy_name"]]
        if levels:
            cells.append(match.get("level") or "")
        cells += [match["statement"], effect, ", ".join(match["condition_keys"]) or "-"]
        table.add_row(*cells)
    return table


def _title(outcome: SimulationOutcome, unnamed: str) -> str:
    """A panel's title: the case's id (else `unnamed`), then its name when it has one."""
    case_id = outcome.result.get("id")
    title = str(case_id) if case_id is not None else unnamed
    return f"{title} - {outcome.name}" if outcome.name else title


def render_component(outcome: SimulationOutcome) -> Panel:
    """A condition_operator or resource_match case: does it match, value by value."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    result = outcome.result
    matched = result.get("matches", result.get("statement_matches"))
    heading = Text.assemble(
        ("Matches: ", "bold"), ("yes" if matched else "no", "green" if matched else "red"), "\n",
        ("Test:    ", "bold"), outcome.action, "\n",
        ("Request: ", "bold"), outcome.resource,
    )  # fmt: skip
    values = Table(header_style="bold")
    values.add_column("Policy value")
    values.add_column("Matches")
    for entry in result.get("per_value", []):
        values.add_row(str(entry.get("value", entry.get("resource"))), "yes" if entry["matches"] else "no")
    return Panel(Group(heading, values), title=_title(outcome, "case"), title_align="left")


def render_table(outcome: SimulationOutcome) -> Panel:
    """One case for a person asking "why is this allowed (or not)?"."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    result = outcome.result
    if "decision" not in result:
        return render_component(outcome)
    explanation = result["explanation"]
    decision = result["decision"]
    heading = Text.assemble(
        ("Decision: ", "bold"), (decision, DECISION_STYLES.get(decision, "bold")), "\n",
        ("Principal: ", "bold"), outcome.principal, "\n",
        ("Action:    ", "bold"), outcome.action, "\n",
        ("Resource:  ", "bold"), outcome.resource,
    )  # fmt: skip
    types = Table(title="Policy types", title_justify="left", header_style="bold")
    types.add_column("Policy type")
    types.add_column("Verdict")
    for label, verdict, style in _verdicts(explanation):
        types.add_row(label, Text(verdict, style=style))
    parts: list[Any] = [heading, types]
    if explanation["matches"]:
        parts.append(_statements_table(explanation["matches"]))
    else:
        parts.append(Text("No statement of any policy applies to this request.", style="dim"))
    if explanation["notes"]:
        parts.append(Text("Why:", style="bold"))
        parts.extend(Text(f"  - {note}") for note in explanation["notes"])
    return Panel(Group(*parts), title=_title(outcome, "request"), title_align="left")


@app.command("aws")
@reports_errors
def aws_command(
    ctx: typer.Context,
    file: str = typer.Argument("-", help="A case (a JSON object), or JSON lines with --batch; - reads stdin"),
    batch: bool = typer.Option(False, "--batch", help="The input is JSON lines, one case per line"),
    fmt: SimulateFormat = typer.Option(
        SimulateFormat.JSON, "--format", "-f", help="json (one object per line) or table"
    ),
    principal: str | None = typer.Option(
        None,
        "--principal",
        "-p",
        metavar="ARN",
        help="A stored user or role: decide its request instead of a case",
    ),
    action: str | None = typer.Option(None, "--action", "-a", help="With --principal: the action"),
    resource: str = typer.Option(
        "*", "--resource", "-r", metavar="ARN", help="With --principal: the resource"
    ),
    system: str | None = typer.Option(
        None, "--system", "-s", help="With --principal: its AWS account (default: the account in its ARN)"
    ),
    context: list[str] = typer.Option(
        [], "--context", "-c", metavar="KEY=VALUE", help="With --principal: a condition key of the request"
    ),
) -> None:
    """Decide AWS requests as IAM would, with the policy types and statements that decided them.

    A case is {"request": {...}, "policies": {...}} in the format of the conformance cases (../shared/README.md;
    the AWS plugin's `simulate`). Writes {"id", "decision", "explanation"} per case; condition_operator and
    resource_match cases get {"id", "matches" | "statement_matches", "per_value"}.

    With --principal ARN --action A [--resource R], the request of a stored user or role is decided with its
    stored policies (identity, groups', boundary, SCPs, the resource's policy when stored) instead of a case.
    """
    if principal is not None:
        _stored(ctx, principal, action, resource, system, context, fmt)
        return
    if action is not None:
        raise typer.BadParameter("--action goes with --principal", param_hint="--action")
    _simulate_cases(Cloud.AWS, file, batch, fmt, render_table)


def _simulate_cases(
    cloud: Cloud, file: str, batch: bool, fmt: SimulateFormat, render: Callable[[SimulationOutcome], Panel]
) -> None:
    """Simulate the case of `file`, or its JSON lines with `batch`, and print each answer as `fmt` asks."""
    with _opened(file) as (handle, source):
        if not batch:
            outcome = simulate_document(handle.read(MAX_CASE_BYTES + 1), source, cloud)
            if fmt is SimulateFormat.JSON:
                _write_json([orjson.dumps(outcome.result)])
            else:
                stdout().print(render(outcome))
        elif fmt is SimulateFormat.JSON:
            with (
                collector_paused()
            ):  # a batch allocates only acyclic objects (parsed cases, policies, answers)
                _write_json(simulate_lines_json(_lines(handle), source, cloud))
        else:
            console = stdout()
            for outcome in simulate_lines(_lines(handle), source, cloud):
                console.print(render(outcome))


@app.command("azure")
@reports_errors
def azure_command(
    file: str = typer.Argument("-", help="A case (a JSON object), or JSON lines with --batch; - reads stdin"),
    batch: bool = typer.Option(False, "--batch", help="The input is JSON lines, one case per line"),
    fmt: SimulateFormat = typer.Option(
        SimulateFormat.JSON, "--format", "-f", help="json (one object per line) or table"
    ),
) -> None:
    """Decide Azure RBAC requests as Azure would, with the role and deny assignments and conditions that decided them.

    A case is {"estate": {...}, "request": {...}} in the format of the Azure RBAC conformance cases
    (../shared/README.md; docs/azure-evaluation.md): role definitions, role and deny assignments, group members,
    management-group ancestry, and one request (principal, operation, data or control plane, target scope,
    condition attributes). Writes {"id", "decision": Allowed | NotAllowed | Denied, "explanation"} per case.
    """
    from permscope.cli.simulate_azure import render_azure_table

    _simulate_cases(Cloud.AZURE, file, batch, fmt, render_azure_table)


@app.command("gcp")
@reports_errors
def gcp_command(
    file: str = typer.Argument("-", help="A case (a JSON object), or JSON lines with --batch; - reads stdin"),
    batch: bool = typer.Option(False, "--batch", help="The input is JSON lines, one case per line"),
    fmt: SimulateFormat = typer.Option(
        SimulateFormat.JSON, "--format", "-f", help="json (one object per line) or table"
    ),
) -> None:
    """Decide Google Cloud IAM requests: deny rules first, then the allow policies of the resource hierarchy.

    A case is {"estate": {...}, "request": {...}} in the format of ../shared/data/conformance/gcp_iam_cases.jsonl
    (docs/gcp-evaluation.md). Writes {"id", "decision", "explanation"} per case; the decision is Allowed,
    NotAllowed or Denied, and the explanation names the deny rule or the binding (level, role, member, condition).
    """
    from permscope.cli.simulate_gcp import render_gcp

    _simulate_cases(Cloud.GCP, file, batch, fmt, render_gcp)


def _stored(
    ctx: typer.Context,
    principal: str,
    action: str | None,
    resource: str,
    system: str | None,
    context: list[str],
    fmt: SimulateFormat,
) -> None:
    """Decide a stored principal's request (the database is opened only here)."""
    from permscope.cli.output import engine_of
    from permscope.cli.who_can import parse_context
    from permscope.workflows.who_can import decide_stored

    if not action:
        raise typer.BadParameter("--principal needs --action", param_hint="--action")
    decision = decide_stored(
        engine_of(ctx), principal, action, resource, system_id=system, context=parse_context(context)
    )
    if fmt is SimulateFormat.JSON:
        _write_json([orjson.dumps(decision.to_dict())])
        return
    result = {"id": None, "decision": decision.decision, "explanation": decision.explanation}
    outcome = SimulationOutcome(result, None, decision.principal, decision.action, decision.resource)
    console = stdout()
    console.print(render_table(outcome))
    if decision.conditional:
        keys = ", ".join(decision.condition_keys)
        console.print(
            f"Allowed only if the conditions on {keys} hold (give them with --context).", highlight=False
        )
    if decision.resource_policy:
        console.print(f"The resource policy read: {decision.resource_policy}.", highlight=False)


def _write_json(lines: Iterable[bytes]) -> None:
    """Write encoded JSON objects, one per line, to standard output (as bytes when it has a buffer)."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    try:
        for line in lines:
            if buffer is not None:
                buffer.write(line + b"\n")
            else:
                sys.stdout.write(line.decode() + "\n")
    finally:  # the answers before a bad line are written before its error
        (buffer or sys.stdout).flush()
