"""AWS remediation plans: what of an identity a plan may remove, the boto3 connector, AWS CLI and Terraform."""
