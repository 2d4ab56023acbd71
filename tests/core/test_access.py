"""The access rules of permissions on demand, pure: key scopes over systems, the people of a request (requester,
recipient, ticket submitter), who sees a request and who may review it."""

from __future__ import annotations

import pytest

from permscope.core.access import (
    RequestParties,
    RequestReader,
    Systems,
    may_review,
    principal_match,
    scope_covers,
)
from permscope.core.requests import RequestStatus, SystemRole

PARTIES = RequestParties(requester="alice", recipient="rsn:erin@contoso.com", ticket_submitter="Bob ")


@pytest.mark.parametrize(
    ("scope", "system", "covered"),
    [
        (("aws", "111111111111"), ("aws", "111111111111"), True),
        (("aws", "*"), ("aws", "222222222222"), True),
        (("*", "sub-1"), ("azure", "sub-1"), True),
        (("*", "*"), ("gcp", "my-project"), True),
        (("aws", "111111111111"), ("aws", "222222222222"), False),
        (("aws", "*"), ("azure", "111111111111"), False),
        (("*", "sub-1"), ("azure", "sub-2"), False),
        (("aws", "1111*"), ("aws", "111111111111"), False),  # `*` is a whole value, not a glob
    ],
)
def test_a_scope_covers_a_system_by_cloud_and_id_with_whole_wildcards(
    scope: tuple[str, str], system: tuple[str, str], covered: bool
) -> None:
    assert scope_covers(*scope, *system) is covered
    assert Systems(scopes=(scope,)).covers(*system) is covered
    assert Systems(everything=True).covers(*system)
    assert not Systems().covers(*system)


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("alice", "alice"),
        (" ALICE ", "alice"),
        ("rsn:Erin@Contoso.com", "erin@contoso.com"),
        (None, ""),
        ("  ", ""),
    ],
)
def test_names_compare_without_case_blanks_or_the_federated_prefix(name: str | None, match: str) -> None:
    assert principal_match(name) == match


@pytest.mark.parametrize(
    ("who", "requester", "recipient", "own"),
    [
        ("alice", True, False, True),
        ("ALICE ", True, False, True),
        ("erin@contoso.com", False, True, True),
        ("rsn:erin@contoso.com", False, True, True),
        ("bob", False, False, True),  # the ticket's submitter: own, but neither requester nor recipient
        ("carol", False, False, False),
        ("", False, False, False),
        ("rsn:", False, False, False),
    ],
)
def test_the_people_of_a_request(who: str, requester: bool, recipient: bool, own: bool) -> None:
    assert PARTIES.is_requester(who) is requester
    assert PARTIES.receives(who) is recipient
    assert PARTIES.is_own(who) is own


def test_a_request_without_a_ticket_submitter_belongs_to_nobody_else() -> None:
    parties = RequestParties(requester="alice", recipient="arn:aws:iam::111111111111:role/ops")
    assert not parties.is_own("") and not parties.is_own("bob")
    assert parties.is_own("ARN:AWS:IAM::111111111111:ROLE/OPS")


def test_readers_see_whole_systems_or_their_own_requests_of_others() -> None:
    reader = RequestReader(
        who="bob",
        full=Systems(scopes=(("aws", "111111111111"),)),
        own=Systems(scopes=(("aws", "*"),)),
    )
    assert reader.may_see("aws", "111111111111", RequestParties("alice", "arn:x"))  # read in full
    assert reader.may_see("aws", "222222222222", PARTIES)  # own (as its ticket's submitter)
    assert not reader.may_see("aws", "222222222222", RequestParties("alice", "arn:x"))
    assert not reader.may_see("azure", "sub-1", PARTIES)  # own, but no role on the system


@pytest.mark.parametrize(
    ("roles", "status", "who", "allowed"),
    [
        ({SystemRole.APPROVER}, RequestStatus.SUBMITTED, "carol", True),
        ({SystemRole.ADMINISTRATOR}, RequestStatus.SUBMITTED, "carol", True),
        ({SystemRole.APPROVER}, RequestStatus.APPROVED, "carol", False),
        ({SystemRole.REQUESTOR, SystemRole.VIEWER}, RequestStatus.SUBMITTED, "carol", False),
        ({SystemRole.APPROVER}, RequestStatus.SUBMITTED, "alice", False),  # the requester
        ({SystemRole.APPROVER}, RequestStatus.SUBMITTED, "erin@contoso.com", False),  # the recipient
        ({SystemRole.APPROVER}, RequestStatus.SUBMITTED, "bob", False),  # the ticket's submitter
    ],
)
def test_only_approvers_review_submitted_requests_that_are_not_their_own(
    roles: set[SystemRole], status: RequestStatus, who: str, allowed: bool
) -> None:
    assert may_review(frozenset(roles), status, PARTIES, who) is allowed
