"""quick_frozen_init: the same records as the dataclass __init__ builds (fields, defaults, immutability)."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field

import pytest

from permscope.core.records import quick_frozen_init


@dataclass(frozen=True, slots=True)
class Plain:
    name: str
    values: tuple[str, ...]
    note: str | None = None


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class Quick:
    name: str
    values: tuple[str, ...]
    note: str | None = None


def _fields(record: object) -> dict[str, object]:
    return {item.name: getattr(record, item.name) for item in dataclasses.fields(record)}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a", ("x",)), {}), (("a", ("x",), "n"), {}), ((), {"values": (), "name": "b", "note": "m"})],
)
def test_it_builds_what_the_dataclass_init_builds(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    quick, plain = Quick(*args, **kwargs), Plain(*args, **kwargs)  # type: ignore[arg-type]
    assert _fields(quick) == _fields(plain)
    assert quick == Quick(*args, **kwargs)  # type: ignore[arg-type]
    assert hash(quick) == hash(Quick(*args, **kwargs))  # type: ignore[arg-type]
    assert repr(quick) == repr(plain).replace("Plain(", "Quick(")


def test_the_record_stays_frozen_and_keeps_its_signature() -> None:
    quick = Quick("a", ("x",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.name = "b"  # type: ignore[misc]
    assert str(inspect.signature(Quick)) == str(inspect.signature(Plain))
    assert dataclasses.replace(quick, note="n") == Quick("a", ("x",), "n")
    assert copy.copy(quick) == quick
    assert pickle.loads(pickle.dumps(quick)) == quick


def test_wrong_arguments_fail_as_with_the_dataclass_init() -> None:
    with pytest.raises(TypeError):
        Quick("a")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick("a", (), "n", "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Quick("a", (), other=1)  # type: ignore[call-arg]


def test_classes_whose_meaning_it_would_change_are_refused() -> None:
    @dataclass(slots=True)
    class Mutable:
        name: str

    @dataclass(frozen=True)
    class NoSlots:
        name: str

    @dataclass(frozen=True, slots=True)
    class Factory:
        names: list[str] = field(default_factory=list)

    @dataclass(frozen=True, slots=True)
    class PostInit:
        name: str

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, NoSlots, Factory, PostInit):
        with pytest.raises(TypeError):
            quick_frozen_init(cls)


@dataclass(frozen=True, slots=True)
class PlainWide:
    a: int
    b: str
    c: tuple[int, ...]
    d: str | None
    e: int = 5
    f: str = "f"


@quick_frozen_init
@dataclass(frozen=True, slots=True)
class QuickWide:
    a: int
    b: str
    c: tuple[int, ...]
    d: str | None
    e: int = 5
    f: str = "f"


@dataclass(frozen=True, slots=True)
class QuickWideChild(QuickWide):
    g: int = 0


def test_a_wide_record_built_through_its_open_twin_is_the_same_frozen_record() -> None:
    quick, plain = QuickWide(1, "b", (3,), None, f="x"), PlainWide(1, "b", (3,), None, f="x")
    assert type(quick) is QuickWide
    assert _fields(quick) == _fields(plain)
    assert quick == QuickWide(1, "b", (3,), None, 5, "x")
    assert hash(quick) == hash(QuickWide(1, "b", (3,), None, 5, "x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.a = 2  # type: ignore[misc]
    assert dataclasses.replace(quick, a=2).a == 2
    assert pickle.loads(pickle.dumps(quick)) == quick
    assert str(inspect.signature(QuickWide)) == str(inspect.signature(PlainWide))


class BareChild(QuickWide):
    """A subclass that uses the record's own __init__."""

    __slots__ = ()


def test_a_subclass_object_keeps_its_own_class() -> None:
    bare = BareChild(1, "b", (3,), None)
    assert type(bare) is BareChild
    assert (bare.a, bare.e) == (1, 5)
    child = QuickWideChild(1, "b", (3,), None, 5, "f", 7)
    assert type(child) is QuickWideChild
    assert (child.a, child.f, child.g) == (1, "f", 7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        child.a = 2  # type: ignore[misc]
