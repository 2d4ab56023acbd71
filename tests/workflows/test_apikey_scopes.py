"""Per-system roles of API keys and the principal a key acts for; the foundation's admin and viewer keys keep
their meaning."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from permscope.core.access import APPROVING_ROLES, READING_ROLES, Systems
from permscope.core.errors import InputError, NotFoundError
from permscope.core.requests import SystemRole
from permscope.workflows.apikeys import (
    ApiRole,
    KeyScope,
    add_key_scope,
    create_api_key,
    key_scopes,
    remove_key_scope,
    verify_api_key,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("requestor:aws:123456789012", KeyScope(SystemRole.REQUESTOR, "aws", "123456789012")),
        ("Approver:AWS", KeyScope(SystemRole.APPROVER, "aws", "*")),
        ("viewer", KeyScope(SystemRole.VIEWER, "*", "*")),
        ("administrator:*:sub-1", KeyScope(SystemRole.ADMINISTRATOR, "*", "sub-1")),
        ("viewer:gcp:my-project", KeyScope(SystemRole.VIEWER, "gcp", "my-project")),
    ],
)
def test_scopes_parse(text: str, expected: KeyScope) -> None:
    assert KeyScope.parse(text) == expected
    assert KeyScope.parse(str(expected)) == expected


@pytest.mark.parametrize(
    ("text", "problem"), [("owner:aws:1", "unknown role 'owner'"), ("viewer:oracle:1", "unknown cloud")]
)
def test_bad_scopes_name_the_text(text: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem) as info:
        KeyScope.parse(text)
    assert text in info.value.source


def test_roles_on_a_system(engine: Engine) -> None:
    admin = verify_api_key(engine, create_api_key(engine, ApiRole.ADMIN, "root").token)
    viewer = verify_api_key(engine, create_api_key(engine, ApiRole.VIEWER, "auditor").token)
    scoped_key = create_api_key(
        engine,
        ApiRole.SCOPED,
        "alice-ci",
        principal="alice@example.com",
        scopes=[KeyScope.parse("requestor:aws:111111111111"), KeyScope.parse("approver:aws")],
    )
    scoped = verify_api_key(engine, scoped_key.token)
    assert admin is not None and viewer is not None and scoped is not None
    assert admin.roles_on("aws", "1") == frozenset(SystemRole) and admin.who == "root"
    assert viewer.roles_on("gcp", "p") == {SystemRole.VIEWER}
    assert scoped.who == "alice@example.com" and scoped.role is ApiRole.SCOPED
    assert scoped.roles_on("aws", "111111111111") == {SystemRole.REQUESTOR, SystemRole.APPROVER}
    assert scoped.roles_on("aws", "222222222222") == {SystemRole.APPROVER}
    assert scoped.roles_on("azure", "111111111111") == frozenset()
    # the systems where a key holds some roles: what listings and findings scoping query
    assert admin.systems_with(APPROVING_ROLES) == Systems(everything=True)
    assert viewer.systems_with(READING_ROLES) == Systems(everything=True)
    assert viewer.systems_with(APPROVING_ROLES) == Systems()
    assert scoped.systems_with(READING_ROLES) == Systems(scopes=(("aws", "*"),))
    assert scoped.systems_with(frozenset({SystemRole.REQUESTOR})) == Systems(
        scopes=(("aws", "111111111111"),)
    )


def test_roles_are_added_and_removed(engine: Engine) -> None:
    key = create_api_key(engine, ApiRole.SCOPED, "bob")
    scope = KeyScope.parse("approver:aws:111111111111")
    assert add_key_scope(engine, key.key_id, scope)
    assert not add_key_scope(engine, key.key_id, scope)
    principal = verify_api_key(engine, key.token)
    assert principal is not None and principal.scopes == (scope,) and principal.who == "bob"
    assert key_scopes(engine) == {key.key_id: ["approver:aws:111111111111"]}
    assert remove_key_scope(engine, key.key_id, scope)
    assert not remove_key_scope(engine, key.key_id, scope)
    with pytest.raises(NotFoundError):
        add_key_scope(engine, "nope", scope)
