"""Who an actor key of the CloudTrail aggregate is in the stored inventory (AWS's rules).

A role rebuilt from a session ARN has lost its path (`role/R` for `role/service-role/R`): it is matched by name
within its account; `uid:` actors only by the inventory's user and role ids; Identity Center sessions with the
stored Identity Center users (`resolve_person`). The inventory is read through the lookups the workflow passes
(clouds never read the store).
"""

from __future__ import annotations

from collections.abc import Iterable

from permscope.clouds.aws.activity.actors import (
    PERSON_ACTORS,
    SSO_USER_ACTOR,
    UNIQUE_ID_ACTOR,
    account_of_actor,
)
from permscope.clouds.aws.transform.identity_center import user_arn
from permscope.clouds.base import InventoryPorts
from permscope.core.arn import Arn


class ActorResolver:
    """The inventory's users and roles by ARN, by (account, kind, name) and by unique id, loaded per account;
    the Identity Center users by user name and by e-mail, loaded once."""

    def __init__(self, ports: InventoryPorts) -> None:
        self.ports = ports
        self.loaded: set[str] = set()
        self.exact: set[str] = set()
        self.by_name: dict[tuple[str, str, str], str] = {}
        self.by_unique_id: dict[tuple[str, str], str] = {}
        # casefolded user name / e-mail -> (system, user ARN) of every stored Identity Center user
        self.people: tuple[dict[str, set[tuple[str, str]]], dict[str, set[tuple[str, str]]]] | None = None

    def system_of(self, actor: str) -> str | None:
        """The account an actor acted in (Identity Center users' keys carry the session's account)."""
        return account_of_actor(actor)

    def load(self, actors: Iterable[str]) -> None:
        """Read the users and roles of the accounts these actors acted in (once per account)."""
        new = {account for actor in actors if (account := account_of_actor(actor)) is not None} - self.loaded
        if not new:
            return
        for known in self.ports.identities(new):
            self.exact.add(known.external_id)
            self.by_name[(known.system_id, known.kind, known.name)] = known.external_id
            if known.unique_id:
                self.by_unique_id[(known.system_id, known.unique_id)] = known.external_id
        self.loaded |= new

    def known(self, external_id: str) -> bool:
        """Whether the inventory holds this identity."""
        return external_id in self.exact

    def person_label(self, actor: str) -> str | None:
        """`<account>/<session name>` for a person's session key, None for any other actor."""
        if not actor.startswith(PERSON_ACTORS):
            return None
        return actor.split(":", 1)[1].replace(":", "/", 1)

    def resolve(self, actor: str) -> str | None:
        """The inventory's ARN for an actor key, the actor's own ARN when not in it, None when unidentifiable."""
        if actor.startswith(PERSON_ACTORS):
            return self.resolve_person(actor)
        account = account_of_actor(actor)
        if actor.startswith(UNIQUE_ID_ACTOR):
            return self.by_unique_id.get((account or "", actor.rsplit(":", 1)[1]))
        if actor in self.exact or account is None:
            return actor
        arn = Arn.parse(actor)  # an actor with an account and no key is an ARN
        if arn.resource_type in ("role", "user") and arn.name:
            return self.by_name.get((account, arn.resource_type, arn.name), actor)
        return actor

    def resolve_person(self, actor: str) -> str | None:
        """The Identity Center user (`arn:aws:identitystore:::user/<UserId>`) behind a session key, or None.

        `sso-user:A:<UserId>` names the user. `sso-session:A:<name>`: Identity Center names the session after
        the user name, so the one stored user with that user name (case-insensitive), else the one whose
        e-mail it is. Several users with that name (two identity stores): the one stored in the session's
        account, else none: a guess would give one person's activity to another.
        """
        _prefix, account, value = actor.split(":", 2)
        if actor.startswith(SSO_USER_ACTOR):
            return user_arn(value)
        if self.people is None:
            by_user_name: dict[str, set[tuple[str, str]]] = {}
            by_email: dict[str, set[tuple[str, str]]] = {}
            for user in self.ports.people():
                if user.user_name:
                    by_user_name.setdefault(user.user_name.casefold(), set()).add(
                        (user.system_id, user.external_id)
                    )
                if user.email:
                    by_email.setdefault(user.email.casefold(), set()).add((user.system_id, user.external_id))
            self.people = (by_user_name, by_email)
        for table in self.people:
            candidates = table.get(value.casefold())
            if not candidates:
                continue
            users = {arn for _system, arn in candidates}
            if len(users) > 1:
                users = {arn for system, arn in candidates if system == account}
            return users.pop() if len(users) == 1 else None
        return None
