"""The GCP write side of remediation: take a member out of exactly the bindings a step names and put it back,
disable a user-managed service-account key and enable it again. Dry-run prints the REST calls instead.

removeBinding: capture reads the allow policy of the step's place (`remediation.places`: the project or one of
its resources of a type in `kinds.KINDS`; `requestedPolicyVersion: 3`) and records its etag, the member as the policy writes it, and
every binding of the step's role holding the member under the step's condition (role, members, condition with
title, expression and description): one binding, or for a stored assignment that merged several conditional
bindings of the role, each of them. Apply takes the member out of exactly those bindings (a binding left empty is
dropped) by read-modify-write with the etag read, read again on a concurrent change (`iam_client`). Restore
re-adds the member to the binding with the identical role and condition, creating it when it is gone. Both are
idempotent: a member already out (or back) is not written again.

createGeneratedRole: capture reads the custom role (absent, present or soft-deleted, with its definition) and,
at each place the step binds it, whether the member is already in an unconditional binding of it. Apply puts the
role in place (`custom_roles.put_role`: created, or undeleted when IAM still holds it deleted, e.g. after a
rollback, then patched to the generated definition) and adds the member to the role's unconditional binding at
each place. Restore takes the member out where it was not before, then deletes the role when it did not exist
(or was deleted) before, or patches its recorded definition back when it existed. Both are idempotent.

disableServiceAccountKey: capture reads the key (`disabled`); apply disables it, restore enables it when it was
enabled before (IAM v1 `:disable` / `:enable`).

removeGroupMember: the member's direct membership of a Google group, through Cloud Identity v1
(`remediation.memberships`): captured with its roles, deleted, created again with them. Other kinds are manual:
never applied.

The credentials and clients are those of permissions on demand (`GcpIam`, the gcp_grant_* settings); the
identity needs `<type>.getIamPolicy` / `setIamPolicy` of each resource type it edits (`kinds.KINDS`:
resourcemanager.projects, iam.serviceAccounts, storage.buckets, compute.instances, run.services,
cloudfunctions.functions, pubsub.topics / subscriptions, secretmanager.secrets, cloudkms.keyRings / cryptoKeys,
artifactregistry.repositories, bigquery.datasets), iam.serviceAccountKeys.get / disable / enable, for generated
roles iam.roles.get / create / update / delete / undelete, and for group memberships the Groups Admin role in
Cloud Identity (or to manage the group).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import orjson

from permscope.clouds.gcp.custom_roles import (
    definition,
    delete_role,
    patch_role,
    put_role,
    read_role,
    role_url,
)
from permscope.clouds.gcp.iam_client import IAM, GcpIam, gcp_failure
from permscope.clouds.gcp.remediation.memberships import GroupMemberships, echo_create, echo_delete
from permscope.clouds.gcp.remediation.places import Place, place_of, read_policy, write_policy
from permscope.core.remediation import StepError, StepKind

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


def key_url(account: str, key_id: str) -> str:
    """The IAM v1 URL of one service-account key."""
    return f"{IAM}/projects/-/serviceAccounts/{quote(account, safe='@')}/keys/{quote(key_id)}"


def _condition(binding: Mapping[str, Any]) -> dict[str, str] | None:
    found = binding.get("condition")
    if not isinstance(found, Mapping) or not found.get("expression"):
        return None
    return {k: str(found[k]) for k in ("title", "expression", "description") if found.get(k)}


def _same_condition(binding: Mapping[str, Any], condition: Mapping[str, Any] | None) -> bool:
    mine = _condition(binding)
    if condition is None or mine is None:
        return mine is None and condition is None
    return all(mine.get(k) == condition.get(k) for k in ("title", "expression", "description"))


def member_in(binding: Mapping[str, Any], member: str) -> str | None:
    """The member as the binding writes it (emails compare case-insensitively), None when it is not there."""
    wanted = member.lower()
    return next((m for m in binding.get("members") or () if str(m).lower() == wanted), None)


def step_matches(binding: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Whether a binding is one the step names: its role, and its condition (or, for a merged assignment, any
    condition; for an unconditional one, none)."""
    if binding.get("role") != parameters["role"]:
        return False
    condition = parameters.get("condition")
    if parameters.get("merged"):
        return _condition(binding) is not None
    if not condition:
        return _condition(binding) is None
    mine = _condition(binding)
    return (
        mine is not None
        and mine.get("expression") == condition.get("expression")
        and (mine.get("title") or None) == (condition.get("title") or None)
    )


def without_member(policy: dict[str, Any], recorded: Sequence[Mapping[str, Any]], member: str) -> bool:
    """Take the member out of the recorded bindings (by role and exact condition); False when it is in none."""
    changed = False
    kept = []
    for binding in policy.get("bindings") or []:
        if any(
            b["role"] == binding.get("role") and _same_condition(binding, b.get("condition"))
            for b in recorded
        ):
            members = [m for m in binding.get("members") or () if str(m).lower() != member.lower()]
            if len(members) != len(binding.get("members") or ()):
                changed = True
                if not members:
                    continue
                binding = {**binding, "members": members}
        kept.append(binding)
    policy["bindings"] = kept
    return changed


def with_member(policy: dict[str, Any], recorded: Sequence[Mapping[str, Any]], member: str) -> bool:
    """Put the member back into each recorded binding (identical role and condition), creating the binding when
    it is gone; False when it is in all of them already."""
    bindings = policy.setdefault("bindings", [])
    changed = False
    for wanted in recorded:
        condition = wanted.get("condition")
        same = [b for b in bindings if b.get("role") == wanted["role"] and _same_condition(b, condition)]
        if any(member_in(b, member) for b in same):
            continue
        changed = True
        if same:
            same[0]["members"] = [*same[0].get("members", []), member]
        else:
            made: dict[str, Any] = {"role": wanted["role"], "members": [member]}
            if condition:
                made["condition"] = dict(condition)
            bindings.append(made)
    return changed


class GcpRemediationConnector:
    """Remediation steps in one project (`core.remediation.RemediationConnector`)."""

    def __init__(self, iam: GcpIam, *, dry_run: bool = False, echo: Echo | None = None) -> None:
        self._iam = iam
        self._groups = GroupMemberships(iam)
        self.dry_run = dry_run
        self._echo = echo or (lambda line: log.info("%s", line))

    @staticmethod
    def _manual(kind: StepKind) -> StepError:
        return StepError(f"{kind.value} is a manual step; permscope does not apply it", permanent=True)

    def _fail(self, exc: Exception, doing: str) -> StepError:
        if isinstance(exc, StepError):
            return exc
        message, permanent = gcp_failure(exc, doing)
        return StepError(message, permanent=permanent)

    def _place(self, parameters: Mapping[str, Any]) -> Place:
        return self._place_of(str(parameters["resource"]), parameters)

    def _place_of(self, scope: str, parameters: Mapping[str, Any]) -> Place:
        """The place of a scope in the connector's project (named by id, or by the step's `projectNumber`)."""
        number = parameters.get("projectNumber")
        place = place_of(scope, self._iam.project_id, str(number) if number else None)
        if place is None:
            raise StepError(f"permscope does not write the IAM policy of {scope}", permanent=True)
        return place

    # ------------------------------------------------------------------------------------------ capture

    def capture(
        self, kind: StepKind, principal: str, target: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The bindings (or the key) as they are; `{"present": false}` when the member holds none of them any
        more (or the key is gone); `{}` in dry-run mode."""
        if self.dry_run:
            if kind.manual:
                raise self._manual(kind)
            return {}
        if kind is StepKind.REMOVE_BINDING:
            place = self._place(parameters)
            try:
                policy = read_policy(self._iam, place)
            except Exception as exc:
                raise self._fail(exc, f"reading the IAM policy of {place.scope}") from exc
            bindings, member = [], None
            for binding in policy.get("bindings") or ():
                written = member_in(binding, principal)
                if written and step_matches(binding, parameters):
                    member = member or written
                    found: dict[str, Any] = {"role": binding["role"], "members": list(binding["members"])}
                    if _condition(binding):
                        found["condition"] = _condition(binding)
                    bindings.append(found)
            if not bindings:
                return {"present": False, "etag": policy.get("etag")}
            return {"present": True, "etag": policy.get("etag"), "member": member, "bindings": bindings}
        if kind is StepKind.CREATE_GENERATED_ROLE:
            return self._capture_generated(parameters)
        if kind is StepKind.REMOVE_GROUP_MEMBER:
            return self._groups.capture(str(parameters["group"]), str(parameters["member"]))
        if kind is StepKind.DISABLE_SERVICE_ACCOUNT_KEY:
            from google.api_core import exceptions

            url = key_url(str(parameters["serviceAccount"]), str(parameters["keyId"]))
            try:
                key = self._iam.call("GET", url)
            except exceptions.NotFound:
                return {"present": False}
            except Exception as exc:
                raise self._fail(exc, f"reading key {parameters['keyId']}") from exc
            return {"present": True, "name": key.get("name"), "disabled": bool(key.get("disabled"))}
        raise self._manual(kind)

    # -------------------------------------------------------------------------------------------- write

    def _change(self, parameters: Mapping[str, Any], prior: Mapping[str, Any], *, adding: bool) -> None:
        recorded = [dict(b) for b in prior.get("bindings") or ()]
        member = str(prior.get("member") or parameters["member"])
        self._edit(self._place(parameters), recorded, member, adding=adding)

    def _edit(self, place: Place, recorded: list[dict[str, Any]], member: str, *, adding: bool) -> None:
        """The member into (or out of) the recorded bindings of a place, by read-modify-write."""
        edit = with_member if adding else without_member
        try:
            self._iam.read_modify_write(
                place.scope,
                lambda: read_policy(self._iam, place),
                lambda policy: write_policy(self._iam, place, policy),
                lambda policy: edit(policy, recorded, member),
            )
        except Exception as exc:
            verb = "adding" if adding else "removing"
            roles = ", ".join(sorted({str(b["role"]) for b in recorded}))
            raise self._fail(exc, f"{verb} {member} in {roles} on {place.scope}") from exc

    def _echo_binding(self, parameters: Mapping[str, Any], prior: Mapping[str, Any], *, adding: bool) -> None:
        member = str(prior.get("member") or parameters["member"])
        recorded = prior.get("bindings") or [
            {
                "role": parameters["role"],
                **({"condition": parameters["condition"]} if parameters.get("condition") else {}),
            }
        ]
        self._echo_edit(self._place(parameters), recorded, member, adding=adding)

    def _echo_edit(self, place: Place, recorded: list[dict[str, Any]], member: str, *, adding: bool) -> None:
        method, url, body = place.read_call()
        self._echo(f"{method} {url}" + (f" {orjson.dumps(body).decode()}" if body else ""))
        change = "plus the member in" if adding else "minus the member of"
        write_method, write_url = place.write_call()
        for binding in recorded:
            shown = {
                "role": binding["role"],
                "members": [member],
                **({"condition": binding["condition"]} if binding.get("condition") else {}),
            }
            self._echo(
                f'{write_method} {write_url} {{"policy": <the policy read, version 3, its etag, {change} '
                f"{orjson.dumps(shown).decode()}>}}"
            )

    def _key(self, parameters: Mapping[str, Any], verb: str) -> None:
        url = f"{key_url(str(parameters['serviceAccount']), str(parameters['keyId']))}:{verb}"
        if self.dry_run:
            self._echo(f"POST {url} {{}}")
            return
        try:
            self._iam.call("POST", url, {})
        except Exception as exc:
            raise self._fail(
                exc, f"{verb} key {parameters['keyId']} of {parameters['serviceAccount']}"
            ) from exc

    def apply(
        self,
        kind: StepKind,
        principal: str,
        target: str,
        parameters: Mapping[str, Any],
        prior: Mapping[str, Any],
    ) -> None:
        """Take the member out of the recorded bindings or the group, or disable the key (nothing when already
        so)."""
        if kind is StepKind.REMOVE_BINDING:
            if self.dry_run:
                self._echo_binding(parameters, prior, adding=False)
            elif prior.get("present"):
                self._change(parameters, prior, adding=False)
            return
        if kind is StepKind.CREATE_GENERATED_ROLE:
            self._put_generated(parameters)
            return
        if kind is StepKind.REMOVE_GROUP_MEMBER:
            group, member = str(parameters["group"]), str(parameters["member"])
            if self.dry_run:
                echo_delete(self._echo, group, member)
            elif prior.get("present"):
                self._groups.delete(group, member, prior)
            return
        if kind is StepKind.DISABLE_SERVICE_ACCOUNT_KEY:
            if self.dry_run or (prior.get("present") and not prior.get("disabled")):
                self._key(parameters, "disable")
            return
        raise self._manual(kind)

    def restore(
        self,
        kind: StepKind,
        principal: str,
        target: str,
        parameters: Mapping[str, Any],
        prior: Mapping[str, Any],
    ) -> list[str]:
        """Put the member back into the recorded bindings or the group, or enable the key when it was enabled
        before."""
        if kind is StepKind.REMOVE_BINDING:
            if self.dry_run:
                self._echo_binding(parameters, prior, adding=True)
            elif prior.get("present"):
                self._change(parameters, copy.deepcopy(dict(prior)), adding=True)
            return []
        if kind is StepKind.CREATE_GENERATED_ROLE:
            return self._restore_generated(parameters, prior)
        if kind is StepKind.REMOVE_GROUP_MEMBER:
            group, member = str(parameters["group"]), str(parameters["member"])
            if self.dry_run:
                echo_create(self._echo, member, prior)
            elif prior.get("present"):
                return self._groups.create(group, member, prior)
            return []
        if kind is StepKind.DISABLE_SERVICE_ACCOUNT_KEY:
            from google.api_core import exceptions

            if not prior.get("present") or prior.get("disabled"):
                return []
            try:
                self._key(parameters, "enable")
            except StepError as exc:
                if not isinstance(exc.__cause__, exceptions.NotFound):
                    raise
                return [
                    f"key {parameters['keyId']} of {parameters['serviceAccount']} was deleted since: "
                    "it cannot be enabled again (make a new key)"
                ]
            return []
        raise self._manual(kind)

    # ------------------------------------------------------------------------------- the generated role

    def _capture_generated(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """The role as IAM holds it (`absent`, `present` or `deleted`, with its definition) and, per place,
        whether the member is already in an unconditional binding of it."""
        name, member = str(parameters["role"]), str(parameters["member"])
        try:
            found = read_role(self._iam, name)
        except Exception as exc:
            raise self._fail(exc, f"reading custom role {name}") from exc
        role: dict[str, Any] = {"state": "absent"}
        if found is not None:
            role = {"state": "deleted" if found.get("deleted") else "present", **definition(found)}
        places = []
        for scope in parameters["resources"]:
            place = self._place_of(str(scope), parameters)
            try:
                policy = read_policy(self._iam, place)
            except Exception as exc:
                raise self._fail(exc, f"reading the IAM policy of {place.scope}") from exc
            held = any(
                member_in(b, member) and b.get("role") == name and _condition(b) is None
                for b in policy.get("bindings") or ()
            )
            places.append({"resource": place.scope, "present": held, "etag": policy.get("etag")})
        return {"present": True, "role": role, "places": places}

    def _put_generated(self, parameters: Mapping[str, Any]) -> None:
        """The role created (undeleted when IAM holds it deleted, patched to the generated definition), then the
        member bound to it at each place; each part idempotent."""
        name, member = str(parameters["role"]), str(parameters["member"])
        document = parameters["document"]
        places = [self._place_of(str(scope), parameters) for scope in parameters["resources"]]
        if self.dry_run:
            body = {"roleId": parameters["roleId"], "role": document["role"]}
            self._echo(f"GET {role_url(name)}")
            self._echo(
                f"POST {role_url(name).rpartition('/roles/')[0]}/roles {orjson.dumps(body).decode()}  "
                "(or, when IAM holds it deleted, POST :undelete; when its definition differs, PATCH)"
            )
            for place in places:
                self._echo_edit(place, [{"role": name}], member, adding=True)
            return
        try:
            done = put_role(self._iam, name, document["role"])
        except Exception as exc:
            raise self._fail(exc, f"creating custom role {name}") from exc
        log.info("custom role %s: %s", name, done)
        for place in places:
            self._edit(place, [{"role": name}], member, adding=True)

    def _restore_generated(self, parameters: Mapping[str, Any], prior: Mapping[str, Any]) -> list[str]:
        """The member out of the role's bindings it was not in before, then the role as it was: deleted when it
        did not exist or was deleted (IAM soft-deletes it), its earlier definition put back when it existed."""
        name, member = str(parameters["role"]), str(parameters["member"])
        places = [
            (self._place_of(str(entry["resource"]), parameters), bool(entry.get("present")))
            for entry in prior.get("places") or ()
        ] or [(self._place_of(str(scope), parameters), False) for scope in parameters["resources"]]
        role = dict(prior.get("role") or {"state": "absent"})
        if self.dry_run:
            for place, present in reversed(places):
                if not present:
                    self._echo_edit(place, [{"role": name}], member, adding=False)
            if role["state"] == "present":
                self._echo(f"PATCH {role_url(name)} <its definition as recorded, when it differs>")
            else:
                self._echo(f"DELETE {role_url(name)}")
            return []
        for place, present in reversed(places):
            if not present:
                self._edit(place, [{"role": name}], member, adding=False)
        earlier = {k: v for k, v in role.items() if k != "state"}
        try:
            found = read_role(self._iam, name)
            if found is not None and not found.get("deleted") and earlier and definition(found) != earlier:
                patch_role(self._iam, name, earlier, str(found.get("etag") or ""))
            if role["state"] != "present" and found is not None and not found.get("deleted"):
                delete_role(self._iam, name)  # IAM soft-deletes it (a later apply undeletes it)
        except Exception as exc:
            raise self._fail(exc, f"restoring custom role {name}") from exc
        if role["state"] == "present" and (found is None or found.get("deleted")):
            return [f"custom role {name} was deleted since the plan was applied: left deleted"]
        return []
