"""``notsofar enhance``: the multi-channel front end alone, one enhanced wav per speaker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli.common import ConfigOption, QuietOption, SetOption, console, handle_errors
from notsofar.cli.options import DeviceOption, JsonOption


@handle_errors
def enhance_command(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Multi-channel audio files or folders of ch0.wav..chN.wav."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    array: Annotated[
        str | None,
        typer.Option(help="Array: built-in name or geometry YAML [config: notsofar_mc]."),
    ] = None,
    diarization: Annotated[
        Path | None,
        typer.Option(help="Guide the separation with this RTTM/SegLST instead of diarizing."),
    ] = None,
    config: ConfigOption = None,
    set_: SetOption = None,
    device: DeviceOption = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Dereverberate, diarize (voice + direction) and separate: writes <out>/<name>/<speaker>.wav."""
    from notsofar.cli.common import load_stage_config, write_resolved_config
    from notsofar.cli.summary import emit
    from notsofar.enhance import EnhanceConfig
    from notsofar.enhance.run import enhance_file, session_name
    from notsofar.errors import EXIT_PARTIAL, NotsofarError
    from notsofar.pipeline.models import ModelCache

    sets = list(set_ or []) + ([f"array={array}"] if array is not None else [])
    cfg = load_stage_config(EnhanceConfig, config, sets)
    con = console(quiet)
    guide = None
    if diarization is not None:
        from notsofar.io import read

        guide = read(diarization)
    models = ModelCache(device or "auto")  # one cache for every input (enhance_file's device)
    failed = 0
    summary = []
    for path in inputs:
        try:
            written = enhance_file(
                path, out, cfg, guide, models=models, log=lambda m: con.print(m, soft_wrap=True)
            )
            summary.append(
                {"input": str(path), "status": "done", "outputs": [str(p) for p in written]}
            )
        except NotsofarError as e:
            if len(inputs) == 1:
                raise
            failed += 1
            summary.append({"input": str(path), "status": "failed", "error": str(e)})
            print(f"notsofar: error: {e}", file=sys.stderr)  # one line, never wrapped
    write_resolved_config(cfg, out, "enhance")
    lines = [
        f"{s['input']}: {len(s['outputs'])} speaker stream(s) -> {out / session_name(s['input'])}"
        for s in summary
        if s["status"] == "done"
    ]
    emit(summary, "\n".join(lines), json_, quiet)
    if failed:
        raise typer.Exit(EXIT_PARTIAL)
