"""ARM's authorization API for the write sides (permissions on demand, remediation): one subscription's
azure-mgmt-authorization client with its credentials, and how an ARM error reads and whether retrying helps."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

ARM_ENDPOINT = "https://management.azure.com"
API_VERSION = "2022-04-01"  # azure-mgmt-authorization's default for role assignments and role definitions
# ARM error codes where a retry cannot help; throttling, 5xx, replication delays and the rest are retried
PERMANENT_CODES = frozenset(
    {
        "AuthorizationFailed",
        "LinkedAuthorizationFailed",
        "InvalidAuthenticationToken",
        "InvalidRoleDefinitionId",
        "RoleDefinitionDoesNotExist",
        "InvalidPrincipalId",
        "InvalidActionOrNotAction",
        "InvalidDataActionOrNotDataAction",
        "InvalidAssignableScope",
        "RoleAssignmentLimitExceeded",
        "RoleDefinitionLimitExceeded",
        "RoleDefinitionWithSameNameExists",
        "SubscriptionNotFound",
        "InvalidResourceType",
        "ResourceGroupNotFound",
        "ResourceNotFound",
        "MissingSubscription",
        "InvalidRequestContent",
        "InvalidConditionVersion",
        "InvalidCondition",
        "BadRequest",
    }
)
PERMANENT_STATUSES = frozenset({400, 401, 403})


def item_url(scope: str, collection: str, name: str, endpoint: str = ARM_ENDPOINT) -> str:
    """The ARM URL of one authorization object (`collection`: roleAssignments, roleDefinitions) at a scope."""
    place = "/" + scope.strip().strip("/")
    return (
        f"{endpoint}{quote(place, safe='/')}/providers/Microsoft.Authorization/{collection}/{name}"
        f"?api-version={API_VERSION}"
    )


class ArmCredentialError(Exception):
    """No Azure credentials could be made (always permanent)."""


def one_line(text: str) -> str:
    """Text on one line (ARM messages carry newlines)."""
    return " ".join(text.split())


class ArmAuthorization:
    """The authorization client of one subscription, made on first use.

    Credentials: `credential` when given, else azure-identity's ClientSecretCredential when a tenant, client id
    and secret are configured, else DefaultAzureCredential (environment, workload identity, managed identity,
    Azure CLI). `transport` is azure-core's transport seam (tests serve recorded responses through it).
    """

    def __init__(
        self,
        subscription_id: str,
        *,
        credential: Any = None,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        transport: Any = None,
    ) -> None:
        self.subscription_id = subscription_id
        self._credential = credential
        self._tenant_id, self._client_id, self._client_secret = tenant_id, client_id, client_secret
        self._transport = transport
        self._sdk: Any = None

    def credential(self) -> Any:
        """The credential the client signs in with (the given one, the configured service principal's, else the
        default chain); Graph writes sign in with the same one."""
        if self._credential is None:
            from azure.identity import ClientSecretCredential, DefaultAzureCredential

            if self._tenant_id and self._client_id and self._client_secret:
                self._credential = ClientSecretCredential(
                    self._tenant_id, self._client_id, self._client_secret
                )
            else:
                self._credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
        return self._credential

    def client(self) -> Any:
        """azure-mgmt-authorization's AuthorizationManagementClient (ArmCredentialError when none can be made)."""
        if self._sdk is None:
            from azure.mgmt.authorization import AuthorizationManagementClient

            options: dict[str, Any] = {}
            if self._transport is not None:
                options["transport"] = self._transport
            try:
                self._sdk = AuthorizationManagementClient(self.credential(), self.subscription_id, **options)
            except Exception as exc:
                raise ArmCredentialError(f"cannot get Azure credentials: {one_line(str(exc))}") from exc
        return self._sdk


def error_code(exc: BaseException) -> str | None:
    """The ARM error code of an SDK error, None when it has none."""
    code = getattr(getattr(exc, "error", None), "code", None)
    return str(code) if code else None


def arm_failure(exc: BaseException, doing: str) -> tuple[str, bool]:
    """(one line naming what failed and ARM's code and message, whether retrying cannot help)."""
    if isinstance(exc, ArmCredentialError):
        return str(exc), True
    status = getattr(exc, "status_code", None)
    code = error_code(exc)
    message = getattr(getattr(exc, "error", None), "message", None) or str(exc).split("\n", 1)[0]
    detail = f"{code}: {message}" if code else f"{type(exc).__name__}: {message}"
    if status:
        detail = f"HTTP {status} {detail}"
    permanent = code in PERMANENT_CODES or (code is None and status in PERMANENT_STATUSES)
    if code == "AuthorizationFailed" or status == 403:
        permanent = True
    return one_line(f"{doing}: {detail}"), permanent
