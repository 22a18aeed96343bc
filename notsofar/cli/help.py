"""Help text for people, not Python: ``PATH`` and ``INPUTS...`` instead of ``<path>``,
``<list[Path]>`` and ``{inputs}...``; flags show no type; required options keep Typer's ``*``
and ``[required]``.

Every command is built with :class:`Command` (``app.command(cls=Command)``), which gives each
parameter that has no explicit ``metavar`` a plain one, as click and argparse print them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

from typer.core import TyperCommand, TyperGroup

#: ``-h`` is help everywhere except where a command uses it for something else (``score -h HYP``,
#: as in meeteval-wer): click drops a help name that an option of the command already uses
HELP_OPTION_NAMES = ["-h", "--help"]

#: metavar by the parameter's Python type
_BY_TYPE = {int: "INTEGER", float: "NUMBER", str: "TEXT", bool: ""}


def _metavar(param: Any) -> str:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return param.name.upper()
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    annotation = desc.annotation
    if get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    if desc.is_path or annotation is Path:
        return "PATH"
    return _BY_TYPE.get(annotation, "VALUE")


def plain_metavars(params: list[Any]) -> None:
    """Give every parameter without an explicit metavar a plain one (in place)."""
    for param in params:
        if param.metavar is not None:
            continue
        if param.param_type_name == "argument":
            param.metavar = param.name.upper() + ("..." if param.nargs != 1 else "")
            # the name column already says it all; Typer would add <path> or <list[Path]>
            param.display_type_rich = lambda ctx: None
        else:
            param.metavar = _metavar(param)


class _PlainHelp:
    """Plain metavars on a click command's parameters and on its help option."""

    params: list

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_metavars(self.params)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            plain_metavars([option])
        return option


class Command(_PlainHelp, TyperCommand):
    """A Typer command whose help and usage line show plain metavars."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                continue
            name = param.metavar or param.name.upper()
            pieces.append(name if param.required else f"[{name}]")
        return pieces


class Group(_PlainHelp, TyperGroup):
    """A Typer group (``notsofar``, ``notsofar models``) with the same plain help."""
