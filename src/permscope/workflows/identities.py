"""Questions about identities that combine the stored inventory with a cloud's engine (e.g. assumable roles)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from permscope.clouds.base import plugin
from permscope.core.errors import NotFoundError
from permscope.core.gc_pause import collector_paused
from permscope.core.ids import Cloud
from permscope.core.inventory import IdentityKind
from permscope.core.snapshot import AnalysisSettings
from permscope.store.homes import view_of_row
from permscope.store.snapshot import load_account
from permscope.store.systems import get_system
from permscope.store.tables import IdentityRow
from permscope.workflows.snapshots import stored_snapshot


def assumable_roles(
    engine: Engine, system_id: str, user_external_id: str, cloud: Cloud = Cloud.AWS
) -> list[str]:
    """External ids of the roles of a system the user may assume (act as), sorted.

    Each role is decided by the cloud's engine (`CloudPlugin.assumable`; AWS: sts:AssumeRole on the role with
    the user's identity policies, its groups', its boundary, the SCPs and the role's trust policy, conditions
    on what is known of the user decided, a role assumable only under a condition permscope cannot decide,
    such as MFA, listed). Raises NotFoundError when the system or the user is not in the store.
    """
    return _assumable(engine, system_id, user_external_id, cloud, IdentityKind.USER.value)


def acts_as(engine: Engine, system_id: str, external_id: str, cloud: Cloud = Cloud.AWS) -> list[str]:
    """External ids of the identities of a system that an identity of any kind may act as, sorted (AWS: the
    roles a user or role may assume; GCP: the service accounts a member may impersonate or attach; Azure:
    none), each decided by the cloud's engine as in `assumable_roles`. NotFoundError for an unknown system
    or identity."""
    return _assumable(engine, system_id, external_id, cloud, None)


def _assumable(engine: Engine, system_id: str, external_id: str, cloud: Cloud, kind: str | None) -> list[str]:
    """`CloudPlugin.assumable` on the part of the stored inventory it reads (`CloudPlugin.acting_slice`), for an
    identity (of `kind` when given) of a system."""
    source = plugin(cloud)
    with collector_paused():  # through the decisions too (a full collection costs 100 ms in a large process)
        with Session(engine) as session:
            system = get_system(session, system_id, cloud.value)
            query = select(IdentityRow.id).where(
                view_of_row(system).identities(), IdentityRow.external_id == external_id
            )
            if kind is not None:
                query = query.where(IdentityRow.kind == kind)
            if session.scalar(query) is None:
                raise NotFoundError(
                    f"no {kind or 'identity'} {external_id!r} in {source.label} {source.system_noun} {system_id!r}"
                )
            stored = load_account(
                session, system.id, inventory_only=True, only=source.acting_slice(external_id)
            )
        return source.assumable(stored_snapshot(stored, AnalysisSettings()), external_id)


def system_of_identity(external_id: str, system_id: str | None = None, cloud: Cloud = Cloud.AWS) -> str:
    """The system to look an identity up in: `system_id` when given, else the one its id names (an ARN's
    account). Raises NotFoundError when neither names one (e.g. a bare name without --system)."""
    if system_id:
        return system_id
    found = plugin(cloud).system_of(external_id)
    if not found:
        noun = plugin(cloud).system_noun
        raise NotFoundError(
            f"{external_id!r} names no {noun} (an ARN with an {noun} id): name the {noun} with --system"
        )
    return found
