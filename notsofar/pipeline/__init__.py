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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from notsofar.data import Transcript
from notsofar.pipeline.config import TranscribeConfig

if TYPE_CHECKING:
    from notsofar.pipeline.source import AudioSource

__all__ = ["Result", "TranscribeConfig", "multichannel_entry", "transcribe", "transcribe_source"]


@dataclass(frozen=True)
class Result:
    """A transcribed session: words by speaker, the speaker turns, and the speech found."""

    transcript: Transcript
    diarization: Transcript
    duration_s: float
    regions: tuple[tuple[float, float], ...] = ()

    @property
    def speakers(self) -> list[str]:
        return sorted(set(self.diarization.speakers) | set(self.transcript.speakers))


def multichannel_entry() -> Callable[..., Any] | None:
    """The multi-channel front end's entry point, if ``notsofar.enhance.pipeline`` provides it.

    It is called as ``transcribe_multichannel(paths, cfg, models=..., session_id=...)`` with the
    session's audio file(s) and the :class:`TranscribeConfig`, and returns a :class:`Result`
    or a :class:`~notsofar.data.Transcript`.
    """
    try:
        module = importlib.import_module("notsofar.enhance.pipeline")
    except ModuleNotFoundError:
        return None
    return getattr(module, "transcribe_multichannel", None)


def transcribe_source(
    source: AudioSource,
    cfg: TranscribeConfig,
    models: Any,
    on_progress: Callable[[float], None] | None = None,
    asr_source: AudioSource | None = None,
) -> Result:
    """Diarize and recognize one mono source in a single streamed pass over its speech.

    Args:
        source: the audio (see :mod:`notsofar.pipeline.source`).
        cfg: the transcribe settings.
        models: a :class:`~notsofar.pipeline.models.ModelCache`.
        on_progress: called with the audio time (s) processed so far.
        asr_source: a time-aligned version of ``source`` for Whisper only (e.g. restored audio);
            VAD and speaker embeddings still read ``source``. None: Whisper reads ``source``.
    """
    from notsofar.diarize import Embeddings, embed_chunk, plan_chunks
    from notsofar.recognize import CHUNK_PAD_S, recognize_span
    from notsofar.recognize import backend as asr_backend
    from notsofar.recognize.attribute import attribute
    from notsofar.vad import source_regions

    asr_backend(cfg.asr).prepare(cfg.asr, models)
    regions = source_regions(source, cfg.diarize.vad)
    if on_progress:
        on_progress(0.0)
    recognize_chunk = asr_backend(cfg.asr).recognize_chunk
    emb = Embeddings()
    groups = []
    duration = source.duration_s
    for a, b, chunk_regions in plan_chunks(regions, min(cfg.diarize.chunk_s, cfg.asr.chunk_s)):
        pa, pb = max(0.0, a - CHUNK_PAD_S), min(duration, b + CHUNK_PAD_S)
        audio = source.read(pa, pb - pa)
        emb.add(*embed_chunk(audio, pa, chunk_regions, cfg.diarize, models))
        asr_audio = audio if asr_source is None else asr_source.read(pa, pb - pa)
        groups.extend(
            recognize_span(recognize_chunk, asr_audio, pa, chunk_regions, cfg.asr, models)
        )
        if on_progress:
            on_progress(b)
    diarization = emb.finish(regions, cfg.diarize, source.name)
    transcript = attribute(groups, diarization, source.name, cfg.asr.max_gap_s)
    if on_progress:
        on_progress(duration)
    return Result(transcript, diarization, duration, tuple(regions))


def transcribe(
    audio: np.ndarray,
    sample_rate: int,
    cfg: TranscribeConfig | None = None,
    models: Any = None,
    session_id: str = "audio",
    channel: int | str | None = None,
    device: str | None = None,
) -> Transcript:
    """Who said what, when, in ``audio``: speaker-attributed words with timings.

    Args:
        audio: float samples ``[T]`` or ``[C, T]`` at any rate (``channel`` picks or mixes).
        sample_rate: rate of ``audio``.
        cfg: transcribe settings (defaults if None).
        models: a :class:`~notsofar.pipeline.models.ModelCache` to reuse across calls.
        session_id: written into every segment.
        channel: overrides ``cfg.channel`` (as ``notsofar transcribe --channel`` does).
        device: overrides ``cfg.device`` (as ``--device`` does).
    """
    import dataclasses

    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import ArraySource

    cfg = cfg or TranscribeConfig()
    if channel is not None:
        cfg = dataclasses.replace(cfg, channel=channel)
    if device is not None:
        cfg = dataclasses.replace(cfg, device=device)
    models = models or ModelCache(cfg.device, cfg.asr.cpu_threads)
    x = np.asarray(audio, dtype=np.float32)
    if cfg.restore.enabled:
        from notsofar.restore import restore_array

        x = restore_array(x, sample_rate, cfg.restore)
    source = ArraySource.from_array(x, sample_rate, cfg.channel, name=session_id)
    return transcribe_source(source, cfg, models).transcript
