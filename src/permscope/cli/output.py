"""Showing results (Rich tables, JSON, CSV) and errors, and the per-invocation database choice."""

from __future__ import annotations

import csv
import functools
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import orjson
import typer

from permscope.core.errors import CloudNotBuiltError, InputError, PermscopeError
from permscope.core.limits import printable
from permscope.presentation.names import short_name

if TYPE_CHECKING:  # Rich is imported when something is printed (`simulate --batch` prints JSON only)
    from rich.console import Console, RenderableType
    from rich.table import Table
    from sqlalchemy import Engine

    from permscope.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_FINDINGS = 3  # `scan --fail-on`: a finding at or above the severity asked for
EXIT_NOT_ANALYZED = (
    4  # `import aws`: the import succeeded (its run recorded so), the analysis after it did not
)
STDOUT = "-"  # `--output -`: standard output
MAX_ROWS = (
    1_000_000_000  # the largest --limit: a count the databases' 64-bit integers hold (exit 2 beyond it)
)
PIPE_WIDTH = 240


class OutputFormat(StrEnum):
    """How a command prints its result."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@dataclass(slots=True)
class CliState:
    """Options of the top-level command, shared by every sub-command of one invocation."""

    database_url: str | None = None

    def settings(self) -> Settings:
        """The settings of this invocation: the environment's, with --database-url on top."""
        from permscope.settings import get_settings  # pydantic-settings, loaded when a command needs it

        settings = get_settings()
        if self.database_url:
            return settings.model_copy(update={"database_url": self.database_url})
        return settings


def state(ctx: typer.Context) -> CliState:
    """The state the top-level callback stored (a fresh one when a command runs on its own)."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def engine_of(ctx: typer.Context) -> Engine:
    """The database of this invocation, its schema brought up to date (an empty database is created)."""
    from permscope.workflows.database import (
        open_engine,  # imported on use: commands without a database start faster
    )

    return open_engine(state(ctx).settings())


def stdout() -> Console:
    """A console on standard output (created per call, so tests capturing stdout see the text).

    A terminal's width is its own, or COLUMNS when it is set; piped output without COLUMNS gets a wide page
    instead of Rich's 80 columns, so that long names stay on one line.
    """
    from rich.console import Console

    fixed = sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return Console(file=sys.stdout, width=None if fixed else PIPE_WIDTH)


def stderr() -> Console:
    """A console on standard error, for progress, warnings and errors."""
    from rich.console import Console

    return Console(file=sys.stderr, soft_wrap=True)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `error: message` on standard error and leave with `code`."""
    typer.echo(f"error: {printable(message)}", err=True)
    raise typer.Exit(code)


def is_database_error(error: BaseException) -> bool:
    """Whether an error is SQLAlchemy's (checked without importing SQLAlchemy: if it was never imported, no
    database was touched)."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(error, errors.SQLAlchemyError)


def _not_utf8(text: str) -> bool:
    """Whether a command-line value holds bytes that were not UTF-8 (Python keeps them as lone surrogates, which
    neither a terminal nor a database takes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def undecodable_option(values: Mapping[str, Any]) -> str | None:
    """The first option whose text (or one of whose texts) is not UTF-8, None when all are; file paths excepted,
    an undecodable byte being a legal file name."""
    for name, value in values.items():
        texts = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(text, str) and _not_utf8(text) for text in texts):
            return name
    return None


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn permscope's (and the database's) errors into one line on stderr: 2 for bad input, else 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        bad = undecodable_option(kwargs)
        if bad is not None:
            fail(f"{bad.replace('_', '-')}: the value given is not valid UTF-8", EXIT_BAD_INPUT)
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            fail(f"{exc.source}: {exc.problem}", EXIT_BAD_INPUT)
        except CloudNotBuiltError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except PermscopeError as exc:
            fail(str(exc))
        except Exception as exc:
            if is_database_error(exc):  # an unusable database URL or server: the user's to fix, not a crash
                fail(f"database: {type(exc).__name__}: {exc}".splitlines()[0])
            raise

    return wrapper


def _cell(value: Any, *, short: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if short else value.isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    """Machine-readable JSON on standard output."""
    sys.stdout.write(orjson.dumps(data, default=_json_default, option=orjson.OPT_INDENT_2).decode() + "\n")


def contract_json_text(data: Any) -> str:
    """JSON in the API's shapes as the API writes it (times in UTC with a trailing Z), indented."""
    options = orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
    return orjson.dumps(data, default=_json_default, option=options).decode() + "\n"


NAME_WIDTH = 56  # a short name longer than this is cut with an ellipsis (--wide shows it whole)
TEXT_WIDTH = 20  # a column of sentences is never narrower


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a table (and of CSV): the record's key, its header, and how a table shows it."""

    key: str
    header: str
    name: bool = False  # an ARN or id: shown short (`role/Admin`) unless --wide, and never broken inside
    wide: bool = False  # shown only with --wide (CSV always has it)
    word: bool = False  # a short value (a severity, a count, an account id): never wrapped
    text: bool = False  # sentences: wrapped at spaces (names are cut to leave it TEXT_WIDTH)
    detail: str | None = None  # without --wide, the key of a sentence shown under the value, in the same cell
    wide_header: str | None = None  # the header with --wide, when it differs


WIDE_HELP = "In a table, full ARNs and every column (for wide terminals; CSV and JSON always have them)"


def _columns(columns: Sequence[tuple[str, str] | Column]) -> list[Column]:
    return [column if isinstance(column, Column) else Column(*column) for column in columns]


def render(
    fmt: OutputFormat,
    records: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str] | Column],
    *,
    title: str | None = None,
    empty: str = "nothing to show",
    wide: bool = False,
) -> None:
    """Print records: JSON prints them whole; CSV prints every column; a table prints the columns that are not
    `wide` ones (all of them with `wide`), names short unless `wide`, so that it reads in 100 columns."""
    shown = _columns(columns)
    if fmt is OutputFormat.JSON:
        print_json(list(records))
        return
    if fmt is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([column.key for column in shown])
        writer.writerows([_cell(record.get(column.key)) for column in shown] for record in records)
        return
    if not records:
        stderr().print(f"[dim]{empty}[/dim]")
        return
    stdout().print(table_of(records, shown, title=title, wide=wide))


def table_of(
    records: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str] | Column],
    *,
    title: str | None = None,
    wide: bool = False,
    width: int | None = None,
) -> Table:
    """The Rich table of `render`: without `wide`, the columns that are not wide ones, names short and cut to
    fit `width` (standard output's by default), times to the day."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    shown = [column for column in _columns(columns) if wide or not column.wide]
    cells = [
        [_table_cell(record.get(column.key), column.name, wide) for column in shown] for record in records
    ]
    name_width = None if wide else _name_width(shown, cells, width or stdout().width)
    details = {position: column.detail for position, column in enumerate(shown) if column.detail and not wide}
    table = Table(title=title, header_style="bold")
    for column in shown:
        numeric = any(_is_number(record.get(column.key)) for record in records)
        short_names = column.name and not wide
        composed = column.detail is not None and not wide
        table.add_column(
            (column.wide_header or column.header) if wide else column.header,
            justify="right" if numeric else "left",
            overflow="ellipsis" if short_names else "fold",
            no_wrap=(column.name or column.word) and not composed,
            max_width=name_width if short_names and not composed else None,
        )
    for record, row in zip(records, cells, strict=True):
        shown_row: list[RenderableType] = list(row)
        for (
            position,
            key,
        ) in details.items():  # the value on its own line, never broken; the sentence under it
            value = Text(row[position], no_wrap=True, overflow="ellipsis")
            shown_row[position] = Group(value, Text(str(record.get(key) or ""), style="dim"))
        table.add_row(*shown_row)
    return table


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _longest(cells: Sequence[Sequence[str]], position: int) -> int:
    return max((len(row[position]) for row in cells), default=0)


def _name_width(columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int) -> int:
    """How wide a name column may be for the table to fit `width`: what the other columns need (a word
    column its longest value, a text column TEXT_WIDTH, any other up to 20) and the borders left out, shared
    by the name columns, at most NAME_WIDTH and at least 16 (past that a name is cut with an ellipsis)."""
    names = sum(1 for column in columns if column.name and not column.detail)
    if not names:
        return NAME_WIDTH
    others = 0
    for position, column in enumerate(columns):
        if column.name and not column.detail:
            continue
        if column.word:  # never wrapped, its header neither
            others += max(_longest(cells, position), len(column.header))
            continue
        longest = max(_longest(cells, position), *(len(word) for word in column.header.split()))
        others += min(longest, TEXT_WIDTH if column.text else 20)
    free = width - others - (3 * len(columns) + 1)
    return max(16, min(NAME_WIDTH, free // names))


def _table_cell(value: Any, name: bool, wide: bool) -> str:
    """A table cell: a name short and a time to the day, unless `wide` (full name, time to the minute)."""
    if name and not wide and isinstance(value, str):
        return short_name(value)
    if isinstance(value, datetime) and not wide:
        return value.strftime("%Y-%m-%d")
    return _cell(value, short=True)
