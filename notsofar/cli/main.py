"""Entry point: ``notsofar <command>``. Commands import heavy libraries only when they run."""

from __future__ import annotations

import importlib

import typer

from notsofar import __version__
from notsofar.cli.help import HELP_OPTION_NAMES, Command, Group

app = typer.Typer(
    name="notsofar",
    help="Far-field meeting transcription, scoring, simulation and speech restoration — offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
    rich_markup_mode=None,  # help text is plain: "[config: 0]" is not a markup tag
    context_settings={"help_option_names": HELP_OPTION_NAMES},
)

#: (command name, module under notsofar.cli, function). One line per command.
COMMANDS: list[tuple[str, str, str]] = [
    ("restore", "restore", "restore_command"),
    ("score", "score", "score_command"),
    ("enhance", "enhance", "enhance_command"),
    ("transcribe", "transcribe", "transcribe_cmd"),
    ("diarize", "diarize", "diarize_cmd"),
    ("recognize", "recognize", "recognize_cmd"),
    ("simulate", "simulate", "simulate_command"),
    ("report", "report", "report_command"),
]

for _name, _module, _func in COMMANDS:
    app.command(_name, cls=Command)(
        getattr(importlib.import_module(f"notsofar.cli.{_module}"), _func)
    )

#: (command, module under notsofar.cli): command groups, each a Typer app named ``app``
GROUPS: list[tuple[str, str]] = [
    ("models", "models"),
]

for _name, _module in GROUPS:
    app.add_typer(importlib.import_module(f"notsofar.cli.{_module}").app, name=_name)


def _version(value: bool) -> None:
    if value:
        print(f"notsofar {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """notsofar: who spoke when, and what they said, in far-field meetings."""


def main() -> None:
    app(prog_name="notsofar")


if __name__ == "__main__":
    main()
