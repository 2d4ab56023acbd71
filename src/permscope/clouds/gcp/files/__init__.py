"""Readers of a GCP export folder (the files the `gcloud` export script writes) into the raw bundle."""
