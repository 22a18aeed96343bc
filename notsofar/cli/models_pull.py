"""``notsofar models pull NAME``: fetch and verify optional model weights (today: VoiceFixer)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from notsofar.cli.common import QuietOption, console, handle_errors


class Pullable(StrEnum):
    voicefixer = "voicefixer"


@handle_errors
def pull(
    name: Annotated[Pullable, typer.Argument(help="Model to fetch.")],
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Cache root (default: ~/.cache/voicefixer, the voicefixer package's own).",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Fetch <URL>/<file name> instead of Zenodo (a mirror); env: "
            "NOTSOFAR_VOICEFIXER_URL.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download again even if verified files are there.")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Download the official checkpoints into the cache, check their size and layout."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from notsofar.restore.pull import pull_voicefixer

    con = console(quiet)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=con,
        disable=quiet,
    ) as bar:

        def progress(label: str, total: int | None) -> Callable[[int], Any]:
            task = bar.add_task(label, total=total)
            return lambda n: bar.advance(task, n)

        result = pull_voicefixer(cache_dir, url, force, progress)
    for role, (path, status) in result.items():
        size_mb = path.stat().st_size / 1e6
        con.print(f"{role}: {path} ({size_mb:.1f} MB, {status}, verified)")
