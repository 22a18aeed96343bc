"""Where a command's output goes. stdout: what the command reports at the end (score tables,
``restore --analyze``, each command's summary, or that summary as JSON with ``--json``).
stderr: what happens on the way (progress bars, notices, warnings, errors). So
``notsofar ... --json | jq`` and ``> results.txt`` get only data."""

from __future__ import annotations

import json
from typing import Any


def stdout_console(quiet: bool = False) -> Any:
    """A rich console on stdout, for results (tables); ``quiet`` silences it."""
    from rich.console import Console

    return Console(quiet=quiet, highlight=False)


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout."""
    print(json.dumps(data, indent=2, ensure_ascii=False))


def emit(summary: Any, text: Any, as_json: bool, quiet: bool = False) -> None:
    """The summary as JSON on stdout with ``--json`` (even with ``--quiet``: it is data);
    otherwise ``text`` (a line or a rich renderable) on stdout unless ``quiet``."""
    if as_json:
        print_json(summary)
    else:
        stdout_console(quiet).print(text, soft_wrap=isinstance(text, str))
