"""Cloud Audit Logs and service-account last authentication: reading entries from files, log buckets, the
Cloud Logging API and Policy Analyzer, and folding them into usage."""
