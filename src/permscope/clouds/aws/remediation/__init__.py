"""Least-privilege policies generated from an identity's observed activity, checked by the AWS engine."""
