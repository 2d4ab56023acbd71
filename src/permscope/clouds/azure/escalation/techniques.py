"""The Azure escalation techniques: what each needs, what it gives, and the public page describing it.

RBAC techniques are decided by the engine at the scope they act on; Entra techniques are read from the
directory roles and Graph application permissions (app role assignments) the transform keeps on principals
(`directoryRoles`, `appRoleAssignments`), and from application owners (`applicationOwners`). The role and
permission ids are Microsoft's published, tenant-independent template ids. The pages are BloodHound's Azure
edge documentation (the catalogue in ../shared/data/azure/attack_edges_bloodhound.json) and Microsoft Learn.
"""

from __future__ import annotations

from dataclasses import dataclass

from permscope.core.escalation import TechniqueInfo

BLOODHOUND = "https://bloodhound.specterops.io/resources/edges/"
LEARN = "https://learn.microsoft.com/"

ROLE_ASSIGNMENTS_WRITE = "Microsoft.Authorization/roleAssignments/write"
ROLE_DEFINITIONS_WRITE = "Microsoft.Authorization/roleDefinitions/write"
RUN_COMMAND = "Microsoft.Compute/virtualMachines/runCommand/action"
VM_EXTENSIONS_WRITE = "Microsoft.Compute/virtualMachines/extensions/write"
SITES_WRITE = "Microsoft.Web/sites/write"
SITES_PUBLISH = "Microsoft.Web/sites/publish/Action"

# Entra built-in directory role template ids
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
CLOUD_APPLICATION_ADMINISTRATOR = "158c047a-c907-4556-b7ef-446551a6b5f7"
# Microsoft Graph application permission (app role) ids
ROLE_MANAGEMENT_READWRITE_DIRECTORY = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8"
APP_ROLE_ASSIGNMENT_READWRITE_ALL = "06b708a9-e830-4db3-a914-8e69da51d44f"
APPLICATION_READWRITE_ALL = "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"
GRAPH_PERMISSIONS = {
    ROLE_MANAGEMENT_READWRITE_DIRECTORY: "RoleManagement.ReadWrite.Directory",
    APP_ROLE_ASSIGNMENT_READWRITE_ALL: "AppRoleAssignment.ReadWrite.All",
    APPLICATION_READWRITE_ALL: "Application.ReadWrite.All",
}
DIRECTORY_ROLES = {
    GLOBAL_ADMINISTRATOR: "Global Administrator",
    PRIVILEGED_ROLE_ADMINISTRATOR: "Privileged Role Administrator",
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: "Privileged Authentication Administrator",
    APPLICATION_ADMINISTRATOR: "Application Administrator",
    CLOUD_APPLICATION_ADMINISTRATOR: "Cloud Application Administrator",
}


@dataclass(frozen=True, slots=True)
class Technique:
    """One technique: its id, name, the actions or Entra rights it needs, and its description."""

    technique_id: str
    name: str
    needs: tuple[str, ...]
    words: str
    url: str


ASSIGN_ROLE = Technique(
    "AZ-RBAC-ASSIGN",
    "role assignment",
    (ROLE_ASSIGNMENTS_WRITE,),
    "assigns itself Owner at a scope where it may write role assignments",
    BLOODHOUND + "az-user-access-administrator",
)
EDIT_ROLE = Technique(
    "AZ-RBAC-ROLEDEF",
    "custom role rewrite",
    (ROLE_DEFINITIONS_WRITE,),
    "rewrites a custom role assigned to it so that it allows every action (`*`) where it is assigned",
    LEARN + "azure/role-based-access-control/custom-roles",
)
RUN_ON_VM = Technique(
    "AZ-VM-RUNCOMMAND",
    "VM run command",
    (RUN_COMMAND,),
    "runs a command on a virtual machine and takes a token of the managed identity the VM runs as",
    BLOODHOUND + "az-vm-contributor",
)
VM_EXTENSION = Technique(
    "AZ-VM-EXTENSION",
    "VM extension",
    (VM_EXTENSIONS_WRITE,),
    "installs a custom script extension on a virtual machine and takes a token of its managed identity",
    BLOODHOUND + "az-execute-command",
)
WEB_APP_CODE = Technique(
    "AZ-WEBAPP-CODE",
    "Function / web app code",
    (SITES_WRITE, SITES_PUBLISH),
    "deploys code to (or changes the settings of) a Function or web app and takes a token of the managed "
    "identity it runs as",
    BLOODHOUND + "az-website-contributor",
)
ELEVATE = Technique(
    "AZ-ENTRA-GA-ELEVATE",
    "Global Administrator elevation",
    ("directoryRole:Global Administrator",),
    "holds Global Administrator, elevates itself to User Access Administrator at the root scope "
    "(Microsoft.Authorization/elevateAccess/action) and assigns itself Owner",
    BLOODHOUND + "az-global-admin",
)
GRANT_DIRECTORY_ROLE = Technique(
    "AZ-ENTRA-ROLE-GRANT",
    "directory role grant",
    ("directoryRole:Privileged Role Administrator", "graph:RoleManagement.ReadWrite.Directory"),
    "assigns itself the Global Administrator directory role, then elevates to User Access Administrator at "
    "the root scope",
    BLOODHOUND + "az-mg-grant-role",
)
GRANT_APP_ROLE = Technique(
    "AZ-GRAPH-APPROLE-GRANT",
    "Graph app role grant",
    ("graph:AppRoleAssignment.ReadWrite.All",),
    "grants its own service principal RoleManagement.ReadWrite.Directory, assigns itself Global "
    "Administrator, then elevates to User Access Administrator at the root scope",
    BLOODHOUND + "az-mg-grant-app-roles",
)
ADD_SECRET = Technique(
    "AZ-ENTRA-ADD-SECRET",
    "application credential",
    (
        "directoryRole:Application Administrator",
        "directoryRole:Cloud Application Administrator",
        "graph:Application.ReadWrite.All",
    ),
    "adds a client secret to an application (or service principal) and signs in as its service principal",
    BLOODHOUND + "az-add-secret",
)
OWNER_SECRET = Technique(
    "AZ-APP-OWNER-SECRET",
    "owned application credential",
    ("owner of the application",),
    "owns an application, adds a client secret to it and signs in as its service principal",
    BLOODHOUND + "az-owns",
)
RESET_PASSWORD = Technique(
    "AZ-ENTRA-RESET-PASSWORD",
    "password reset",
    ("directoryRole:Privileged Authentication Administrator",),
    "resets the password (or authentication methods) of any user, administrators included, and signs in as "
    "that user",
    BLOODHOUND + "az-privileged-auth-admin",
)
TECHNIQUES = (
    ASSIGN_ROLE,
    EDIT_ROLE,
    RUN_ON_VM,
    VM_EXTENSION,
    WEB_APP_CODE,
    ELEVATE,
    GRANT_DIRECTORY_ROLE,
    GRANT_APP_ROLE,
    ADD_SECRET,
    OWNER_SECRET,
    RESET_PASSWORD,
)


def technique_catalogue() -> dict[str, TechniqueInfo]:
    """The techniques by id, in words, each with its public page."""
    return {t.technique_id: TechniqueInfo(t.technique_id, t.words, t.url) for t in TECHNIQUES}
