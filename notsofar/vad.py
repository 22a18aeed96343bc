"""Voice activity detection: Silero VAD (the ONNX model shipped inside faster-whisper).

:func:`speech_regions` returns ``[(start_s, end_s), ...]``. Long audio is processed block by
block (``block_s``) so memory stays flat; regions that touch a block boundary are joined.
Backends are registered by name in :data:`BACKENDS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.errors import NotsofarError

if TYPE_CHECKING:
    from notsofar.pipeline.source import AudioSource

Region = tuple[float, float]


@dataclass(frozen=True)
class VadConfig:
    """Speech/non-speech detection settings (seconds unless named otherwise)."""

    backend: str = "silero"
    #: Silero's speech probability threshold; below its own 0.5 default because distant, quiet
    #: talkers in far-field recordings score lower (on the diarization tuning set 0.5 missed a
    #: fifth of one such talker's speech: DER 24 % -> 3.5 % at 0.35)
    threshold: float = 0.35
    min_speech_s: float = 0.25
    #: short pauses split regions, so embedding windows rarely straddle a change of speaker
    min_silence_s: float = 0.15
    speech_pad_s: float = 0.05
    #: audio is analysed in blocks of this length so memory does not grow with duration
    block_s: float = 60.0
    #: ``pyannote`` backend: segmentation-3.0's window step (its windows are 10 s long)
    seg_step_s: float = 2.5
    #: Silero's threshold on telephone-band blocks (nothing above ~4 kHz: the loudest frames
    #: lie at least ``narrowband_gap_db`` lower at 4.3-5.2 kHz than at 1-3 kHz; 0 disables, as
    #: ``diarize.narrowband_gap_db``). Silero scores band-limited speech lower: on telephone
    #: copies of the far-field real-voice meetings it found 41 of 76 s of one meeting's speech
    #: (70 s on the wideband original). Chosen on the telephone tuning meetings: 0.35 / 0.25 /
    #: 0.2 gave DER 23.0 / 22.3 / 22.4 %, exact counts 23 / 26 / 25 of 42
    narrowband_threshold: float = 0.25
    narrowband_gap_db: float = 25.0

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise NotsofarError(
                f"vad.backend: unknown backend {self.backend!r} (known: {', '.join(BACKENDS)})"
            )
        for key in ("threshold", "narrowband_threshold"):
            if not 0.0 < getattr(self, key) < 1.0:
                raise NotsofarError(f"vad.{key} must be in (0, 1), got {getattr(self, key)}")
        if self.block_s < 5.0:
            raise NotsofarError(f"vad.block_s must be >= 5 seconds, got {self.block_s}")


def narrowband(audio: np.ndarray, cfg: VadConfig) -> bool:
    """Whether a 16 kHz block is telephone-band speech (see ``VadConfig.narrowband_gap_db``)."""
    if cfg.narrowband_gap_db <= 0 or cfg.narrowband_threshold == cfg.threshold:
        return False
    from notsofar.features import band_gap_db, kaldi_fbank

    gap, frames = band_gap_db(kaldi_fbank(audio))
    return frames > 0 and gap >= cfg.narrowband_gap_db


def _silero_block(audio: np.ndarray, cfg: VadConfig) -> list[Region]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(audio) < 512:
        return []
    opts = VadOptions(
        threshold=cfg.narrowband_threshold if narrowband(audio, cfg) else cfg.threshold,
        min_speech_duration_ms=int(cfg.min_speech_s * 1000),
        min_silence_duration_ms=int(cfg.min_silence_s * 1000),
        speech_pad_ms=int(cfg.speech_pad_s * 1000),
    )
    stamps = get_speech_timestamps(audio, opts, sampling_rate=SAMPLE_RATE)
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


@functools.lru_cache(maxsize=1)
def _segmentation() -> Any:
    from notsofar.diarize.segmentation import load_segmentation

    return load_segmentation("cpu")


def _pyannote_block(audio: np.ndarray, cfg: VadConfig) -> list[Region]:
    """Speech where pyannote segmentation-3.0 hears any speaker, on 10 s windows every
    ``seg_step_s``, averaged over the windows covering each frame. Unlike Silero it does not
    lose quiet talkers (two AMI meeting openings at -38 dBFS got no speech from Silero)."""
    from notsofar.diarize.segmentation import segment, stitch

    if len(audio) < 512:
        return []
    seg = _segmentation()
    starts, act = segment(seg, audio, cfg.seg_step_s)
    speech = stitch(seg, starts, act.max(axis=2, keepdims=True), len(audio) / SAMPLE_RATE)[:, 0]
    t0 = seg.frame_duration_s / 2
    on = np.diff(np.concatenate([[0], (speech >= 0.5).astype(np.int8), [0]]))
    found = [
        (t0 + a * seg.frame_step_s, t0 + b * seg.frame_step_s)
        for a, b in zip(np.nonzero(on == 1)[0], np.nonzero(on == -1)[0], strict=True)
    ]
    merged = merge_regions(found, gap_s=cfg.min_silence_s)
    end = len(audio) / SAMPLE_RATE
    return [
        (max(0.0, a - cfg.speech_pad_s), min(end, b + cfg.speech_pad_s))
        for a, b in merged
        if b - a >= cfg.min_speech_s
    ]


#: name -> function(mono 16 kHz block, cfg) -> regions relative to the block start
BACKENDS: dict[str, Callable[[np.ndarray, VadConfig], list[Region]]] = {
    "silero": _silero_block,
    "pyannote": _pyannote_block,
}


def merge_regions(regions: Iterable[Region], gap_s: float = 0.0) -> list[Region]:
    """Sort and join regions that overlap or are at most ``gap_s`` apart.

    >>> merge_regions([(2.0, 3.0), (0.0, 1.0), (1.05, 1.5)], gap_s=0.1)
    [(0.0, 1.5), (2.0, 3.0)]
    """
    out: list[list[float]] = []
    for a, b in sorted(regions):
        if out and a <= out[-1][1] + gap_s:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def subtract_regions(
    regions: Iterable[Region], cuts: Iterable[Region], min_s: float = 0.0
) -> list[Region]:
    """The parts of ``regions`` outside every cut, pieces shorter than ``min_s`` dropped.

    >>> subtract_regions([(0.0, 10.0)], [(6.0, 6.4), (0.5, 1.0)], 3.0)
    [(1.0, 6.0), (6.4, 10.0)]
    """
    cuts = sorted(cuts)
    out: list[Region] = []
    for a, b in regions:
        cur = a
        for c, d in cuts:
            if d <= cur or c >= b:
                continue
            if c - cur >= min_s:
                out.append((cur, c))
            cur = max(cur, d)
        if b - cur >= min_s:
            out.append((cur, b))
    return out


def no_speech_note(cfg: VadConfig) -> str:
    """The notice for a recording in which the VAD found no speech: quiet or distant talkers
    can score under Silero's threshold (two 30 s AMI meeting openings whose few words lie at
    -45 to -50 dBFS gave Silero no speech at 0.35)."""
    what = f"{cfg.backend}, threshold {cfg.threshold}" if cfg.backend == "silero" else cfg.backend
    return (
        f"no speech found (VAD: {what}); if people do talk, quietly or far from the "
        "microphone, try --set diarize.vad.threshold=0.2 or diarize.vad.backend=pyannote"
    )


def regions_from_blocks(blocks: Iterator[tuple[float, np.ndarray]], cfg: VadConfig) -> list[Region]:
    """Run VAD block by block; regions cut by a block boundary are joined again."""
    detect = BACKENDS[cfg.backend]
    found: list[Region] = []
    for start_s, block in blocks:
        if block.ndim != 1:
            raise NotsofarError("VAD expects mono audio")
        end_s = start_s + len(block) / SAMPLE_RATE
        for a, b in detect(block, cfg):
            found.append((start_s + a, min(start_s + b, end_s)))
    # a region ending within a padding of a boundary and one starting right after it are one
    return [(round(a, 3), round(b, 3)) for a, b in merge_regions(found, gap_s=2 * cfg.speech_pad_s)]


def source_regions(
    source: AudioSource, cfg: VadConfig, on_progress: Callable[[float], None] | None = None
) -> list[Region]:
    """Speech regions of an :class:`~notsofar.pipeline.source.AudioSource`, streamed;
    ``on_progress`` is called with the audio time (s) read so far after each block."""
    blocks = source.blocks(cfg.block_s)
    if on_progress is not None:
        blocks = _reporting(blocks, on_progress)
    return regions_from_blocks(blocks, cfg)


def _reporting(
    blocks: Iterable[tuple[float, np.ndarray]], on_progress: Callable[[float], None]
) -> Iterator[tuple[float, np.ndarray]]:
    for start, block in blocks:
        yield start, block
        on_progress(start + len(block) / SAMPLE_RATE)


def speech_regions(
    audio: np.ndarray, sample_rate: int, cfg: VadConfig | None = None, models: Any = None
) -> list[Region]:
    """Speech regions ``[(start_s, end_s), ...]`` of mono (or ``[C, T]``: channel 0) audio.

    Args:
        audio: float samples, ``[T]`` or ``[C, T]``.
        sample_rate: rate of ``audio``; it is resampled to 16 kHz.
        cfg: VAD settings (defaults if None).
        models: unused (Silero is cached process-wide); kept so every stage has one signature.

    Returns:
        Sorted, non-overlapping regions in seconds; empty for silence or empty input.
    """
    from notsofar.pipeline.source import ArraySource

    cfg = cfg or VadConfig()
    return source_regions(ArraySource.from_array(audio, sample_rate), cfg)
