"""The AWS write side of permissions on demand (boto3): attach managed policies or put an inline policy, named
and tagged as permscope's, and remove exactly that again. Dry-run prints the calls instead of making them."""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from permscope.core.arn import Arn
from permscope.core.grants import GrantError, GrantItem, GrantKind, GrantRequest
from permscope.core.requests import AwsPolicyGrant, AwsStatement, AwsStatementsGrant

log = logging.getLogger(__name__)

INLINE_PREFIX = "permscope-jit-"  # every inline policy permscope puts is named permscope-jit-<request id>
TAG_PREFIX = "permscope:jit:"  # and the identity carries the tag permscope:jit:<request id> = until <end>
ROLE_INLINE_LIMIT = 10_240  # IAM quota: total size of a role's inline policies, whitespace not counted
USER_INLINE_LIMIT = 2_048  # the same for a user
# ClientError codes where a retry cannot help; everything else (throttling, 5xx, network) is retried.
PERMANENT_CODES = frozenset(
    {
        "NoSuchEntity",
        "MalformedPolicyDocument",
        "InvalidInput",
        "LimitExceeded",
        "ValidationError",
        "UnmodifiableEntity",
        "PolicyNotAttachable",
    }
)

Echo = Callable[[str], None]


def parse_principal(arn: str) -> tuple[str, str, str]:
    """(kind `user`|`role`, name, account) of an IAM user or role ARN; ValueError otherwise."""
    parsed = Arn.try_parse(arn.strip())
    if (
        parsed is None
        or parsed.service != "iam"
        or parsed.account_id is None
        or parsed.resource_type not in ("user", "role")
        or not parsed.name
    ):
        raise ValueError(f"{arn!r} is not the ARN of an IAM user or role")
    return parsed.resource_type, parsed.name, parsed.account_id


def inline_policy_name(request_id: str) -> str:
    """The name of the inline policy that holds one request's statements."""
    return f"{INLINE_PREFIX}{request_id}"


def tag_key(request_id: str) -> str:
    """The key of the tag that marks one request's grant on the identity."""
    return f"{TAG_PREFIX}{request_id}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sid(text: str, index: int, seen: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9]", "", text) or f"Stmt{index}"
    sid, n = base, 2
    while sid in seen:
        sid, n = f"{base}{n}", n + 1
    seen.add(sid)
    return sid


def _with_expiry(condition: dict[str, Any] | None, ends_at: datetime) -> dict[str, Any]:
    """The statement's condition plus `DateLessThan aws:CurrentTime <end>`: even if a revocation failed, the
    statement stops matching at the end of the grant (an earlier end already in the condition is kept)."""
    merged: dict[str, Any] = {op: dict(values) for op, values in (condition or {}).items()}
    end = _iso(ends_at)
    existing = merged.get("DateLessThan", {}).get("aws:CurrentTime")
    if isinstance(existing, str):
        try:
            if datetime.fromisoformat(existing.replace("Z", "+00:00")) < ends_at:
                end = existing
        except ValueError:
            pass
    merged.setdefault("DateLessThan", {})["aws:CurrentTime"] = end
    return merged


def statement_to_iam(statement: AwsStatement, sid: str, ends_at: datetime | None) -> dict[str, Any]:
    """One awsStatement as an IAM policy statement (with the expiry condition when `ends_at` is given)."""
    item: dict[str, Any] = {"Sid": sid, "Effect": "Deny" if statement.effect.lower() == "deny" else "Allow"}
    if statement.actions:
        item["Action"] = list(statement.actions)
    if statement.not_actions:
        item["NotAction"] = list(statement.not_actions)
    if statement.resources:
        item["Resource"] = list(statement.resources)
    if statement.not_resources:
        item["NotResource"] = list(statement.not_resources)
    condition = _with_expiry(statement.condition, ends_at) if ends_at else statement.condition
    if condition:
        item["Condition"] = condition
    return item


def inline_policy_document(statements: tuple[AwsStatement, ...], ends_at: datetime | None) -> dict[str, Any]:
    """The inline policy of an actions request."""
    seen: set[str] = set()
    return {
        "Version": "2012-10-17",
        "Statement": [
            statement_to_iam(statement, _sid(statement.statement_id, index, seen), ends_at)
            for index, statement in enumerate(statements, start=1)
        ],
    }


def policy_size(document: dict[str, Any]) -> int:
    """The size IAM counts against its quotas: the JSON text without whitespace."""
    return len(orjson.dumps(document))


def inline_limit(principal_arn: str) -> int:
    """The inline-policy size quota of the principal (role or user)."""
    return ROLE_INLINE_LIMIT if parse_principal(principal_arn)[0] == "role" else USER_INLINE_LIMIT


def grant_items(request: GrantRequest) -> list[GrantItem]:
    """The items of a grant, in the order to add them: the marker tag first (a crash right after leaves a
    findable trace), then the inline policy or the attachments."""
    marker = GrantItem(
        kind=GrantKind.TAG,
        principal=request.principal,
        target=tag_key(request.request_id),
        value=f"until {_iso(request.ends_at)}",
    )
    action = request.action
    if isinstance(action, AwsStatementsGrant):
        document = inline_policy_document(action.statements, request.ends_at)
        policy = GrantItem(
            kind=GrantKind.INLINE_POLICY,
            principal=request.principal,
            target=inline_policy_name(request.request_id),
            document=document,
        )
        return [marker, policy]
    if isinstance(action, AwsPolicyGrant):
        attachments = [
            GrantItem(kind=GrantKind.MANAGED_POLICY, principal=request.principal, target=arn)
            for arn in dict.fromkeys(action.policies)
        ]
        return [marker, *attachments]
    raise GrantError(f"the AWS connector cannot grant {type(action).__name__}", permanent=True)


def _client_error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


class AwsGrantConnector:
    """Grants and revokes in one AWS account through IAM.

    Credentials come from boto3's standard chain; with `role_arn` (e.g. from PERMSCOPE_AWS_GRANT_ROLE, where
    `{account_id}` is replaced) that role is assumed first. Before the first change the connector checks
    with sts:GetCallerIdentity that the credentials belong to the account, so a grant can never land in
    another account that happens to have a role of the same name.
    """

    def __init__(
        self,
        account_id: str,
        *,
        session_factory: Callable[[], Any] | None = None,
        role_arn: str | None = None,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        dry_run: bool = False,
        echo: Echo | None = None,
    ) -> None:
        self.account_id = account_id
        self._session_factory = session_factory
        self._role_arn = role_arn.replace("{account_id}", account_id) if role_arn else None
        self._endpoint_url = endpoint_url
        self._region = region
        self.dry_run = dry_run
        self._echo = echo or (lambda line: log.info("%s", line))
        self._iam_client: Any = None

    # ------------------------------------------------------------------------------------------ clients

    def _new_session(self) -> Any:
        if self._session_factory is not None:
            return self._session_factory()
        import boto3  # imported on first real call: dry runs and the rest of permscope do not need it

        return boto3.session.Session()

    def _client(self, session: Any, service: str) -> Any:
        return session.client(service, region_name=self._region, endpoint_url=self._endpoint_url)

    def _iam(self) -> Any:
        if self._iam_client is not None:
            return self._iam_client
        try:
            session = self._new_session()
            if self._role_arn:
                credentials = self._client(session, "sts").assume_role(
                    RoleArn=self._role_arn, RoleSessionName="permscope-grant"
                )["Credentials"]
                import boto3

                session = boto3.session.Session(
                    aws_access_key_id=credentials["AccessKeyId"],
                    aws_secret_access_key=credentials["SecretAccessKey"],
                    aws_session_token=credentials["SessionToken"],
                )
            account = str(self._client(session, "sts").get_caller_identity()["Account"])
        except Exception as exc:
            raise self._error(exc, "cannot get AWS credentials", None) from exc
        if account != self.account_id:
            raise GrantError(
                f"the AWS credentials belong to account {account}, not {self.account_id}; set "
                "PERMSCOPE_AWS_GRANT_ROLE (e.g. arn:aws:iam::{account_id}:role/permscope-grant) or use "
                "credentials of that account",
                permanent=True,
            )
        self._iam_client = self._client(session, "iam")
        return self._iam_client

    def _error(self, exc: Exception, doing: str, item: GrantItem | None) -> GrantError:
        if isinstance(exc, GrantError):
            return exc
        code = _client_error_code(exc)
        detail = f"{code}: {exc}" if code else f"{type(exc).__name__}: {exc}"
        return GrantError(f"{doing}: {detail}", permanent=code in PERMANENT_CODES, item=item)

    # ---------------------------------------------------------------------------------------- the calls

    def items(self, request: GrantRequest) -> list[GrantItem]:
        """The items that grant the request (pure)."""
        return grant_items(request)

    def _call(self, item: GrantItem, operation: str, cli: str, **params: Any) -> Any:
        """Make one IAM call, or print it (as an AWS CLI command line) in dry-run mode."""
        if self.dry_run:
            self._echo(f"aws iam {cli}")
            return None
        try:
            return getattr(self._iam(), operation)(**params)
        except Exception as exc:
            raise self._error(exc, f"iam:{operation} for {item.principal}", item) from exc

    def is_present(self, item: GrantItem) -> bool:
        """Whether a managed policy is already attached (tags and our inline policies are never shared)."""
        if item.kind is not GrantKind.MANAGED_POLICY:
            return False
        kind, name, _ = parse_principal(item.principal)
        if self.dry_run:
            self._echo(f"aws iam list-attached-{kind}-policies --{kind}-name {shlex.quote(name)}  # read")
            return False
        try:
            paginator = self._iam().get_paginator(f"list_attached_{kind}_policies")
            for page in paginator.paginate(**{f"{kind.title()}Name": name}):
                if any(p["PolicyArn"] == item.target for p in page.get("AttachedPolicies", [])):
                    return True
        except Exception as exc:
            raise self._error(exc, f"listing the policies attached to {item.principal}", item) from exc
        return False

    def add(self, item: GrantItem) -> None:
        """Attach the policy, put the inline policy, or set the tag (all idempotent in IAM)."""
        kind, name, _ = parse_principal(item.principal)
        Kind, arg = kind.title(), f"--{kind}-name {shlex.quote(name)}"  # noqa: N806 - IAM's spelling
        if item.kind is GrantKind.MANAGED_POLICY:
            self._call(
                item,
                f"attach_{kind}_policy",
                f"attach-{kind}-policy {arg} --policy-arn {shlex.quote(item.target)}",
                **{f"{Kind}Name": name, "PolicyArn": item.target},
            )
        elif item.kind is GrantKind.INLINE_POLICY:
            text = orjson.dumps(item.document).decode()
            self._call(
                item,
                f"put_{kind}_policy",
                f"put-{kind}-policy {arg} --policy-name {shlex.quote(item.target)} "
                f"--policy-document {shlex.quote(text)}",
                **{f"{Kind}Name": name, "PolicyName": item.target, "PolicyDocument": text},
            )
        else:
            tags = [{"Key": item.target, "Value": item.value or ""}]
            tag_text = shlex.quote(f"Key={item.target},Value={item.value or ''}")
            try:
                self._call(
                    item,
                    f"tag_{kind}",
                    f"tag-{kind} {arg} --tags {tag_text}",
                    **{f"{Kind}Name": name, "Tags": tags},
                )
            except GrantError as exc:
                if "LimitExceeded" not in str(exc):
                    raise
                # 50 tags per identity: the marker helps people find our grants, it does not hold any right
                log.warning("%s: not tagged (%s); the grant goes ahead without its marker tag", name, exc)

    def remove(self, item: GrantItem) -> None:
        """Detach, delete the inline policy, or untag; what is already gone counts as removed."""
        kind, name, _ = parse_principal(item.principal)
        Kind, arg = kind.title(), f"--{kind}-name {shlex.quote(name)}"  # noqa: N806 - IAM's spelling
        try:
            if item.kind is GrantKind.MANAGED_POLICY:
                self._call(
                    item,
                    f"detach_{kind}_policy",
                    f"detach-{kind}-policy {arg} --policy-arn {shlex.quote(item.target)}",
                    **{f"{Kind}Name": name, "PolicyArn": item.target},
                )
            elif item.kind is GrantKind.INLINE_POLICY:
                self._call(
                    item,
                    f"delete_{kind}_policy",
                    f"delete-{kind}-policy {arg} --policy-name {shlex.quote(item.target)}",
                    **{f"{Kind}Name": name, "PolicyName": item.target},
                )
            else:
                self._call(
                    item,
                    f"untag_{kind}",
                    f"untag-{kind} {arg} --tag-keys {shlex.quote(item.target)}",
                    **{f"{Kind}Name": name, "TagKeys": [item.target]},
                )
        except GrantError as exc:
            if "NoSuchEntity" in str(exc):
                return  # the policy, attachment or identity is gone: nothing of ours is left to remove
            raise

    def find_own(self, principal: str) -> list[GrantItem]:
        """permscope's grants on one user or role, found by their names and tags (inline policies named
        permscope-jit-*, tags permscope:jit:*)."""
        kind, name, _ = parse_principal(principal)
        Kind = kind.title()  # noqa: N806
        found: list[GrantItem] = []
        try:
            iam = self._iam()
            for page in iam.get_paginator(f"list_{kind}_policies").paginate(**{f"{Kind}Name": name}):
                for policy in page.get("PolicyNames", []):
                    if policy.startswith(INLINE_PREFIX):
                        found.append(
                            GrantItem(kind=GrantKind.INLINE_POLICY, principal=principal, target=policy)
                        )
            for page in iam.get_paginator(f"list_{kind}_tags").paginate(**{f"{Kind}Name": name}):
                for tag in page.get("Tags", []):
                    if tag["Key"].startswith(TAG_PREFIX):
                        found.append(
                            GrantItem(
                                kind=GrantKind.TAG, principal=principal, target=tag["Key"], value=tag["Value"]
                            )
                        )
        except Exception as exc:
            raise self._error(exc, f"listing permscope's grants on {principal}", None) from exc
        return found
