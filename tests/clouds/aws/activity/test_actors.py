"""Who acted: the identity holding the permissions, from each kind of CloudTrail principal."""

from __future__ import annotations

from clouds.aws.cloudtrail_records import ALICE, DEPLOY_ROLE, A, B
from permscope.clouds.aws.activity.actors import (
    account_of_actor,
    actor_of,
    identity_center_person,
    is_identity_center_role,
    role_from_session,
)


def test_sessions_name_their_role() -> None:
    assert role_from_session(f"arn:aws:sts::{A}:assumed-role/R/s") == f"arn:aws:iam::{A}:role/R"
    assert role_from_session(f"arn:aws-cn:sts::{A}:assumed-role/R/s") == f"arn:aws-cn:iam::{A}:role/R"
    assert role_from_session(f"arn:aws:sts::{A}:federated-user/bob") is None
    assert role_from_session("arn:aws:sts::123:assumed-role/R/s") is None
    # the documented session ARN is assumed-role/<role>/<session>: without a session it is no session
    assert role_from_session(f"arn:aws:sts::{A}:assumed-role/R") is None
    assert role_from_session("arn:aws:sts::١٢٣٤٥٦٧٨٩٠١٢:assumed-role/R/s") is None  # no ASCII account id


def test_root_federated_users_and_other_accounts() -> None:
    root = {"type": "Root", "principalId": A, "arn": f"arn:aws:iam::{A}:root", "accountId": A}
    federated = {
        "type": "FederatedUser",
        "arn": f"arn:aws:sts::{A}:federated-user/bob",
        "accountId": A,
        "sessionContext": {"sessionIssuer": {"type": "IAMUser", "arn": ALICE, "accountId": A}},
    }
    orphan_federated = {
        "type": "FederatedUser",
        "arn": f"arn:aws:sts::{A}:federated-user/bob",
        "accountId": A,
    }
    other_account = {"type": "AWSAccount", "accountId": B, "principalId": "AROAOTHERROLE1234:session"}
    assert actor_of(root) == f"arn:aws:iam::{A}:root"
    assert actor_of({"type": "Root", "accountId": A}) == f"arn:aws:iam::{A}:root"
    assert actor_of(federated) == ALICE  # GetFederationToken sessions use the issuing user's permissions
    assert actor_of(orphan_federated) == f"arn:aws:sts::{A}:federated-user/bob"
    assert actor_of(other_account) == f"uid:{B}:AROAOTHERROLE1234"
    assert account_of_actor(f"uid:{B}:AROAOTHERROLE1234") == B
    assert account_of_actor(f"arn:aws-us-gov:iam::{A}:user/ops/alice") == A
    assert account_of_actor("arn:aws:iam::aws:policy/ReadOnlyAccess") is None
    assert actor_of({"type": "AWSAccount", "accountId": B, "principalId": "ANONYMOUS_PRINCIPAL"}) is None
    assert actor_of({"type": "Root", "accountId": "redacted"}) is None
    assert actor_of({"type": "IdentityCenterUser", "accountId": A}) is None
    assert actor_of({"type": "Role", "arn": DEPLOY_ROLE}) == DEPLOY_ROLE
    assert actor_of(None) is None


SSO_ROLE = f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123abcd"


def test_identity_center_roles_are_known_by_name_and_reserved_path() -> None:
    assert is_identity_center_role(SSO_ROLE)
    assert is_identity_center_role(f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_R_1")
    # rebuilt from a session ARN: the path is lost, the name is all there is
    assert is_identity_center_role(f"arn:aws:iam::{A}:role/AWSReservedSSO_Admin_0123abcd")
    # a customer role that only borrows the name (another path) is not one
    assert not is_identity_center_role(f"arn:aws:iam::{A}:role/team/AWSReservedSSO_Admin_0123abcd")
    assert not is_identity_center_role(DEPLOY_ROLE)
    assert not is_identity_center_role(f"arn:aws:iam::{A}:user/AWSReservedSSO_x")
    assert not is_identity_center_role(f"uid:{A}:AROAEXAMPLE")


def test_the_person_behind_an_identity_center_session() -> None:
    session = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLESSOROLE1:alice@example.com",
        "arn": f"arn:aws:sts::{A}:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@example.com",
        "accountId": A,
    }
    assert identity_center_person(session, A) == f"sso-session:{A}:alice@example.com"
    assert account_of_actor(f"sso-session:{A}:alice@example.com") == A
    # no principalId: the session name is the last part of the session ARN
    assert identity_center_person({**session, "principalId": None}, A) == f"sso-session:{A}:alice@example.com"
    # the record names the user itself (identity-enhanced sessions): its UserId wins
    named = {
        **session,
        "onBehalfOf": {"userId": "94482488-3041-7026-18f3-b45a1cexample", "identityStoreArn": "x"},
    }
    assert identity_center_person(named, A) == f"sso-user:{A}:94482488-3041-7026-18f3-b45a1cexample"
    assert account_of_actor(f"sso-user:{A}:94482488-3041-7026-18f3-b45a1cexample") == A
    # nothing that STS would accept as a session name: no person
    assert identity_center_person({**session, "principalId": "AROAX:not a/session"}, A) is None
    assert identity_center_person({"type": "AssumedRole"}, A) is None
    assert identity_center_person(None, A) is None
