"""``notsofar diarize``: who spoke when (speaker turns as RTTM and SegLST, no words)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli import options as opt
from notsofar.cli.common import ConfigOption, QuietOption, SetOption, handle_errors


@handle_errors
def diarize_cmd(
    audio: Annotated[
        Path,
        typer.Argument(
            help="Audio file (with --channel speakers also a folder of one file per speaker)."
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    config: ConfigOption = None,
    sets: SetOption = None,
    channel: opt.ChannelOption = None,
    device: opt.DeviceOption = None,
    num_speakers: opt.NumSpeakersOption = None,
    min_speakers: opt.MinSpeakersOption = None,
    max_speakers: opt.MaxSpeakersOption = None,
    json_: opt.JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Diarize one recording: writes <name>.rttm and <name>.diarization.seglst.json.

    Takes the transcribe config: --set diarize.num_speakers=2 (or num_speakers=2)."""
    from notsofar import io
    from notsofar.cli.common import write_resolved_config
    from notsofar.cli.options import transcribe_config
    from notsofar.cli.summary import emit
    from notsofar.data import safe_id
    from notsofar.diarize import diarize_source
    from notsofar.diarize.tracks import diarize_tracks, speaker_files, tracks_levels, tracks_note
    from notsofar.pipeline.batch import check_writable
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import FileSource

    speakers = (num_speakers, min_speakers, max_speakers)
    cfg = transcribe_config(config, sets, "diarize", device, channel, speakers)
    if cfg.channel == "speakers" and audio.is_dir():
        # one file per speaker: the folder is the recording
        files = speaker_files(audio)
        name, duration = safe_id(audio.resolve().name), 0.0
        for f in files:  # one-line errors for unreadable files before any work
            duration = max(duration, FileSource(f, "mix").duration_s)
        check_writable(out_dir)
        turns, spans = diarize_tracks(files, cfg.diarize, cfg.crosstalk_db, name)
        notes = [tracks_note(len(spans), files=True)]
    elif (levels := tracks_levels(audio, cfg.channel)) is not None:
        source = FileSource(audio, 0)
        name, duration = source.name, source.duration_s
        check_writable(out_dir)
        turns, spans = diarize_tracks(audio, cfg.diarize, cfg.crosstalk_db, source.name, levels)
        notes = [tracks_note(len(spans))]
    else:
        source = FileSource(audio, cfg.channel)
        check_writable(out_dir)
        notes = []
        name, duration = source.name, source.duration_s
        turns = diarize_source(source, cfg.diarize, ModelCache(cfg.device), notice=notes.append)
    for note in notes if not quiet else ():
        print(f"notsofar: {name}: {note}", file=sys.stderr)
    # file names keep the recording's; ids have no spaces
    stem = audio.resolve().name if audio.is_dir() else audio.name.split(".")[0]
    outputs = [out_dir / f"{stem}.rttm", out_dir / f"{stem}.diarization.seglst.json"]
    for path in outputs:
        io.write(path, turns)
    write_resolved_config(cfg, out_dir, f"{stem}.diarize")
    summary = {
        "session": name,
        "duration_s": round(duration, 3),
        "speakers": len(turns.speakers),
        "turns": len(turns),
        "outputs": [str(p) for p in outputs],
        "notes": notes,
    }
    emit(
        summary,
        f"{name}: {len(turns.speakers)} speaker(s), {len(turns)} turn(s) -> {out_dir}",
        json_,
        quiet,
    )
