"""Caches that live as long as one analysis session (a scan): work its phases would repeat is done once.

A scan reads the same policy documents at import (the unreadable-document warnings), for effective permissions
and for escalation; within `analysis_session()` a cloud may keep what it derived from them in a named cache
(`session_cache`). Outside a session there is no cache, so nothing outlives the work that filled it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_CACHES: ContextVar[dict[str, dict[Any, Any]] | None] = ContextVar("_CACHES", default=None)


@contextmanager
def analysis_session() -> Iterator[None]:
    """Give the block its own session caches (dropped when it ends)."""
    token = _CACHES.set({})
    try:
        yield
    finally:
        _CACHES.reset(token)


def session_cache(name: str) -> dict[Any, Any] | None:
    """The current session's cache of that name (empty at first), or None outside a session."""
    caches = _CACHES.get()
    if caches is None:
        return None
    found = caches.get(name)
    if found is None:
        found = caches[name] = {}
    return found
