"""Terraform (HCL) literals for the remediation scripts of every cloud: strings, lists of strings, labels."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence


def hcl_string(text: str) -> str:
    """An HCL string literal (JSON escapes, template sequences escaped)."""
    return json.dumps(text).replace("${", "$${").replace("%{", "%%{")


def hcl_list(items: Sequence[str]) -> str:
    """An HCL list of string literals, one a line."""
    if not items:
        return "[]"
    return "[\n" + "".join(f"    {hcl_string(item)},\n" for item in items) + "  ]"


def hcl_label(text: str) -> str:
    """A resource label made of the text's letters, digits and underscores (starting with a letter or `_`)."""
    label = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return label if label[:1].isalpha() or label[:1] == "_" else f"r_{label}"


REMOVED_VERSION = ">= 1.7"  # the Terraform that reads `removed` blocks with `lifecycle { destroy = true }`


def removed_block(address: str) -> list[str]:
    """A `removed` block that destroys the object at `address` (its lines, then a blank one)."""
    return ["removed {", f"  from = {address}", "  lifecycle {", "    destroy = true", "  }", "}", ""]
