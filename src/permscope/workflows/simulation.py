"""Use case: simulate AWS authorization requests (one case, or JSON lines) and say why each is decided."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from permscope.clouds.aws.engine.simulate import simulate_case, simulate_case_json
from permscope.core.errors import InputError

MAX_CASE_BYTES = 64 * 1024 * 1024  # one case (a file, or one line of a batch)


@dataclass(frozen=True, slots=True)
class SimulationOutcome:
    """One simulated case: the simulator's answer and what was asked, for people to read."""

    result: dict[str, Any]  # {"id", "decision", "explanation"}, or a component case's answer
    name: str | None
    principal: str
    action: str
    resource: str


def _load(text: str | bytes, source: str, first_line: int) -> Mapping[str, Any]:
    if len(text) > MAX_CASE_BYTES:
        raise InputError(f"{source}:{first_line}", f"a case is larger than {MAX_CASE_BYTES} bytes")
    try:
        case = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        line = first_line + max(error.lineno - 1, 0)
        raise InputError(f"{source}:{line}", f"not valid JSON ({error.msg}, column {error.colno})") from None
    if not isinstance(case, dict):
        raise InputError(f"{source}:{first_line}", "a case must be a JSON object")
    return case


def _outcome(case: Mapping[str, Any], where: str) -> SimulationOutcome:
    result = simulate_case(case, source=where)
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
    principal = request.get("principal")
    shown = principal if isinstance(principal, str) else "anonymous"
    return SimulationOutcome(
        result=result,
        name=name if isinstance(name, str) else None,
        principal=shown,
        action=str(request.get("action")),
        resource=str(request.get("resource")),
    )


def simulate_aws_document(text: str | bytes, source: str) -> SimulationOutcome:
    """Simulate the one case `text` holds (a JSON object, possibly over many lines).

    InputError names `source:line` and the problem.
    """
    stripped = text.lstrip()
    skipped = text[: len(text) - len(stripped)]
    first_line = 1 + (skipped.count(b"\n") if isinstance(skipped, bytes) else skipped.count("\n"))
    if not stripped:
        raise InputError(f"{source}:1", "no case: the input is empty")
    case = _load(text, source, 1)
    return _outcome(case, f"{source}:{first_line}")


def _cases(lines: Iterable[str | bytes], source: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        yield _load(line, source, number), f"{source}:{number}"


def simulate_aws_lines(lines: Iterable[str | bytes], source: str) -> Iterator[SimulationOutcome]:
    """Simulate every case of a JSON-lines input (blank lines skipped), in order.

    Stops at the first bad line with InputError naming `source:line`.
    """
    for case, where in _cases(lines, source):
        yield _outcome(case, where)


def simulate_aws_lines_json(lines: Iterable[str | bytes], source: str) -> Iterator[bytes]:
    """Like simulate_aws_lines, each answer already encoded as one line of compact JSON (no newline)."""
    for case, where in _cases(lines, source):
        yield simulate_case_json(case, source=where)
