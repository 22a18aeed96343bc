"""Recognition: what was said, with word timings, attributed to the diarized speakers.

:func:`recognize` runs the ASR backend (by name in :data:`BACKENDS`) over speech chunks and
attributes each word to a speaker by time overlap with a diarization
(:func:`notsofar.recognize.attribute.attribute`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from notsofar.data import Transcript, Word
from notsofar.recognize.config import BACKENDS, RecognizeConfig

if TYPE_CHECKING:
    from notsofar.pipeline.source import AudioSource

#: seconds of context read on each side of a chunk of speech
CHUNK_PAD_S = 0.2

#: a Whisper segment that repeats the previous segment's words (at least ``ECHO_MIN_WORDS``)
#: in under this share of its time is dropped: Whisper echoing its prompt over speech it cannot
#: read, its words squeezed together (seen on the multi-channel path's enhanced streams: "God
#: bless and I hope I will be on the same system." three times in 0.4-1.4 s after its 2.9 s
#: original). People do say a sentence again, but not in half the time
ECHO_SHARE = 0.5
ECHO_MIN_WORDS = 3

__all__ = ["BACKENDS", "RecognizeConfig", "recognize", "recognize_source"]


def backend(cfg: RecognizeConfig) -> Any:
    return importlib.import_module(BACKENDS[cfg.backend])


def chunk_spans(
    regions: list[tuple[float, float]], duration_s: float, chunk_s: float
) -> list[tuple[float, float]]:
    """Spans to recognize: groups of speech regions of at most ``chunk_s``, padded, in bounds."""
    from notsofar.diarize import plan_chunks

    return [
        (max(0.0, a - CHUNK_PAD_S), min(duration_s, b + CHUNK_PAD_S))
        for a, b, _ in plan_chunks(regions, chunk_s)
    ]


def uncovered(
    regions: list[tuple[float, float]],
    groups: list[list[Word]],
    min_s: float,
    max_word_s: float = 0.0,
) -> list[tuple[float, float]]:
    """Stretches of speech at least ``min_s`` long on which no word was recognized; with
    ``max_word_s`` > 0 a word covers at most that long from its start.

    >>> uncovered([(0.0, 10.0)], [[Word("a", 0.5, 1.0), Word("b", 6.0, 6.4)]], 3.0)
    [(1.0, 6.0), (6.4, 10.0)]
    >>> uncovered([(0.0, 10.0)], [[Word("a", 0.5, 9.5)]], 3.0, max_word_s=1.5)
    [(2.0, 10.0)]
    """
    cap = max_word_s if max_word_s > 0 else np.inf
    from notsofar.vad import subtract_regions

    words = [(w.start_time, min(w.end_time, w.start_time + cap)) for g in groups for w in g]
    return subtract_regions(regions, words, min_s)


def drop_echoes(groups: list[list[Word]]) -> list[list[Word]]:
    """``groups`` (one decode's Whisper segments, in order) without the segments that echo
    the one before (see :data:`ECHO_SHARE`).

    >>> said = [Word("God", 68.9, 69.1), Word("bless", 69.1, 69.5), Word("them.", 69.5, 71.8)]
    >>> echo = [Word("God", 74.9, 75.1), Word("bless", 75.1, 75.2), Word("them.", 75.2, 75.2)]
    >>> again = [Word("God", 80.0, 80.3), Word("bless", 80.3, 80.8), Word("them.", 80.8, 82.6)]
    >>> [g[0].start_time for g in drop_echoes([said, echo, again])]
    [68.9, 80.0]
    """

    def text(words: list[Word]) -> list[str]:
        return [t for t in (re.sub(r"[^\w']", "", w.word.lower()) for w in words) if t]

    def span(words: list[Word]) -> float:
        return max(w.end_time or 0.0 for w in words) - (words[0].start_time or 0.0)

    out: list[list[Word]] = []
    last: list[str] = []  # the words of out[-1]
    for g in groups:
        words = text(g)
        if (
            out
            and len(words) >= ECHO_MIN_WORDS
            and words == last
            and span(g) < ECHO_SHARE * span(out[-1])
        ):
            continue
        out.append(g)
        last = words
    return out


def drop_loops(groups: list[list[Word]], max_ratio: float | None) -> list[list[Word]]:
    """``groups`` (Whisper segments) without those whose text repeats itself: a compression
    ratio (faster-whisper's ``get_compression_ratio``, Whisper's repetition test) above
    ``max_ratio`` (``RecognizeConfig.max_loop_ratio``; None keeps all).

    >>> said = [Word(w) for w in "He began a confused complaint against the wizard.".split()]
    >>> loop = [Word(w) for w in "thanks for joining us on this video,".split() * 12]
    >>> drop_loops([said, loop], 2.4) == [said], drop_loops([said, loop], None) == [said, loop]
    (True, True)
    """
    if max_ratio is None:
        return groups
    from faster_whisper.transcribe import get_compression_ratio

    return [
        g for g in groups if get_compression_ratio(" ".join(w.word.strip() for w in g)) <= max_ratio
    ]


def recognize_span(
    run: Callable[..., list[list[Word]]],
    audio: np.ndarray,
    start_s: float,
    regions: list[tuple[float, float]],
    cfg: RecognizeConfig,
    models: Any,
) -> list[list[Word]]:
    """Words of one chunk (``run`` is a backend's ``recognize_chunk``), then, when
    ``cfg.refill_gap_s`` > 0, each stretch of speech in ``regions`` that long which got no
    word is decoded again on its own: long-form Whisper sometimes jumps over 10-20 s of speech
    (a timestamp jump inside a 30 s window), and a fresh decode of just that stretch recovers it.
    """
    from notsofar.audio import SAMPLE_RATE

    def decode(x: np.ndarray, t0: float) -> list[list[Word]]:
        return drop_loops(drop_echoes(run(x, t0, cfg, models)), cfg.max_loop_ratio)

    groups = decode(audio, start_s)
    if cfg.refill_gap_s <= 0:
        return groups
    end_s = start_s + len(audio) / SAMPLE_RATE
    from notsofar.vad import merge_regions

    inside = merge_regions(
        ((max(a, start_s), min(b, end_s)) for a, b in regions if b > start_s and a < end_s),
        cfg.refill_bridge_s,
    )
    for a, b in uncovered(inside, groups, cfg.refill_gap_s, cfg.refill_word_s):
        pa, pb = max(start_s, a - CHUNK_PAD_S), min(end_s, b + CHUNK_PAD_S)
        piece = audio[
            int(round((pa - start_s) * SAMPLE_RATE)) : int(round((pb - start_s) * SAMPLE_RATE))
        ]
        for g in decode(piece, pa):
            # only words centred in the gap: the padding must not repeat its neighbours
            kept = [w for w in g if a <= (w.start_time + w.end_time) / 2 <= b]
            if kept:
                groups.append(kept)
    groups.sort(key=lambda g: g[0].start_time)
    return groups


def recognize_source(
    source: AudioSource,
    diarization: Transcript | None,
    cfg: RecognizeConfig,
    models: Any = None,
    regions: list[tuple[float, float]] | None = None,
    on_chunk: Callable[[float], None] | None = None,
) -> Transcript:
    """Recognize an :class:`~notsofar.pipeline.source.AudioSource` chunk by chunk.

    Args:
        source: the audio.
        diarization: speaker turns to attribute words to; None puts every word on ``spk0``.
        cfg: recognition settings.
        models: a :class:`~notsofar.pipeline.models.ModelCache` (a CPU one is made if None).
        regions: speech regions to recognize; None: the diarization's turns, else VAD.
        on_chunk: called with the end time (s) of each processed chunk.
    """
    from notsofar.pipeline.models import ModelCache
    from notsofar.recognize.attribute import attribute
    from notsofar.vad import VadConfig, merge_regions, source_regions

    models = models or ModelCache("cpu")
    if regions is None:
        if diarization is not None and len(diarization):
            regions = merge_regions(((s.start_time, s.end_time) for s in diarization), 0.5)
        else:
            regions = source_regions(source, VadConfig())
    asr = backend(cfg)
    asr.prepare(cfg, models)
    run = asr.recognize_chunk
    groups: list[list[Word]] = []
    for a, b in chunk_spans(regions, source.duration_s, cfg.chunk_s):
        groups.extend(recognize_span(run, source.read(a, b - a), a, regions, cfg, models))
        if on_chunk:
            on_chunk(b)
    return attribute(
        groups,
        diarization,
        source.name,
        cfg.max_gap_s,
        change_penalty=cfg.speaker_change_penalty,
    )


def recognize(
    audio: np.ndarray,
    sample_rate: int,
    diarization: Transcript | None = None,
    cfg: Any = None,
    models: Any = None,
    channel: int | str | None = None,
    session_id: str = "audio",
    device: str | None = None,
) -> Transcript:
    """Transcribe ``audio`` with word timings; words go to the speakers of ``diarization``.

    Takes what ``notsofar recognize`` takes: the same config (a
    :class:`~notsofar.pipeline.config.TranscribeConfig`, whose ``asr`` section, ``channel``
    and ``device`` are used, or a :class:`RecognizeConfig`), ``channel`` and ``device``.

    Args:
        audio: float samples ``[T]`` or ``[C, T]`` at any rate.
        sample_rate: rate of ``audio``.
        diarization: speaker turns (e.g. from :func:`notsofar.diarize.diarize` or an RTTM);
            None attributes every word to ``spk0``.
        cfg: recognition settings (defaults if None).
        models: a :class:`~notsofar.pipeline.models.ModelCache` to reuse across calls.
        channel: channel index, ``"mix"`` or ``"auto"`` for multi-channel input (default: the
            config's, ``auto``: a stereo file's average, else channel 0).
        session_id: written into every segment.
        device: ``auto``, ``cpu`` or ``cuda`` when ``models`` is None (default: the config's,
            ``auto``).

    Returns:
        Segments with ``words`` and per-word timings/confidences (``word_details``).
    """
    from notsofar.pipeline.config import stage_settings
    from notsofar.pipeline.source import ArraySource

    cfg, channel, models = stage_settings(cfg, "asr", channel, device, models)
    source = ArraySource.from_array(audio, sample_rate, channel, name=session_id)
    return recognize_source(source, diarization, cfg, models)
