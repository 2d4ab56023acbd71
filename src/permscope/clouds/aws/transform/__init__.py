"""Raw AWS data (live bundles or files, one shape) -> the normalized inventory."""
