"""A least-privilege GCP custom role generated from a member's observed activity, checked by the GCP engine."""
