"""GCP: the IAM evaluation engine (allow and deny policies over the resource hierarchy, IAM Conditions in CEL)."""
