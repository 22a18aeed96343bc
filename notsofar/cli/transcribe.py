"""``notsofar transcribe``: who said what, when, for one recording, a folder or a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli.common import ConfigOption, QuietOption, SetOption, console, handle_errors
from notsofar.cli.options import ChannelOption, DeviceOption, JsonOption


@handle_errors
def transcribe_cmd(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Audio file(s), folders of audio, or a NOTSOFAR dataset root."),
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    config: ConfigOption = None,
    sets: SetOption = None,
    force: Annotated[bool, typer.Option("--force", help="Redo sessions already done.")] = False,
    resume_any_config: Annotated[
        bool,
        typer.Option(
            "--resume-any-config",
            help="Keep sessions done with another config (default: redo them).",
        ),
    ] = False,
    channel: ChannelOption = None,
    device: DeviceOption = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Diarize and recognize: writes <name>.seglst.json/.rttm/.srt/.vtt/.txt/.words.json."""
    from notsofar.cli.options import transcribe_config
    from notsofar.cli.summary import emit
    from notsofar.pipeline.batch import find_sessions, run_batch, summary_json, summary_table

    cfg = transcribe_config(config, sets, device=device, channel=channel)
    sessions = find_sessions(inputs)
    con = console(quiet)
    report = run_batch(
        sessions, cfg, out_dir, con, force=force, resume_any_config=resume_any_config
    )
    emit(summary_json(report), summary_table(report), json_, quiet)
    for o in report.failed:
        typer.echo(f"notsofar: error: {o.error}", err=True)
    if report.failed:
        typer.echo(f"notsofar: {len(report.failed)} of {len(sessions)} session(s) failed", err=True)
    raise typer.Exit(report.exit_code)
