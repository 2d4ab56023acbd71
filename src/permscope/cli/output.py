"""Showing results (Rich tables, JSON, CSV) and errors, and the per-invocation database choice."""

from __future__ import annotations

import csv
import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

from permscope.core.errors import CloudNotBuiltError, InputError, PermscopeError
from permscope.core.limits import printable

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from permscope.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")

EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
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

    Piped output gets a wide page instead of Rich's 80 columns, so that ARNs stay on one line.
    """
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else PIPE_WIDTH)


def stderr() -> Console:
    """A console on standard error, for progress, warnings and errors."""
    return Console(file=sys.stderr, soft_wrap=True)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `error: message` on standard error and leave with `code`."""
    typer.echo(f"error: {printable(message)}", err=True)
    raise typer.Exit(code)


def _is_database_error(error: BaseException) -> bool:
    """Whether an error is SQLAlchemy's (checked without importing SQLAlchemy: if it was never imported, no
    database was touched)."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(error, errors.SQLAlchemyError)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn permscope's (and the database's) errors into one line on stderr: 2 for bad input, else 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            fail(f"{exc.source}: {exc.problem}", EXIT_BAD_INPUT)
        except CloudNotBuiltError as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except PermscopeError as exc:
            fail(str(exc))
        except Exception as exc:
            if _is_database_error(exc):  # an unusable database URL or server: the user's to fix, not a crash
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


def render(
    fmt: OutputFormat,
    records: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """Print records: JSON prints them whole; a table and CSV print `columns` ((key, header) pairs)."""
    if fmt is OutputFormat.JSON:
        print_json(list(records))
        return
    if fmt is OutputFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([key for key, _ in columns])
        writer.writerows([_cell(record.get(key)) for key, _ in columns] for record in records)
        return
    if not records:
        stderr().print(f"[dim]{empty}[/dim]")
        return
    table = Table(title=title, header_style="bold")
    for key, header in columns:
        numeric = (
            bool(records)
            and isinstance(records[0].get(key), int | float)
            and not isinstance(records[0].get(key), bool)
        )
        table.add_column(header, justify="right" if numeric else "left", overflow="fold")
    for record in records:
        table.add_row(*(_cell(record.get(key), short=True) for key, _ in columns))
    stdout().print(table)
