"""Diarization: who spoke when.

:func:`diarize` takes audio and returns a :class:`~notsofar.data.Transcript` of speaker turns
(``words`` empty). Steps: Silero VAD (:mod:`notsofar.vad`) -> speaker embeddings on sliding
windows over speech (backend, by name in :data:`BACKENDS`) -> clustering with speaker-count
estimation and resegmentation (:mod:`notsofar.diarize.cluster`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from notsofar.data import Transcript
from notsofar.diarize.config import BACKENDS, DiarizeConfig

if TYPE_CHECKING:
    from notsofar.pipeline.source import AudioSource

__all__ = [
    "BACKENDS",
    "DiarizeConfig",
    "diarize",
    "diarize_source",
    "accumulator",
    "embed_chunk",
    "finish_notes",
    "plan_chunks",
]


def backend(cfg: DiarizeConfig) -> Any:
    return importlib.import_module(BACKENDS[cfg.backend])


def embed_chunk(
    audio: np.ndarray,
    start_s: float,
    regions: list[tuple[float, float]],
    cfg: DiarizeConfig,
    models: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Window spans and embeddings of one 16 kHz chunk starting at ``start_s``: the configured
    backend's, with each window's pitch appended when ``cfg.pitch_weight`` > 0
    (:mod:`notsofar.diarize.pitch`)."""
    spans, vectors = backend(cfg).embed_chunk(audio, start_s, regions, cfg, models)
    if cfg.pitch_weight > 0 and len(spans):
        from notsofar.diarize.pitch import append_pitch, window_pitch

        vectors = append_pitch(vectors, window_pitch(audio, start_s, spans, cfg), cfg)
    return spans, vectors


def plan_chunks(
    regions: list[tuple[float, float]], chunk_s: float
) -> list[tuple[float, float, list[tuple[float, float]]]]:
    """Group consecutive speech regions into spans of at most ``chunk_s`` (cut in silence).

    A single region longer than ``chunk_s`` is cut into pieces of ``chunk_s``.

    >>> plan_chunks([(0.0, 5.0), (6.0, 9.0), (20.0, 22.0)], chunk_s=10.0)
    [(0.0, 9.0, [(0.0, 5.0), (6.0, 9.0)]), (20.0, 22.0, [(20.0, 22.0)])]
    """
    pieces: list[tuple[float, float]] = []
    for a, b in regions:
        while b - a > chunk_s:
            pieces.append((a, a + chunk_s))
            a += chunk_s
        pieces.append((a, b))
    chunks: list[tuple[float, float, list[tuple[float, float]]]] = []
    for a, b in pieces:
        if chunks and b - chunks[-1][0] <= chunk_s:
            chunks[-1] = (chunks[-1][0], b, chunks[-1][2] + [(a, b)])
        else:
            chunks.append((a, b, [(a, b)]))
    return chunks


class Embeddings:
    """Window spans and embeddings gathered chunk by chunk, then clustered once (the
    sliding-window backends)."""

    def __init__(self, cfg: DiarizeConfig, models: Any) -> None:
        self.cfg = cfg
        self.models = models
        self.spans: list[np.ndarray] = []
        self.vectors: list[np.ndarray] = []

    def add(self, audio: np.ndarray, start_s: float, regions: list[tuple[float, float]]) -> None:
        spans, vectors = embed_chunk(audio, start_s, regions, self.cfg, self.models)
        self.spans.append(spans)
        self.vectors.append(vectors)

    def finish(
        self, regions: list[tuple[float, float]], cfg: DiarizeConfig, session_id: str
    ) -> Transcript:
        from notsofar.diarize.cluster import cluster, embedding_space, resegment

        if not self.spans or sum(len(s) for s in self.spans) == 0:
            return Transcript()
        spans = np.concatenate(self.spans)
        raw = np.concatenate(self.vectors)
        vectors = embedding_space(raw, cfg)
        centroids = cluster(vectors, cfg, spans=spans, raw=raw)
        return resegment(regions, spans, vectors, centroids, cfg, session_id)


def accumulator(cfg: DiarizeConfig, models: Any) -> Any:
    """What gathers one recording's chunks for the configured backend: ``add(audio, start_s,
    regions)`` per chunk of speech, then ``finish(regions, cfg, session_id) -> Transcript``."""
    module = backend(cfg)
    if hasattr(module, "Accumulator"):
        return module.Accumulator(cfg, models)
    return Embeddings(cfg, models)


def finish_notes(emb: Any, regions: list[tuple[float, float]], cfg: DiarizeConfig) -> list[str]:
    """The notices of a finished :func:`accumulator` (e.g. telephone-band clustering), and one
    when the VAD found no speech at all."""
    notes = list(getattr(emb, "notes", ()))
    if not regions:
        from notsofar.vad import no_speech_note

        notes.append(no_speech_note(cfg.vad))
    return notes


def diarize_source(
    source: AudioSource,
    cfg: DiarizeConfig,
    models: Any = None,
    regions: list[tuple[float, float]] | None = None,
    on_chunk: Callable[[float], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> Transcript:
    """Diarize an :class:`~notsofar.pipeline.source.AudioSource`, streaming it chunk by chunk.

    Args:
        source: the audio.
        cfg: diarization settings.
        models: a :class:`~notsofar.pipeline.models.ModelCache` (a CPU one is made if None).
        regions: speech regions if already known (VAD is run otherwise).
        on_chunk: called with the end time (s) of each processed chunk (progress bars).
        notice: receives one-line notices on how the recording was handled (e.g. telephone-band
            audio clustered with its own settings).
    """
    from notsofar.pipeline.models import ModelCache
    from notsofar.vad import source_regions

    models = models or ModelCache("cpu")
    if regions is None:
        regions = source_regions(source, cfg.vad)
    emb = accumulator(cfg, models)
    for a, b, chunk_regions in plan_chunks(regions, cfg.chunk_s):
        audio = source.read(a, b - a)
        emb.add(audio, a, chunk_regions)
        if on_chunk:
            on_chunk(b)
    turns = emb.finish(regions, cfg, source.name)
    notes = finish_notes(emb, regions, cfg)
    if cfg.speaker_samples:
        from notsofar.diarize.identify import identify, rename

        names, note = identify(source, turns, cfg, models)
        turns = rename(turns, names)
        notes.append(note)
    for note in notes if notice else ():
        notice(note)
    return turns


def diarize(
    audio: np.ndarray,
    sample_rate: int,
    cfg: Any = None,
    models: Any = None,
    channel: int | str | None = None,
    session_id: str = "audio",
    device: str | None = None,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    speaker_samples: str | Path | None = None,
    notice: Callable[[str], None] | None = None,
) -> Transcript:
    """Who spoke when in ``audio``: speaker turns with empty ``words``.

    Takes what ``notsofar diarize`` takes: the same config (a
    :class:`~notsofar.pipeline.config.TranscribeConfig`, whose ``diarize`` section, ``channel``
    and ``device`` are used, or a :class:`DiarizeConfig`), ``channel`` and ``device``.

    Args:
        audio: float samples ``[T]`` or ``[C, T]`` at any rate (``[C, T]`` with a
            :class:`~notsofar.pipeline.config.TranscribeConfig` whose ``array`` names a
            geometry is an error: that diarization is :func:`notsofar.enhance.diarize_array`).
        sample_rate: rate of ``audio``.
        cfg: diarization settings (defaults if None).
        models: a :class:`~notsofar.pipeline.models.ModelCache` to reuse across calls.
        channel: channel index, ``"mix"``, ``"speakers"`` (one close microphone per speaker:
            ``spk<k>`` is channel ``k``, see :mod:`notsofar.diarize.tracks`) or ``"auto"`` for
            multi-channel input (default: the config's, ``auto``: ``speakers`` for a stereo
            recording whose channels take turns being much louder, else a stereo recording's
            average, else channel 0).
        session_id: written into every segment.
        device: ``auto``, ``cpu`` or ``cuda`` when ``models`` is None (default: the config's,
            ``auto``).
        num_speakers, min_speakers, max_speakers: override the config's (as
            ``--num-speakers`` etc. do).
        speaker_samples: a folder of voice samples (``Alice.wav`` or ``Alice/``) to name the
            speakers after (as ``--speaker-samples`` does; :mod:`notsofar.diarize.identify`).
        notice: receives the one-line notices ``notsofar diarize`` prints (no speech found,
            telephone-band settings, one speaker per channel, ...).

    Returns:
        Turns labelled ``spk0``, ``spk1``, ... sorted by start time; empty for silence.
    """
    from notsofar.diarize.tracks import array_tracks, diarize_tracks, tracks_notes
    from notsofar.pipeline.config import TranscribeConfig, stage_settings, with_speakers
    from notsofar.pipeline.source import ArraySource

    whole = cfg if isinstance(cfg, TranscribeConfig) else TranscribeConfig()
    cfg, channel, models = stage_settings(cfg, "diarize", channel, device, models)
    cfg = with_speakers(cfg, num_speakers, min_speakers, max_speakers, speaker_samples)
    channels = np.shape(audio)[0] if np.ndim(audio) == 2 else 1
    named = whole.array not in (None, "none")
    if named and channel != "speakers" and channels > 1:
        from notsofar.errors import NotsofarError

        # the front end builds on this module: its diarization lives there (no import circle)
        raise NotsofarError(
            f"array={whole.array}: diarize() takes one channel of [C, T] samples (channel=...); "
            "the multi-channel diarization is notsofar.enhance.diarize_array (or notsofar "
            "diarize on the file)"
        )
    if named and channels == 1 and notice:
        from notsofar.arrays import mono_array_note

        notice(mono_array_note(whole.array))  # as `notsofar diarize` says on a mono file
    tracks = array_tracks(audio, sample_rate, channel, session_id)
    if tracks is not None:
        from notsofar.diarize.identify import rename
        from notsofar.diarize.tracks import name_tracks

        turns, spans = diarize_tracks(tracks[0], cfg, whole.crosstalk_db, session_id, tracks[1])
        names, note = name_tracks(tracks[0], turns, cfg, models, session_id)
        for line in tracks_notes(spans, cfg) + ([note] if note else []) if notice else ():
            notice(line)
        return rename(turns, names)
    source = ArraySource.from_array(audio, sample_rate, channel, name=session_id)
    return diarize_source(source, cfg, models, notice=notice)
