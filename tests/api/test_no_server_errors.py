"""No input is a 500: property-based tests (Hypothesis) of the OData query options ($filter, $orderby, $select,
$top, $skip, $count), paging tokens ($skiptoken), every GET route's path and query, and permissions request
bodies (create, then approve), each through the app over SQLite (the OData options over PostgreSQL too).

Each answer must be a success or a Graph error envelope with a 4xx status. The example counts come from the
Hypothesis profile (tests/conftest.py): moderate by default, more with HYPOTHESIS_PROFILE=thorough."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from permscope.analytics.analyze import AnalysisResult
from permscope.api.app import create_app
from permscope.core.findings import ActionSummary, Finding, FindingSubject, PciScore, Severity
from permscope.core.ids import Cloud
from permscope.core.snapshot import SystemSnapshot
from permscope.settings import Settings
from permscope.store.collections import AWS_IDENTITIES, CHANGES, REQUESTS, SYSTEMS, findings_collection
from permscope.workflows.analysis import analyze_system
from permscope.workflows.apikeys import ApiRole, create_api_key
from request_support import ACCOUNT, OTHER_ROLE, PM, ROLE, USER, Clock, seed_account, statements_body, team

from .factories import AS, P, seed

SPR = f"{PM}/scheduledPermissionsRequests"
APPROVALS = f"{PM}/scheduledPermissionsApprovals"
INACTIVE = "inactiveUserFinding"
FINDINGS = f"/identityGovernance/permissionsAnalytics/aws/findings/microsoft.graph.{INACTIVE}"
# collection URL -> the properties its $filter and $orderby know (so that generated filters reach the SQL)
COLLECTIONS: dict[str, list[str]] = {
    AS: sorted(SYSTEMS.props),
    f"{P}/associatedIdentities/users": sorted(AWS_IDENTITIES.props),
    SPR: sorted(REQUESTS.props),
    f"{PM}/permissionsRequestChanges": sorted(CHANGES.props),
    FINDINGS: sorted(findings_collection(INACTIVE, "identity").props),
}


def _finding(name: str, score: int) -> Finding:
    return Finding(
        finding_type=INACTIVE,
        cloud=Cloud.AWS,
        system_id=ACCOUNT,
        subject=FindingSubject.IDENTITY,
        subject_id=USER if name == "alice" else ROLE,
        subject_name=name,
        severity=Severity.MEDIUM,
        summary=f"{name} is unused",
        action_summary=ActionSummary(assigned=5, exercised=0, available=100),
        pci=PciScore(score, {"unused": 5}),
    )


@pytest.fixture
def api(engine: Engine) -> Iterator[dict[str, TestClient]]:
    """Clients by name (alice requests, bob approves, admin reads everything) on an app over a small estate with
    two of everything, so that every collection pages: systems, users, findings, requests. The app's clock
    stands still at the test clock's start, so requests are judged against a known now."""
    seed(engine, system_id="210987654321", name="other")
    seed_account(engine, identities=(ROLE, OTHER_ROLE, USER, f"arn:aws:iam::{ACCOUNT}:user/bob"))

    def analyzer(_snapshot: SystemSnapshot) -> AnalysisResult:
        return AnalysisResult(findings=[_finding("alice", 70), _finding("ops", 20)])

    analyze_system(engine, ACCOUNT, analyzer=analyzer)
    tokens = {name: key.token for name, key in team(engine).items()}
    tokens["admin"] = create_api_key(engine, ApiRole.ADMIN, "admin").token
    # permissive limits: the policy's checks must not hide what lies behind them (a 100-year request)
    limits = {"requests_max_hours_now": 1e6, "requests_max_days_scheduled": 1e5}
    app = create_app(engine, Settings(database_url="sqlite://", page_size=1, **limits))
    app.state.clock = Clock()
    clients = {
        name: TestClient(app, headers={"Authorization": f"Bearer {token}"}) for name, token in tokens.items()
    }
    for _ in range(2):
        created = clients["alice"].post(SPR, json=statements_body())
        assert created.status_code == 201, created.text
    yield clients


def assert_no_server_error(response: Any) -> None:
    """A success, or a Graph error envelope with a client-error status."""
    assert response.status_code < 500, (response.request.method, str(response.request.url), response.text)
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"], response.text


# ------------------------------------------------------------------------------------------ strategies

# text a client can put in a URL (a lone surrogate cannot be sent; its UTF-8 bytes are covered below)
url_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
# text a JSON body can carry: lone surrogates (json.dumps writes them as \udXXX) and NUL included
body_text = st.one_of(
    st.sampled_from(["\ud800", "x\udfffy", "\udc80", "a\x00b", "", " ", "\U0001f6a8"]),
    st.text(st.characters(exclude_categories=()), max_size=20),
)
digits = st.integers(min_value=-(2**70), max_value=2**70).map(str)
numbers = st.one_of(
    digits,
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e999", "-1e999", "1e308", "9" * 400, "0.0", "-0", "1E5", "²", "٣", "1_000"]),
)


@st.composite
def date_texts(draw: st.DrawFn) -> str:
    """Date-time literals, valid or not: year 0, month 13, hour 24, offsets that cross year 1 or 9999."""
    year = draw(st.sampled_from([2025, 2026, 9999, 0, 1]) | st.integers(0, 9999))
    month, day = draw(st.integers(0, 14)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
    zone = draw(st.sampled_from(["Z", "+00:00", "-05:00", "+14:00", "+23:59", "-99:99", "+05:30"]))
    fraction = draw(st.sampled_from(["", ".5", ".123456", ".1234567890"]))
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"


quoted = url_text.map(lambda text: "'" + text.replace("'", "''") + "'")
literals = st.one_of(numbers, date_texts(), quoted, st.sampled_from(["true", "false", "null", "'", "''"]))


def filters(props: list[str]) -> st.SearchStrategy[str]:
    """$filter text from the grammar (over the collection's properties and some it lacks), and junk."""
    prop = st.sampled_from([*props, "nope", "a/b", "id", "graph.x"])
    ops = st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le", "has", "in", "EQ", "foo"])
    comparison = st.builds(lambda p, o, v: f"{p} {o} {v}", prop, ops, literals)
    listed = st.builds(
        lambda p, vs: f"{p} in ({', '.join(vs)})", prop, st.lists(literals, min_size=0, max_size=4)
    )
    call = st.builds(
        lambda f, p, v: f"{f}({p}, {v})",
        st.sampled_from(["contains", "startswith", "endswith"]),
        prop,
        literals,
    )
    leaf = st.one_of(comparison, listed, call)
    tree = st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"{a} and {b}", inner, inner),
            st.builds(lambda a, b: f"{a} or {b}", inner, inner),
            inner.map(lambda a: f"not {a}"),
            inner.map(lambda a: f"({a})"),
        ),
        max_leaves=6,
    )
    return st.one_of(tree, url_text, st.just("(" * 40 + "a eq 1" + ")" * 40))


def orderings(props: list[str]) -> st.SearchStrategy[str]:
    """$orderby or $select text: property lists with directions, and junk."""
    item = st.builds(
        lambda p, d: f"{p}{d}",
        st.sampled_from([*props, "nope", "9" * 30]),
        st.sampled_from(["", " asc", " desc"]),
    )
    return st.one_of(st.lists(item, min_size=1, max_size=3).map(", ".join), url_text)


counts = st.one_of(
    st.sampled_from(["0", "1", " 2 ", "00", "²", "٣", "1e3", "-1", "9" * 30, str(2**63), str(2**64)]),
    digits,
    url_text,
)


@st.composite
def query_options(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    """A collection and some of the system query options, each well-formed or not."""
    url = draw(st.sampled_from(sorted(COLLECTIONS)))
    props = COLLECTIONS[url]
    candidates = {
        "$filter": filters(props),
        "$orderby": orderings(props),
        "$select": orderings(props),
        "$top": counts,
        "$skip": counts,
        "$count": st.sampled_from(["true", "false", "TRUE", "yes", ""]),
        "$skiptoken": url_text,
    }
    return url, {name: draw(values) for name, values in candidates.items() if draw(st.booleans())}


# ------------------------------------------------------------------------------------------- the tests


@pytest.mark.postgres
@given(case=query_options())
def test_odata_query_options_never_answer_500(api: dict[str, TestClient], case: Any) -> None:
    url, params = case
    assert_no_server_error(api["admin"].get(url, params=params))


def _altered(token: str, values: dict[str, Any]) -> str:
    """A real token with the JSON at its head given other values (the rest, a signature if any, kept)."""
    head, dot, rest = token.partition(".")
    try:
        data = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        data = {}
    data = {**data, **values} if isinstance(data, dict) else values
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=") + dot + rest


positions = st.one_of(
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, -1, 10**18, 10**30]),
    st.integers(-(2**80), 2**80),
    st.booleans(),
    st.none(),
    url_text,
)


@given(
    url=st.sampled_from(sorted(COLLECTIONS)),
    values=st.dictionaries(st.sampled_from("nkqx"), positions, max_size=3),
    mutation=st.integers(0, 3),
)
def test_skiptokens_forged_or_altered_never_answer_500(
    api: dict[str, TestClient], url: str, values: dict[str, Any], mutation: int
) -> None:
    client = api["admin"]
    link = client.get(url, params={"$top": "1"}).json()["@odata.nextLink"]  # each collection has two items
    real = parse_qs(urlsplit(link).query)["$skiptoken"][0]
    altered = _altered(real, values)
    token = [altered, altered.partition(".")[0], real[::-1], real + "."][mutation]
    response = client.get(url, params={"$top": "1", "$skiptoken": token})
    assert_no_server_error(response)
    assert response.status_code == 400 or token == real  # only the server's own token continues a walk


def _get_routes(app: Any) -> list[str]:
    """The path templates of every documented GET route."""
    return sorted(path for path, item in app.openapi()["paths"].items() if "get" in item)


@st.composite
def route_requests(draw: st.DrawFn, templates: list[str]) -> str:
    """A GET URL: a route's template with each {parameter} drawn (a real id, or anything), and a query string
    that may carry raw percent-encoded bytes (the UTF-8 of a lone surrogate among them)."""
    template = draw(st.sampled_from(templates))
    known = [ACCOUNT, "aws", "MTIzNDU2Nzg5MDEy", ROLE, "microsoft.graph.inactiveUserFinding", "x"]
    segment = st.one_of(st.sampled_from(known), url_text.filter(lambda s: s not in ("", ".", "..")))
    path = re.sub(r"\{[^}]+\}", lambda _m: quote(draw(segment), safe="'()=,@:"), template)
    raw = st.sampled_from(
        ["%ED%A0%80", "%FF", "%00", "%C0%AF", "%25", "%", "&&", "=", "%E2%82", "%C2%B2", str(2**70)]
    )
    key = st.sampled_from(
        ["$filter", "$top", "$select", "$orderby", "$skiptoken", "$count", "on", "@p1", "x"]
    )
    parts = draw(
        st.lists(st.builds(lambda k, v: f"{quote(k, safe='$@')}={v}", key, raw | url_text.map(quote)))
    )
    return path + ("?" + "&".join(parts) if parts else "")


def test_every_get_route_with_any_path_and_query_never_answers_500(
    api: dict[str, TestClient],
) -> None:
    client = api["admin"]
    templates = _get_routes(client.app)
    assert len(templates) > 20

    @given(url=route_requests(templates))
    def check(url: str) -> None:
        assert_no_server_error(client.get(url))

    check()


# ----------------------------------------------------------------------------------------- request bodies

durations = st.one_of(
    st.sampled_from(
        ["PT1H", "P99999999999D", "P36525D", "P5000W", "P" + "9" * 30 + "D", "PT0S", "P1Y", "-PT1H"]
    ),
    st.builds(lambda n, unit: f"P{n}{unit}", st.integers(0, 2**40), st.sampled_from(["D", "W", "DT1H"])),
    st.builds(lambda n, unit: f"PT{n}{unit}", st.integers(0, 2**40), st.sampled_from(["H", "M", "S", ".5S"])),
)
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(),  # NaN and the infinities included: json.dumps writes them
    body_text,
    date_texts(),
    durations,
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


BODY_PATHS = [path for path in _paths(statements_body()) if path]


def _reaches(target: Any, key: Any) -> bool:
    return (isinstance(target, dict) and key in target) or (
        isinstance(target, list) and isinstance(key, int) and key < len(target)
    )


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> None:
    """Put `value` at `path` when the path still leads somewhere (an earlier replacement may have cut it)."""
    target = document
    for key in path[:-1]:
        if not _reaches(target, key):
            return
        target = target[key]
    if _reaches(target, path[-1]):
        target[path[-1]] = value


@st.composite
def request_bodies(draw: st.DrawFn) -> str:
    """A valid create-request body with a few of its values replaced by anything JSON can say, as raw text."""
    body = statements_body(justification=draw(body_text))
    schedule = body["scheduleInfo"]
    schedule["startDateTime"] = draw(st.none() | date_texts())
    if draw(st.booleans()):
        schedule["expiration"] = {"duration": draw(durations)}
    else:
        schedule["expiration"] = {"endDateTime": draw(date_texts())}
    for path in draw(st.lists(st.sampled_from(BODY_PATHS), max_size=2)):
        _replace(body, path, draw(json_values))
    return json.dumps(body)


@given(raw=request_bodies(), review=json_values)
def test_request_bodies_never_answer_500_nor_do_their_approvals(
    api: dict[str, TestClient], raw: str, review: Any
) -> None:
    alice, bob = api["alice"], api["bob"]
    headers = {"content-type": "application/json"}
    created = alice.post(SPR, content=raw.encode(), headers=headers)
    assert_no_server_error(created)
    if created.status_code != 201:
        return
    request_id = created.json()["id"]
    steps = bob.get(f"{APPROVALS}/{request_id}/steps")
    assert_no_server_error(steps)
    step_id = steps.json()["value"][0]["id"]
    url = f"{APPROVALS}/{request_id}/steps/{step_id}"
    assert_no_server_error(bob.patch(url, content=json.dumps(review).encode(), headers=headers))
    approved = bob.patch(url, json={"reviewResult": "Approve", "justification": "ok"})
    assert_no_server_error(approved)
