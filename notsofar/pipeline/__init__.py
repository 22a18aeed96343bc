"""``transcribe``: the whole path from a recording to who said what, when.

One pass streams the audio through VAD; then each chunk of speech (at most ``chunk_s``, cut in
silence) is read once and given to both the speaker encoder and the recognizer, so memory stays
flat however long the recording is. Embeddings are clustered at the end, and words are
attributed to the resulting speaker turns.

Multi-channel input with an ``array`` geometry goes to the multi-channel front end through one
dispatch point, :func:`multichannel_entry`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from notsofar.data import Transcript
from notsofar.pipeline.config import TranscribeConfig
from notsofar.pipeline.single import Result, transcribe_source

__all__ = ["Result", "TranscribeConfig", "multichannel_entry", "transcribe", "transcribe_source"]


def multichannel_entry(name: str = "transcribe_multichannel") -> Callable[..., Any] | None:
    """The multi-channel front end's entry point, if ``notsofar.enhance.pipeline`` provides it.

    ``transcribe_multichannel`` is called as ``transcribe_multichannel(paths, cfg, models=...,
    session_id=..., notice=..., on_progress=...)`` with the session's audio file(s) and the
    :class:`TranscribeConfig`, and returns a :class:`Result` (its ``array`` says whether the
    front end ran or fell back to the single-channel path) or a :class:`~notsofar.data.Transcript`;
    ``transcribe_array`` takes ``[C, T]`` 16 kHz samples instead of the paths.
    """
    try:
        module = importlib.import_module("notsofar.enhance.pipeline")
    except ModuleNotFoundError:
        return None
    return getattr(module, name, None)


def transcribe(
    audio: np.ndarray,
    sample_rate: int,
    cfg: TranscribeConfig | None = None,
    models: Any = None,
    session_id: str = "audio",
    channel: int | str | None = None,
    device: str | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    speaker_samples: str | Path | None = None,
    notice: Callable[[str], None] | None = None,
) -> Transcript:
    """Who said what, when, in ``audio``: speaker-attributed words with timings.

    Args:
        audio: float samples ``[T]`` or ``[C, T]`` at any rate (``channel`` picks or mixes;
            with ``cfg.array`` naming a geometry, the channels go through the multi-channel
            front end in the geometry's order, as ``notsofar transcribe --set array=...``).
        sample_rate: rate of ``audio``.
        cfg: transcribe settings (defaults if None).
        models: a :class:`~notsofar.pipeline.models.ModelCache` to reuse across calls.
        session_id: written into every segment.
        channel: overrides ``cfg.channel`` (as ``notsofar transcribe --channel`` does).
        device: overrides ``cfg.device`` (as ``--device`` does).
        num_speakers, min_speakers, max_speakers: override ``cfg.diarize``'s (as
            ``--num-speakers`` etc. do).
        speaker_samples: a folder of voice samples (``Alice.wav`` or ``Alice/``) to name the
            speakers after (as ``--speaker-samples`` does; :mod:`notsofar.diarize.identify`).
        notice: receives the one-line notices ``notsofar transcribe`` prints (no speech found,
            telephone-band settings, one speaker per channel, ...).
    """
    import dataclasses

    from notsofar.diarize.tracks import array_tracks
    from notsofar.pipeline.config import with_speakers
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import ArraySource
    from notsofar.pipeline.tracks import transcribe_tracks

    cfg = cfg or TranscribeConfig()
    if channel is not None:
        cfg = dataclasses.replace(cfg, channel=channel)
    if device is not None:
        cfg = dataclasses.replace(cfg, device=device)
    speakers = with_speakers(cfg.diarize, num_speakers, min_speakers, max_speakers, speaker_samples)
    cfg = dataclasses.replace(cfg, diarize=speakers)
    models = models or ModelCache(cfg.device, cfg.asr.cpu_threads)
    x = np.asarray(audio, dtype=np.float32)
    # an array geometry: the multi-channel front end, as `notsofar transcribe` runs it
    named = cfg.array not in (None, "none")
    array = x.ndim == 2 and len(x) > 1 and named
    entry = multichannel_entry("transcribe_array") if array and cfg.channel != "speakers" else None
    tracks = None if entry is not None else array_tracks(x, sample_rate, cfg.channel, session_id)
    if entry is not None:
        from notsofar.audio import resample

        quiet = notice or (lambda _msg: None)
        x16 = resample(x, sample_rate, 16000)
        x16 = x16.copy() if np.shares_memory(x16, x) else x16  # WPE runs in place
        result = entry(x16, cfg, models, session_id, notice=quiet)
    elif tracks is not None:
        result = transcribe_tracks(tracks[0], cfg, models, session_id, levels=tracks[1])
    else:
        if named and notice and (x.ndim == 1 or len(x) == 1):
            from notsofar.arrays import mono_array_note

            notice(mono_array_note(cfg.array))  # as `notsofar transcribe` says on a mono file
        if cfg.restore.enabled:
            from notsofar.restore import restore_array

            x = restore_array(x, sample_rate, cfg.restore)
        source = ArraySource.from_array(x, sample_rate, cfg.channel, name=session_id)
        result = transcribe_source(source, cfg, models)
    for note in result.notes if notice else ():
        notice(note)
    return result.transcript
