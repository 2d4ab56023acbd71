"""Help pages that read as words: value labels such as TEXT, PATH or table|json|csv, never Typer's raw type
labels (`<bool>` beside every flag, `<list[Path]>`, `<int range>`).

Typer (0.29 and later) prints the Python type of every parameter in its help panels. `PlainHelpGroup`, the
class of the root command, gives each parameter of the command tree a plain label before a help page or an
error is printed: none for flags, choices as `a|b|c`, the declared metavar when there is one, else a word;
and, as they are given those labels, the parameters are coerced without pydantic wherever
permscope.cli.coercion gives what Typer gives.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperGroup, TyperOption

from permscope.cli.coercion import plain_runtime

# Typer's type names (inside its <...>) -> the word a help page shows
WORDS = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "NUMBER",
    "int range": "INTEGER",
    "float range": "NUMBER",
    "path": "PATH",
    "file": "FILE",
    "directory": "DIRECTORY",
    "datetime": "DATETIME",
    "uuid": "UUID",
}
NO_LABEL = frozenset({"bool"})


def plain_label(raw: str | None, *, many: bool = False) -> str | None:
    """The label a help page shows for Typer's raw type label (`<Path>` -> PATH, `<bool>` -> None); `many`
    adds `...` (an argument taking several values; a repeatable option says so in its help instead)."""
    if raw is None:
        return None
    label = raw.strip().removesuffix("...")
    if label.startswith("<") and label.endswith(">"):
        label = label[1:-1]
    while label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    if not label or label in NO_LABEL:
        return None
    if "|" not in label:
        label = WORDS.get(label.lower(), label.upper())
    return label + ("..." if many else "")


def _runtime_param(param: Any) -> Any:
    """The parameter's runtime coercion: without pydantic where `plain_runtime` can, else Typer's own."""
    if param._runtime_param is None:
        param._runtime_param = plain_runtime(param.type_descriptor)
    if param._runtime_param is None:
        return TyperOption.get_runtime_param(param)
    return param._runtime_param


class _PlainOption(TyperOption):
    """An option whose help shows a plain label (none for a flag), coerced without pydantic where it can be."""

    def get_runtime_param(self) -> Any:
        """Coerces as Typer does (see permscope.cli.coercion)."""
        return _runtime_param(self)

    def display_type_rich(self, ctx: Any) -> str | None:
        """The label beside the option: the metavar, else a word; nothing for a flag."""
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        return plain_label(self.display_type(ctx))


class _PlainArgument(TyperArgument):
    """An argument whose help shows a plain label (none when its metavar already names it), coerced without
    pydantic where it can be."""

    def get_runtime_param(self) -> Any:
        """Coerces as Typer does (see permscope.cli.coercion)."""
        return _runtime_param(self)

    def display_type_rich(self, ctx: Any) -> str | None:
        """The label beside the argument: a word, unless the argument's name is its metavar."""
        if self.metavar is not None:
            return None
        return plain_label(self.display_type(ctx), many=self.nargs != 1)


def _plain(param: Any) -> None:
    """Give one parameter its plain label (Typer's own classes only; anything else is left as it is)."""
    if type(param) is TyperOption:
        param.__class__ = _PlainOption
    elif type(param) is TyperArgument:
        param.__class__ = _PlainArgument


def plain_help(command: Any, ctx: Any) -> None:
    """Plain labels for a command, its help option and, for a group, every command under it."""
    for param in command.params:
        _plain(param)
    get_help_option = getattr(command, "get_help_option", None)
    if get_help_option is not None:
        help_option = get_help_option(ctx)
        if help_option is not None:
            _plain(help_option)
    for sub in getattr(command, "commands", {}).values():
        plain_help(sub, ctx)


class PlainHelpGroup(TyperGroup):
    """The root command group: every command reached through it shows plain labels in its help."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The sub-command, its tree given plain labels."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            plain_help(command, ctx)
        return command

    def get_params(self, ctx: Any) -> Any:
        """The group's own parameters (and help option), with plain labels."""
        params = super().get_params(ctx)
        for param in params:
            _plain(param)
        return params
