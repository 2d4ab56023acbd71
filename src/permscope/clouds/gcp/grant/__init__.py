"""The GCP write side of permissions on demand."""
