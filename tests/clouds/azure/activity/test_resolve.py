"""Azure actor keys named as stored identities: object ids, UPNs, application ids, sign-ins spread."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from clouds.azure.activity.samples import ALICE_OID, APP_ID, SP_OID, SUB, SUB2
from permscope.clouds.azure.activity.resolve import AzureActorResolver
from permscope.clouds.base import InventoryPorts, SpreadResolution
from permscope.store.usage import KnownIdentity

STORED = [
    KnownIdentity(SUB, ALICE_OID, "user", "Alice", "Alice@Contoso.com"),
    KnownIdentity(SUB2, ALICE_OID, "user", "Alice", "Alice@Contoso.com"),
    KnownIdentity(SUB, SP_OID, "servicePrincipal", "deployer", APP_ID),
    # a multi-tenant application's id is the same in every tenant; its service principals differ
    KnownIdentity(SUB, "cccccccc-0000-0000-0000-000000000001", "servicePrincipal", "shared", "shared-app"),
    KnownIdentity(SUB2, "cccccccc-0000-0000-0000-000000000002", "servicePrincipal", "shared", "shared-app"),
]


class Ports:
    def __init__(self) -> None:
        self.asked: list[tuple[list[str], list[str], list[str]]] = []

    def matching(
        self, systems: Collection[str], ids: Collection[str], aliases: Collection[str]
    ) -> list[KnownIdentity]:
        self.asked.append((sorted(systems), sorted(ids), sorted(aliases)))
        return [
            row
            for row in STORED
            if (not systems or row.system_id in systems)
            and (row.external_id in ids or (row.unique_id or "").lower() in aliases)
        ]

    def ports(self, *, matching: bool = True) -> InventoryPorts:
        return InventoryPorts(
            identities=lambda systems: [row for row in STORED if row.system_id in systems],
            people=lambda: [],
            matching=self.matching if matching else None,
        )


def resolver(actors: list[str], **options: Any) -> tuple[AzureActorResolver, Ports]:
    ports = Ports()
    made = AzureActorResolver(ports.ports(**options))
    made.load(actors)
    return made, ports


def test_activity_log_actors_in_their_subscription() -> None:
    actors = [
        f"{SUB}/oid/{ALICE_OID}",
        f"{SUB}/upn/alice@contoso.com",
        f"{SUB}/app/{APP_ID}",
        f"{SUB}/id/{SP_OID}",
        f"{SUB}/id/{APP_ID}",
        f"{SUB}/oid/dddddddd-0000-0000-0000-000000000000",
        f"{SUB}/upn/nobody@contoso.com",
        f"{SUB2}/app/shared-app",
        f"{SUB}/app/shared-app",
        "eeeeeeee-0000-0000-0000-000000000000/app/shared-app",
    ]
    made, _ports = resolver(actors)
    resolved = {actor: made.resolve(actor) for actor in actors}
    assert (
        resolved
        == {
            f"{SUB}/oid/{ALICE_OID}": ALICE_OID,
            f"{SUB}/upn/alice@contoso.com": ALICE_OID,
            f"{SUB}/app/{APP_ID}": SP_OID,
            f"{SUB}/id/{SP_OID}": SP_OID,
            f"{SUB}/id/{APP_ID}": SP_OID,
            f"{SUB}/oid/dddddddd-0000-0000-0000-000000000000": "dddddddd-0000-0000-0000-000000000000",  # read later
            f"{SUB}/upn/nobody@contoso.com": None,
            f"{SUB2}/app/shared-app": "cccccccc-0000-0000-0000-000000000002",
            f"{SUB}/app/shared-app": "cccccccc-0000-0000-0000-000000000001",
            "eeeeeeee-0000-0000-0000-000000000000/app/shared-app": None,  # which tenant's? no guess
        }
    )
    assert made.system_of(f"{SUB}/upn/alice@contoso.com") == SUB
    assert made.systems_of(f"{SUB}/upn/alice@contoso.com") == [SUB]
    assert made.known(ALICE_OID) and not made.known("dddddddd-0000-0000-0000-000000000000")
    assert made.person_label(f"{SUB}/oid/{ALICE_OID}") is None


def test_sign_ins_spread_to_every_subscription_storing_the_identity() -> None:
    actors = [f"*/oid/{ALICE_OID}", f"*/app/{APP_ID}", "*/oid/ffffffff-0000-0000-0000-000000000000"]
    made, _ports = resolver(actors)
    assert isinstance(made, SpreadResolution)
    assert made.system_of(f"*/oid/{ALICE_OID}") is None
    assert made.systems_of(f"*/oid/{ALICE_OID}") == sorted([SUB, SUB2])
    assert made.resolve(f"*/app/{APP_ID}") == SP_OID and made.systems_of(f"*/app/{APP_ID}") == [SUB]
    assert (
        made.systems_of("*/oid/ffffffff-0000-0000-0000-000000000000") == []
    )  # stored nowhere: counted nowhere


def test_each_value_is_asked_for_once_where_it_acted() -> None:
    made, ports = resolver([f"{SUB}/oid/{ALICE_OID}", f"*/oid/{ALICE_OID}", f"{SUB2}/upn/alice@contoso.com"])
    made.load([f"{SUB2}/oid/{ALICE_OID}", f"{SUB}/app/{APP_ID}", f"{SUB}/id/{SP_OID}"])
    made.load([f"{SUB}/app/{APP_ID}", f"{SUB2}/upn/alice@contoso.com"])
    assert ports.asked == [
        ([], [ALICE_OID], []),  # a sign-in: every subscription (the object id is then known everywhere)
        ([SUB2], [], ["alice@contoso.com"]),
        ([SUB], [SP_OID], sorted([APP_ID, SP_OID])),  # a caller GUID: an object id or an application id
    ]


def test_without_the_matching_port_the_subscriptions_are_read_whole() -> None:
    made, _ports = resolver([f"{SUB}/upn/alice@contoso.com", f"*/oid/{SP_OID}"], matching=False)
    assert made.resolve(f"{SUB}/upn/alice@contoso.com") == ALICE_OID
    assert made.systems_of(f"*/oid/{SP_OID}") == [SUB]  # only what the subscriptions read hold
