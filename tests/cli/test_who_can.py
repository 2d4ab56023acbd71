"""`permscope who-can` and `permscope simulate aws --principal`: a stored account's answers, explained, in a
table that reads in 100 columns, in JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from access_support import ACCOUNT, ALICE, BOB, BOUNDED, CAROL, MFA, OBJECT, store_access_account
from permscope.cli.main import app
from permscope.store.engine import open_database


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'who.sqlite3'}"
    engine = open_database(url)
    store_access_account(engine, tmp_path)
    engine.dispose()
    return url


def _run(db_url: str, *args: str, columns: int = 100) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", db_url, *args], env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def test_who_can_table(db_url: str) -> None:
    code, out, err = _run(db_url, "who-can", "s3:GetObject", OBJECT)
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 100
    for short in ("user/alice", "user/bob", "user/carol", "role/mfa-reader"):
        assert any(short in line for line in out.splitlines()), short
    assert "user/dave" not in out and "role/bounded" not in out
    text = " ".join(out.replace("│", " ").split())  # the cells' lines, joined
    assert "allowed by identity policy read (statement 1)" in text  # alice, through her group's policy
    assert "allowed by resource policy reports resource policy" in text  # carol, through the bucket policy
    assert "only if conditions on aws:MultiFactorAuthPresent hold" in text
    assert "3 principal(s) allowed, 1 only under conditions" in text


def test_who_can_json_and_csv(db_url: str) -> None:
    code, out, err = _run(db_url, "who-can", "s3:GetObject", OBJECT, "--format", "json")
    assert code == 0, err
    body = json.loads(out)
    assert body["authorizationSystemId"] == ACCOUNT and body["action"] == "s3:GetObject"
    by = {p["principal"]: p for p in body["principals"]}
    assert set(by) == {ALICE, BOB, CAROL, MFA}
    assert by[CAROL]["explanation"]["allowedBy"] == ["resource"]
    assert by[MFA]["conditional"] and by[MFA]["conditionKeys"] == ["aws:MultiFactorAuthPresent"]
    code, out, _ = _run(
        db_url, "who-can", "s3:GetObject", OBJECT, "-c", "aws:MultiFactorAuthPresent=false", "-f", "csv"
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["principal"] for row in rows} == {ALICE, BOB, CAROL}
    assert all(row["conditional"] == "no" and row["why"].startswith("allowed by") for row in rows)


def test_who_can_refuses_what_it_cannot_answer(db_url: str) -> None:
    code, _, err = _run(db_url, "who-can", "s3:GetObjekt", OBJECT)
    assert code == 2 and "not an AWS action" in err
    code, _, err = _run(db_url, "who-can", "s3:GetObject", OBJECT, "--context", "novalue")
    assert code == 2 and "KEY=VALUE" in err


def test_simulate_a_stored_principal(db_url: str) -> None:
    code, out, err = _run(db_url, "simulate", "aws", "--principal", BOUNDED, "--action", "s3:GetObject",
                          "--resource", OBJECT)  # fmt: skip
    assert code == 0, err
    answer = json.loads(out)
    assert answer["decision"] == "ImplicitlyDenied" and "boundary" in answer["explanation"]["not_allowed_by"]
    code, out, err = _run(
        db_url, "simulate", "aws", "-p", ALICE, "-a", "s3:GetObject", "-r", OBJECT, "-f", "table"
    )
    assert code == 0, err
    assert "Decision: Allowed" in out and ALICE in out and "read" in out
    code, _, err = _run(db_url, "simulate", "aws", "-p", ALICE)
    assert code == 2 and "--action" in err
    code, _, err = _run(
        db_url, "simulate", "aws", "-p", f"arn:aws:iam::{ACCOUNT}:user/ghost", "-a", "s3:GetObject"
    )
    assert code == 1 and "no user or role" in err
