"""The AWS write side of remediation (boto3): read a step's prior state, apply it, restore it exactly.

It sits beside the permissions-on-demand connector and shares its session, role assumption, account check and
error classes (`AwsGrantConnector`). Documents are read as IAM stores them: the client's policy-decoding hook is
taken off, so an inline policy comes back as its exact text and is put back byte for byte.

Per step kind (prior state captured before the change; apply and restore are idempotent):
- detachManagedPolicy: whether it was attached, the policy's default version id. Restore re-attaches it (IAM
  attaches the policy, whose versions permscope never changes; a default version moved since is reported).
- deleteInlinePolicy: the exact document text. Restore puts that text back.
- removeFromGroup: whether the user was a member. Restore adds it back.
- deactivateAccessKey: the key's status. Restore sets it again. Keys are deactivated, never deleted: a
  deleted key cannot be restored.
- putGeneratedPolicy: the inline policy of that name before (usually none). Restore puts the old text back or
  deletes ours.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from permscope.clouds.aws.grant.connector import AwsGrantConnector
from permscope.core.grants import GrantError
from permscope.core.remediation import StepError, StepKind


def _code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def _text(document: Any) -> str:
    """A policy document as IAM returned it undecoded (URL-encoded JSON), as its exact text."""
    return unquote(document) if isinstance(document, str) else str(document)


def _names(parameters: Mapping[str, Any]) -> tuple[str, str, str]:
    """(`user`|`role`, `User`|`Role`, name) of the step's principal."""
    kind = str(parameters["principalKind"])
    return kind, kind.title(), str(parameters["principalName"])


class AwsRemediationConnector(AwsGrantConnector):
    """Remediation steps in one AWS account (`core.remediation.RemediationConnector`)."""

    def _client(self, session: Any, service: str) -> Any:
        client = super()._client(session, service)
        if service == "iam":  # documents as IAM stores them (text), not decoded into dicts by botocore
            from botocore.handlers import json_decode_policies

            client.meta.events.unregister("after-call.iam", json_decode_policies)
        return client

    def _do(self, what: str, operation: str, cli: str, **params: Any) -> Any:
        """One IAM call (printed as an AWS CLI line in dry-run mode); StepError when it fails."""
        if self.dry_run:
            self._echo(f"aws iam {cli}")
            return None
        try:
            return getattr(self._iam(), operation)(**params)
        except GrantError as exc:
            raise StepError(str(exc), permanent=exc.permanent) from exc
        except Exception as exc:
            grant = self._error(exc, f"iam:{operation} for {what}", None)
            raise StepError(str(grant), permanent=grant.permanent) from exc

    def _read(self, what: str, operation: str, **params: Any) -> Any:
        """One IAM read; None when the entity does not exist."""
        if self.dry_run:
            return None
        try:
            return getattr(self._iam(), operation)(**params)
        except GrantError as exc:
            raise StepError(str(exc), permanent=exc.permanent) from exc
        except Exception as exc:
            if _code(exc) == "NoSuchEntity":
                return None
            grant = self._error(exc, f"iam:{operation} for {what}", None)
            raise StepError(str(grant), permanent=grant.permanent) from exc

    def _pages(self, what: str, operation: str, key: str, **params: Any) -> list[Any]:
        if self.dry_run:
            return []
        try:
            pages = self._iam().get_paginator(operation).paginate(**params)
            return [item for page in pages for item in page.get(key, [])]
        except GrantError as exc:
            raise StepError(str(exc), permanent=exc.permanent) from exc
        except Exception as exc:
            grant = self._error(exc, f"iam:{operation} for {what}", None)
            raise StepError(str(grant), permanent=grant.permanent) from exc

    # ------------------------------------------------------------------------------------------- capture

    def capture(
        self, kind: StepKind, principal: str, target: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The target's state before the step (`{}` in dry-run mode)."""
        if self.dry_run:
            return {}
        iam_kind, Kind, name = _names(parameters)  # noqa: N806 - IAM's spelling
        if kind is StepKind.DETACH_MANAGED_POLICY:
            attached = self._pages(
                principal, f"list_attached_{iam_kind}_policies", "AttachedPolicies", **{f"{Kind}Name": name}
            )
            found = self._read(principal, "get_policy", PolicyArn=target)
            return {
                "attached": any(item["PolicyArn"] == target for item in attached),
                "defaultVersionId": found["Policy"]["DefaultVersionId"] if found else None,
            }
        if kind in (StepKind.DELETE_INLINE_POLICY, StepKind.PUT_GENERATED_POLICY):
            policy = target if kind is StepKind.DELETE_INLINE_POLICY else str(parameters["policyName"])
            found = self._read(
                principal, f"get_{iam_kind}_policy", **{f"{Kind}Name": name, "PolicyName": policy}
            )
            return {
                "exists": found is not None,
                "document": _text(found["PolicyDocument"]) if found else None,
            }
        if kind is StepKind.REMOVE_FROM_GROUP:
            groups = self._pages(principal, "list_groups_for_user", "Groups", UserName=name)
            group = str(parameters["groupName"])
            return {"member": any(item["GroupName"] == group for item in groups)}
        if kind is StepKind.DEACTIVATE_ACCESS_KEY:
            keys = self._pages(principal, "list_access_keys", "AccessKeyMetadata", UserName=name)
            status = next((key["Status"] for key in keys if key["AccessKeyId"] == target), None)
            return {"exists": status is not None, "status": status}
        raise StepError(f"{kind.value} is a manual step; permscope does not apply it", permanent=True)

    # --------------------------------------------------------------------------------------------- apply

    def apply(
        self,
        kind: StepKind,
        principal: str,
        target: str,
        parameters: Mapping[str, Any],
        prior: Mapping[str, Any],
    ) -> None:
        """Make the change; nothing when the prior state says the target is already gone (or inactive)."""
        iam_kind, Kind, name = _names(parameters)  # noqa: N806
        who = {f"{Kind}Name": name}
        arg = f"--{iam_kind}-name {shlex.quote(name)}"
        if kind is StepKind.DETACH_MANAGED_POLICY:
            if prior.get("attached") is False:
                return
            self._absent_ok(
                principal,
                f"detach_{iam_kind}_policy",
                f"detach-{iam_kind}-policy {arg} --policy-arn {shlex.quote(target)}",
                **who,
                PolicyArn=target,
            )
        elif kind is StepKind.DELETE_INLINE_POLICY:
            if prior.get("exists") is False:
                return
            self._absent_ok(
                principal,
                f"delete_{iam_kind}_policy",
                f"delete-{iam_kind}-policy {arg} --policy-name {shlex.quote(target)}",
                **who,
                PolicyName=target,
            )
        elif kind is StepKind.REMOVE_FROM_GROUP:
            if prior.get("member") is False:
                return
            group = str(parameters["groupName"])
            self._absent_ok(
                principal,
                "remove_user_from_group",
                f"remove-user-from-group --user-name {shlex.quote(name)} --group-name {shlex.quote(group)}",
                UserName=name,
                GroupName=group,
            )
        elif kind is StepKind.DEACTIVATE_ACCESS_KEY:
            if prior.get("exists") is False or prior.get("status") == "Inactive":
                return
            self._do(
                principal,
                "update_access_key",
                f"update-access-key --user-name {shlex.quote(name)} --access-key-id {shlex.quote(target)} "
                "--status Inactive",
                UserName=name,
                AccessKeyId=target,
                Status="Inactive",
            )
        elif kind is StepKind.PUT_GENERATED_POLICY:
            self._put_inline(principal, iam_kind, name, str(parameters["policyName"]), parameters["document"])
        else:
            raise StepError(f"{kind.value} is a manual step; permscope does not apply it", permanent=True)

    def _absent_ok(self, principal: str, operation: str, cli: str, **params: Any) -> None:
        """A removal: what is already gone counts as removed."""
        try:
            self._do(principal, operation, cli, **params)
        except StepError as exc:
            if "NoSuchEntity" not in str(exc):
                raise

    def _put_inline(self, principal: str, iam_kind: str, name: str, policy: str, document: Any) -> None:
        text = document if isinstance(document, str) else _json(document)
        self._do(
            principal,
            f"put_{iam_kind}_policy",
            f"put-{iam_kind}-policy --{iam_kind}-name {shlex.quote(name)} --policy-name {shlex.quote(policy)} "
            f"--policy-document {shlex.quote(text)}",
            **{f"{iam_kind.title()}Name": name, "PolicyName": policy, "PolicyDocument": text},
        )

    # ------------------------------------------------------------------------------------------- restore

    def restore(
        self,
        kind: StepKind,
        principal: str,
        target: str,
        parameters: Mapping[str, Any],
        prior: Mapping[str, Any],
    ) -> list[str]:
        """Make the target as `prior` says it was before the step; notes on what differs from then."""
        iam_kind, Kind, name = _names(parameters)  # noqa: N806
        who = {f"{Kind}Name": name}
        arg = f"--{iam_kind}-name {shlex.quote(name)}"
        notes: list[str] = []
        if kind is StepKind.DETACH_MANAGED_POLICY:
            if prior.get("attached"):
                self._do(
                    principal,
                    f"attach_{iam_kind}_policy",
                    f"attach-{iam_kind}-policy {arg} --policy-arn {shlex.quote(target)}",
                    **who,
                    PolicyArn=target,
                )
                notes += self._version_note(principal, target, prior.get("defaultVersionId"))
        elif kind is StepKind.DELETE_INLINE_POLICY:
            if prior.get("exists"):
                self._put_inline(principal, iam_kind, name, target, str(prior["document"]))
        elif kind is StepKind.REMOVE_FROM_GROUP:
            if prior.get("member"):
                group = str(parameters["groupName"])
                self._do(
                    principal,
                    "add_user_to_group",
                    f"add-user-to-group --user-name {shlex.quote(name)} --group-name {shlex.quote(group)}",
                    UserName=name,
                    GroupName=group,
                )
        elif kind is StepKind.DEACTIVATE_ACCESS_KEY:
            status = prior.get("status")
            if prior.get("exists") and status:
                self._do(
                    principal,
                    "update_access_key",
                    f"update-access-key --user-name {shlex.quote(name)} --access-key-id {shlex.quote(target)} "
                    f"--status {shlex.quote(str(status))}",
                    UserName=name,
                    AccessKeyId=target,
                    Status=str(status),
                )
        elif kind is StepKind.PUT_GENERATED_POLICY:
            policy = str(parameters["policyName"])
            if prior.get("exists"):
                self._put_inline(principal, iam_kind, name, policy, str(prior["document"]))
            else:
                self._absent_ok(
                    principal,
                    f"delete_{iam_kind}_policy",
                    f"delete-{iam_kind}-policy {arg} --policy-name {shlex.quote(policy)}",
                    **who,
                    PolicyName=policy,
                )
        return notes

    def _version_note(self, principal: str, policy_arn: str, before: Any) -> list[str]:
        if self.dry_run or not before:
            return []
        found = self._read(principal, "get_policy", PolicyArn=policy_arn)
        now = found["Policy"]["DefaultVersionId"] if found else None
        if now == before:
            return []
        return [
            f"{policy_arn}: default version is {now} now, {before} when it was detached (changed by someone "
            "else since; permscope re-attached the policy and left its versions alone)"
        ]


def _json(document: Any) -> str:
    import orjson

    return orjson.dumps(document).decode()
