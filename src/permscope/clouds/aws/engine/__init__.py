"""The IAM policy language and AWS's decision logic: parse, match, evaluate, explain, simulate."""
