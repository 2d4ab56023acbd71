"""The resource types whose allow policies GCP remediation plans edit: one row per type with the inventory scope
it matches, its REST read and write calls, its gcloud command group, its Terraform `google_*_iam_member` type,
and whether IAM accepts conditional bindings there.

Read and write styles (`Style`), as each API's REST reference gives them (policy version 3 requested everywhere):
- `resourceManager`: `POST <v3 url>:getIamPolicy {"options": {"requestedPolicyVersion": 3}}`, `POST :setIamPolicy
  {"policy": ...}` (the project, through the Resource Manager client);
- `iam`: `POST <v1 url>:getIamPolicy?options.requestedPolicyVersion=3`, `POST :setIamPolicy {"policy": ...}`;
- `storage`: `GET <bucket>/iam?optionsRequestedPolicyVersion=3`, `PUT <bucket>/iam <policy>`;
- `compute`: `GET <instance>/getIamPolicy?optionsRequestedPolicyVersion=3`, `POST <instance>/setIamPolicy
  {"policy": ...}` (Compute's ZoneSetPolicyRequest);
- `standard`: `GET <url>:getIamPolicy?options.requestedPolicyVersion=3`, `POST <url>:setIamPolicy {"policy": ...}`
  (Cloud Run v2, Cloud Functions v2, Pub/Sub, Secret Manager, Cloud KMS, Artifact Registry);
- `bigquery`: `POST <dataset>:getIamPolicy {"options": {"requestedPolicyVersion": 3}}`, `POST :setIamPolicy
  {"policy": ...}` (BigQuery v2 datasets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from permscope.clouds.gcp.iam_client import IAM, RESOURCE_MANAGER


class Style(StrEnum):
    """How a resource type's getIamPolicy and setIamPolicy are called (see the module docstring)."""

    RESOURCE_MANAGER = "resourceManager"
    IAM = "iam"
    STORAGE = "storage"
    COMPUTE = "compute"
    STANDARD = "standard"
    BIGQUERY = "bigquery"


@dataclass(frozen=True, slots=True)
class Kind:
    """One resource type with an allow policy of its own. Templates are filled with the scope's named groups
    (`{project}` is always the project id, whichever of id or number the scope names)."""

    name: str
    pattern: re.Pattern[str]  # the inventory scope; a `project` group when the scope names its project
    path: str  # the resource's name in its API (what `Place.name` holds)
    base: str  # the API's URL the path is appended to
    style: Style
    gcloud: str | None  # the command group holding add/remove-iam-policy-binding; None: none exists
    gcloud_args: str  # the resource's positional argument and flags
    gcloud_conditions: bool  # whether that gcloud command takes --condition
    terraform: str  # the google_*_iam_member type
    terraform_args: tuple[tuple[str, str], ...]  # its arguments naming the resource
    import_id: str  # the resource part of `terraform import` ids
    conditions: bool  # whether IAM accepts conditional bindings on this type
    permissions: str  # the `<service>.<type>` prefix of its getIamPolicy / setIamPolicy permissions


def _kind(name: str, pattern: str, path: str, base: str, style: Style, **rest: Any) -> Kind:
    return Kind(name=name, pattern=re.compile(pattern), path=path, base=base, style=style, **rest)


_P = r"projects/(?P<project>[^/]+)"
_L = r"locations/(?P<location>[^/]+)"

KINDS: tuple[Kind, ...] = (
    _kind(
        "project",
        r"projects/(?P<project>[^/]+)",
        "projects/{project}",
        RESOURCE_MANAGER,
        Style.RESOURCE_MANAGER,
        gcloud="gcloud projects",
        gcloud_args="{project}",
        gcloud_conditions=True,
        terraform="google_project_iam_member",
        terraform_args=(("project", "{project}"),),
        import_id="{project}",
        conditions=True,
        permissions="resourcemanager.projects",
    ),
    _kind(
        "serviceAccount",
        rf"//iam\.googleapis\.com/{_P}/serviceAccounts/(?P<account>[^/]+)",
        "{account}",
        f"{IAM}/projects/-/serviceAccounts",
        Style.IAM,
        gcloud="gcloud iam service-accounts",
        gcloud_args="{account}",
        gcloud_conditions=True,
        terraform="google_service_account_iam_member",
        terraform_args=(("service_account_id", "projects/{project}/serviceAccounts/{account}"),),
        import_id="projects/-/serviceAccounts/{account}",
        conditions=True,
        permissions="iam.serviceAccounts",
    ),
    _kind(
        "bucket",  # a bucket's name names no project (bucket names are global)
        r"//storage\.googleapis\.com/(?:projects/_/buckets/)?(?P<bucket>[^/]+)",
        "{bucket}",
        "https://storage.googleapis.com/storage/v1/b",
        Style.STORAGE,
        gcloud="gcloud storage buckets",
        gcloud_args="gs://{bucket}",
        gcloud_conditions=True,
        terraform="google_storage_bucket_iam_member",
        terraform_args=(("bucket", "{bucket}"),),
        import_id="b/{bucket}",
        conditions=True,
        permissions="storage.buckets",
    ),
    _kind(
        "computeInstance",
        rf"//compute\.googleapis\.com/{_P}/zones/(?P<zone>[^/]+)/instances/(?P<instance>[^/]+)",
        "projects/{project}/zones/{zone}/instances/{instance}",
        "https://compute.googleapis.com/compute/v1",
        Style.COMPUTE,
        gcloud="gcloud compute instances",
        gcloud_args="{instance} --zone={zone} --project={project}",
        gcloud_conditions=True,
        terraform="google_compute_instance_iam_member",
        terraform_args=(("project", "{project}"), ("zone", "{zone}"), ("instance_name", "{instance}")),
        import_id="projects/{project}/zones/{zone}/instances/{instance}",
        conditions=True,
        permissions="compute.instances",
    ),
    _kind(
        "runService",
        rf"//run\.googleapis\.com/{_P}/{_L}/services/(?P<service>[^/]+)",
        "projects/{project}/locations/{location}/services/{service}",
        "https://run.googleapis.com/v2",
        Style.STANDARD,
        gcloud="gcloud run services",
        gcloud_args="{service} --region={location} --project={project}",
        gcloud_conditions=False,
        terraform="google_cloud_run_v2_service_iam_member",
        terraform_args=(("project", "{project}"), ("location", "{location}"), ("name", "{service}")),
        import_id="projects/{project}/locations/{location}/services/{service}",
        conditions=True,
        permissions="run.services",
    ),
    _kind(
        "function",
        rf"//cloudfunctions\.googleapis\.com/{_P}/{_L}/functions/(?P<function>[^/]+)",
        "projects/{project}/locations/{location}/functions/{function}",
        "https://cloudfunctions.googleapis.com/v2",
        Style.STANDARD,
        gcloud="gcloud functions",
        gcloud_args="{function} --region={location} --project={project}",
        gcloud_conditions=False,
        terraform="google_cloudfunctions2_function_iam_member",
        terraform_args=(
            ("project", "{project}"),
            ("location", "{location}"),
            ("cloud_function", "{function}"),
        ),
        import_id="projects/{project}/locations/{location}/functions/{function}",
        conditions=False,
        permissions="cloudfunctions.functions",
    ),
    _kind(
        "topic",
        rf"//pubsub\.googleapis\.com/{_P}/topics/(?P<topic>[^/]+)",
        "projects/{project}/topics/{topic}",
        "https://pubsub.googleapis.com/v1",
        Style.STANDARD,
        gcloud="gcloud pubsub topics",
        gcloud_args="{topic} --project={project}",
        gcloud_conditions=False,
        terraform="google_pubsub_topic_iam_member",
        terraform_args=(("project", "{project}"), ("topic", "{topic}")),
        import_id="projects/{project}/topics/{topic}",
        conditions=False,
        permissions="pubsub.topics",
    ),
    _kind(
        "subscription",
        rf"//pubsub\.googleapis\.com/{_P}/subscriptions/(?P<subscription>[^/]+)",
        "projects/{project}/subscriptions/{subscription}",
        "https://pubsub.googleapis.com/v1",
        Style.STANDARD,
        gcloud="gcloud pubsub subscriptions",
        gcloud_args="{subscription} --project={project}",
        gcloud_conditions=False,
        terraform="google_pubsub_subscription_iam_member",
        terraform_args=(("project", "{project}"), ("subscription", "{subscription}")),
        import_id="projects/{project}/subscriptions/{subscription}",
        conditions=False,
        permissions="pubsub.subscriptions",
    ),
    _kind(
        "secret",
        rf"//secretmanager\.googleapis\.com/{_P}/secrets/(?P<secret>[^/]+)",
        "projects/{project}/secrets/{secret}",
        "https://secretmanager.googleapis.com/v1",
        Style.STANDARD,
        gcloud="gcloud secrets",
        gcloud_args="{secret} --project={project}",
        gcloud_conditions=True,
        terraform="google_secret_manager_secret_iam_member",
        terraform_args=(("project", "{project}"), ("secret_id", "{secret}")),
        import_id="projects/{project}/secrets/{secret}",
        conditions=True,
        permissions="secretmanager.secrets",
    ),
    _kind(
        "keyRing",
        rf"//cloudkms\.googleapis\.com/{_P}/{_L}/keyRings/(?P<ring>[^/]+)",
        "projects/{project}/locations/{location}/keyRings/{ring}",
        "https://cloudkms.googleapis.com/v1",
        Style.STANDARD,
        gcloud="gcloud kms keyrings",
        gcloud_args="{ring} --location={location} --project={project}",
        gcloud_conditions=True,
        terraform="google_kms_key_ring_iam_member",
        terraform_args=(("key_ring_id", "{project}/{location}/{ring}"),),
        import_id="{project}/{location}/{ring}",
        conditions=True,
        permissions="cloudkms.keyRings",
    ),
    _kind(
        "cryptoKey",
        rf"//cloudkms\.googleapis\.com/{_P}/{_L}/keyRings/(?P<ring>[^/]+)/cryptoKeys/(?P<key>[^/]+)",
        "projects/{project}/locations/{location}/keyRings/{ring}/cryptoKeys/{key}",
        "https://cloudkms.googleapis.com/v1",
        Style.STANDARD,
        gcloud="gcloud kms keys",
        gcloud_args="{key} --keyring={ring} --location={location} --project={project}",
        gcloud_conditions=True,
        terraform="google_kms_crypto_key_iam_member",
        terraform_args=(("crypto_key_id", "{project}/{location}/{ring}/{key}"),),
        import_id="{project}/{location}/{ring}/{key}",
        conditions=True,
        permissions="cloudkms.cryptoKeys",
    ),
    _kind(
        "repository",
        rf"//artifactregistry\.googleapis\.com/{_P}/{_L}/repositories/(?P<repository>[^/]+)",
        "projects/{project}/locations/{location}/repositories/{repository}",
        "https://artifactregistry.googleapis.com/v1",
        Style.STANDARD,
        gcloud="gcloud artifacts repositories",
        gcloud_args="{repository} --location={location} --project={project}",
        gcloud_conditions=False,
        terraform="google_artifact_registry_repository_iam_member",
        terraform_args=(("project", "{project}"), ("location", "{location}"), ("repository", "{repository}")),
        import_id="projects/{project}/locations/{location}/repositories/{repository}",
        conditions=False,
        permissions="artifactregistry.repositories",
    ),
    _kind(
        "dataset",
        rf"//bigquery\.googleapis\.com/{_P}/datasets/(?P<dataset>[^/]+)",
        "projects/{project}/datasets/{dataset}",
        "https://bigquery.googleapis.com/bigquery/v2",
        Style.BIGQUERY,
        gcloud=None,  # gcloud has no dataset IAM command: the script calls the REST API with curl
        gcloud_args="",
        gcloud_conditions=False,
        terraform="google_bigquery_dataset_iam_member",
        terraform_args=(("project", "{project}"), ("dataset_id", "{dataset}")),
        import_id="projects/{project}/datasets/{dataset}",
        conditions=True,
        permissions="bigquery.datasets",
    ),
)
KINDS_BY_NAME = {kind.name: kind for kind in KINDS}
