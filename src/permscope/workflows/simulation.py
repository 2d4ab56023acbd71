"""Use case: simulate authorization requests of a cloud (one case, or JSON lines) and say why each is decided.

The case format is the cloud's (`CloudPlugin.simulate`; AWS: the conformance-case format of ../shared/README.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from permscope.clouds.base import simulator
from permscope.core.errors import InputError
from permscope.core.ids import Cloud
from permscope.core.limits import check_case

MAX_CASE_BYTES = 64 * 1024 * 1024  # one case (a file, or one line of a batch)
# Where a cloud's case names who asks and what it asks about: (principal key, resource key) of its request.
_ASKED = {Cloud.AWS: ("principal", "resource"), Cloud.AZURE: ("principal_id", "scope")}


@dataclass(frozen=True, slots=True)
class SimulationOutcome:
    """One simulated case: the simulator's answer and what was asked, for people to read."""

    result: dict[str, Any]  # {"id", "decision", "explanation"}, or a component case's answer
    name: str | None
    principal: str
    action: str
    resource: str


def _load(text: str | bytes, source: str, first_line: int, checked: bool = True) -> Mapping[str, Any]:
    """The case object of `text`; with `checked`, refused too when `core.limits.check_case` refuses it."""
    if len(text) > MAX_CASE_BYTES:
        raise InputError(f"{source}:{first_line}", f"a case is larger than {MAX_CASE_BYTES} bytes")
    try:
        case = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        line = first_line + max(error.lineno - 1, 0)
        raise InputError(f"{source}:{line}", f"not valid JSON ({error.msg}, column {error.colno})") from None
    if not isinstance(case, dict):
        raise InputError(f"{source}:{first_line}", "a case must be a JSON object")
    if checked:
        check_case(case, f"{source}:{first_line}")  # nesting, 64-bit numbers, NUL: docs/limits.md
    return case


def _outcome(cloud: Cloud, case: Mapping[str, Any], where: str) -> SimulationOutcome:
    result = simulator(cloud).simulate(case, where)
    name = case.get("name")
    if "decision" not in result:  # a condition_operator or resource_match case
        request = case.get("request") if isinstance(case.get("request"), dict) else {}
        return SimulationOutcome(
            result=result,
            name=name if isinstance(name, str) else None,
            principal="-",
            action=str(case.get("operator") or case.get("element")),
            resource=str(request.get("resource") if request else case.get("request_value")),
        )
    request = case["request"]
    principal_key, resource_key = _ASKED.get(cloud, _ASKED[Cloud.AWS])
    principal = request.get(principal_key)
    shown = principal if isinstance(principal, str) else "anonymous"
    return SimulationOutcome(
        result=result,
        name=name if isinstance(name, str) else None,
        principal=shown,
        action=str(request.get("action", request.get("permission"))),  # GCP's cases ask for a permission
        resource=str(request.get(resource_key)),
    )


def simulate_document(text: str | bytes, source: str, cloud: Cloud = Cloud.AWS) -> SimulationOutcome:
    """Simulate the one case `text` holds (a JSON object, possibly over many lines).

    InputError names `source:line` and the problem.
    """
    stripped = text.lstrip()
    skipped = text[: len(text) - len(stripped)]
    first_line = 1 + (skipped.count(b"\n") if isinstance(skipped, bytes) else skipped.count("\n"))
    if not stripped:
        raise InputError(f"{source}:1", "no case: the input is empty")
    case = _load(text, source, 1)
    return _outcome(cloud, case, f"{source}:{first_line}")


def _cases(lines: Iterable[str | bytes], source: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    for number, line in enumerate(lines, start=1):
        if not line or line.isspace():  # blank (without copying the line as strip() would)
            continue
        yield _load(line, source, number), f"{source}:{number}"


def simulate_lines(
    lines: Iterable[str | bytes], source: str, cloud: Cloud = Cloud.AWS
) -> Iterator[SimulationOutcome]:
    """Simulate every case of a JSON-lines input (blank lines skipped), in order.

    Stops at the first bad line with InputError naming `source:line`.
    """
    for case, where in _cases(lines, source):
        yield _outcome(cloud, case, where)


def simulate_lines_json(
    lines: Iterable[str | bytes], source: str, cloud: Cloud = Cloud.AWS
) -> Iterator[bytes]:
    """Like simulate_lines, each answer already encoded as one line of compact JSON (no newline).

    An engine with `simulate_line_json(line, source)` reads each line's JSON itself (into its own typed
    structure, in one pass); the others get the parsed case.
    """
    engine = simulator(cloud)
    from_text = getattr(engine, "simulate_line_json", None)
    if from_text is None:
        # An engine with `simulate_read_json` checks a case's limits itself (`core.limits.check_case`), with the
        # JSON it writes of the case anyway; the others get it checked.
        simulate = getattr(engine, "simulate_read_json", None)
        checked = simulate is None
        if simulate is None:
            simulate = engine.simulate_json
        for number, line in enumerate(lines, start=1):  # _cases, inline: one generator less per line
            if not line or line.isspace():
                continue
            yield simulate(_load(line, source, number, checked), f"{source}:{number}")
        return
    for number, line in enumerate(lines, start=1):
        if not line or line.isspace():
            continue
        if len(line) > MAX_CASE_BYTES:
            raise InputError(f"{source}:{number}", f"a case is larger than {MAX_CASE_BYTES} bytes")
        yield from_text(line, f"{source}:{number}")
