"""Tests of clouds/azure/catalog."""
