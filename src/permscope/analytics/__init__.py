"""Detectors over an in-memory inventory and the cloud evaluators (findings arrive with the analytics issue)."""
