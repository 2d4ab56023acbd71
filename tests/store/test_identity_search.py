"""The identity explorer's search: every cloud, by name or external id without case, filters, a reader's view,
SQL counts and paging; the findings of one identity."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from permscope.core.access import Systems
from permscope.core.ids import Cloud
from permscope.core.inventory import AuthorizationSystem, Identity, IdentityKind, InventoryBatch
from permscope.store.identity_search import (
    IdentitySearch,
    count_identities,
    identity_findings,
    like_pattern,
    search_identities,
)
from permscope.store.ingest import ingest
from permscope.store.systems import system_pk
from permscope.store.tables import SEVERITY_RANK, FindingRow

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def _load(engine: Engine, cloud: Cloud, system_id: str, people: list[tuple[str, str, IdentityKind]]) -> None:
    identities = [
        Identity(external_id=external_id, kind=kind, display_name=name, source=cloud.value)
        for external_id, name, kind in people
    ]
    system = AuthorizationSystem(cloud=cloud, system_id=system_id, name=f"name-{system_id}")
    ingest(engine, InventoryBatch(system=system, source="test", identities=identities))


def _estate(engine: Engine) -> None:
    _load(engine, Cloud.AWS, "111111111111", [
        ("arn:aws:iam::111111111111:user/Alice", "Alice", IdentityKind.USER),
        ("arn:aws:iam::111111111111:role/deploy_100%", "deploy_100%", IdentityKind.ROLE),
        ("arn:aws:iam::111111111111:role/deployX100y", "deployX100y", IdentityKind.ROLE),
    ])  # fmt: skip
    _load(engine, Cloud.AZURE, "sub-1", [
        ("0000-aaaa", "alice@contoso.example", IdentityKind.USER),
        ("0000-bbbb", HOSTILE, IdentityKind.SERVICE_PRINCIPAL),
    ])  # fmt: skip
    _load(engine, Cloud.GCP, "proj-1", [
        ("user:ALICE@example.test", "ALICE@example.test", IdentityKind.USER),
        ("serviceAccount:ci@proj-1.iam.gserviceaccount.com", "ci", IdentityKind.SERVICE_ACCOUNT),
    ])  # fmt: skip


def _found(engine: Engine, search: IdentitySearch, limit: int = 50, offset: int = 0) -> list[tuple[str, str]]:
    with Session(engine) as session:
        total, hits = search_identities(session, search, limit=limit, offset=offset)
        assert total == count_identities(session, search)  # counted with the page, or by COUNT: the same
    return [(hit.cloud, hit.display_name) for hit in hits]


def _count(engine: Engine, search: IdentitySearch) -> int:
    with Session(engine) as session:
        total = count_identities(session, search)
        assert search_identities(session, search, limit=1)[0] == total
        assert search_identities(session, search, limit=1, offset=100)[0] == total  # past the last page
    return total


def test_a_name_is_found_in_every_cloud_without_case(engine: Engine) -> None:
    _estate(engine)
    search = IdentitySearch(text="alice")
    assert sorted(_found(engine, search)) == [  # the name order is the database's collation
        ("aws", "Alice"),
        ("azure", "alice@contoso.example"),
        ("gcp", "ALICE@example.test"),
    ]
    assert _count(engine, search) == 3
    hit = _found(engine, IdentitySearch(text="ALICE", cloud="aws"))
    assert hit == [("aws", "Alice")]


def test_the_external_id_is_searched_too_and_an_exact_id_is_found(engine: Engine) -> None:
    _estate(engine)
    assert _found(engine, IdentitySearch(text="0000-BBBB")) == [("azure", HOSTILE)]
    assert _found(engine, IdentitySearch(text="serviceAccount:ci@proj-1.iam.gserviceaccount.com")) == [
        ("gcp", "ci")
    ]
    assert sorted(_found(engine, IdentitySearch(text="iam::111111111111:role/"))) == [
        ("aws", "deployX100y"),
        ("aws", "deploy_100%"),
    ]


def test_wildcards_in_the_text_are_literal(engine: Engine) -> None:
    _estate(engine)
    assert like_pattern("a%b_c\\") == "%a\\%b\\_c\\\\%"
    assert _found(engine, IdentitySearch(text="_100%")) == [("aws", "deploy_100%")]
    assert _found(engine, IdentitySearch(text="%")) == [("aws", "deploy_100%")]
    assert _found(engine, IdentitySearch(text="<script>")) == [("azure", HOSTILE)]


def test_filters_by_cloud_system_and_kind(engine: Engine) -> None:
    _estate(engine)
    assert _count(engine, IdentitySearch()) == 7
    assert _count(engine, IdentitySearch(cloud="gcp")) == 2
    assert _count(engine, IdentitySearch(system_id="sub-1")) == 2
    assert _count(engine, IdentitySearch(cloud="aws", system_id="sub-1")) == 0
    assert _found(engine, IdentitySearch(kind="serviceAccount")) == [("gcp", "ci")]


def test_a_reader_sees_only_the_systems_of_its_view(engine: Engine) -> None:
    _estate(engine)
    gcp_only = Systems(scopes=(("gcp", "proj-1"),))
    assert sorted(_found(engine, IdentitySearch(within=gcp_only))) == [
        ("gcp", "ALICE@example.test"),
        ("gcp", "ci"),
    ]
    assert _count(engine, IdentitySearch(text="alice", within=gcp_only)) == 1
    assert _count(engine, IdentitySearch(within=Systems())) == 0


def test_pages_follow_the_name_order(engine: Engine) -> None:
    _estate(engine)
    everyone = _found(engine, IdentitySearch(), limit=100)
    assert len(everyone) == 7
    pages = [_found(engine, IdentitySearch(), limit=3, offset=offset) for offset in (0, 3, 6)]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [hit for page in pages for hit in page] == everyone


def test_the_findings_of_one_identity_open_first_then_worst(engine: Engine) -> None:
    _estate(engine)
    alice = "arn:aws:iam::111111111111:user/Alice"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with Session(engine) as session:
        pk = system_pk(session, "111111111111", "aws")
        for number, (subject, severity, resolved) in enumerate([
            (alice, "low", None), (alice, "critical", now), (alice, "high", None),
            ("arn:aws:iam::111111111111:role/deployX100y", "critical", None),
        ]):  # fmt: skip
            session.add(FindingRow(
                system_pk=pk, fingerprint=f"{number:064d}", finding_type="inactiveUserFinding",
                subject_kind="identity", subject_id=subject, subject_name="x", severity=severity,
                severity_rank=SEVERITY_RANK[severity],
                summary=f"finding {number}", properties={}, evidence={}, action_summary=None, pci_score=None,
                pci_factors=None, first_seen=now, last_seen=now, resolved_at=resolved, reopened=0,
                snapshot_at=now, digest="d",
            ))  # fmt: skip
        session.commit()
        found = identity_findings(session, pk, alice)
        assert [(row.severity, row.resolved_at is None) for row in found] == [
            ("high", True), ("low", True), ("critical", False)
        ]  # fmt: skip
        assert identity_findings(session, pk, "arn:aws:iam::111111111111:user/nobody") == []
