"""AWS remediation: least-privilege policies generated from activity (checked by the AWS engine), and plans: what
of an identity a plan may remove, the boto3 connector, AWS CLI and Terraform."""
