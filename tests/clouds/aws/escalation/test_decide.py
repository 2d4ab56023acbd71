"""Reading undecidable conditions favourably: the relaxed documents behind the conditional fast path."""

from __future__ import annotations

from permscope.clouds.aws.escalation.decide import known_key, relax_document

MFA = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}


def test_allow_keeps_only_the_conditions_the_inventory_decides() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com", "aws:SourceVpc": "vpc-1"}
                },
            },
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": "10/8"}},
            },
        ],
    }
    relaxed = relax_document(document)
    first, second = relaxed["Statement"]
    assert first["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    assert "Condition" not in second  # nothing decidable left: the Allow holds
    assert document["Statement"][1]["Condition"]  # the input is not changed


def test_deny_on_an_undecidable_key_is_dropped_and_a_decidable_one_kept() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*", "Condition": MFA},
    }
    assert relax_document(document)["Statement"] == []
    personal = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:username": "alice"}},
    }
    assert relax_document({"Statement": [personal]})["Statement"] == [personal]


def test_unreadable_documents_are_returned_as_they_are() -> None:
    assert relax_document("not a policy") == "not a policy"
    broken = {"Statement": [{"Effect": "Allow", "Condition": {"StringEquals": "x"}}]}
    assert relax_document(broken) is broken


def test_known_keys_are_the_principal_facts_and_passed_service() -> None:
    assert (
        known_key("aws:PrincipalTag/team") and known_key("AWS:username") and known_key("iam:PassedToService")
    )
    assert not known_key("aws:MultiFactorAuthPresent") and not known_key("aws:SourceIp")
