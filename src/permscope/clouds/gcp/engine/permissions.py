"""Permissions in deny rules: IAM v2's `SERVICE_FQDN/RESOURCE.VERB` against a request's `service.resource.verb`.

https://cloud.google.com/iam/docs/deny-overview#permissions: a deny rule names a permission by the fully
qualified domain name of its service (`storage.googleapis.com/objects.delete` for `storage.objects.delete`;
Resource Manager's `resourcemanager.projects.delete` is `cloudresourcemanager.googleapis.com/projects.delete`).
A part may be `*` (a permission group: `iam.googleapis.com/roles.*`, `compute.googleapis.com/*.delete`).
"""

from __future__ import annotations

from dataclasses import dataclass

# Services whose v2 domain is not `<v1 prefix>.googleapis.com`.
_DOMAIN_OF_PREFIX = {"resourcemanager": "cloudresourcemanager.googleapis.com"}


class DenyPermissionError(ValueError):
    """A deny-rule permission that is not of the form SERVICE_FQDN/RESOURCE.VERB."""


@dataclass(frozen=True, slots=True)
class DenyPermission:
    """One deny-rule permission, read."""

    text: str
    domain: str  # `storage.googleapis.com` or `*`
    resource: str  # `objects` or `*`
    verb: str  # `delete` or `*`

    def covers(self, domain: str, resource: str, verb: str) -> bool:
        """Whether it names the request permission (given in v2 parts)."""
        return (
            (self.domain == domain or self.domain == "*")
            and (self.resource == resource or self.resource == "*")
            and (self.verb == verb or self.verb == "*")
        )


_READ: dict[str, DenyPermission] = {}


def read_deny_permission(text: str) -> DenyPermission:
    """A deny-rule permission (DenyPermissionError naming the expected form)."""
    found = _READ.get(text)
    if found is None:
        domain, slash, tail = text.partition("/")
        resource, dot, verb = tail.rpartition(".")
        if not slash or not dot or not domain or not resource or not verb or "/" in tail:
            raise DenyPermissionError(
                f"{text!r} is not a deny-policy permission (SERVICE_FQDN/RESOURCE.VERB, such as "
                "storage.googleapis.com/objects.delete)"
            )
        if domain != "*" and "." not in domain:
            raise DenyPermissionError(
                f"{text!r}: the service is named by its domain (storage.googleapis.com)"
            )
        found = DenyPermission(text, domain, resource, verb)
        if len(_READ) < 65_536:
            _READ[text] = found
    return found


def v2_parts(permission: str) -> tuple[str, str, str] | None:
    """(service domain, resource, verb) of a v1 permission `service.resource.verb`; None when not of that form."""
    prefix, dot, rest = permission.partition(".")
    resource, dot2, verb = rest.rpartition(".")
    if not dot or not dot2 or not prefix or not resource or not verb:
        return None
    return _DOMAIN_OF_PREFIX.get(prefix, f"{prefix}.googleapis.com"), resource, verb


class PermissionSet:
    """The permissions of a deny rule's list: exact names looked up at once, permission groups tried in turn."""

    __slots__ = ("exact", "groups")

    def __init__(self, permissions: tuple[DenyPermission, ...]) -> None:
        self.exact = {item.text: item for item in permissions if "*" not in item.text}
        self.groups = tuple(item for item in permissions if "*" in item.text)

    def __bool__(self) -> bool:
        return bool(self.exact or self.groups)

    def naming(self, name: str, parts: tuple[str, str, str]) -> DenyPermission | None:
        """The first permission that names the request's (`name` in v2 form, `parts` its domain, resource and
        verb); None when none does."""
        found = self.exact.get(name)
        if found is not None:
            return found
        for item in self.groups:
            if item.covers(*parts):
                return item
        return None
