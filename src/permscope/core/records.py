"""Frozen, slotted dataclasses that are cheaper to build: their fields stored through the slots themselves."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

Record = TypeVar("Record")
_SWAP_FIELDS = 5  # from this many fields on, two class changes cost less than a descriptor call per field


def quick_frozen_init(cls: type[Record]) -> type[Record]:
    """Give a frozen dataclass with slots an `__init__` that stores each field through its slot descriptor.

    The `__init__` dataclasses generates for a frozen class stores every field with `object.__setattr__`
    (to get past the frozen `__setattr__`), which costs about twice as much per field as the slot's own
    descriptor; hot paths build millions of these records. A record of at least `_SWAP_FIELDS` fields (and no
    base class) is built cheaper still: as an object of an open twin class with the same slots, whose fields
    are plain attribute stores, that then takes the record's class (the `__class__` descriptor's `__set__`;
    CPython allows it between classes of the same slots). A subclass's object is built the per-field way,
    so that it keeps its class. The replacement takes the same parameters (names,
    order, defaults) and builds an equal, equally immutable object. Refuses (TypeError) classes it would
    change the meaning of: not frozen, no slots, a `__post_init__`, default factories, keyword-only or
    non-init fields.
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass with slots")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__")
    namespace: dict[str, Any] = {}
    parameters: list[str] = []
    body: list[str] = []
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    # With many fields, the object is built as an instance of an open twin class (the same slots, no frozen
    # __setattr__: each field is one STORE_ATTR) and then given its class: two class changes instead of one
    # descriptor call per field.
    slots = tuple(cls.__dict__["__slots__"])
    swap = (
        len(fields) >= _SWAP_FIELDS
        and cls.__bases__ == (object,)
        and slots == tuple(field.name for field in fields)
    )
    if swap:
        namespace["_Open"] = type(f"_Open{cls.__name__}", (object,), {"__slots__": slots})
        namespace["_Frozen"] = cls
        namespace["_set_class"] = object.__dict__["__class__"].__set__  # past the frozen __setattr__
        body.append("    if type(self) is _Frozen:  # not a subclass's object, which must keep its class\n")
        body.append("        _set_class(self, _Open)\n")
        slow: list[str] = []
    for index, field in enumerate(fields):
        if not field.init or field.kw_only or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: only plain positional fields are supported")
        if field.name == "self" or not field.name.isidentifier():
            raise TypeError(f"{cls.__name__}.{field.name}: not a usable parameter name")
        namespace[f"_store{index}"] = getattr(cls, field.name).__set__
        if field.default is dataclasses.MISSING:
            parameters.append(field.name)
        else:
            namespace[f"_default{index}"] = field.default
            parameters.append(f"{field.name}=_default{index}")
        if swap:
            body.append(f"        self.{field.name} = {field.name}\n")
            slow.append(f"        _store{index}(self, {field.name})\n")
        else:
            body.append(f"    _store{index}(self, {field.name})\n")
    if swap:
        body.append("        self.__class__ = _Frozen\n    else:\n")
        body.extend(slow)
    source = f"def __init__(self, {', '.join(parameters)}):\n" + ("".join(body) or "    pass\n")
    exec(source, namespace)  # noqa: S102 - text made above from the class's own field names, as dataclasses does
    init = namespace["__init__"]
    generated = cls.__dict__["__init__"]
    init.__qualname__ = generated.__qualname__
    init.__doc__ = generated.__doc__
    init.__annotations__ = dict(generated.__annotations__)
    init.__module__ = cls.__module__
    type.__setattr__(cls, "__init__", init)
    return cls
