"""Analysis-session caches: named caches that exist only inside `analysis_session()`."""

from __future__ import annotations

from permscope.core.sessions import analysis_session, session_cache


def test_no_cache_outside_a_session() -> None:
    assert session_cache("anything") is None


def test_a_session_keeps_each_named_cache_until_it_ends() -> None:
    with analysis_session():
        cache = session_cache("parses")
        assert cache == {}
        assert cache is not None
        cache["key"] = "value"
        assert session_cache("parses") is cache
        assert session_cache("other") == {}
    assert session_cache("parses") is None
    with analysis_session():
        assert session_cache("parses") == {}  # a new session starts empty


def test_a_nested_session_has_its_own_caches_and_gives_back_the_outer_ones() -> None:
    with analysis_session():
        outer = session_cache("parses")
        assert outer is not None
        outer["key"] = 1
        with analysis_session():
            assert session_cache("parses") == {}
        assert session_cache("parses") is outer
