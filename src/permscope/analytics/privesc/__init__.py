"""Privilege escalation: our table of techniques, the principal graph, and the search for escalation paths."""

from __future__ import annotations

from permscope.analytics.privesc.analysis import EscalationAnalysis, escalation_analysis

__all__ = ["EscalationAnalysis", "escalation_analysis"]
