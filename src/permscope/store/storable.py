"""What the store keeps the same on SQLite and PostgreSQL: a batch is checked before it is written.

PostgreSQL refuses what SQLite stores: a NUL in text or JSON, text longer than its VARCHAR column, an index entry
over 2,704 bytes; neither driver can send a lone surrogate. The readers refuse such values where they read them
(naming the file, docs/limits.md); this is the one check every batch passes before `store.ingest` writes it,
whatever read it, so that both databases answer alike: an InputError naming the batch's source and the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Index, String, Table, UniqueConstraint

from permscope.core.errors import InputError
from permscope.core.inventory import InventoryBatch
from permscope.core.limits import MAX_JSON_BYTES, json_problem, shown, text_problem
from permscope.store.tables import (
    AssignmentRow,
    AuthorizationSystemRow,
    Base,
    IdentityRow,
    MembershipRow,
    PolicyRow,
    PolicyVersionRow,
    ResourceRow,
    UsageRow,
)

MAX_KEY_BYTES = 2_600  # the text of one PostgreSQL index entry: 2,704 bytes at most, its header included


@dataclass(frozen=True, slots=True)
class _Plan:
    """How the rows of one table are checked: each text column's limit, the JSON columns, the index keys."""

    table: str
    texts: dict[str, int]
    jsons: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]


def _plan(row: type[Base]) -> _Plan:
    table: Table = row.__table__  # type: ignore[assignment]
    texts: dict[str, int] = {}
    jsons: list[str] = []
    for column in table.columns:
        if isinstance(column.type, JSON):
            jsons.append(column.name)
        elif isinstance(column.type, String):  # Text too: a String without a length
            texts[column.name] = column.type.length or MAX_JSON_BYTES
    keys = []
    for index in [*table.indexes, *(c for c in table.constraints if isinstance(c, UniqueConstraint))]:
        assert isinstance(index, Index | UniqueConstraint)
        names = tuple(column.name for column in index.columns if column.name in texts)
        if names:
            keys.append(names)
    return _Plan(table.name, texts, tuple(jsons), tuple(keys))


_PLANS: dict[type[Base], _Plan] = {
    row: _plan(row)
    for row in (
        AuthorizationSystemRow,
        IdentityRow,
        MembershipRow,
        PolicyRow,
        PolicyVersionRow,
        AssignmentRow,
        ResourceRow,
        UsageRow,
    )
}


def _row_problem(plan: _Plan, values: dict[str, Any]) -> str | None:
    for name, value in values.items():
        if name in plan.texts:
            if isinstance(value, str):
                problem = text_problem(value, plan.texts[name])
                if problem is not None:
                    return f"{name} {shown(value)} {problem}"
        elif name in plan.jsons and value is not None:
            problem = json_problem(value)
            if problem is not None:
                return f"{name} {problem}"
    for key in plan.keys:
        parts = [values[name] for name in key if isinstance(values.get(name), str)]
        size = sum(len(part) if part.isascii() else len(part.encode("utf-8")) for part in parts)
        if size > MAX_KEY_BYTES:
            return f"{' + '.join(key)} make {size:,} bytes; one index entry holds at most {MAX_KEY_BYTES:,}"
    return None


def _rows(batch: InventoryBatch) -> Iterator[tuple[type[Base], str, dict[str, Any]]]:
    """Every row the batch becomes, as (table, what it is, column values the checks need)."""
    system = batch.system
    yield (
        AuthorizationSystemRow,
        "the authorization system",
        {"system_id": system.system_id, "name": system.name, "parent_id": system.parent_id},
    )
    yield AuthorizationSystemRow, "the authorization system's attributes", {"attributes": system.attributes}
    for identity in batch.identities:
        yield (
            IdentityRow,
            f"identity {shown(identity.external_id)}",
            {
                "external_id": identity.external_id,
                "display_name": identity.display_name,
                "source": identity.source,
                "attributes": identity.attributes,
            },
        )
    for membership in batch.memberships:
        yield (
            MembershipRow,
            f"membership of {shown(membership.member_external_id)}",
            {
                "group_external_id": membership.group_external_id,
                "member_external_id": membership.member_external_id,
            },
        )
    for policy in batch.policies:
        what = f"policy {shown(policy.external_id)}"
        yield (
            PolicyRow,
            what,
            {
                "external_id": policy.external_id,
                "name": policy.name,
                "default_version": policy.default_version,
                "document": policy.document,
                "attributes": policy.attributes,
            },
        )
        for version in policy.versions:
            yield PolicyVersionRow, what, {"version_id": version.version_id, "document": version.document}
    for assignment in batch.assignments:
        yield (
            AssignmentRow,
            f"assignment of {shown(assignment.policy_external_id)} to {shown(assignment.identity_external_id)}",
            {
                "identity_external_id": assignment.identity_external_id,
                "policy_external_id": assignment.policy_external_id,
                "relation": assignment.relation.value,
                "scope": assignment.scope,
                "condition": assignment.condition,
            },
        )
    for resource in batch.resources or ():
        yield (
            ResourceRow,
            f"resource {shown(resource.external_id)}",
            {
                "external_id": resource.external_id,
                "resource_type": resource.resource_type,
                "service": resource.service,
                "display_name": resource.display_name,
                "region": resource.region,
                "policy": resource.policy,
                "facts": resource.facts,
            },
        )
    for usage in batch.usages or ():
        yield (
            UsageRow,
            f"usage by {shown(usage.identity_external_id)}",
            {
                "identity_external_id": usage.identity_external_id,
                "action": usage.action,
                "resource": usage.resource,
            },
        )


def batch_problem(batch: InventoryBatch) -> str | None:
    """The first value of the batch no store could keep alike on SQLite and PostgreSQL, said plainly; or None."""
    for row, what, values in _rows(batch):
        problem = _row_problem(_PLANS[row], values)
        if problem is not None:
            return f"{what}: {problem}"
    return None


def check_batch(batch: InventoryBatch) -> None:
    """Refuse a batch `batch_problem` finds fault with: InputError naming its source (docs/limits.md)."""
    problem = batch_problem(batch)
    if problem is not None:
        raise InputError(batch.source, problem)
