"""Effective permissions of a project's identities over the GCP catalogue (each distinct role compiled once)."""
