"""What alerts say: the Slack body escapes mrkdwn and keeps within Slack's limits; the e-mail's HTML escapes every
value and its Message-ID names the delivery; sealed secrets open only with their key and context."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from permscope.workflows.alert_messages import AlertMessage, email_message, webhook_payload
from permscope.workflows.secrets import SealedSecretError, seal, unseal

HOSTILE = '<script>alert("x")</script> & <@channel>'
MESSAGE = AlertMessage(
    alert_id="a1", rule_name="r", kind="finding.new", severity="critical", cloud="aws", system_id="111",
    subject_kind="user", subject_name=HOSTILE, subject_id="arn", observed_at=datetime(2026, 12, 1, tzinfo=UTC),
    summary="x" * 400 + HOSTILE, explanation=HOSTILE, evidence={"k": HOSTILE}, link="https://p.example/ui/alerts/a1",
)  # fmt: skip


def test_the_webhook_body_escapes_and_fits() -> None:
    body = webhook_payload(MESSAGE)
    assert "<script>" not in body["text"] and "&lt;@channel&gt;" in body["text"]
    header = body["blocks"][0]["text"]["text"]
    assert len(header) <= 150
    assert "&lt;script&gt;" in body["blocks"][1]["text"]["text"]
    assert body["permscope"]["subjectName"] == HOSTILE  # the facts stay as they are, for machines
    assert "<https://p.example/ui/alerts/a1|open in permscope>" in body["blocks"][3]["elements"][0]["text"]


def test_the_email_escapes_every_value() -> None:
    mail = email_message(MESSAGE, "p@example.com", ["a@example.com"], 7, datetime(2026, 12, 1, tzinfo=UTC))
    html = mail.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert HOSTILE in mail.get_body(("plain",)).get_content()
    assert mail["Message-ID"] == "<alert-a1.7@permscope>"


def test_sealed_secrets_open_only_with_their_key_and_context() -> None:
    key, other = b"k" * 32, b"o" * 32
    sealed = seal(key, "hunter2-password", "alert channel 'mail'")
    assert "hunter2" not in sealed and sealed != seal(key, "hunter2-password", "alert channel 'mail'")
    assert unseal(key, sealed, "alert channel 'mail'") == "hunter2-password"
    with pytest.raises(SealedSecretError, match="cannot be decrypted"):
        unseal(other, sealed, "alert channel 'mail'")
    with pytest.raises(SealedSecretError):
        unseal(key, sealed, "alert channel 'other'")
