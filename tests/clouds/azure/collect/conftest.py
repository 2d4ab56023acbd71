"""The recorded tenant and the SDK transports answering from it."""

from __future__ import annotations

from typing import Any

import pytest

from clouds.azure.collect.recorded import (
    RecordedArmTransport,
    RecordedTenant,
    StaticTokenCredential,
    graph_http_client,
)
from permscope.clouds.azure.collect.options import AzureCollectOptions
from permscope.clouds.azure.collect.tenant import collect_bundle


class Recorded:
    """A recorded tenant and a collection of it through the SDKs' transports."""

    def __init__(self, *, graph_throttled: bool = False) -> None:
        self.tenant = RecordedTenant.load()
        if not graph_throttled:  # Graph's retry handler really sleeps Retry-After: one test waits for it
            for entry in self.tenant.entries:
                if "graph.microsoft.com" in entry["url"]:
                    entry["responses"] = [r for r in entry["responses"] if r["status"] != 429]
        self.credential = StaticTokenCredential()
        self.arm = RecordedArmTransport(self.tenant)
        self.announced: list[str] = []

    def collect(self, **values: Any) -> dict[str, Any]:
        values.setdefault("max_subscriptions", 2)
        return collect_bundle(
            AzureCollectOptions(**values),
            credential=self.credential,
            arm_transport=self.arm,
            graph_http_client=graph_http_client(self.tenant),
            on_subscriptions=self.announced.extend,
        )


@pytest.fixture
def recorded() -> Recorded:
    return Recorded()
