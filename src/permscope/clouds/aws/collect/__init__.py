"""Live, read-only collection of AWS accounts through boto3 (one raw bundle per account)."""
