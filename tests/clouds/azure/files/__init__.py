"""Tests of clouds/azure/files."""
