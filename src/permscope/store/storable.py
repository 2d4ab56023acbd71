"""What the store keeps the same on SQLite and PostgreSQL: a batch is checked before it is written.

PostgreSQL refuses what SQLite stores: a NUL in text or JSON, text longer than its VARCHAR column, an index entry
over 2,704 bytes; neither driver can send a lone surrogate. The readers refuse such values where they read them
(naming the file, docs/limits.md); this is the one check every batch passes before `store.ingest` writes it,
whatever read it, so that both databases answer alike: an InputError naming the batch's source and the value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Index, PrimaryKeyConstraint, String, Table, UniqueConstraint

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
    ResidentRow,
    ResourceRow,
    SystemScopeRow,
    UsageRow,
)

NUL = b"\\u0000"  # how orjson writes a NUL character
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
    unique = (c for c in table.constraints if isinstance(c, UniqueConstraint | PrimaryKeyConstraint))
    for index in [*table.indexes, *unique]:
        assert isinstance(index, Index | UniqueConstraint | PrimaryKeyConstraint)
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
        SystemScopeRow,
        ResidentRow,
    )
}


def _size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _unfit_text(values: list[Any], limit: int) -> int | None:
    """The index of the first text the store cannot keep (see `core.limits.text_problem`), or None.

    One pass in C over the whole column first (NUL, ASCII, the longest); value by value only when it fails."""
    texts = values if None not in values else [value for value in values if value is not None]
    if not texts:
        return None
    joined = "".join(texts)
    if joined.isascii() and "\x00" not in joined and max(map(len, texts)) <= limit:
        return None
    for index, value in enumerate(values):
        if value is not None and text_problem(value, limit) is not None:
            return index
    return None


def _fit_json(values: list[Any]) -> bool:
    """Whether every value of a JSON column surely fits: the whole column written by orjson in one call, holding
    no NUL, within MAX_JSON_BYTES. False means: look value by value, to say which and why (the column as a list
    is one level deeper than its values, so a value at the very limit is looked at too)."""
    try:
        data = orjson.dumps(values)
    except TypeError:  # orjson.JSONEncodeError: too deep, a lone surrogate, an integer beyond 64 bits
        return False
    return len(data) <= MAX_JSON_BYTES and NUL not in data


def _long_key(columns: list[list[Any]]) -> tuple[int, int] | None:
    """(row, bytes) of the first row whose key columns hold more than MAX_KEY_BYTES, or None."""
    bound = sum(max(map(len, filter(None, column)), default=0) * 4 for column in columns)
    if bound <= MAX_KEY_BYTES:
        return None
    for index, parts in enumerate(zip(*columns, strict=True)):
        size = sum(_size(part) for part in parts if part is not None)
        if size > MAX_KEY_BYTES:
            return index, size
    return None


@dataclass(frozen=True, slots=True)
class _Rows:
    """The rows a batch gives one table: its entities, how each names itself, and their column values."""

    row: type[Base]
    items: list[Any]
    describe: Callable[[Any], str]
    columns: dict[str, list[Any]]


def _column(items: list[Any], *path: str) -> list[Any]:
    return list(map(attrgetter(".".join(path)), items))


def _tables(batch: InventoryBatch) -> Iterator[_Rows]:
    """Every row the batch becomes, table by table."""
    system = [batch.system]
    yield _Rows(
        AuthorizationSystemRow,
        system,
        lambda _system: "the authorization system",
        {name: _column(system, name) for name in ("system_id", "name", "parent_id", "attributes")},
    )
    identities = batch.identities
    yield _Rows(
        IdentityRow,
        identities,
        lambda identity: f"identity {shown(identity.external_id)}",
        {name: _column(identities, name) for name in ("external_id", "display_name", "source", "attributes")},
    )
    memberships = batch.memberships
    yield _Rows(
        MembershipRow,
        memberships,
        lambda membership: f"membership of {shown(membership.member_external_id)}",
        {name: _column(memberships, name) for name in ("group_external_id", "member_external_id")},
    )
    policies = batch.policies
    policy_names = ("external_id", "name", "default_version", "document", "attributes")
    yield _Rows(
        PolicyRow,
        policies,
        lambda policy: f"policy {shown(policy.external_id)}",
        {name: _column(policies, name) for name in policy_names},
    )
    versions = [(policy, version) for policy in policies for version in policy.versions]
    yield _Rows(
        PolicyVersionRow,
        versions,
        lambda pair: f"policy {shown(pair[0].external_id)}",
        {
            "version_id": [version.version_id for _policy, version in versions],
            "document": [version.document for _policy, version in versions],
        },
    )
    assignments = batch.assignments
    assignment_names = ("identity_external_id", "policy_external_id", "scope", "anchor", "condition")
    yield _Rows(
        AssignmentRow,
        assignments,
        lambda item: f"assignment of {shown(item.policy_external_id)} to {shown(item.identity_external_id)}",
        {
            **{name: _column(assignments, name) for name in assignment_names},
            "relation": _column(assignments, "relation", "value"),
        },
    )
    scopes = batch.scopes
    yield _Rows(SystemScopeRow, scopes, lambda scope: f"scope {shown(scope)}", {"scope": scopes})
    residents = batch.residents
    yield _Rows(
        ResidentRow,
        residents,
        lambda resident: f"resident {shown(resident)}",
        {"identity_external_id": residents},
    )
    resources = batch.resources or []
    resource_names = ("external_id", "resource_type", "service", "display_name", "region", "policy", "facts")
    yield _Rows(
        ResourceRow,
        resources,
        lambda resource: f"resource {shown(resource.external_id)}",
        {name: _column(resources, name) for name in resource_names},
    )
    usages = batch.usages or []
    yield _Rows(
        UsageRow,
        usages,
        lambda usage: f"usage by {shown(usage.identity_external_id)}",
        {name: _column(usages, name) for name in ("identity_external_id", "action", "resource")},
    )


def _rows_problem(rows: _Rows) -> str | None:
    plan = _PLANS[rows.row]
    for name, values in rows.columns.items():
        if name in plan.texts:
            index = _unfit_text(values, plan.texts[name])
            if index is not None:
                value = values[index]
                return f"{rows.describe(rows.items[index])}: {name} {shown(value)} {text_problem(value, plan.texts[name])}"
        elif name in plan.jsons and not _fit_json(values):
            for item, value in zip(rows.items, values, strict=True):
                problem = json_problem(value) if value is not None else None
                if problem is not None:
                    return f"{rows.describe(item)}: {name} {problem}"
    for key in plan.keys:
        if all(name in rows.columns for name in key):
            found = _long_key([rows.columns[name] for name in key])
            if found is not None:
                index, size = found
                return (
                    f"{rows.describe(rows.items[index])}: {' + '.join(key)} make {size:,} bytes; one index entry "
                    f"holds at most {MAX_KEY_BYTES:,}"
                )
    return None


def batch_problem(batch: InventoryBatch) -> str | None:
    """The first value of the batch no store could keep alike on SQLite and PostgreSQL, said plainly; or None."""
    for rows in _tables(batch):
        if rows.items:
            problem = _rows_problem(rows)
            if problem is not None:
                return problem
    return None


def check_batch(batch: InventoryBatch) -> None:
    """Refuse a batch `batch_problem` finds fault with: InputError naming its source (docs/limits.md)."""
    problem = batch_problem(batch)
    if problem is not None:
        raise InputError(batch.source, problem)
