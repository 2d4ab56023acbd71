"""`permscope collect gcp`: its options, their checks, and a clear one-line error for what is missing (the GCP
plugin's collector, or Google credentials once it is there)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from permscope.cli.main import app
from permscope.clouds.base import plugin
from permscope.core.errors import CloudNotBuiltError
from permscope.core.ids import Cloud


def _collector_built() -> bool:
    try:
        return plugin(Cloud.GCP).collector is not None
    except CloudNotBuiltError:
        return False


def _run(tmp_path: Path, *arguments: str) -> tuple[int, str]:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = CliRunner().invoke(app, ["--database-url", url, "collect", "gcp", *arguments])
    return result.exit_code, " ".join(result.output.replace("│", " ").split())  # unwrapped from Rich's box


@pytest.mark.parametrize("scope", [[], ["--organization", "100", "--project", "app-prod"]])
def test_exactly_one_scope_is_required(tmp_path: Path, scope: list[str]) -> None:
    code, output = _run(tmp_path, *scope)
    assert code == 2 and "exactly one of --organization ID and --project ID" in output


def test_the_help_names_every_option(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "--help")
    assert code == 0
    for option in ("--organization", "--project", "--key-file", "--impersonate", "--quota-project", "--skip",
                   "--max-projects", "--max-attempts", "--format"):  # fmt: skip
        assert option in output


def test_without_the_collector_or_credentials_the_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    code, output = _run(tmp_path, "--organization", "100")
    if _collector_built():
        assert code == 1 and "no Google credentials" in output
    else:
        assert code == 2 and "for gcp is not built yet" in output
    assert "Traceback" not in output


def test_unknown_parts_are_refused(tmp_path: Path) -> None:
    code, output = _run(tmp_path, "--organization", "100", "--skip", "groups,roles")
    assert code == 2
    if _collector_built():
        assert "unknown parts ['roles']" in output
    else:
        assert "not built yet" in output
