"""Who acted in an audit-log entry, as an IAM member string, and the actor keys of the usage aggregate.

- `authenticationInfo.principalEmail` is the caller: an address ending `.gserviceaccount.com` is a service
  account (`serviceAccount:<email>`, service agents included), any other a user (`user:<email>`), both
  lower-cased as IAM compares them. Without an e-mail, `principalSubject` is used when it is a member string
  (`user:`, `serviceAccount:`, or a workforce / workload identity `principal://...`); otherwise nobody can be
  named (anonymous calls to public data, redacted third parties) and the entry is counted as unresolved.
- `serviceAccountDelegationInfo` lists who impersonated the caller (a service account), the original caller
  first: the permissions are the service account's, and every principal of the chain was active too.
- A service account named only by its unique id (Policy Analyzer) is kept as `uid:<id>`, resolved against the
  stored service accounts' unique ids.

An actor key is `<project id>/<member>`: usage belongs to the project the entry was logged in (project ids
have no `/`), and the same member may act in many projects.
"""

from __future__ import annotations

import re
from typing import Any

SERVICE_ACCOUNT_SUFFIX = ".gserviceaccount.com"
UNIQUE_ID_ACTOR = "uid:"
MEMBER_PREFIXES = ("user:", "serviceAccount:", "principal://", "principalSet://")
_EMAIL = re.compile(r"[^@\s/]+@[^@\s/]+\.[^@\s/]+")
# project ids: 6-30 of [a-z0-9-], and the legacy domain-scoped form `example.com:project`
PROJECT_ID = re.compile(r"(?:[a-z0-9][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
_LOG_NAME = re.compile(r"projects/([^/]+)/logs/")
UNIQUE_ID = re.compile(r"\d{10,30}")


def member_of_email(email: Any) -> str | None:
    """`user:<email>` or `serviceAccount:<email>` (lower-cased), None when it is no e-mail address."""
    if type(email) is not str or not _EMAIL.fullmatch(email):
        return None
    email = email.lower()
    if email.endswith(SERVICE_ACCOUNT_SUFFIX):
        return f"serviceAccount:{email}"
    return f"user:{email}"


def member_of_subject(subject: Any) -> str | None:
    """A `principalSubject` that is a member string (e-mail kinds lower-cased), else None."""
    if type(subject) is not str or not subject.startswith(MEMBER_PREFIXES):
        return None
    kind, _, value = subject.partition(":")
    if kind in ("user", "serviceAccount"):
        member = member_of_email(value)
        return None if member is None else f"{kind}:{value.lower()}"
    return subject if len(subject) > len("principal://") and not any(c.isspace() for c in subject) else None


def caller_of(authentication: Any) -> str | None:
    """The member an entry's `authenticationInfo` names, None when it names none."""
    if type(authentication) is not dict:
        return None
    return member_of_email(authentication.get("principalEmail")) or member_of_subject(
        authentication.get("principalSubject")
    )


def delegators_of(authentication: Any) -> list[str]:
    """The members that impersonated the caller (`serviceAccountDelegationInfo`), original caller first."""
    if type(authentication) is not dict:
        return []
    chain = authentication.get("serviceAccountDelegationInfo")
    if type(chain) is not list:
        return []
    found: list[str] = []
    for link in chain:
        if type(link) is not dict:
            continue
        first_party = link.get("firstPartyPrincipal")
        member = member_of_email(first_party.get("principalEmail")) if type(first_party) is dict else None
        member = member or member_of_subject(link.get("principalSubject"))
        if member is not None and member not in found:
            found.append(member)
    return found


def project_of(entry: dict[str, Any]) -> str | None:
    """The project an entry was logged in: `resource.labels.project_id`, else the one `logName` names."""
    resource = entry.get("resource")
    labels = resource.get("labels") if type(resource) is dict else None
    project = labels.get("project_id") if type(labels) is dict else None
    if type(project) is str and PROJECT_ID.fullmatch(project):
        return project
    log_name = entry.get("logName")
    if type(log_name) is str:
        match = _LOG_NAME.match(log_name)
        if match is not None and PROJECT_ID.fullmatch(match.group(1)):
            return match.group(1)
    return None


def actor_key(project: str, member: str) -> str:
    """The aggregate's key of a member acting in a project."""
    return f"{project}/{member}"


def split_actor(actor: str) -> tuple[str, str]:
    """(project, member) of an actor key."""
    project, _, member = actor.partition("/")
    return project, member
