"""The single-channel path of ``transcribe``: one streamed pass over a mono source.

:func:`transcribe_source` and its :class:`Result` live here, apart from the package's
``__init__``, so that the multi-channel front end (:mod:`notsofar.enhance.pipeline`), which
falls back to this path, does not import the module that dispatches to it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from notsofar.data import Transcript
from notsofar.pipeline.config import TranscribeConfig

if TYPE_CHECKING:
    from notsofar.pipeline.source import AudioSource

#: the share of a session's work the streamed VAD pass stands for in progress reports: an
#: estimate (Silero VAD costs a small fraction of the encoders and Whisper), so the bar moves
#: during the VAD pass; the ETA is only as exact as this share
VAD_SHARE = 0.1


@dataclass(frozen=True)
class Result:
    """A transcribed session: words by speaker, the speaker turns, and the speech found."""

    transcript: Transcript
    diarization: Transcript
    duration_s: float
    regions: tuple[tuple[float, float], ...] = ()
    #: the array geometry the multi-channel front end used; None: the single-channel path ran
    array: str | None = None
    #: one-line notices on how the session was handled (e.g. the diarizer's telephone-band
    #: settings), for the caller to show
    notes: tuple[str, ...] = ()

    @property
    def speakers(self) -> list[str]:
        return sorted(set(self.diarization.speakers) | set(self.transcript.speakers))


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
        on_progress: called with the progress in audio seconds (0 .. duration) after each VAD
            block and each chunk: the VAD pass counts for its first :data:`VAD_SHARE`, the
            chunks (embeddings and ASR) for the rest.
        asr_source: a time-aligned version of ``source`` for Whisper only (e.g. restored audio);
            VAD and speaker embeddings still read ``source``. None: Whisper reads ``source``.
    """
    from notsofar.diarize import accumulator
    from notsofar.vad import source_regions

    emb = accumulator(cfg.diarize, models)
    duration = source.duration_s
    vad_progress = None
    if on_progress:
        on_progress(0.0)

        def vad_progress(t: float) -> None:
            on_progress(VAD_SHARE * min(t, duration))

    if not cfg.parallel_stages:
        regions = source_regions(source, cfg.diarize.vad, vad_progress)
        return _stream(source, cfg, models, emb, None, regions, on_progress, asr_source)
    # one background thread: VAD and the speaker models' load run while Whisper loads, then
    # each chunk's diarization while Whisper reads it (at most one chunk ahead, so memory stays
    # one chunk's audio and the order of chunks is kept)
    pool = ThreadPoolExecutor(1, thread_name_prefix="diarize")
    try:
        found = pool.submit(source_regions, source, cfg.diarize.vad, vad_progress)
        prepared = pool.submit(emb.prepare) if hasattr(emb, "prepare") else None
        return _stream(source, cfg, models, emb, pool, found, on_progress, asr_source, prepared)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _add(
    emb: Any, audio: Any, start_s: float, regions: list[tuple[float, float]], first: bool
) -> None:
    """``emb.add``; after the first chunk also ``emb.prepare_finish`` (the clustering's
    imports): then, not beside Whisper's model load, since Whisper alone leaves a core idle
    more often."""
    emb.add(audio, start_s, regions)
    if first and hasattr(emb, "prepare_finish"):
        emb.prepare_finish()


def _stream(
    source: AudioSource,
    cfg: TranscribeConfig,
    models: Any,
    emb: Any,
    pool: ThreadPoolExecutor | None,
    regions: list[tuple[float, float]] | Future,
    on_progress: Callable[[float], None] | None,
    asr_source: AudioSource | None,
    pending: Future | None = None,
) -> Result:
    """The chunk loop of :func:`transcribe_source`; ``emb.add`` runs on ``pool`` if given,
    after ``pending`` (the models' load); ``regions`` may still be coming (the VAD pass's
    future)."""
    from notsofar.audio import SAMPLE_RATE
    from notsofar.diarize import finish_notes, plan_chunks
    from notsofar.recognize import CHUNK_PAD_S, recognize_span
    from notsofar.recognize import backend as asr_backend
    from notsofar.recognize.attribute import attribute

    asr_backend(cfg.asr).prepare(cfg.asr, models)
    duration = source.duration_s
    if isinstance(regions, Future):
        regions = regions.result()
    recognize_chunk = asr_backend(cfg.asr).recognize_chunk
    groups = []
    first = True
    for a, b, chunk_regions in plan_chunks(regions, min(cfg.diarize.chunk_s, cfg.asr.chunk_s)):
        pa, pb = max(0.0, a - CHUNK_PAD_S), min(duration, b + CHUNK_PAD_S)
        audio = source.read(pa, pb - pa)
        # the diarizer reads exactly what `notsofar diarize` reads (the chunk without Whisper's
        # padding): its windows then fall on the same samples and both commands find the same
        # speakers (a 0.2 s shift of every window turned 2 speakers into 3 on a real meeting)
        lo = int(round(a * SAMPLE_RATE)) - int(round(pa * SAMPLE_RATE))
        unpadded = audio[lo : lo + int(round((b - a) * SAMPLE_RATE))]
        if pool is None:
            emb.add(unpadded, a, chunk_regions)
        else:
            if pending is not None:
                pending.result()
            pending = pool.submit(_add, emb, unpadded, a, chunk_regions, first)
            first = False
        asr_audio = audio if asr_source is None else asr_source.read(pa, pb - pa)
        groups.extend(
            recognize_span(recognize_chunk, asr_audio, pa, chunk_regions, cfg.asr, models)
        )
        if on_progress:
            on_progress(duration * VAD_SHARE + (1 - VAD_SHARE) * min(b, duration))
    if pending is not None:
        pending.result()
    diarization = emb.finish(regions, cfg.diarize, source.name)
    notes = finish_notes(emb, regions, cfg.diarize)
    if cfg.diarize.speaker_samples:
        from notsofar.diarize.identify import identify, rename

        names, note = identify(source, diarization, cfg.diarize, models)
        diarization = rename(diarization, names)
        notes.append(note)
    transcript = attribute(
        groups,
        diarization,
        source.name,
        cfg.asr.max_gap_s,
        change_penalty=cfg.asr.speaker_change_penalty,
    )
    if on_progress:
        on_progress(duration)
    return Result(transcript, diarization, duration, tuple(regions), notes=tuple(notes))
