"""Which clouds permscope has built, for the entry points (which never import `clouds`): the registry's answer."""

from __future__ import annotations

from permscope.clouds import base
from permscope.core.errors import CloudNotBuiltError
from permscope.core.ids import Cloud


def built_clouds() -> list[Cloud]:
    """The clouds with a plugin, in registry order."""
    return base.built_clouds()


def require_built(cloud: Cloud, what: str) -> Cloud:
    """The cloud, or CloudNotBuiltError naming `what` is not built for it (501 in the API, exit 2 in the CLI)."""
    if cloud not in base.built_clouds():
        raise CloudNotBuiltError(cloud.value, what)
    return cloud


def system_noun(cloud: Cloud) -> str:
    """What the cloud calls one authorization system (account, subscription, project)."""
    return base.plugin(cloud).system_noun
