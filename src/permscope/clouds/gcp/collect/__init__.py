"""Live, read-only collection of a Google Cloud organization (or one project) into the raw bundle of `gcp.raw`."""
