"""The ARM calls of a `createGeneratedRole` step (azure-mgmt-authorization): read what exists under the step's
names, PUT the role definition then its assignments, and undo exactly that.

Capture reads the role definition (GET at the subscription, by its GUID) and each assignment (GET by its
deterministic name) and records which existed and as what. Apply PUTs the definition, then each assignment (the
same PUTs again change nothing; an assignment of the same role at the scope under another name counts as there).
A role just created may not have reached every ARM replica: an assignment refused with RoleDefinitionDoesNotExist
is tried again after a pause (`RETRY_DELAYS`). Restore deletes the assignments that did not exist before (already
gone counts as deleted) and PUTs back those that did, then deletes the role definition when it did not exist
before (or PUTs back its recorded properties). A crash between the calls leaves the step `applying` with this
prior state: apply again repeats the PUTs, rollback deletes whatever of them was made.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from permscope.clouds.azure.authorization import ArmAuthorization, error_code, item_url
from permscope.clouds.azure.remediation.generated import assignment_body, definition_body
from permscope.core.remediation import StepError

log = logging.getLogger(__name__)
RETRY_DELAYS = (2.0, 5.0, 10.0, 20.0)  # seconds between tries of an assignment of a role not replicated yet
DEFINITION_FIELDS = ("roleName", "description", "type", "permissions", "assignableScopes")
ASSIGNMENT_FIELDS = ("principalId", "principalType", "roleDefinitionId", "description", "condition")
Fail = Callable[[Exception, str], StepError]


def _missing(exc: Exception) -> bool:
    return getattr(exc, "status_code", None) == 404


class GeneratedRoleWrites:
    """The role definition and assignments of one `createGeneratedRole` step."""

    def __init__(
        self,
        arm: ArmAuthorization,
        *,
        dry_run: bool,
        echo: Callable[[str], None],
        fail: Fail,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._arm, self.dry_run, self._echo, self._fail, self._sleep = arm, dry_run, echo, fail, sleep

    # ------------------------------------------------------------------------------------------------ reads

    def _definition(self, parameters: Mapping[str, Any]) -> dict[str, Any] | None:
        scope, guid = str(parameters["definitionScope"]), str(parameters["roleGuid"])
        try:
            found = self._arm.client().role_definitions.get(scope, guid)
        except Exception as exc:
            if _missing(exc):
                return None
            raise self._fail(exc, f"reading role definition {guid} at {scope}") from exc
        return {
            "roleName": found.role_name,
            "description": found.description,
            "type": found.role_type,
            "permissions": [
                {
                    "actions": list(p.actions or ()),
                    "notActions": list(p.not_actions or ()),
                    "dataActions": list(p.data_actions or ()),
                    "notDataActions": list(p.not_data_actions or ()),
                }
                for p in found.permissions or ()
            ],
            "assignableScopes": list(found.assignable_scopes or ()),
        }

    def _assignment(self, scope: str, name: str) -> dict[str, Any] | None:
        try:
            found = self._arm.client().role_assignments.get(scope, name)
        except Exception as exc:
            if _missing(exc):
                return None
            raise self._fail(exc, f"reading role assignment {name} at {scope}") from exc
        recorded = {
            "principalId": found.principal_id,
            "principalType": found.principal_type,
            "roleDefinitionId": found.role_definition_id,
            "description": found.description,
            "condition": found.condition,
            "conditionVersion": found.condition_version,
        }
        return {key: value for key, value in recorded.items() if value is not None}

    def capture(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """What exists under the step's names before it: the definition and each assignment (None: absent)."""
        if self.dry_run:
            return {}
        return {
            "definition": self._definition(parameters),
            "assignments": [
                {
                    "scope": entry["scope"],
                    "name": entry["name"],
                    "before": self._assignment(str(entry["scope"]), str(entry["name"])),
                }
                for entry in parameters["assignments"]
            ],
        }

    # ----------------------------------------------------------------------------------------------- writes

    def _put_definition(self, parameters: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        scope, guid = str(parameters["definitionScope"]), str(parameters["roleGuid"])
        payload = orjson.dumps(body)  # the SDK sends these bytes as they are: what dry-run prints
        if self.dry_run:
            self._echo(f"PUT {item_url(scope, 'roleDefinitions', guid)} {payload.decode()}")
            return
        try:
            self._arm.client().role_definitions.create_or_update(scope, guid, payload)
        except Exception as exc:
            raise self._fail(exc, f"PUT role definition {guid} at {scope}") from exc

    def _put_assignment(self, scope: str, name: str, body: Mapping[str, Any]) -> None:
        payload = orjson.dumps(body)
        if self.dry_run:
            self._echo(f"PUT {item_url(scope, 'roleAssignments', name)} {payload.decode()}")
            return
        for attempt in range(len(RETRY_DELAYS) + 1):
            try:
                self._arm.client().role_assignments.create(scope, name, payload)
                return
            except Exception as exc:
                code = error_code(exc)
                if code == "RoleAssignmentExists":
                    log.warning("the generated role is assigned at %s under another name: kept", scope)
                    return
                if code == "RoleDefinitionDoesNotExist" and attempt < len(RETRY_DELAYS):
                    self._sleep(RETRY_DELAYS[attempt])  # the new role has not replicated yet
                    continue
                raise self._fail(exc, f"PUT role assignment {name} at {scope}") from exc

    def _delete(self, kind: str, scope: str, name: str) -> None:
        collection = "roleAssignments" if kind == "assignment" else "roleDefinitions"
        url = item_url(scope, collection, name)
        if self.dry_run:
            self._echo(f"DELETE {url}")
            return
        client = self._arm.client()
        try:
            if kind == "assignment":
                client.role_assignments.delete(scope, name)
            else:
                client.role_definitions.delete(scope, name)
        except Exception as exc:
            if _missing(exc):
                return
            if error_code(exc) == "RoleDefinitionHasAssignments":
                raise StepError(
                    f"DELETE role definition {name} at {scope}: it is assigned to someone else since (ARM "
                    "RoleDefinitionHasAssignments); remove those assignments, then roll back again",
                    permanent=True,
                ) from exc
            raise self._fail(exc, f"DELETE role {kind} {name} at {scope}") from exc

    def apply(self, parameters: Mapping[str, Any]) -> None:
        """PUT the role definition, then each of its assignments."""
        self._put_definition(parameters, definition_body(parameters["document"]))
        body = assignment_body(parameters)
        for entry in parameters["assignments"]:
            self._put_assignment(str(entry["scope"]), str(entry["name"]), body)

    def restore(self, parameters: Mapping[str, Any], prior: Mapping[str, Any]) -> list[str]:
        """Assignments then the role definition as `prior` recorded them: deleted when they did not exist."""
        notes: list[str] = []
        before = {str(e["name"]): e.get("before") for e in prior.get("assignments") or ()}
        for entry in reversed(parameters["assignments"]):
            scope, name = str(entry["scope"]), str(entry["name"])
            was = before.get(name)
            if was:
                self._put_assignment(scope, name, {"properties": dict(was)})
                notes.append(f"assignment {name} at {scope} existed before the plan: put back as it was")
            else:
                self._delete("assignment", scope, name)
        definition = prior.get("definition")
        if definition:
            self._put_definition(parameters, {"properties": dict(definition)})
            notes.append(f"role {parameters['roleName']} existed before the plan: put back as it was")
        else:
            self._delete("definition", str(parameters["definitionScope"]), str(parameters["roleGuid"]))
        return notes
