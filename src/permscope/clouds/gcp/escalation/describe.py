"""The GCP escalation techniques in words, each with the page that describes it (Rhino Security Labs' two
articles for their methods, Google's page on attaching service accounts for permscope's own `actAs` ones)."""

from __future__ import annotations

from permscope.clouds.gcp.escalation.techniques import TECHNIQUES
from permscope.core.escalation import TechniqueInfo


def technique_catalogue() -> dict[str, TechniqueInfo]:
    """Every technique by id, in words, with its page."""
    return {t.technique_id: TechniqueInfo(t.technique_id, t.words, t.url) for t in TECHNIQUES}
