"""Vocabularies of the synthetic Azure tenant: real built-in role and Entra role ids, regions, app names.

The ids are public facts: Azure built-in role definition GUIDs (learn.microsoft.com, "Azure built-in roles"),
Entra built-in directory role template ids ("Microsoft Entra built-in roles") and Microsoft Graph application
permission ids ("Microsoft Graph permissions reference").
"""

from __future__ import annotations

# built-in Azure RBAC roles the tenant assigns: name -> role definition GUID, with a weight (how often assigned)
BUILTIN_ROLES: dict[str, tuple[str, int]] = {
    "Reader": ("acdd72a7-3385-48ef-bd42-f606fba81ae7", 30),
    "Contributor": ("b24988ac-6180-42a0-ab88-20f7382dd24c", 18),
    "Owner": ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", 3),
    "User Access Administrator": ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", 1),
    "Role Based Access Control Administrator": ("f58310d9-a9f6-439a-9e8d-f62e7b41a168", 1),
    "Storage Blob Data Reader": ("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", 10),
    "Storage Blob Data Contributor": ("ba92f5b4-2d11-453d-a403-e96b0029c9fe", 8),
    "Storage Blob Data Owner": ("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", 2),
    "Storage Account Contributor": ("17d1049b-9a84-46fb-8f53-869881c3d3ab", 3),
    "Storage Queue Data Contributor": ("974c5e8b-45b9-4653-ba55-5f855dd0fb88", 2),
    "Key Vault Secrets User": ("4633458b-17de-408a-b874-0445c86b69e6", 5),
    "Key Vault Reader": ("21090545-7ca7-4776-b22c-e363652d74d2", 3),
    "Key Vault Administrator": ("00482a5a-887f-4fb3-b363-3b7fe8e74483", 1),
    "Virtual Machine Contributor": ("9980e02c-c2be-4d73-94e8-173b1dc7cf3c", 4),
    "Virtual Machine Administrator Login": ("1c0163c0-47e6-4577-8991-ea5c82e286e4", 2),
    "Network Contributor": ("4d97b98b-1d4f-4787-a291-c67834d212e7", 3),
    "Website Contributor": ("de139f84-1756-47ae-9be6-808fbbe84772", 3),
    "Monitoring Reader": ("43d0d8ad-25c7-4714-9337-8ba259a9fe05", 6),
    "Log Analytics Reader": ("73c42c96-874c-492b-b04d-ab87d138a893", 4),
    "Security Reader": ("39bc4728-0917-49c7-9d2c-d95423bc2eb4", 2),
    "Managed Identity Operator": ("f1a07417-d97a-45cb-824c-7a7467783830", 1),
    "Automation Contributor": ("f353d9bd-d4a6-484e-a77a-8050b599b867", 1),
    "AcrPull": ("7f951dda-4ed3-4680-a7ca-43fe172d538d", 4),
    "Azure Kubernetes Service Cluster User Role": ("4abbcc35-e782-43d8-92c5-2d3f1bd2253f", 2),
    "Cost Management Reader": ("72fafb9e-0641-4937-9268-a91bfd8191a3", 2),
    "SQL DB Contributor": ("9b7fa17d-e63e-47b0-bb0a-15c516ac86ec", 2),
    "Data Factory Contributor": ("673868aa-7521-48a0-acc6-0f60742d39f5", 1),
}

# roles a blob-container assignment may carry an ABAC condition with
DATA_ROLES = ("Storage Blob Data Reader", "Storage Blob Data Contributor")

# Entra built-in directory roles: name -> role template id
DIRECTORY_ROLES: dict[str, str] = {
    "Global Administrator": "62e90394-69f5-4237-9190-012177145e10",
    "Privileged Role Administrator": "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "Application Administrator": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    "User Administrator": "fe930be7-5e62-47db-91af-98c3a49a38b1",
    "Global Reader": "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    "Security Reader": "5d6b6bb7-de71-4623-b4af-96380a352509",
}

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Microsoft Graph application permissions (app roles): name -> app role id
GRAPH_APP_ROLES: dict[str, str] = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "RoleManagement.ReadWrite.Directory": "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
    "AuditLog.Read.All": "b0afded3-3588-46d8-8b3d-9842eff778da",
}

LOCATIONS = ("westeurope", "northeurope", "eastus", "eastus2", "westus2", "uksouth", "germanywestcentral")

# operations people and workloads perform, by what their roles are for (used for the generated activity log)
READ_OPERATIONS = (
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Compute/virtualMachines/read",
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Network/networkSecurityGroups/read",
    "Microsoft.Web/sites/read",
    "Microsoft.KeyVault/vaults/read",
    "Microsoft.Insights/metrics/read",
)
WRITE_OPERATIONS = (
    "Microsoft.Compute/virtualMachines/write",
    "Microsoft.Compute/virtualMachines/restart/action",
    "Microsoft.Storage/storageAccounts/write",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Web/sites/write",
    "Microsoft.Web/sites/restart/action",
    "Microsoft.Network/networkSecurityGroups/securityRules/write",
    "Microsoft.Resources/deployments/write",
)
ADMIN_OPERATIONS = (
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleAssignments/delete",
    "Microsoft.Resources/subscriptions/resourceGroups/delete",
)

APP_PURPOSES = (
    "ci-deploy", "terraform", "backup", "monitoring-agent", "data-sync", "billing-export", "hr-connector",
    "ticketing", "scanner", "etl", "mobile-backend", "reporting",
)  # fmt: skip
