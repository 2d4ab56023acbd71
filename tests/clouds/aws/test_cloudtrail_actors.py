"""Who acted: the identity holding the permissions, from each kind of CloudTrail principal."""

from __future__ import annotations

from permscope.clouds.aws.cloudtrail_actors import account_of_actor, actor_of, role_from_session

from .cloudtrail_records import ALICE, DEPLOY_ROLE, A, B


def test_sessions_name_their_role() -> None:
    assert role_from_session(f"arn:aws:sts::{A}:assumed-role/R/s") == f"arn:aws:iam::{A}:role/R"
    assert role_from_session(f"arn:aws-cn:sts::{A}:assumed-role/R/s") == f"arn:aws-cn:iam::{A}:role/R"
    assert role_from_session(f"arn:aws:sts::{A}:federated-user/bob") is None
    assert role_from_session("arn:aws:sts::123:assumed-role/R/s") is None


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
    assert actor_of({"type": "AWSAccount", "accountId": B, "principalId": "ANONYMOUS_PRINCIPAL"}) is None
    assert actor_of({"type": "Root", "accountId": "redacted"}) is None
    assert actor_of({"type": "IdentityCenterUser", "accountId": A}) is None
    assert actor_of({"type": "Role", "arn": DEPLOY_ROLE}) == DEPLOY_ROLE
    assert actor_of(None) is None
