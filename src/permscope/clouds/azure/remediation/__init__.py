"""A least-privilege Azure custom role generated from a principal's observed activity, checked by the Azure engine."""
