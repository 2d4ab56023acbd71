"""How collection errors read: one line per error, and which ones mean "not readable here"."""

from __future__ import annotations

import re

from google.api_core import exceptions as core_exceptions

DENIED_STATUS = frozenset({401, 403, 404})
REQUEST_PREFIX = re.compile(
    r"^(GET|POST|PUT|PATCH|DELETE) https?://\S+: "
)  # how api_core's REST errors begin


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a client-library error (GAPIC, Cloud Storage, googleapiclient), None otherwise."""
    if isinstance(exc, core_exceptions.RetryError) and exc.cause is not None:
        return status_of(exc.cause)
    if isinstance(exc, core_exceptions.GoogleAPICallError):
        return int(exc.code) if exc.code is not None else None
    status = getattr(getattr(exc, "resp", None), "status", None)
    return int(status) if isinstance(status, int) else None


def is_denied(exc: BaseException) -> bool:
    """Whether an error means the caller may not read this (403), or it is not there (404)."""
    return status_of(exc) in DENIED_STATUS


def service_disabled(exc: BaseException) -> bool:
    """Whether an error says the service's API is not enabled in the project (so it holds none of them)."""
    reason = getattr(exc, "reason", None)
    return reason == "SERVICE_DISABLED" or (status_of(exc) == 403 and "SERVICE_DISABLED" in str(exc))


def describe_error(exc: BaseException) -> str:
    """One line: `403 Forbidden: message`, `gave up after retries: ...`, or `Type: message`."""
    if isinstance(exc, core_exceptions.RetryError):
        cause = exc.cause
        return "gave up after retries: " + (describe_error(cause) if cause is not None else str(exc))
    if isinstance(exc, core_exceptions.GoogleAPICallError):
        message = REQUEST_PREFIX.sub("", str(exc.message))  # the URL adds nothing but query noise
        return _first_line(f"{exc.code} {type(exc).__name__}: {message}")
    status = status_of(exc)
    if status is not None:
        reason = getattr(exc, "reason", None) or getattr(exc, "_get_reason", lambda: str(exc))()
        return _first_line(f"{status} {type(exc).__name__}: {reason}")
    return _first_line(f"{type(exc).__name__}: {exc}")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line[:500]
