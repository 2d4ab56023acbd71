"""The raw GCP bundle into core inventory batches, one per project (one transform for live and files)."""
