"""``notsofar diarize``: who spoke when (speaker turns as RTTM and SegLST, no words)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli.common import ConfigOption, QuietOption, SetOption, console, handle_errors

ChannelOption = Annotated[
    str, typer.Option("--channel", help="Channel index or 'mix' for multi-channel audio.")
]
DeviceOption = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]


def parse_channel(channel: str) -> int | str:
    return (
        channel if channel == "mix" else int(channel) if channel.lstrip("-").isdigit() else channel
    )


@handle_errors
def diarize_cmd(
    audio: Annotated[Path, typer.Argument(help="Audio file.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    config: ConfigOption = None,
    sets: SetOption = None,
    channel: ChannelOption = "0",
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
) -> None:
    """Diarize one recording: writes <name>.rttm and <name>.diarization.seglst.json."""
    from notsofar import io
    from notsofar.cli.common import load_stage_config, write_resolved_config
    from notsofar.diarize import diarize_source
    from notsofar.diarize.config import DiarizeConfig
    from notsofar.pipeline.batch import check_writable
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import FileSource

    cfg = load_stage_config(DiarizeConfig, config, sets)
    source = FileSource(audio, parse_channel(channel))
    check_writable(out_dir)
    turns = diarize_source(source, cfg, ModelCache(device))
    stem = audio.name.split(".")[0]  # file names keep the recording's; ids have no spaces
    io.write(out_dir / f"{stem}.rttm", turns)
    io.write(out_dir / f"{stem}.diarization.seglst.json", turns)
    write_resolved_config(cfg, out_dir, f"{stem}.diarize")
    console(quiet).print(
        f"{source.name}: {len(turns.speakers)} speaker(s), {len(turns)} turn(s) -> {out_dir}"
    )
