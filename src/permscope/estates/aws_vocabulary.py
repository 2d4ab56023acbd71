"""Vocabularies of the synthetic AWS estate: people, teams, services, principals, regions (public names only)."""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
FIRST_NAMES = (
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "nina",
    "oscar", "peggy", "rupert", "sybil", "trent", "ursula", "victor", "wendy", "xavier", "yasmin", "zoe",
    "amir", "bea", "chen", "diego", "elif", "fatima", "goran", "hana", "igor", "jonas", "kiri", "lena",
    "mateo", "noor", "olga", "priya", "quinn", "ravi", "sara", "tomas", "uma", "vera", "wei", "yuki",
)  # fmt: skip
LAST_NAMES = (
    "smith", "garcia", "mueller", "rossi", "nowak", "kim", "tanaka", "okafor", "silva", "dubois", "jensen",
    "novak", "patel", "cohen", "larsen", "ivanova", "haddad", "murphy", "fischer", "moreau", "santos",
    "yilmaz", "nguyen", "kowalski", "berg", "costa", "schmidt", "ali", "singh", "lopez", "brown", "wilson",
)  # fmt: skip
TEAMS = (
    "platform", "payments", "data", "identity", "mobile", "search", "billing", "security", "sre",
    "analytics", "growth", "ml", "frontend", "checkout", "logistics", "support",
)  # fmt: skip
GROUP_KINDS = (
    "engineers",
    "admins",
    "readonly",
    "oncall",
    "developers",
    "analysts",
    "auditors",
    "contractors",
)
SERVICES = (
    "api", "worker", "ingest", "scheduler", "etl", "web", "notifier", "reporting", "auth", "catalog", "orders",
)  # fmt: skip
PERMISSION_SETS = (
    ("AdministratorAccess", "AdministratorAccess"),
    ("PowerUserAccess", "PowerUserAccess"),
    ("ReadOnlyAccess", "ReadOnlyAccess"),
    ("SecurityAudit", "SecurityAudit"),
    ("DataEngineer", "AmazonS3FullAccess"),
    ("Developer", "PowerUserAccess"),
    ("Billing", "job-function/Billing"),
)
SERVICE_PRINCIPALS = (
    ("lambda", "AWSLambdaBasicExecutionRole"),
    ("ec2", "AmazonSSMManagedInstanceCore"),
    ("ecs-tasks", "AmazonECSTaskExecutionRolePolicy"),
    ("glue", "service-role/AWSGlueServiceRole"),
    ("codebuild", ""),
    ("states", "service-role/AWSLambdaRole"),
)
SERVICE_LINKED = (
    ("dynamodb.application-autoscaling", "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable",
     "AWSApplicationAutoscalingDynamoDBTablePolicy"),
    ("appsync", "AWSServiceRoleForAppSync", "AWSAppSyncServiceRolePolicy"),
    ("support", "AWSServiceRoleForSupport", "AWSSupportServiceRolePolicy"),
    ("trustedadvisor", "AWSServiceRoleForTrustedAdvisor", "AWSTrustedAdvisorServiceRolePolicy"),
    ("organizations", "AWSServiceRoleForOrganizations", "AWSOrganizationsServiceTrustPolicy"),
    ("sso", "AWSServiceRoleForSSO", "AWSSSOServiceRolePolicy"),
    ("elasticloadbalancing", "AWSServiceRoleForElasticLoadBalancing", "AWSElasticLoadBalancingServiceRolePolicy"),
)  # fmt: skip
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
GROUP_POLICIES = {
    "admins": ("AdministratorAccess", "IAMFullAccess"),
    "readonly": ("ReadOnlyAccess", "AmazonS3ReadOnlyAccess", "AmazonEC2ReadOnlyAccess"),
    "auditors": ("SecurityAudit", "IAMReadOnlyAccess", "CloudWatchLogsReadOnlyAccess"),
    "developers": ("PowerUserAccess", "AmazonS3FullAccess", "AmazonEC2ReadOnlyAccess"),
}
