"""`permscope requests`: create, list, show, approve, reject and cancel permissions-on-demand requests, and
manage auto-approve rules. The command line has the database, so it acts as an administrator named by --as
(the self-approval rule still applies to that name)."""

from __future__ import annotations

import getpass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from permscope.cli.output import (
    WIDE_HELP,
    Column,
    OutputFormat,
    engine_of,
    print_json,
    render,
    reports_errors,
    state,
    stdout,
)
from permscope.core.errors import InputError
from permscope.core.requests import RequestStatus, action_names, parse_duration
from permscope.userfiles import FileLimits, json_document, read_bytes

# The workflows and their wire shapes (SQLAlchemy) are imported where they are used: `permscope --help` and
# the other commands need none of them.
if TYPE_CHECKING:
    from permscope.workflows import requests as workflow
    from permscope.workflows.apikeys import ApiPrincipal

app = typer.Typer(
    help="Permissions on demand: just-in-time requests, approvals, grants.", no_args_is_help=True
)
rules_app = typer.Typer(help="Auto-approve rules: requests wholly inside a rule are approved at once.")
app.add_typer(rules_app, name="rules")


def _actor(name: str | None) -> ApiPrincipal:
    from permscope.workflows import requests as workflow

    return workflow.local_actor(name or f"local:{getpass.getuser()}")


AS_OPTION = typer.Option(None, "--as", help="Who acts (createdBy / reviewer); default local:<your user name>")
FORMAT_OPTION = typer.Option(OutputFormat.TABLE, "--format", "-f", help="table, json or csv")
MAX_BODY_BYTES = 1024 * 1024  # a request body is a few kilobytes


def _config(ctx: typer.Context) -> workflow.RequestConfig:
    from permscope.workflows import requests as workflow

    return workflow.RequestConfig.from_settings(state(ctx).settings())


def build_body(
    *,
    system: str,
    identity: str,
    identity_type: str | None,
    actions: list[str],
    resources: list[str],
    policies: list[str],
    assign_to_role: str | None,
    duration: str | None,
    start: str | None,
    end: str | None,
    justification: str | None,
    ticket: str | None,
) -> dict[str, Any]:
    """The Graph body the options describe (the same one the API takes)."""
    from permscope.presentation.request_draft import RequestDraft, draft_body

    if bool(actions) == bool(policies):
        raise InputError("options", "give either --action (with --resource) or --policy")
    draft = RequestDraft(
        cloud="aws",
        system_id=system,
        identity=identity,
        identity_type=identity_type,
        what="actions" if actions else "policies",
        values=tuple(actions or policies),
        resources=tuple(resources),
        assign_to_role=assign_to_role,
        start=start,
        duration=duration if end else (duration or "PT1H"),
        end=end,
        justification=justification,
        ticket_number=ticket,
    )
    return draft_body(draft)


# Where a body built from options went wrong -> the option that set it (most specific first).
OPTION_FIELDS = (
    ("statements[0]/actions", "--action"),
    ("statements[0]/resources", "--resource"),
    ("actionInfo/statements", "--action/--resource"),
    ("actionInfo/policies", "--policy"),
    ("actionInfo/assignToRoleId", "--assign-to-role"),
    ("identityInfo/identityType", "--identity-type"),
    ("identityInfo", "--identity"),
    ("authorizationSystemId", "--system"),
    ("expiration/duration", "--duration"),
    ("expiration/endDateTime", "--end"),
    ("scheduleInfo/startDateTime", "--start"),
    ("scheduleInfo/expiration", "{length}"),
    ("justification", "--justification"),
    ("ticketInfo", "--ticket"),
)


def option_error(exc: InputError, *, length_option: str = "--duration") -> InputError:
    """An error about a body built from options, as an error about the option the user typed
    (`length_option`: the option that set how long, --duration or --end)."""
    for fragment, option in OPTION_FIELDS:
        if fragment in exc.source:
            return InputError(option.format(length=length_option), exc.problem)
    return exc


def _row(record: workflow.RequestRecord) -> dict[str, Any]:
    request = record.request
    return {
        "id": request.request_id,
        "status": request.status,
        "occurrence": request.occurrence_status,
        "system": f"{request.cloud} {request.system_id}",
        "grantee": request.grantee,
        "what": ", ".join(action_names(request.action)),
        "created_by": request.created_by,
        "start": request.grant_start or request.requested_start,
        "end": request.grant_end,
        "created_at": request.created_at,
    }


COLUMNS = [
    Column("id", "Request", word=True),
    Column("status", "Status"),
    Column("occurrence", "Grant"),
    Column("system", "System", word=True),
    Column("grantee", "For", name=True),
    Column("what", "Permissions", text=True),
    Column("created_by", "By"),
    Column("start", "Start"),
    Column("end", "End"),
]


def _show(fmt: OutputFormat, record: workflow.RequestRecord) -> None:
    from permscope.presentation.requests import request_to_wire

    if fmt is OutputFormat.JSON:
        print_json(request_to_wire(record.request, record.step))
    else:
        render(fmt, [_row(record)], COLUMNS, title="Permissions request")


def _read_body(file: Path) -> Any:
    """A request body from a file or '-' (stdin): one JSON value of at most MAX_BODY_BYTES; a FIFO or a
    device given as the file is refused, never waited on (docs/limits.md)."""
    limits = FileLimits(max_bytes=MAX_BODY_BYTES, setting=None)
    if str(file) == "-":
        data = typer.get_binary_stream("stdin").read(MAX_BODY_BYTES + 1)
        if len(data) > MAX_BODY_BYTES:
            raise InputError("<stdin>", f"the body is larger than {MAX_BODY_BYTES:,} bytes")
        return json_document(data, "<stdin>")
    return json_document(read_bytes(file, limits), str(file))


@app.command("create")
@reports_errors
def create_command(
    ctx: typer.Context,
    file: Path | None = typer.Option(
        None, "--file", help="A scheduledPermissionsRequest body (JSON); '-' for stdin"
    ),
    system: str | None = typer.Option(None, "--system", "-s", help="AWS account id"),
    identity: str | None = typer.Option(
        None, "--identity", "-i", help="ARN of the user or role receiving it"
    ),
    identity_type: str | None = typer.Option(
        None, "--identity-type", help="user or role (default: from the ARN)"
    ),
    action: list[str] = typer.Option(
        [], "--action", "-a", help="An IAM action (repeatable), e.g. s3:GetObject"
    ),
    resource: list[str] = typer.Option([], "--resource", "-r", help="A resource ARN (repeatable; default *)"),
    policy: list[str] = typer.Option(
        [], "--policy", "-p", help="A managed policy ARN to attach (repeatable)"
    ),
    assign_to_role: str | None = typer.Option(None, "--assign-to-role", help="Role ARN for a federated user"),
    duration: str | None = typer.Option(None, "--duration", "-d", help="ISO 8601 duration (default PT1H)"),
    start: str | None = typer.Option(
        None, "--start", help="When to start (ISO 8601); default: once approved"
    ),
    end: str | None = typer.Option(None, "--end", help="When to end (ISO 8601), instead of --duration"),
    justification: str | None = typer.Option(None, "--justification", "-j", help="Why"),
    ticket: str | None = typer.Option(None, "--ticket", help="Ticket number, e.g. INC1234567"),
    as_: str | None = AS_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Ask for permissions for a while: from options, or from a Graph JSON body with --file."""
    from permscope.workflows import requests as workflow

    if file is not None:
        body = _read_body(file)
    else:
        if not system or not identity:
            raise InputError("options", "give --file, or --system and --identity")
        body = build_body(
            system=system,
            identity=identity,
            identity_type=identity_type,
            actions=action,
            resources=resource,
            policies=policy,
            assign_to_role=assign_to_role,
            duration=duration,
            start=start,
            end=end,
            justification=justification,
            ticket=ticket,
        )
    try:
        record = workflow.create_request(engine_of(ctx), _actor(as_), body, config=_config(ctx))
    except InputError as exc:
        if file is not None:
            raise
        raise option_error(exc, length_option="--end" if end else "--duration") from None
    _show(fmt, record)


@app.command("list")
@reports_errors
def list_command(
    ctx: typer.Context,
    status: RequestStatus | None = typer.Option(None, "--status", help="Only requests in this state"),
    system: str | None = typer.Option(None, "--system", "-s", help="Only requests of this system"),
    fmt: OutputFormat = FORMAT_OPTION,
    wide: bool = typer.Option(False, "--wide", "-w", help=WIDE_HELP),
) -> None:
    """List requests, newest first (short names; --wide for full ARNs)."""
    from permscope.presentation.requests import request_to_wire
    from permscope.workflows import requests as workflow

    records = workflow.list_records(engine_of(ctx), _actor(None), status=status, system_id=system)
    if fmt is OutputFormat.JSON:
        print_json([request_to_wire(r.request, r.step) for r in records])
        return
    rows = [_row(r) for r in records]
    render(fmt, rows, COLUMNS, title="Permissions requests", empty="no requests", wide=wide)


@app.command("show")
@reports_errors
def show_command(
    ctx: typer.Context,
    request_id: str = typer.Argument(..., help="The request id"),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """One request with its change history, what was granted, and its scheduled jobs."""
    from permscope.presentation.requests import change_to_wire, request_to_wire
    from permscope.workflows import requests as workflow

    record = workflow.get_record(engine_of(ctx), _actor(None), request_id, detail=True)
    jobs = [
        {"kind": j.kind, "status": j.status, "due": j.due_at, "attempts": j.attempts, "error": j.last_error}
        for j in record.jobs
    ]
    if fmt is OutputFormat.JSON:
        body = request_to_wire(record.request, record.step)
        body["changes"] = [change_to_wire(change) for change in record.changes]
        body["grants"] = [
            {
                "kind": g.kind,
                "principal": g.principal,
                "target": g.target,
                "state": g.state,
                "owned": g.owned,
                "note": g.note,
            }
            for g in record.grants
        ]
        body["jobs"] = jobs
        print_json(body)
        return
    render(fmt, [_row(record)], COLUMNS, title="Permissions request")
    changes = [
        {
            "at": c.modified_at,
            "event": c.event,
            "status": c.status,
            "grant": c.occurrence_status,
            "by": c.actor,
            "detail": c.detail,
        }
        for c in record.changes
    ]
    render(
        fmt,
        changes,
        [
            ("at", "When"),
            ("event", "Event"),
            ("status", "Status"),
            ("grant", "Grant"),
            ("by", "By"),
            ("detail", "Detail"),
        ],
        title="Changes",
    )
    if record.grants:
        grants = [
            {"kind": g.kind, "target": g.target, "on": g.principal, "state": g.state, "note": g.note}
            for g in record.grants
        ]
        render(
            fmt,
            grants,
            [("kind", "Kind"), ("target", "Item"), ("on", "On"), ("state", "State"), ("note", "Note")],
            title="Grant items",
        )
    if jobs:
        render(
            fmt,
            jobs,
            [
                ("kind", "Job"),
                ("status", "Status"),
                ("due", "Due"),
                ("attempts", "Attempts"),
                ("error", "Error"),
            ],
            title="Scheduler jobs",
        )
    if record.request.last_error:
        stdout().print(f"[red]last error:[/red] {record.request.last_error}")


def _decide(
    ctx: typer.Context, request_id: str, approve: bool, justification: str | None, as_: str | None
) -> None:
    from permscope.workflows import requests as workflow

    record = workflow.decide(
        engine_of(ctx), _actor(as_), request_id, approve, justification, config=_config(ctx)
    )
    typer.echo(f"{record.request.request_id}: {record.request.status}")


@app.command("approve")
@reports_errors
def approve_command(
    ctx: typer.Context,
    request_id: str = typer.Argument(..., help="The request id"),
    justification: str | None = typer.Option(None, "--justification", "-j", help="Why"),
    as_: str | None = AS_OPTION,
) -> None:
    """Approve a submitted request (the scheduler grants it at its start)."""
    _decide(ctx, request_id, True, justification, as_)


@app.command("reject")
@reports_errors
def reject_command(
    ctx: typer.Context,
    request_id: str = typer.Argument(..., help="The request id"),
    justification: str | None = typer.Option(None, "--justification", "-j", help="Why"),
    as_: str | None = AS_OPTION,
) -> None:
    """Reject a submitted request."""
    _decide(ctx, request_id, False, justification, as_)


@app.command("cancel")
@reports_errors
def cancel_command(
    ctx: typer.Context,
    request_id: str = typer.Argument(..., help="The request id"),
    as_: str | None = AS_OPTION,
) -> None:
    """Cancel a request (a submitted one only as its requester); a granted one is revoked by the scheduler."""
    from permscope.workflows import requests as workflow

    record = workflow.cancel(engine_of(ctx), _actor(as_), request_id, config=_config(ctx))
    typer.echo(f"{record.request.request_id}: {record.request.status}")


@rules_app.command("add")
@reports_errors
def rules_add_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A name for the rule"),
    max_duration: str = typer.Option(..., "--max-duration", help="Longest request it admits, e.g. PT2H"),
    system: str = typer.Option("*", "--system", "-s", help="AWS account id (default: every system)"),
    identity: str = typer.Option("*", "--identity", "-i", help="Glob over the ARN that receives the grant"),
    action: list[str] = typer.Option(
        [], "--action", "-a", help="Action glob it admits (repeatable), e.g. s3:Get*"
    ),
    resource: list[str] = typer.Option(
        ["*"], "--resource", "-r", help="Resource glob it admits (repeatable)"
    ),
    policy: list[str] = typer.Option(
        [], "--policy", "-p", help="Managed policy ARN glob it admits (repeatable)"
    ),
    as_: str | None = AS_OPTION,
) -> None:
    """Add an auto-approve rule."""
    from permscope.workflows.request_rules import RuleSpec, add_rule

    try:
        limit: timedelta = parse_duration(max_duration)
    except ValueError as exc:
        raise InputError("--max-duration", str(exc)) from None
    spec = RuleSpec(
        name=name,
        max_duration=limit,
        cloud="aws",
        system_id=system,
        identity_pattern=identity,
        actions=tuple(action),
        resources=tuple(resource),
        policies=tuple(policy),
    )
    row = add_rule(engine_of(ctx), spec, _actor(as_).who)
    typer.echo(f"added rule {row.id} ({row.name})")


@rules_app.command("list")
@reports_errors
def rules_list_command(ctx: typer.Context, fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List the auto-approve rules."""
    from permscope.workflows.request_rules import list_rules

    records = [
        {
            "id": rule.id,
            "name": rule.name,
            "system": f"{rule.cloud} {rule.system_id}",
            "identity": rule.identity_pattern,
            "actions": ", ".join(rule.actions),
            "resources": ", ".join(rule.resources),
            "policies": ", ".join(rule.policies),
            "max_seconds": rule.max_duration_seconds,
            "enabled": rule.enabled,
        }
        for rule in list_rules(engine_of(ctx))
    ]
    columns = [(key, key.replace("_", " ").title()) for key in records[0]] if records else [("id", "Id")]
    render(fmt, records, columns, title="Auto-approve rules", empty="no auto-approve rules")


@rules_app.command("remove")
@reports_errors
def rules_remove_command(ctx: typer.Context, rule_id: int = typer.Argument(..., help="The rule id")) -> None:
    """Remove an auto-approve rule."""
    from permscope.workflows.request_rules import remove_rule

    if not remove_rule(engine_of(ctx), rule_id):
        raise InputError(f"rule {rule_id}", "no such rule (`permscope requests rules list` shows their ids)")
    typer.echo(f"removed rule {rule_id}")
