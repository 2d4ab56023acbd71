"""CloudTrail activity: reading records from files, S3 and LookupEvents, and folding them into usage."""
