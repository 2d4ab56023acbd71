"""The shared body builder: a draft becomes the body the API takes (the parser reads back what was drafted, for
each cloud and kind of grant), and a problem of the body is placed on the draft's field it came from."""

from __future__ import annotations

from datetime import timedelta

import pytest

from permscope.core.errors import InputError
from permscope.core.requests import AwsPolicyGrant, AwsStatementsGrant, IdentitySourceType, NamedGrant
from permscope.presentation.request_draft import (
    RequestDraft,
    draft_body,
    draft_field,
    guess_identity_type,
    whats_of,
)
from permscope.workflows.request_body import parse_request

ROLE = "arn:aws:iam::123456789012:role/ops"
AZURE_SUB = "00000000-0000-0000-0000-000000000001"


def _draft(**changes: object) -> RequestDraft:
    base: dict[str, object] = {
        "cloud": "aws",
        "system_id": "123456789012",
        "identity": ROLE,
        "what": "actions",
        "values": ("s3:GetObject",),
        "duration": "PT2H",
        "justification": "on call",
    }
    return RequestDraft(**{**base, **changes})  # type: ignore[arg-type]


def _problem(draft: RequestDraft) -> tuple[str | None, InputError]:
    with pytest.raises(InputError) as caught:
        parse_request(draft_body(draft))
    return draft_field(caught.value, draft), caught.value


def test_aws_actions_become_one_allow_statement_the_parser_reads_back() -> None:
    draft = _draft(resources=("arn:aws:s3:::reports/*",), ticket_number="INC1", notes="n")
    spec = parse_request(draft_body(draft))
    assert isinstance(spec.action, AwsStatementsGrant)
    [statement] = spec.action.statements
    assert (statement.effect, statement.actions, statement.resources) == (
        "allow",
        ("s3:GetObject",),
        ("arn:aws:s3:::reports/*",),
    )
    assert spec.identity.identity_type == "role"
    assert spec.schedule.duration == timedelta(hours=2) and spec.schedule.start is None
    assert (spec.justification, spec.notes, spec.ticket.number) == ("on call", "n", "INC1")


def test_aws_actions_without_resources_cover_every_resource() -> None:
    spec = parse_request(draft_body(_draft()))
    assert isinstance(spec.action, AwsStatementsGrant)
    assert spec.action.statements[0].resources == ("*",)


def test_aws_policies_and_a_federated_user_through_a_role() -> None:
    policy = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    draft = _draft(identity="rsn:alex@contoso.com", what="policies", values=(policy,), assign_to_role=ROLE)
    spec = parse_request(draft_body(draft))
    assert spec.action == AwsPolicyGrant(policies=(policy,), assign_to_role=ROLE)
    assert spec.identity.source is IdentitySourceType.SAML


@pytest.mark.parametrize(
    ("cloud", "what", "values", "expected"),
    [
        ("azure", "roles", ("acdd72a7-3385-48ef-bd42-f606fba81ae7",), "roles"),
        ("azure", "actions", ("Microsoft.Storage/storageAccounts/read",), "actions"),
        ("gcp", "roles", ("roles/viewer",), "roles"),
        ("gcp", "actions", ("storage.buckets.list",), "actions"),
    ],
)
def test_azure_and_gcp_ask_for_roles_or_actions_at_a_scope(
    cloud: str, what: str, values: tuple[str, ...], expected: str
) -> None:
    draft = _draft(cloud=cloud, system_id="sys", identity="x@example.test", what=what, values=values,
                   resource_id="scope")  # fmt: skip
    spec = parse_request(draft_body(draft))
    assert spec.action == NamedGrant(kind=expected, values=values)
    assert (spec.cloud.value, spec.resource_id) == (cloud, "scope")


def test_whats_follow_the_parser_s_action_types() -> None:
    assert whats_of("aws") == ("actions", "policies")
    assert whats_of("azure") == ("actions", "roles") == whats_of("gcp")
    assert whats_of("oracle") == ()


def test_a_kind_of_grant_the_cloud_lacks_is_an_error_of_the_what_field() -> None:
    draft = _draft(what="roles", values=("r",))
    with pytest.raises(InputError) as caught:
        draft_body(draft)
    assert draft_field(caught.value, draft) == "what"
    assert "actions or managed policies" in caught.value.problem


def test_an_unknown_cloud_is_an_error_of_the_cloud_field() -> None:
    draft = _draft(cloud="oracle")
    with pytest.raises(InputError) as caught:
        draft_body(draft)
    assert draft_field(caught.value, draft) == "cloud"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"duration": "an hour"}, "duration"),
        ({"duration": None}, "duration"),
        ({"duration": None, "end": "tomorrow"}, "end"),
        ({"duration": None, "start": "2030-01-02T00:00", "end": "2030-01-01T00:00"}, "end"),
        ({"start": "soon"}, "start"),
        ({"system_id": ""}, "system_id"),
        ({"identity": ""}, "identity"),
        ({"identity_type": "robot"}, "identity_type"),
        ({"values": ()}, "values"),
        ({"resources": ("bucket",)}, "resources"),
        ({"justification": "x" * 5000}, "justification"),
        ({"notes": "\x00"}, "notes"),
        ({"ticket_system": "s" * 600}, "ticket_system"),
        ({"cloud": "azure", "identity": "u", "what": "roles", "values": ("r",)}, "resource_id"),
    ],
)
def test_a_parser_error_is_placed_on_the_field_that_caused_it(changes: dict[str, object], field: str) -> None:
    name, error = _problem(_draft(**changes))
    assert name == field, error


def test_a_length_error_goes_to_whichever_of_duration_and_end_was_given() -> None:
    both = _draft(end="2030-01-01T00:00Z")
    assert _problem(both)[0] == "duration"  # "give either duration or endDateTime": the duration field
    error = InputError("request body: scheduleInfo/expiration", "too long")
    assert draft_field(error, _draft(duration=None, end="2030-01-01T00:00Z")) == "end"
    assert draft_field(error, _draft()) == "duration"


def test_an_error_about_something_else_names_no_field() -> None:
    assert draft_field(InputError("rule 'x'", "no"), _draft()) is None
    assert draft_field(InputError("request body: (body)", "must be an object"), _draft()) is None


@pytest.mark.parametrize(
    ("cloud", "identity", "kind"),
    [
        ("aws", ROLE, "role"),
        ("aws", "arn:aws:iam::1:user/alice", "user"),
        ("gcp", "serviceAccount:ci@p.iam.gserviceaccount.com", "serviceAccount"),
        ("gcp", "ci@p.iam.gserviceaccount.com", "serviceAccount"),
        ("gcp", "user:alice@example.test", "user"),
        ("azure", AZURE_SUB, "user"),
    ],
)
def test_identity_type_guess(cloud: str, identity: str, kind: str) -> None:
    assert guess_identity_type(cloud, identity) == kind
