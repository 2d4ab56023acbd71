"""Tests of clouds/azure/effective."""
