"""Effective permissions of AWS principals over the action catalogue."""
