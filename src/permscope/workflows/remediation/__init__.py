"""Remediation: least-privilege policies from activity, and plans with dry-run, apply and rollback."""
