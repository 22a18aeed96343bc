"""``notsofar recognize``: what was said, attributed to the speakers of a given diarization."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli.common import ConfigOption, QuietOption, SetOption, handle_errors
from notsofar.cli.options import ChannelOption, DeviceOption, JsonOption


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
    channel: ChannelOption = None,
    device: DeviceOption = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Recognize one recording: writes <name>.seglst.json/.srt/.vtt/.txt/.words.json.

    Takes the transcribe config: --set asr.model=large-v3 (or model=large-v3)."""
    from notsofar import io
    from notsofar.cli.common import write_resolved_config
    from notsofar.cli.options import transcribe_config
    from notsofar.cli.summary import emit
    from notsofar.data import safe_id
    from notsofar.io.atomic import write_text
    from notsofar.pipeline.batch import check_writable, words_json
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import FileSource
    from notsofar.recognize import recognize_source

    cfg = transcribe_config(config, sets, "asr", device, channel)
    source = FileSource(audio, cfg.channel)
    turns = io.read(diarization) if diarization is not None else None
    if turns is not None and len(turns.session_ids) > 1:
        turns = turns.filter(lambda s: safe_id(s.session_id) == source.name)
    check_writable(out_dir)
    models = ModelCache(cfg.device, cfg.asr.cpu_threads)
    transcript = recognize_source(source, turns, cfg.asr, models)
    stem = audio.name.split(".")[0]  # file names keep the recording's; ids have no spaces
    outputs = [out_dir / f"{stem}{s}" for s in (".seglst.json", ".srt", ".vtt", ".txt")]
    for path in outputs:
        io.write(path, transcript)
    outputs.append(write_text(out_dir / f"{stem}.words.json", words_json(transcript)))
    write_resolved_config(cfg, out_dir, f"{stem}.recognize")
    summary = {
        "session": source.name,
        "duration_s": round(source.duration_s, 3),
        "speakers": len(transcript.speakers),
        "words": transcript.num_words,
        "outputs": [str(p) for p in outputs],
    }
    emit(
        summary,
        f"{source.name}: {transcript.num_words} word(s), "
        f"{len(transcript.speakers)} speaker(s) -> {out_dir}",
        json_,
        quiet,
    )
