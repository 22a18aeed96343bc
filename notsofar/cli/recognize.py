"""``notsofar recognize``: what was said, attributed to the speakers of a given diarization."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli.common import ConfigOption, QuietOption, SetOption, console, handle_errors
from notsofar.cli.diarize import ChannelOption, DeviceOption, parse_channel


@handle_errors
def recognize_cmd(
    audio: Annotated[Path, typer.Argument(help="Audio file.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    diarization: Annotated[
        Path | None,
        typer.Option("--diarization", "-d", help="Speaker turns (.rttm, .seglst.json, ...)."),
    ] = None,
    config: ConfigOption = None,
    sets: SetOption = None,
    channel: ChannelOption = "0",
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
) -> None:
    """Recognize one recording: writes <name>.seglst.json/.srt/.vtt/.txt/.words.json."""
    from notsofar import io
    from notsofar.cli.common import load_stage_config, write_resolved_config
    from notsofar.data import safe_id
    from notsofar.io.atomic import write_text
    from notsofar.pipeline.batch import check_writable, words_json
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import FileSource
    from notsofar.recognize import recognize_source
    from notsofar.recognize.config import RecognizeConfig

    cfg = load_stage_config(RecognizeConfig, config, sets)
    source = FileSource(audio, parse_channel(channel))
    turns = io.read(diarization) if diarization is not None else None
    if turns is not None and len(turns.session_ids) > 1:
        turns = turns.filter(lambda s: safe_id(s.session_id) == source.name)
    check_writable(out_dir)
    models = ModelCache(device, cfg.cpu_threads)
    transcript = recognize_source(source, turns, cfg, models)
    stem = audio.name.split(".")[0]  # file names keep the recording's; ids have no spaces
    for suffix in (".seglst.json", ".srt", ".vtt", ".txt"):
        io.write(out_dir / f"{stem}{suffix}", transcript)
    write_text(out_dir / f"{stem}.words.json", words_json(transcript))
    write_resolved_config(cfg, out_dir, f"{stem}.recognize")
    console(quiet).print(
        f"{source.name}: {transcript.num_words} word(s), "
        f"{len(transcript.speakers)} speaker(s) -> {out_dir}"
    )
