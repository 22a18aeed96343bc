"""``notsofar diarize``: who spoke when (speaker turns as RTTM and SegLST, no words)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from notsofar.cli import options as opt
from notsofar.cli.common import ConfigOption, QuietOption, SetOption, handle_errors


@handle_errors
def diarize_cmd(
    audio: Annotated[
        Path,
        typer.Argument(
            help="Audio file (with --channel speakers also a folder of one file per speaker; "
            "with --set array=NAME a multi-channel file or a folder of channel files, and a "
            "NOTSOFAR mc_<device>/ folder, take the multi-channel front end's diarization)."
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
    speaker_samples: opt.SpeakerSamplesOption = None,
    json_: opt.JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Diarize one recording: writes <name>.rttm and <name>.diarization.seglst.json.

    Takes the transcribe config: --set diarize.num_speakers=2 (or num_speakers=2)."""
    from notsofar import io
    from notsofar.arrays import mono_array_note
    from notsofar.cli.common import write_resolved_config
    from notsofar.cli.options import transcribe_config
    from notsofar.cli.summary import emit
    from notsofar.data import safe_id
    from notsofar.diarize import diarize_source
    from notsofar.diarize.identify import rename
    from notsofar.diarize.tracks import (
        channel_sources,
        diarize_tracks,
        name_tracks,
        speaker_files,
        tracks_levels,
        tracks_notes,
    )
    from notsofar.pipeline.batch import check_writable
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import FileSource

    speakers = (num_speakers, min_speakers, max_speakers)
    cfg = transcribe_config(config, sets, "diarize", device, channel, speakers, speaker_samples)
    # one speaker per file (a folder: the folder is the recording) or per channel (a file)
    folder = cfg.channel == "speakers" and audio.is_dir()
    array = array_of(audio, cfg)  # several channels of a known geometry: the front end
    levels = None if folder or array is not None else tracks_levels(audio, cfg.channel)
    if folder or levels is not None:
        tracks = speaker_files(audio) if folder else audio
        name = safe_id(audio.resolve().name) if folder else FileSource(audio, 0).name
        # one-line errors for unreadable files before any work
        duration = max(s.duration_s for s in channel_sources(tracks, name))
        check_writable(out_dir)
        turns, spans = diarize_tracks(tracks, cfg.diarize, cfg.crosstalk_db, name, levels)
        notes = tracks_notes(spans, cfg.diarize, files=folder)
        if cfg.diarize.speaker_samples:
            names, note = name_tracks(tracks, turns, cfg.diarize, ModelCache(cfg.device), name)
            turns = rename(turns, names)
            notes.append(note)
    elif array is not None:
        import dataclasses

        from notsofar.audio import info
        from notsofar.enhance.channels import input_files
        from notsofar.enhance.pipeline import diarize_multichannel

        cfg = dataclasses.replace(cfg, array=array)
        name = safe_id(audio.resolve().name) if audio.is_dir() else FileSource(audio, 0).name
        duration = info(input_files(audio)[0]).duration_s
        check_writable(out_dir)
        # the front end's notices name the session already
        said: list[str] = []
        turns = diarize_multichannel(audio, cfg, ModelCache(cfg.device), name, said.append)
        notes = [n.removeprefix(f"{name}: ") for n in said]
    else:
        source = FileSource(audio, cfg.channel)
        check_writable(out_dir)
        notes = []
        if cfg.array not in (None, "none") and source.info.num_channels == 1:
            notes.append(mono_array_note(cfg.array))
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


def array_of(audio: Path, cfg: Any) -> str | None:
    """The geometry the multi-channel front end diarizes ``audio`` with, as ``transcribe``
    picks it: ``cfg.array`` for a file or folder of several channels, ``notsofar_mc`` for a
    NOTSOFAR ``mc_<device>/`` folder of 7 channel files when ``cfg.array`` is unset; None
    for the single-channel path."""
    from notsofar.audio import info
    from notsofar.enhance.channels import channel_files, input_files, is_channel_folder
    from notsofar.pipeline.batch import NOTSOFAR_ARRAY, NOTSOFAR_CHANNELS

    if cfg.channel == "speakers" or not audio.exists():
        return None  # the other paths name a missing file
    if cfg.array is None and audio.is_dir() and is_channel_folder(audio):
        return NOTSOFAR_ARRAY if len(channel_files(audio)) == NOTSOFAR_CHANNELS else None
    if cfg.array in (None, "none"):
        return None
    files = input_files(audio)
    return cfg.array if len(files) > 1 or info(files[0]).num_channels > 1 else None
