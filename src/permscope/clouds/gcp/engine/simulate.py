"""`permscope simulate gcp`: one case of the GCP IAM case format decided, as {"id", "decision", "explanation"}."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from permscope.clouds.gcp.engine.case import read_case
from permscope.clouds.gcp.engine.conditions import clear_programs
from permscope.clouds.gcp.engine.evaluate import decide
from permscope.clouds.gcp.engine.schema import (
    CaseSpec,
    clear_built,
    clear_roles,
    convert_case,
    decode_case,
)
from permscope.core.errors import InputError


def simulate_case(case: Mapping[str, Any], *, source: str | None = None) -> dict[str, Any]:
    """Decide one case: {"id", "decision", "explanation"}; InputError naming `source` (default: the case's id)."""
    if not isinstance(case, Mapping):
        raise InputError(source or "case", "a case must be a JSON object")
    where = source if source is not None else str(case.get("id") or "case")
    return _answer(convert_case(case, where), where)


def _answer(spec: CaseSpec, source: str) -> dict[str, Any]:
    request, estate = read_case(spec, source)
    decision = decide(request, estate)
    return {"id": spec.id, "decision": decision.decision, "explanation": decision.explanation()}


def _encoded(answer: dict[str, Any], source: str) -> bytes:
    try:
        return orjson.dumps(answer)
    except TypeError:  # an id JSON cannot write back (an integer beyond 64 bits)
        raise InputError(
            source, "the case's id cannot be written as JSON (an integer beyond 64 bits?)"
        ) from None


def simulate_case_json(case: Mapping[str, Any], *, source: str | None = None) -> bytes:
    """simulate_case, encoded as one line of compact JSON."""
    where = source if source is not None else "case"
    return _encoded(simulate_case(case, source=source), where)


def simulate_line_json(line: bytes | str, source: str) -> bytes:
    """One case given as JSON text, decided and encoded (the batch path: the text is decoded straight into the
    case's typed structure, and a role's permission list is read only when a decision looks at it)."""
    return _encoded(_answer(decode_case(line, source), source), source)


def clear_caches() -> None:
    """Forget every compiled condition, CEL context and role read (benchmarks measure a cold start with this)."""
    clear_programs()
    clear_roles()
    clear_built()


class GcpSimulator:
    """The GCP engine as the cloud seam's `Simulator`."""

    def simulate(self, case: Mapping[str, Any], source: str) -> dict[str, Any]:
        """Decide one case."""
        return simulate_case(case, source=source)

    def simulate_json(self, case: Mapping[str, Any], source: str) -> bytes:
        """Decide one case, as compact JSON."""
        return simulate_case_json(case, source=source)

    # Decide one case given as JSON text (a line of a batch), as compact JSON: the function itself, one call
    # less per line.
    simulate_line_json = staticmethod(simulate_line_json)


SIMULATOR = GcpSimulator()
