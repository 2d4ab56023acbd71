"""The file limits known without the settings when no PERMSCOPE_ variable is set, and the settings' otherwise."""

from __future__ import annotations

import os

import pytest

from permscope import environment
from permscope.settings import Settings, get_settings
from permscope.userfiles import DEFAULT_LIMITS


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PERMSCOPE_ variable (the test database's included), and settings read afresh."""
    for name in list(os.environ):
        if name.upper().startswith("PERMSCOPE_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()


def test_the_prefix_is_the_settings_prefix() -> None:
    assert Settings.model_config["env_prefix"] == environment.ENV_PREFIX


@pytest.mark.usefixtures("bare_environment")
def test_with_nothing_set_the_limits_are_the_settings_defaults() -> None:
    assert not environment.sets_anything()
    assert environment.file_limits() == Settings().file_limits() == DEFAULT_LIMITS


@pytest.mark.usefixtures("bare_environment")
@pytest.mark.parametrize("name", ["PERMSCOPE_MAX_FILE_BYTES", "permscope_max_file_bytes"])
def test_a_variable_set_in_any_case_is_read_through_the_settings(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, "4096")
    monkeypatch.setenv("PERMSCOPE_MAX_GZIP_RATIO", "20")
    try:
        assert environment.sets_anything()
        limits = environment.file_limits()
        assert (limits.max_bytes, limits.max_gzip_ratio) == (4096, 20)
    finally:
        get_settings.cache_clear()


@pytest.mark.usefixtures("bare_environment")
def test_another_setting_set_wrong_still_fails_as_the_settings_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERMSCOPE_PORT", "not a port")
    try:
        with pytest.raises(ValueError, match="port"):
            environment.file_limits()
    finally:
        get_settings.cache_clear()
