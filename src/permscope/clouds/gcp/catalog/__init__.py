"""The GCP permission catalogue and predefined roles (shipped data, refreshed from an organization)."""
