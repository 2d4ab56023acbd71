"""The Azure Collector of the plugin: options, and one outcome per readable subscription."""

from __future__ import annotations

import pytest

from clouds.azure.collect.conftest import Recorded
from clouds.azure.collect.recorded import RecordedArmTransport, graph_http_client
from permscope.clouds.azure.collect.collector import COLLECTOR, subscription_outcomes
from permscope.clouds.azure.collect.options import AzureCollectOptions, TenantCredential, make_credential
from permscope.core.errors import ConfigurationError
from permscope.core.ids import Cloud

S1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
S2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


def test_options_refuse_unknown_parts_and_credentials() -> None:
    with pytest.raises(ConfigurationError, match="unknown collection parts"):
        COLLECTOR.options(parts=frozenset({"entra", "nope"}))
    with pytest.raises(ConfigurationError, match="unknown credential"):
        COLLECTOR.options(credential_type="password")
    with pytest.raises(ConfigurationError, match="at least 1"):
        COLLECTOR.options(max_subscriptions=0)
    with pytest.raises(ConfigurationError, match="certificate"):
        COLLECTOR.options(certificate="/tmp/x.pem")


def test_graph_parts_need_entra() -> None:
    options = AzureCollectOptions(parts=frozenset({"group-members", "storage"}))
    assert not options.wanted("group-members")
    assert options.wanted("storage")


def test_credentials_are_built_from_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity import (
        AzureCliCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )

    for name in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(make_credential(AzureCollectOptions()), DefaultAzureCredential)
    tenant = make_credential(AzureCollectOptions(tenant="contoso.test"))
    assert isinstance(tenant, TenantCredential) and tenant.tenant == "contoso.test"
    assert isinstance(make_credential(AzureCollectOptions(credential_type="cli")), AzureCliCredential)
    identity = make_credential(AzureCollectOptions(credential_type="managed-identity", client_id="c1"))
    assert isinstance(identity, ManagedIdentityCredential)
    with pytest.raises(ConfigurationError, match="needs --tenant"):
        make_credential(AzureCollectOptions(credential_type="service-principal"))
    with pytest.raises(ConfigurationError, match="AZURE_CLIENT_SECRET"):
        make_credential(AzureCollectOptions(credential_type="service-principal", tenant="t", client_id="c"))
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-real-secret")
    secret = make_credential(
        AzureCollectOptions(
            credential_type="service-principal", tenant="11111111-1111-4111-8111-111111111111", client_id="c"
        )
    )
    assert isinstance(secret, ClientSecretCredential)
    assert "not-a-real-secret" not in repr(AzureCollectOptions(credential_type="service-principal"))


def test_a_subscription_whose_assignments_are_refused_fails_the_others_warn(recorded: Recorded) -> None:
    outcomes = {o.subscription_id: o for o in subscription_outcomes(recorded.collect())}
    assert set(outcomes) == {S1, S2}  # the disabled one is not an outcome
    assert outcomes[S2].error is not None and "role_assignments not collected" in outcomes[S2].error
    assert "403 AuthorizationFailed" in outcomes[S2].error
    assert outcomes[S1].error is None
    assert (
        outcomes[S1].parent == "mg-platform" and outcomes[S2].parent == "11111111-1111-4111-8111-111111111111"
    )
    assert any("users.signInActivity" in w for w in outcomes[S1].warnings)  # tenant-wide: every subscription
    assert not any(S2 in w for w in outcomes[S1].warnings)


def test_the_collector_gives_one_system_per_subscription(recorded: Recorded) -> None:
    options = COLLECTOR.options(
        credential=recorded.credential,
        arm_transport=RecordedArmTransport(recorded.tenant),
        graph_http_client=graph_http_client(recorded.tenant),
    )
    started: list[list[str]] = []
    found = {f.system.system_id.rsplit("/", 1)[-1]: f for f in COLLECTOR.collect(options, started.append)}
    assert started == [[S1, S2]]
    assert set(found) == {S1, S2}
    assert found[S1].batch is not None and found[S1].error is None
    assert found[S1].system.cloud is Cloud.AZURE
    assert found[S2].batch is None and "403" in str(found[S2].error)
