"""Options that mean the same on every command that has them, and the one config tree that
``transcribe``, ``diarize`` and ``recognize`` share.

``diarize`` and ``recognize`` read the transcribe config (``configs/transcribe/*.yaml``), so
``--set diarize.num_speakers=2``, ``--set asr.model=large-v3``, ``--set device=cuda`` and
``--config`` files work alike on all three. A stage's own file (``configs/diarize/*.yaml``) and
its bare keys (``--set num_speakers=2`` on ``diarize``) are still read, as that section.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer

DeviceOption = Annotated[
    str | None,
    typer.Option(
        "--device",
        metavar="auto|cpu|cuda",
        help="Where the models run: auto (CUDA when available), cpu or cuda [config: device].",
    ),
]
ChannelOption = Annotated[
    str | None,
    typer.Option(
        "--channel",
        metavar="INDEX|mix|auto|speakers",
        help="Channel of multi-channel audio: an index, mix (their average), speakers (one "
        "close microphone per speaker: speaker k is channel k; on a folder, one file per "
        "speaker, named after it), or auto (stereo: speakers when "
        "the channels take turns being much louder, else their average; more channels: 0) "
        "[config: channel].",
    ),
]
NumSpeakersOption = Annotated[
    int | None,
    typer.Option(
        "--num-speakers",
        min=1,
        help="The number of speakers, when known (default: estimated) [config: "
        "diarize.num_speakers].",
    ),
]
MinSpeakersOption = Annotated[
    int | None,
    typer.Option(
        "--min-speakers", min=1, help="At least this many speakers [config: diarize.min_speakers]."
    ),
]
MaxSpeakersOption = Annotated[
    int | None,
    typer.Option(
        "--max-speakers", min=1, help="At most this many speakers [config: diarize.max_speakers]."
    ),
]
SpeakerSamplesOption = Annotated[
    Path | None,
    typer.Option(
        "--speaker-samples",
        metavar="DIR",
        help="A folder of voice samples of the people who may take part (Alice.wav, or "
        "Alice/ with several files): speakers whose voice matches are named after them, the "
        "others stay spk<k> [config: diarize.speaker_samples].",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print the summary as JSON on stdout (instead of the table)."),
]


def transcribe_config(
    config: Path | None,
    sets: list[str] | None,
    section: str | None = None,
    device: str | None = None,
    channel: str | None = None,
    speakers: tuple[int | None, int | None, int | None] = (None, None, None),
    samples: Path | None = None,
) -> Any:
    """The :class:`~notsofar.pipeline.config.TranscribeConfig` from ``--config``, ``--set`` and
    ``--device``/``--channel``/``--num-speakers``/``--min-speakers``/``--max-speakers``
    (``speakers``, in that order) and ``--speaker-samples`` (``samples``, checked here: a
    one-line error before any work); these win over both.

    With ``section`` (``diarize`` or ``asr``), a config file whose keys are that section's
    (a stage file such as ``configs/diarize/campplus.yaml``) fills that section, and a ``--set``
    key that is not a transcribe key is taken as that section's (``num_speakers=2``).
    """
    from notsofar.config import load_config, read_yaml
    from notsofar.pipeline.config import TranscribeConfig

    top = {f.name for f in dataclasses.fields(TranscribeConfig)}
    base = None
    if config is not None and section is not None:
        data = read_yaml(config)
        if data and not set(data) <= top:  # a stage file
            stage = load_config(type(getattr(TranscribeConfig(), section)), config)
            base = dataclasses.replace(TranscribeConfig(), **{section: stage})
            config = None
    overrides = []
    for item in sets or []:
        key = item.split("=", 1)[0].strip()
        if section is not None and "=" in item and key.split(".")[0] not in top:
            item = f"{section}.{item.strip()}"
        overrides.append(item)
    if device is not None:
        overrides.append(f"device={device}")
    if channel is not None:
        overrides.append(f"channel={channel}")
    for key, value in zip(("num_speakers", "min_speakers", "max_speakers"), speakers, strict=True):
        if value is not None:
            overrides.append(f"diarize.{key}={value}")
    if samples is not None:
        overrides.append(f"diarize.speaker_samples={json.dumps(str(samples.resolve()))}")
    cfg = load_config(TranscribeConfig, config, overrides, base=base)
    if cfg.diarize.speaker_samples:
        from notsofar.diarize.identify import check_samples

        check_samples(cfg.diarize.speaker_samples)
    return cfg
