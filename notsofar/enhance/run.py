"""File-level driver of the front end (what ``notsofar enhance`` runs for each input)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from notsofar.data import Transcript
from notsofar.enhance import EnhanceConfig, EnhanceResult, enhance
from notsofar.enhance.channels import read_multichannel


def session_name(path: str | Path) -> str:
    """``mc_plaza_0`` for a channel folder, the file stem (without all suffixes) for a file."""
    path = Path(path)
    return path.name if path.is_dir() else path.name.split(".")[0]


def enhance_file(
    path: str | Path,
    out_dir: str | Path,
    cfg: EnhanceConfig | None = None,
    diarization: Transcript | None = None,
    diarize_cfg: Any = None,
    models: Any = None,
    log: Callable[[str], None] | None = None,
    device: str | None = None,
) -> list[Path]:
    """Enhance one recording and write ``<out_dir>/<name>/<speaker>.wav`` (+ diarization files).

    ``diarization`` (e.g. read from an RTTM) is filtered to this recording's session when it
    holds several sessions; ``device`` (``auto``, ``cpu``, ``cuda``) places the speaker encoders
    when no ``models`` cache is given. Returns the written speaker wav paths.
    """
    from notsofar import io
    from notsofar.audio import write
    from notsofar.io.atomic import write_text

    name = session_name(path)
    cfg = cfg or EnhanceConfig()
    if models is None and device is not None:
        from notsofar.pipeline.models import ModelCache

        models = ModelCache(device)
    audio = read_multichannel(path, dtype=cfg.storage)
    if diarization is not None and len(diarization.session_ids) > 1:
        diarization = diarization.filter(lambda s: s.session_id == name)
    result: EnhanceResult = enhance(
        audio, 16000, cfg, diarization, diarize_cfg, models, session_id=name, log=log, inplace=True
    )
    del audio
    folder = Path(out_dir) / name
    written = []
    for speaker in result.speakers:
        written.append(write(folder / f"{speaker}.wav", result.speaker_audio(speaker), 16000))
    used = result.diarization.with_session_id(name)
    io.write(folder / "diarization.rttm", used)
    io.write(folder / "diarization.seglst.json", used)
    info = {
        "directions_deg": result.directions,
        "notices": list(result.notices),
        "speakers": list(result.speakers),
    }
    write_text(folder / "enhance.json", json.dumps(info, indent=2) + "\n")
    return written
