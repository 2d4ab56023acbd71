"""Instants in cloud outputs: ISO 8601 text in its several spellings, epoch seconds or datetimes, to one UTC form."""

from __future__ import annotations

from datetime import UTC, datetime, timezone
from functools import lru_cache
from typing import Any

# Values exports write where an instant is absent (AWS credential report, Access Advisor, ...).
ABSENT = frozenset({"", "N/A", "no_information", "not_supported", "None", "null"})


def parse_instant(value: Any) -> datetime | None:
    """An aware UTC datetime from `2019-12-18 19:10:08+00:00`, `2019-12-18T19:10:08Z`, epoch seconds or a
    datetime; None for an absent value. ValueError for text that is no instant."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        text = str(value).strip()
        if text in ABSENT:
            return None
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_iso_instant(text: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text (`Z` or an offset; naive text is taken as UTC). ValueError, and
    never OverflowError, for text that is no instant, or whose instant in UTC is outside the years 1 to 9999."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None


def iso_instant(value: Any) -> str | None:
    """The instant as ISO 8601 UTC text (`2024-01-02T03:04:05+00:00`), None when absent."""
    if isinstance(value, datetime):
        if equal_means_same_instant(value):
            return _datetime_text(value)
        return value.astimezone(UTC).isoformat()
    moment = parse_instant(value)
    return moment.isoformat() if moment else None


def equal_means_same_instant(moment: datetime) -> bool:
    """Whether every datetime equal to this one is the same instant, so a memo keyed on it is safe: naive and
    fixed-offset ones; under a zone with daylight saving two times of its repeated hour compare equal (fold is
    ignored) and are an hour apart."""
    return moment.tzinfo is None or type(moment.tzinfo) is timezone


@lru_cache(maxsize=1 << 16)
def _datetime_text(moment: datetime) -> str:
    """`iso_instant` of a datetime, memoized: the evidence of every finding about an identity, in every system
    it appears in, writes its same few instants (equal datetimes of fixed offsets give the same text)."""
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)).isoformat()


def graph_instant(value: Any) -> str | None:
    """The instant as the Graph API writes it: ISO 8601 UTC with a trailing Z (`2024-01-02T03:04:05Z`)."""
    text = iso_instant(value)
    return text[:-6] + "Z" if text is not None and text.endswith("+00:00") else text


def latest(*values: datetime | None) -> datetime | None:
    """The latest of the instants given, ignoring absent ones."""
    present = [value for value in values if value is not None]
    return max(present) if present else None


@lru_cache(maxsize=1 << 16)
def parse_time(text: str) -> datetime:
    """The aware datetime of a canonical event time (memoized: a day has 86,400 of them)."""
    return datetime.fromisoformat(text)
