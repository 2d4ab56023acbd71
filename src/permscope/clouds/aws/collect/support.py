"""What the live AWS collectors share: JSON-safe raw output, paginated calls, and AWS error classes."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

# Error codes that mean "you may not read this" or "this is not available here": an optional part of a
# collection is then skipped with a warning. Any other error (throttling that outlived the retries, a server
# error, bad input) fails the account's run, so that nothing is silently half-collected.
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "Forbidden",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "AWSOrganizationsNotInUseException",
        "OptInRequired",
        "PolicyTypeNotEnabledException",
        "UnsupportedAPIEndpointException",
        "UnsupportedOperation",
        "UnsupportedOperationException",
    }
)


class CollectionError(Exception):
    """A live collection step could not finish (e.g. a report that never became ready)."""


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, or the exception's class name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def is_skippable(exc: BaseException) -> bool:
    """Whether an error only means the caller may not (or cannot) read an optional part."""
    return isinstance(exc, ClientError) and error_code(exc) in DENIED_CODES | UNAVAILABLE_CODES


def describe_error(exc: BaseException) -> str:
    """One line naming the error: `Code: message` for AWS errors, `Type: message` otherwise."""
    if isinstance(exc, ClientError):
        message = exc.response.get("Error", {}).get("Message") or str(exc)
        operation = getattr(exc, "operation_name", None)
        where = f" ({operation})" if operation else ""
        return f"{error_code(exc)}{where}: {_first_line(str(message))}"
    if isinstance(exc, CollectionError):
        return _first_line(str(exc))
    return f"{type(exc).__name__}: {_first_line(str(exc))}"


def _first_line(text: str) -> str:
    """The first line of a message (botocore appends whole response bodies to some)."""
    return text.strip().splitlines()[0] if text.strip() else text


def jsonable(value: Any) -> Any:
    """The value as plain JSON types: datetimes as ISO 8601 UTC text, bytes as text, no ResponseMetadata."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    return value


def iso_utc(value: datetime) -> str:
    """ISO 8601 text of an instant in UTC (a naive datetime is taken to be UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """One API call's response as plain JSON types."""
    result: dict[str, Any] = jsonable(getattr(client, operation)(**params))
    return result


def paginate(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    """Every item of a paginated list (`key` of each page), all pages read."""
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**params):
        items.extend(jsonable(page.get(key) or []))
    return items
