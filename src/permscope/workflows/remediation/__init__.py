"""Remediation: least privilege from observed activity, and plans that apply it."""
