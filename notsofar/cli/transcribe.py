"""``notsofar transcribe``: who said what, when, for one recording, a folder or a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli.common import (
    ConfigOption,
    Executor,
    ExecutorOption,
    QuietOption,
    SchedulerOption,
    SetOption,
    ThreadsPerWorkerOption,
    WorkersOption,
    console,
    handle_errors,
)


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
    quiet: QuietOption = False,
    workers: WorkersOption = 1,
    threads_per_worker: ThreadsPerWorkerOption = None,
    executor: ExecutorOption = Executor.local,
    scheduler: SchedulerOption = None,
) -> None:
    """Diarize and recognize: writes <name>.seglst.json/.rttm/.srt/.vtt/.txt/.words.json."""
    from notsofar.cli.common import load_stage_config
    from notsofar.pipeline.batch import find_sessions, run_batch, summary_table
    from notsofar.pipeline.config import TranscribeConfig

    cfg = load_stage_config(TranscribeConfig, config, sets)
    sessions = find_sessions(inputs)
    con = console(quiet)
    if workers > 1 or executor is Executor.dask or scheduler:
        from notsofar.pipeline.batch import run_batch_parallel

        report = run_batch_parallel(
            sessions,
            cfg,
            out_dir,
            con,
            force=force,
            workers=workers,
            executor="dask" if scheduler else executor.value,
            scheduler=scheduler,
            threads=threads_per_worker,
        )
    else:
        report = run_batch(sessions, cfg, out_dir, con, force=force, threads=threads_per_worker)
    con.print(summary_table(report))
    for o in report.failed:
        typer.echo(f"notsofar: error: {o.error}", err=True)
    if report.failed:
        typer.echo(f"notsofar: {len(report.failed)} of {len(sessions)} session(s) failed", err=True)
    raise typer.Exit(report.exit_code)
