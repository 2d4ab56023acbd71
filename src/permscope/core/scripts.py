"""The shell script of a remediation plan, for the clouds whose commands are written per step: the header as
comments, each step numbered with its kind and label (in apply order, or reversed to roll back), a manual step
commented out, the cloud's lines for the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from permscope.core.remediation import StepSpec


def plan_script(
    header: str,
    intro: Sequence[str],
    steps: Sequence[StepSpec],
    *,
    rollback: bool,
    step_lines: Callable[[StepSpec, int], list[str]],
    manual_line: Callable[[StepSpec], str],
) -> str:
    """`#!/bin/sh`, the header and intro comments, `set -eu`, then every step: `step_lines(step, number)` for a
    step permscope applies, the manual command commented out (nothing to undo, rolling back) for the others."""
    lines = ["#!/bin/sh", *(f"# {line}" if line else "#" for line in header.splitlines())]
    lines += [*(f"# {line}" for line in intro), "set -eu", ""]
    ordered = list(reversed(steps)) if rollback else list(steps)
    for number, step in enumerate(ordered, start=1):
        lines.append(f"# {number}. {step.kind.value}: {step.label}")
        if step.kind.manual:
            if rollback:
                lines.append("# manual step: nothing to undo unless you ran it")
            else:
                lines += ["# manual, not applied by permscope:", f"# {manual_line(step)}"]
        else:
            lines += step_lines(step, number)
        lines.append("")
    return "\n".join(lines)
