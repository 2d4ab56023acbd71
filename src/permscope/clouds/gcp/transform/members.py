"""IAM members as permscope identities, read by the engine's one member parser (`engine.principals`).

An identity's external id is its member string, email kinds lower-cased: `user:alice@example.com`,
`serviceAccount:sa@p.iam.gserviceaccount.com`, `group:eng@example.com`; federated identities as written
(`principal://...` a user, `principalSet://.../group/G` a group). `domain:`, `allUsers`,
`allAuthenticatedUsers` and whole workforce / workload pools (`principalSet://.../*`) are not identities but
*audiences*: a binding to one reaches every identity it covers, so the transform records the identities of the
project each covers as members of the audience (`Membership(group=<audience>, member=<identity>)`), and the
evaluator treats an audience like a group. `deleted:` members and the legacy `projectOwner:`-style
convenience values grant nothing to a live identity and are skipped (counted in a warning).
"""

from __future__ import annotations

from dataclasses import dataclass

from permscope.clouds.gcp.engine.principals import Kind, MemberError, read_member
from permscope.core.inventory import IdentityKind

ALL_USERS, ALL_AUTHENTICATED = "allUsers", "allAuthenticatedUsers"
PUBLIC_MEMBERS = frozenset({ALL_USERS, ALL_AUTHENTICATED})
_SERVICE_AGENT_DOMAINS = (
    "cloudservices.gserviceaccount.com",
    "cloudbuild.gserviceaccount.com",
    "gs-project-accounts.iam.gserviceaccount.com",
    "container-engine-robot.iam.gserviceaccount.com",
    "compute-system.iam.gserviceaccount.com",
    "serverless-robot-prod.iam.gserviceaccount.com",
)


@dataclass(frozen=True, slots=True)
class ReadMember:
    """What a binding member is to the transform."""

    key: str  # the identity's external id, or the audience's key
    kind: IdentityKind | None  # None: an audience (or skipped)
    audience: bool = False
    skipped: bool = False


def read_binding_member(text: str) -> ReadMember:
    """A binding member read (MemberError for text that is no IAM member)."""
    member = read_member(text, deny=False)
    kind = member.kind
    if kind is Kind.IDENTITY:
        if member.key.startswith("serviceAccount:"):
            return ReadMember(member.key, IdentityKind.SERVICE_ACCOUNT)
        return ReadMember(member.key, IdentityKind.USER)
    if kind is Kind.GROUP:
        return ReadMember(member.key, IdentityKind.GROUP)
    if kind is Kind.ALL_USERS:
        return ReadMember(ALL_USERS, None, audience=True)
    if kind is Kind.ALL_AUTHENTICATED:
        return ReadMember(ALL_AUTHENTICATED, None, audience=True)
    if kind is Kind.DOMAIN:
        return ReadMember(f"domain:{member.key}", None, audience=True)
    if kind is Kind.POOL:
        return ReadMember(text, None, audience=True)
    return ReadMember(text, None, skipped=True)  # deleted:, attribute sets, projectOwner:...


def email_of(external_id: str) -> str | None:
    """The email of a user, service account or group external id."""
    prefix, colon, rest = external_id.partition(":")
    return rest if colon and prefix in ("user", "serviceAccount", "group") and "@" in rest else None


def audience_covers(audience: str, external_id: str, kind: IdentityKind) -> bool:
    """Whether an audience (allUsers, allAuthenticatedUsers, domain:D, a pool) covers an identity."""
    if kind is IdentityKind.GROUP:
        return False
    if audience == ALL_USERS:
        return True
    if audience == ALL_AUTHENTICATED:
        return external_id.startswith(("user:", "serviceAccount:"))
    if audience.startswith("domain:"):
        email = email_of(external_id)
        return (
            external_id.startswith("user:") and email is not None and email.rpartition("@")[2] == audience[7:]
        )
    if audience.startswith("principalSet://") and audience.endswith("/*"):
        return external_id.startswith("principal://" + audience[len("principalSet://") : -1] + "subject/")
    return False


def is_service_agent(email: str) -> bool:
    """A Google-managed service account (a service agent), which Google creates and grants."""
    domain = email.rpartition("@")[2]
    return domain.startswith("gcp-sa-") or domain.endswith(_SERVICE_AGENT_DOMAINS)


def member_problem(text: str) -> str | None:
    """Why a member string is refused, None when it reads."""
    try:
        read_member(text, deny=False)
    except MemberError as error:
        return str(error)
    return None
