"""Errors every layer raises and every entry point knows how to show."""

from __future__ import annotations


class PermscopeError(Exception):
    """Base class of every error permscope raises on purpose."""


class InputError(PermscopeError):
    """Bad user input (a file or a document): names the source and what is wrong with it."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class NotFoundError(PermscopeError):
    """A thing asked for by id does not exist."""


class ConfigurationError(PermscopeError):
    """The service is configured wrongly (database URL, settings)."""


class CloudNotBuiltError(PermscopeError):
    """A cloud (or one part of it) permscope has not built yet: the API answers 501, the CLI exits 2."""

    def __init__(self, cloud: str, what: str = "support") -> None:
        super().__init__(f"{what} for {cloud} is not built yet")
        self.cloud = cloud
        self.what = what


class AmbiguousSystemError(InputError):
    """An authorization system id that exists in several clouds, given without saying which cloud."""

    def __init__(self, system_id: str, clouds: list[str]) -> None:
        super().__init__(
            f"authorization system {system_id!r}",
            f"exists in several clouds ({', '.join(clouds)}); name the cloud: --cloud {clouds[0]} in the CLI,"
            f" a type cast in the API (.../{system_id}/microsoft.graph.{clouds[0]}AuthorizationSystem)",
        )
        self.system_id = system_id
        self.clouds = clouds


class AccessDeniedError(PermscopeError):
    """The caller's key holds no role that allows this on that authorization system."""
