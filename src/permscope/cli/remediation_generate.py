"""`permscope remediation generate`: least-privilege documents for one identity from its activity, checked by
the cloud's engine."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import typer

from permscope.cli.output import EXIT_ERROR, engine_of, print_json, reports_errors, stderr, stdout
from permscope.core.ids import Cloud

DEFAULT_WINDOW_DAYS = 90


class GenerateFormat(StrEnum):
    """How `remediation generate` prints its result."""

    TABLE = "table"
    JSON = "json"


@reports_errors
def generate_command(
    ctx: typer.Context,
    system: str = typer.Option(
        ..., "--system", "-s", help="The system's id: AWS account, subscription, project"
    ),
    identity: str = typer.Option(
        ..., "--identity", "-i", help="The identity's id: an ARN, an Entra object id, an IAM member"
    ),
    window_days: int = typer.Option(
        DEFAULT_WINDOW_DAYS, "--window-days", help="Generate from the activity of this many days before now"
    ),
    min_observation_days: int | None = typer.Option(
        None,
        "--min-observation-days",
        help="Refuse unless the activity logs cover this many days of the window "
        "(default: PERMSCOPE_REMEDIATION_MIN_OBSERVATION_DAYS, 30)",
    ),
    cloud: Cloud | None = typer.Option(
        None, "--cloud", help="aws, azure or gcp, when the id exists in several"
    ),
    fmt: GenerateFormat = typer.Option(GenerateFormat.TABLE, "--format", "-f", help="table or json"),
) -> None:
    """Generate the least privilege IDENTITY needs from what it did in the window: AWS managed policies, an
    Azure custom role or a GCP custom role, every observed use checked by permscope's engine against the new
    documents alone. Refused (exit 1) when the activity logs cover too little of the window or the identity did
    nothing in it (docs/remediation.md)."""
    from permscope.presentation.least_privilege import generated_access_json, generated_access_lines
    from permscope.workflows.remediation.generate import generate_least_privilege, system_cloud

    engine = engine_of(ctx)
    access = generate_least_privilege(
        engine,
        cloud=system_cloud(engine, system, cloud),
        system_id=system,
        identity_id=identity,
        window_days=window_days,
        now=datetime.now(UTC),
        min_observation_days=min_observation_days,
    )
    if fmt is GenerateFormat.JSON:
        print_json(generated_access_json(access))
    else:
        out = stdout()
        for line in generated_access_lines(access):
            out.print(line, highlight=False, markup=False)
        for document in access.documents:
            where = f", at {', '.join(document.scopes)}" if document.scopes else ""
            out.print(f"\n{document.name} ({document.kind.value}, size {document.size}{where})", markup=False)
            out.print_json(data=document.document)
    if access.refusal is not None or not access.verified:
        stderr().print(
            "refused: " + access.refusal
            if access.refusal
            else f"not verified: {access.observed - access.allowed} observed use(s) not allowed",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(EXIT_ERROR)
