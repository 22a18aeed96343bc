"""``notsofar transcribe``: who said what, when, for one recording, a folder or a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
from notsofar.cli.options import (
    ChannelOption,
    DeviceOption,
    JsonOption,
    MaxSpeakersOption,
    MinSpeakersOption,
    NumSpeakersOption,
    SpeakerSamplesOption,
)
from notsofar.cli.report import HtmlAudio, HtmlAudioOption


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
    num_speakers: NumSpeakersOption = None,
    min_speakers: MinSpeakersOption = None,
    max_speakers: MaxSpeakersOption = None,
    speaker_samples: SpeakerSamplesOption = None,
    json_: JsonOption = False,
    html: Annotated[
        bool, typer.Option("--html", help="Also write <name>.report.html (see notsofar report).")
    ] = False,
    html_audio: HtmlAudioOption = HtmlAudio.embed,
    quiet: QuietOption = False,
    workers: WorkersOption = 1,
    threads_per_worker: ThreadsPerWorkerOption = None,
    executor: ExecutorOption = Executor.local,
    scheduler: SchedulerOption = None,
) -> None:
    """Diarize and recognize: writes <name>.seglst.json/.rttm/.srt/.vtt/.txt/.words.json."""
    from notsofar.cli.options import transcribe_config
    from notsofar.cli.summary import emit
    from notsofar.pipeline.batch import find_sessions, run_batch, summary_json, summary_table

    speakers = (num_speakers, min_speakers, max_speakers)
    cfg = transcribe_config(
        config, sets, device=device, channel=channel, speakers=speakers, samples=speaker_samples
    )
    sessions = find_sessions(inputs, speakers=cfg.channel == "speakers")
    con = console(quiet)
    if workers > 1 or executor is Executor.dask or scheduler:
        from notsofar.pipeline.batch import run_batch_parallel

        report = run_batch_parallel(
            sessions,
            cfg,
            out_dir,
            con,
            force=force,
            resume_any_config=resume_any_config,
            workers=workers,
            executor="dask" if scheduler else executor.value,
            scheduler=scheduler,
            threads=threads_per_worker,
        )
    else:
        report = run_batch(
            sessions,
            cfg,
            out_dir,
            con,
            force=force,
            resume_any_config=resume_any_config,
            threads=threads_per_worker,
        )
    if html:
        _reports(report, out_dir, html_audio.value, force)
    emit(summary_json(report), summary_table(report), json_, quiet)
    for o in report.failed:
        typer.echo(f"notsofar: error: {o.error}", err=True)
    if report.failed:
        typer.echo(f"notsofar: {len(report.failed)} of {len(sessions)} session(s) failed", err=True)
    raise typer.Exit(report.exit_code)


def _reports(report: Any, out_dir: Path, audio_mode: str, force: bool) -> None:
    """A report page per finished session (and per skipped one that has none yet)."""
    import dataclasses

    from notsofar.errors import NotsofarError
    from notsofar.report import write_transcribe_report

    for k, o in enumerate(report.outcomes):
        page = out_dir / f"{o.session.name}.report.html"
        if o.status == "failed" or (o.status == "skipped" and page.is_file() and not force):
            continue
        try:
            # one file per speaker: the page plays their sum
            audio = o.session.paths if o.session.speaker_files else o.session.paths[0]
            write_transcribe_report(out_dir, o.session.name, audio, audio_mode)
        except NotsofarError as e:
            report.outcomes[k] = dataclasses.replace(o, status="failed", error=f"report: {e}")
