"""Vocabularies of the synthetic Google Cloud organization: real predefined role names, regions, methods.

Role names are public facts ("IAM basic and predefined roles reference", cloud.google.com); each comes with a
weight (how often the generated organization grants it) and where it is granted (organization, folder,
project or a resource).
"""

from __future__ import annotations

# predefined roles granted on projects (and folders): name -> weight
PROJECT_ROLES: dict[str, int] = {
    "roles/viewer": 25,
    "roles/editor": 8,
    "roles/owner": 2,
    "roles/browser": 4,
    "roles/compute.viewer": 6,
    "roles/compute.instanceAdmin.v1": 4,
    "roles/compute.admin": 1,
    "roles/iam.serviceAccountUser": 4,
    "roles/iam.serviceAccountTokenCreator": 1,
    "roles/iam.securityReviewer": 1,
    "roles/bigquery.dataViewer": 6,
    "roles/bigquery.dataEditor": 3,
    "roles/bigquery.jobUser": 6,
    "roles/cloudfunctions.developer": 3,
    "roles/run.invoker": 3,
    "roles/run.admin": 2,
    "roles/pubsub.publisher": 4,
    "roles/pubsub.subscriber": 4,
    "roles/logging.viewer": 6,
    "roles/monitoring.viewer": 6,
    "roles/secretmanager.secretAccessor": 3,
    "roles/resourcemanager.projectIamAdmin": 1,
    "roles/container.developer": 3,
    "roles/cloudsql.client": 3,
    "roles/artifactregistry.reader": 4,
    "roles/dns.admin": 1,
    "roles/iam.serviceAccountKeyAdmin": 1,
}
ORGANIZATION_ROLES = (
    "roles/resourcemanager.organizationAdmin",
    "roles/iam.securityReviewer",
    "roles/cloudasset.viewer",
    "roles/resourcemanager.folderViewer",
    "roles/iam.roleAdmin",
    "roles/browser",
)
BUCKET_ROLES = ("roles/storage.objectViewer", "roles/storage.objectAdmin", "roles/storage.admin")
SERVICE_ACCOUNT_ROLES = ("roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator")

LOCATIONS = ("europe-west1", "europe-west4", "us-central1", "us-east1", "asia-northeast1")
ZONES = ("europe-west1-b", "europe-west4-a", "us-central1-a", "us-east1-c", "asia-northeast1-b")

FULL_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
DEFAULT_SCOPES = (
    "https://www.googleapis.com/auth/devstorage.read_only",
    "https://www.googleapis.com/auth/logging.write",
    "https://www.googleapis.com/auth/monitoring.write",
)

# audit-log methods and the permissions IAM checks for them (what authorizationInfo carries)
AUDITED_METHODS: tuple[tuple[str, str, str, str], ...] = (
    ("storage.googleapis.com", "storage.objects.get", "storage.objects.get", "bucket"),
    ("storage.googleapis.com", "storage.objects.create", "storage.objects.create", "bucket"),
    ("storage.googleapis.com", "storage.buckets.get", "storage.buckets.get", "bucket"),
    ("compute.googleapis.com", "v1.compute.instances.get", "compute.instances.get", "instance"),
    ("compute.googleapis.com", "v1.compute.instances.start", "compute.instances.start", "instance"),
    ("bigquery.googleapis.com", "google.cloud.bigquery.v2.JobService.InsertJob", "bigquery.jobs.create", "project"),
    ("pubsub.googleapis.com", "google.pubsub.v1.Publisher.Publish", "pubsub.topics.publish", "project"),
    ("secretmanager.googleapis.com", "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
     "secretmanager.versions.access", "project"),
    ("cloudresourcemanager.googleapis.com", "SetIamPolicy", "resourcemanager.projects.setIamPolicy", "project"),
    ("iam.googleapis.com", "google.iam.admin.v1.CreateServiceAccountKey", "iam.serviceAccountKeys.create",
     "project"),
)  # fmt: skip
