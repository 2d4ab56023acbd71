"""What a live Azure collection reads and how: credentials, tenant, subscriptions, parts, concurrency, retries."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from permscope.core.errors import ConfigurationError

# What `--skip` may name. Subscriptions, resource groups, role definitions and role assignments are always read.
PARTS = (
    "management-groups",
    "deny-assignments",
    "pim",
    "entra",  # every Microsoft Graph read below
    "sign-in-activity",
    "group-members",
    "application-owners",
    "app-role-assignments",
    "directory-roles",
    "managed-identities",
    "storage",
    "network",
    "compute",
    "web-apps",
    "key-vaults",
)
CREDENTIALS = ("default", "cli", "service-principal", "managed-identity")
ARM_SCOPE = "https://management.azure.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_URL = "https://graph.microsoft.com/v1.0"


@dataclass(slots=True, kw_only=True)
class AzureCollectOptions:
    """A live collection's options (ConfigurationError when they conflict)."""

    tenant: str | None = None  # tenant id or domain; None: the credential's home tenant
    credential_type: str = "default"  # one of CREDENTIALS
    client_id: str | None = None  # service principal or user-assigned managed identity
    certificate: str | None = None  # PEM/PKCS12 path of a service principal's certificate
    subscriptions: Sequence[str] | None = None  # None: every subscription of the tenant the caller can read
    parts: frozenset[str] = frozenset(PARTS)
    max_subscriptions: int = 4  # subscriptions read at the same time
    max_graph_requests: int = 8  # Graph requests in flight at the same time
    max_attempts: int = 10  # attempts per call (429 and 5xx retried with backoff, Retry-After honoured)
    # the SDKs' seams (tests; a caller with its own credential): an azure-core TokenCredential, an azure-core
    # transport for every ARM client, an httpx.AsyncClient under msgraph-sdk's middleware
    credential: Any = field(default=None, repr=False)
    arm_transport: Any = field(default=None, repr=False)
    graph_http_client: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.parts) - set(PARTS))
        if unknown:
            raise ConfigurationError(f"unknown collection parts {unknown}; known: {', '.join(PARTS)}")
        if self.credential_type not in CREDENTIALS:
            raise ConfigurationError(
                f"unknown credential {self.credential_type!r}; known: {', '.join(CREDENTIALS)}"
            )
        if min(self.max_subscriptions, self.max_graph_requests, self.max_attempts) < 1:
            raise ConfigurationError(
                "max_subscriptions, max_graph_requests and max_attempts must be at least 1"
            )
        if self.certificate and self.credential_type != "service-principal":
            raise ConfigurationError("a certificate is given with --credential service-principal only")

    def wanted(self, part: str) -> bool:
        """Whether a part is to be read (the Graph parts need `entra` too)."""
        graph = {"sign-in-activity", "group-members", "application-owners", "app-role-assignments"}
        graph.add("directory-roles")
        if part in graph and "entra" not in self.parts:
            return False
        return part in self.parts


def make_credential(options: AzureCollectOptions) -> Any:
    """The azure-identity credential of the options; secrets come from the environment, never the options.

    default: DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI, ...);
    cli: the signed-in Azure CLI; service-principal: --client-id (or AZURE_CLIENT_ID) with AZURE_CLIENT_SECRET,
    or a certificate (--certificate or AZURE_CLIENT_CERTIFICATE_PATH, its password in
    AZURE_CLIENT_CERTIFICATE_PASSWORD); managed-identity: the system-assigned one, or --client-id's.
    """
    from azure.identity import (
        AzureCliCredential,
        CertificateCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )

    if options.credential is not None:
        return options.credential
    tenant = options.tenant or os.environ.get("AZURE_TENANT_ID")
    if options.credential_type == "cli":
        return AzureCliCredential(tenant_id=tenant or "")
    if options.credential_type == "managed-identity":
        return ManagedIdentityCredential(client_id=options.client_id)
    if options.credential_type == "service-principal":
        client_id = options.client_id or os.environ.get("AZURE_CLIENT_ID")
        if not tenant or not client_id:
            raise ConfigurationError(
                "a service principal needs --tenant (or AZURE_TENANT_ID) and --client-id (or AZURE_CLIENT_ID)"
            )
        certificate = options.certificate or os.environ.get("AZURE_CLIENT_CERTIFICATE_PATH")
        if certificate:
            password = os.environ.get("AZURE_CLIENT_CERTIFICATE_PASSWORD")
            return CertificateCredential(tenant, client_id, certificate, password=password)
        secret = os.environ.get("AZURE_CLIENT_SECRET")
        if not secret:
            raise ConfigurationError(
                "a service principal needs its secret in AZURE_CLIENT_SECRET or a certificate (--certificate)"
            )
        return ClientSecretCredential(tenant, client_id, secret)
    kwargs: dict[str, Any] = {"additionally_allowed_tenants": ["*"]} if tenant else {}
    if tenant:
        kwargs.update(workload_identity_tenant_id=tenant, shared_cache_tenant_id=tenant)
        kwargs.update(interactive_browser_tenant_id=tenant, visual_studio_code_tenant_id=tenant)
    if options.client_id:
        kwargs["managed_identity_client_id"] = options.client_id
    chain = DefaultAzureCredential(**kwargs)
    return TenantCredential(chain, tenant) if tenant else chain


class TenantCredential:
    """A credential whose every token is asked for one tenant (`--tenant` with the default chain)."""

    def __init__(self, inner: Any, tenant: str) -> None:
        self.inner = inner
        self.tenant = tenant

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """A token of the tenant."""
        kwargs["tenant_id"] = self.tenant
        return self.inner.get_token(*scopes, **kwargs)

    def close(self) -> None:
        """Close the inner credential."""
        self.inner.close()
