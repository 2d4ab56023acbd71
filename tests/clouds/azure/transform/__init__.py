"""Tests of clouds/azure/transform."""
