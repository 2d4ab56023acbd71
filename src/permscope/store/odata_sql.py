"""OData $filter and $orderby translated to SQLAlchemy through a collection's map of wire properties."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, and_, func, literal, not_, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Integer

from permscope.store.odata import (
    BoolOp,
    Call,
    Compare,
    In,
    Lit,
    Node,
    Not,
    ODataError,
    OrderItem,
    Prop,
    normalize_path,
)

ValueType = Literal["string", "int", "bool", "datetime"]


@dataclass(frozen=True, slots=True)
class Column:
    """How one wire property maps to SQL: its expression, value type and what may be done with it."""

    expr: SQLColumnExpression[Any]
    type: ValueType = "string"
    nullable: bool = False
    case_insensitive: bool = False
    sortable: bool = True
    aliases: tuple[str, ...] = field(default_factory=tuple)


PropertyMap = Mapping[str, Column]


def lookup(props: PropertyMap, prop: Prop, option: str) -> Column:
    """The column of a property path, or an ODataError naming it."""
    path = normalize_path(prop.path)
    column = props.get(path)
    if column is None:
        for candidate in props.values():
            if path in candidate.aliases:
                return candidate
        raise ODataError(f"unknown property {prop.path!r} in {option} at position {prop.pos}")
    return column


_PY_TYPES: dict[ValueType, tuple[type, ...]] = {
    "string": (str,),
    "int": (int, float),
    "bool": (bool,),
    "datetime": (datetime,),
}
_TYPE_NAMES = {
    str: "a string",
    bool: "a boolean",
    datetime: "a date-time",
    int: "a number",
    float: "a number",
}


def _check_type(column: Column, prop: Prop, lit: Lit) -> Any:
    value = lit.value
    if value is None:
        return None
    ok = isinstance(value, _PY_TYPES[column.type]) and not (column.type == "int" and isinstance(value, bool))
    if not ok:
        expected = {"string": "a string", "int": "a number", "bool": "a boolean", "datetime": "a date-time"}
        got = _TYPE_NAMES.get(type(value), "a literal")
        raise ODataError(
            f"property {prop.path!r} expects {expected[column.type]}, got {got} in $filter at position {lit.pos}"
        )
    if column.case_insensitive and isinstance(value, str):
        return value.lower()
    if isinstance(value, int) and not isinstance(value, bool):
        # bound as 64 bits: PostgreSQL casts a parameter to the column's type, and 3000000000 is no `integer`
        return literal(value, BigInteger)
    return value


def _expr(column: Column) -> SQLColumnExpression[Any]:
    return func.lower(column.expr) if column.case_insensitive else column.expr


class strpos(FunctionElement[Any]):  # noqa: N801 - named like the SQL function
    """Case-sensitive position of a substring (1-based, 0 when absent) on SQLite and PostgreSQL."""

    type = Integer()
    inherit_cache = True


@compiles(strpos, "sqlite")
def _strpos_sqlite(element: strpos, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(strpos)
def _strpos_default(element: strpos, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def _null_safe(column: Column, expr: ColumnElement[bool]) -> ColumnElement[bool]:
    """Two-valued logic: a comparison with a NULL value is false, so `not` works as OData says."""
    return and_(column.expr.is_not(None), expr) if column.nullable else expr


def to_sql(node: Node, props: PropertyMap) -> ColumnElement[bool]:
    """Translate a $filter tree into a SQLAlchemy condition through the collection's property map."""
    if isinstance(node, BoolOp):
        left, right = to_sql(node.left, props), to_sql(node.right, props)
        return and_(left, right) if node.op == "and" else or_(left, right)
    if isinstance(node, Not):
        return not_(to_sql(node.operand, props))
    column = lookup(props, node.prop, "$filter")
    expr = _expr(column)
    if isinstance(node, In):
        values = [_check_type(column, node.prop, lit) for lit in node.values]
        present = [v for v in values if v is not None]
        parts: list[ColumnElement[bool]] = []
        if present:
            parts.append(_null_safe(column, expr.in_(present)))
        if len(present) < len(values):
            parts.append(column.expr.is_(None))
        return or_(*parts) if len(parts) > 1 else parts[0]
    if isinstance(node, Call):
        if column.type != "string":
            raise ODataError(
                f"{node.name}() needs a string property, {node.prop.path!r} is not, at position {node.prop.pos}"
            )
        value = _check_type(column, node.prop, node.value)
        if not isinstance(value, str):
            raise ODataError(f"{node.name}() needs a string literal in $filter at position {node.value.pos}")
        if node.name == "contains":
            return _null_safe(column, strpos(expr, value) > 0)
        return _null_safe(column, func.substr(expr, 1, len(value)) == value) if value else true()
    value = _check_type(column, node.prop, node.value)
    if node.op == "has":
        return _has_flag(column, node, value)
    if value is None:
        if node.op == "eq":
            return column.expr.is_(None)
        if node.op == "ne":
            return column.expr.is_not(None)
        raise ODataError(
            f"cannot compare with null using '{node.op}' in $filter at position {node.value.pos}"
        )
    if column.type == "bool" and node.op not in ("eq", "ne"):
        raise ODataError(f"booleans only support eq and ne, in $filter at position {node.prop.pos}")
    operators = {
        "eq": expr.__eq__,
        "ne": expr.__ne__,
        "gt": expr.__gt__,
        "ge": expr.__ge__,
        "lt": expr.__lt__,
        "le": expr.__le__,
    }
    condition: ColumnElement[bool] = operators[node.op](value)
    if node.op == "ne":
        return or_(column.expr.is_(None), condition) if column.nullable else condition
    return _null_safe(column, condition)


def _has_flag(column: Column, node: Compare, value: Any) -> ColumnElement[bool]:
    """`flags has 'member'`: the comma-separated flags value (spaces allowed) names the member exactly."""
    if column.type != "string" or not isinstance(value, str) or not value.strip():
        raise ODataError(
            f"'has' needs a flags property and a member name, in $filter at position {node.prop.pos}"
        )
    flags = func.replace(_expr(column), " ", "")
    return _null_safe(column, strpos("," + flags + ",", f",{value.strip()},") > 0)


def order_by(items: Sequence[OrderItem], props: PropertyMap) -> list[SQLColumnExpression[Any]]:
    """SQL ORDER BY terms for `$orderby` (nulls sort first ascending and last descending, on both backends:
    `IS NULL` before the value, the shape `ix_findings_type_pci` serves)."""
    terms: list[SQLColumnExpression[Any]] = []
    for item in items:
        column = lookup(props, Prop(item.path, item.pos), "$orderby")
        if not column.sortable:
            raise ODataError(f"property {item.path!r} cannot be used in $orderby at position {item.pos}")
        expr = _expr(column)
        if column.nullable:
            terms.append(column.expr.is_(None) if item.descending else column.expr.is_(None).desc())
        terms.append(expr.desc() if item.descending else expr.asc())
    return terms
