"""The GCP escalation techniques: each one's permissions, where they are decided, and what a step gives.

The 23 methods of Rhino Security Labs' GCP IAM privilege-escalation scanner (RhinoSecurityLabs/
GCP-IAM-Privilege-Escalation, PrivEscScanner/check_for_privesc.py `methods_and_permissions`, BSD-3-Clause;
their permissions restated here, ids kept) and permscope's own `actAs` techniques for the other services that
run code as a service account (`permscope-*`). A technique's permissions are split by where the engine decides
them: on the project (or the organization / folder for their setIamPolicy), on the target service account
(a binding on a service account grants impersonation of that account only), or on an existing resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PART_1 = "https://rhinosecuritylabs.com/gcp/privilege-escalation-google-cloud-platform-part-1/"
PART_2 = "https://rhinosecuritylabs.com/gcp/privilege-escalation-google-cloud-platform-part-2/"
ACT_AS_PAGE = "https://cloud.google.com/iam/docs/service-accounts-actas"
ACT_AS = "iam.serviceAccounts.actAs"


class Kind(StrEnum):
    """What a technique does, which decides its targets and what its step yields."""

    SET_POLICY = "setPolicy"  # sets an allow policy on the project or an ancestor: grants itself any role
    CUSTOM_ROLE = "customRole"  # adds permissions to a custom role bound to it
    IMPERSONATE = "impersonate"  # acts as a service account through a permission on that account
    PROJECT_ACCOUNT = "projectAccount"  # a project permission that yields credentials of any of its accounts
    DELEGATE = "delegate"  # implicitDelegation on one account, which may mint tokens of another
    RUN_AS = "runAs"  # creates a resource that runs its code as a service account it may act as
    EXISTING = "existing"  # changes the code of an existing resource and acts as the account it runs as
    SERVICE_AGENT = "serviceAgent"  # runs code as a Google-managed account of the project
    NOT_A_PRINCIPAL = "notAPrincipal"  # gains something other than a principal's permissions (not a path)


@dataclass(frozen=True, slots=True)
class Technique:
    """One technique: its permissions on the project / the account / the existing resource, and its kind."""

    technique_id: str
    kind: Kind
    words: str
    url: str
    on_project: tuple[str, ...] = ()
    on_account: tuple[str, ...] = ()
    on_resource: tuple[str, ...] = ()
    level: str = "projects"  # SET_POLICY: the lineage level whose policy it sets
    resource_type: str | None = None  # EXISTING: the resource type it changes
    agent_domain: str | None = None  # SERVICE_AGENT: the agent's e-mail domain

    @property
    def name(self) -> str:
        """Its key permissions, for a step's words (e.g. `run.services.create + iam.serviceAccounts.actAs`)."""
        first = (self.on_project or self.on_resource)[:1]
        return " + ".join((*first, *self.on_account))

    @property
    def actions(self) -> tuple[str, ...]:
        """Every permission the technique needs."""
        return self.on_project + self.on_resource + self.on_account


FUNCTION = "cloudfunctions.googleapis.com/Function"
RUN_SERVICE = "run.googleapis.com/Service"
INSTANCE = "compute.googleapis.com/Instance"


def _run_as(technique_id: str, made: str, *permissions: str, url: str = PART_1) -> Technique:
    return Technique(
        technique_id,
        Kind.RUN_AS,
        f"creates {made} that runs its code as a service account it may act as, and takes that account's token",
        url,
        on_project=permissions,
        on_account=(ACT_AS,),
    )


def _impersonate(technique_id: str, permission: str, words: str, url: str = PART_1) -> Technique:
    return Technique(technique_id, Kind.IMPERSONATE, words, url, on_account=(permission,))


_FUNCTIONS = ("cloudfunctions.functions.create", "cloudfunctions.functions.sourceCodeSet")
_COMPUTE = (
    "compute.disks.create",
    "compute.instances.create",
    "compute.instances.setMetadata",
    "compute.instances.setServiceAccount",
    "compute.subnetworks.use",
    "compute.subnetworks.useExternalIp",
)

TECHNIQUES: tuple[Technique, ...] = (
    Technique("SetOrgIAMPolicy", Kind.SET_POLICY, "sets the organization's allow policy and grants itself any "
              "role", PART_2, on_project=("resourcemanager.organizations.setIamPolicy",), level="organizations"),
    Technique("SetFolderIAMPolicy", Kind.SET_POLICY, "sets the allow policy of a folder above the project and "
              "grants itself any role", PART_2, on_project=("resourcemanager.folders.setIamPolicy",),
              level="folders"),
    Technique("SetProjectIAMPolicy", Kind.SET_POLICY, "sets the project's allow policy and grants itself any "
              "role", PART_2, on_project=("resourcemanager.projects.setIamPolicy",)),
    Technique("UpdateIAMRole", Kind.CUSTOM_ROLE, "adds any permission to a custom role bound to it", PART_1,
              on_project=("iam.roles.update",)),
    _impersonate("SetServiceAccountIAMPolicy", "iam.serviceAccounts.setIamPolicy",
                 "sets a service account's allow policy to let itself impersonate it, then acts as it", PART_2),
    _impersonate("GetServiceAccountAccessToken", "iam.serviceAccounts.getAccessToken",
                 "creates an OAuth access token of a service account and acts as it"),
    _impersonate("ServiceAccountSignBlob", "iam.serviceAccounts.signBlob",
                 "signs a self-made JWT assertion with a service account's key and exchanges it for a token"),
    _impersonate("ServiceAccountSignJwt", "iam.serviceAccounts.signJwt",
                 "signs a JWT as a service account and exchanges it for an access token"),
    _impersonate("CreateServiceAccountKey", "iam.serviceAccountKeys.create",
                 "creates a key of a service account and authenticates as it"),
    Technique("ServiceAccountImplicitDelegation", Kind.DELEGATE, "uses implicit delegation through one "
              "service account to mint tokens of another that the first may impersonate", PART_1,
              on_account=("iam.serviceAccounts.implicitDelegation",)),
    Technique("CreateServiceAccountHMACKey", Kind.PROJECT_ACCOUNT, "creates a Cloud Storage HMAC key of a "
              "service account and uses Cloud Storage as that account", PART_1,
              on_project=("storage.hmacKeys.create",)),
    _run_as("ExfilCloudFunctionCredsAuthCall", "a Cloud Function", *_FUNCTIONS, "cloudfunctions.functions.call"),
    _run_as("ExfilCloudFunctionCredsUnauthCall", "a public Cloud Function", *_FUNCTIONS,
            "cloudfunctions.functions.setIamPolicy"),
    Technique("UpdateCloudFunction", Kind.EXISTING, "replaces the code of an existing Cloud Function and takes "
              "the token of the service account it runs as", PART_1,
              on_resource=("cloudfunctions.functions.sourceCodeSet", "cloudfunctions.functions.update"),
              on_account=(ACT_AS,), resource_type=FUNCTION),
    _run_as("CreateGCEInstanceWithSA", "a Compute Engine instance", *_COMPUTE),
    _run_as("ExfilCloudRunServiceUnauthCall", "a public Cloud Run service", "run.services.create",
            "run.services.setIamPolicy"),
    _run_as("ExfilCloudRunServiceAuthCall", "a Cloud Run service", "run.services.create", "run.routes.invoke"),
    _run_as("CreateCloudSchedulerHTTPRequest", "a Cloud Scheduler job", "cloudscheduler.jobs.create",
            "cloudscheduler.locations.list"),
    Technique("CreateDeploymentManagerDeployment", Kind.SERVICE_AGENT, "creates a Deployment Manager "
              "deployment, which runs as the project's Google APIs service agent", PART_1,
              on_project=("deploymentmanager.deployments.create",), agent_domain="cloudservices.gserviceaccount.com"),
    Technique("RCECloudBuildBuildServer", Kind.SERVICE_AGENT, "runs a Cloud Build build, which runs as the "
              "project's legacy Cloud Build service account", PART_1, on_project=("cloudbuild.builds.create",),
              agent_domain="cloudbuild.gserviceaccount.com"),
    Technique("SetOrgPolicyConstraints", Kind.NOT_A_PRINCIPAL, "changes organization policy constraints (e.g. "
              "lifts domain-restricted sharing); it gains no principal's permissions", PART_1,
              on_project=("orgpolicy.policy.set",)),
    Technique("CreateAPIKey", Kind.NOT_A_PRINCIPAL, "creates an API key of the project; it gains no "
              "principal's permissions", PART_1, on_project=("serviceusage.apiKeys.create",)),
    Technique("ViewExistingAPIKeys", Kind.NOT_A_PRINCIPAL, "reads the project's existing API keys; it gains no "
              "principal's permissions", PART_1, on_project=("serviceusage.apiKeys.list",)),
    # permscope's own: the other services that run code as a service account the caller may act as
    _run_as("permscope-cloudbuild-actas", "a Cloud Build build with a chosen service account",
            "cloudbuild.builds.create", url=ACT_AS_PAGE),
    _run_as("permscope-dataproc-actas", "a Dataproc cluster", "dataproc.clusters.create", url=ACT_AS_PAGE),
    _run_as("permscope-dataflow-actas", "a Dataflow job", "dataflow.jobs.create", url=ACT_AS_PAGE),
    _run_as("permscope-composer-actas", "a Cloud Composer environment", "composer.environments.create",
            url=ACT_AS_PAGE),
    _run_as("permscope-workflows-actas", "a Workflows workflow", "workflows.workflows.create", url=ACT_AS_PAGE),
    _run_as("permscope-vertex-actas", "a Vertex AI custom job", "aiplatform.customJobs.create", url=ACT_AS_PAGE),
    Technique("permscope-run-update", Kind.EXISTING, "deploys new code to an existing Cloud Run service and "
              "takes the token of the service account it runs as", ACT_AS_PAGE,
              on_resource=("run.services.update",), on_account=(ACT_AS,), resource_type=RUN_SERVICE),
    Technique("permscope-compute-ssh", Kind.EXISTING, "adds an SSH key to an existing Compute Engine instance's "
              "metadata, logs in and takes the token of the service account it runs as", ACT_AS_PAGE,
              on_resource=("compute.instances.setMetadata",), resource_type=INSTANCE),
)  # fmt: skip
RHINO_METHODS = 23  # the techniques whose ids are Rhino's method names
BY_ID = {technique.technique_id: technique for technique in TECHNIQUES}
