"""The multi-channel front end (NOTSOFAR-1 MC track): array audio in, one stream per speaker out.

:func:`enhance` runs, on ``[C, T]`` audio from a known array geometry:

1. channel check: dead or duplicated microphones are dropped (:mod:`.channels`);
2. blockwise multi-channel WPE dereverberation (:mod:`.wpe`);
3. diarization: speaker embeddings on the dereverberated reference channel
   (:func:`notsofar.diarize.diarize`), refined by SRP-PHAT directions (:mod:`.spatial`);
4. guided source separation (cACGMM with diarization priors) + MVDR per speaker
   (:mod:`.separation`, backend by name).

:func:`notsofar.enhance.pipeline.transcribe_multichannel` adds ASR on every speaker's stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from notsofar.arrays import ArrayGeometry, load_array
from notsofar.data import Transcript
from notsofar.enhance.channels import ChannelReport, check_channels, subset_geometry
from notsofar.enhance.config import EnhanceConfig
from notsofar.enhance.separation import BACKENDS, SpeakerPieces
from notsofar.errors import NotsofarError

__all__ = [
    "EnhanceConfig",
    "EnhanceResult",
    "PreparedArray",
    "diarize_array",
    "enhance",
    "prepare_array",
]


@dataclass(frozen=True)
class PreparedArray:
    """Healthy channels of the input, their geometry and the reference channel index in them."""

    audio: np.ndarray  # [C_kept, T] float32 at 16 kHz
    geometry: ArrayGeometry
    reference: int
    report: ChannelReport


@dataclass(frozen=True)
class EnhanceResult:
    """What the front end produced for one recording."""

    sample_rate: int
    num_samples: int
    #: the diarization the separation was guided by (embedding + spatial refinement)
    diarization: Transcript
    speakers: dict[str, SpeakerPieces]
    #: dominant direction of each speaker (degrees), when the spatial step ran
    directions: dict[str, float] = field(default_factory=dict)
    notices: tuple[str, ...] = ()

    def speaker_audio(self, speaker: str) -> np.ndarray:
        """The enhanced full-length stream of ``speaker`` (silence where they do not talk)."""
        return self.speakers[speaker].render(self.num_samples)


def prepare_array(
    audio: np.ndarray,
    sample_rate: int,
    cfg: EnhanceConfig,
    name: str = "audio",
    log: Callable[[str], None] | None = None,
) -> PreparedArray:
    """Validate ``[C, T]`` audio against the array and drop dead or duplicated channels.

    Raises:
        NotsofarError: NaN samples, a channel count that does not match the geometry, or fewer
            than two healthy channels.
    """
    from notsofar.audio import SAMPLE_RATE, check_finite, resample

    if audio.ndim != 2:
        raise NotsofarError("multi-channel processing needs [channels, samples] audio", path=name)
    check_finite(audio, name)
    geometry = load_array(cfg.array)
    geometry.check_channels(audio.shape[0], name)
    if sample_rate != SAMPLE_RATE:
        audio = resample(audio, sample_rate, SAMPLE_RATE)
    report = check_channels(audio, SAMPLE_RATE, cfg.channels)
    for notice in report.notices():
        if log is not None:
            log(f"{name}: {notice}")
    if len(report.kept) < 2:
        raise NotsofarError(
            f"only {len(report.kept)} healthy channel(s) of {audio.shape[0]}: "
            + "; ".join(report.notices()),
            path=name,
        )
    if len(report.kept) < audio.shape[0]:
        audio = audio[list(report.kept)]
        geometry = subset_geometry(geometry, report.kept)
    ref = cfg.reference_channel if cfg.reference_channel in report.kept else report.kept[0]
    return PreparedArray(audio, geometry, report.kept.index(ref), report)


def enhance(
    audio: np.ndarray,
    sample_rate: int,
    cfg: EnhanceConfig | None = None,
    diarization: Transcript | None = None,
    diarize_cfg: Any = None,
    models: Any = None,
    session_id: str = "audio",
    log: Callable[[str], None] | None = None,
    inplace: bool = False,
    diarizer_notes: bool = False,
) -> EnhanceResult:
    """Per-speaker enhanced audio from a multi-channel recording.

    Args:
        audio: ``[C, T]`` float audio, channels in the order of the array geometry.
        sample_rate: its rate (resampled to 16 kHz).
        cfg: front-end settings (defaults if None).
        diarization: speaker turns to guide the separation (e.g. an oracle RTTM); None runs
            the embedding diarizer on the dereverberated reference channel.
        diarize_cfg: a :class:`notsofar.diarize.DiarizeConfig` for that diarizer.
        models: a :class:`notsofar.pipeline.models.ModelCache` to reuse.
        session_id: written into the diarization's segments.
        log: receives one-line notices (dropped channels, ...).
        inplace: let WPE overwrite ``audio`` (saves a copy of the recording on long meetings).
        diarizer_notes: pass the diarizer's notices (no speech found, ...) to ``log`` too: their
            hints name ``transcribe``'s ``diarize.*`` keys, which ``notsofar enhance`` lacks.

    Returns:
        An :class:`EnhanceResult`.
    """
    cfg = cfg or EnhanceConfig()
    notices: list[str] = []

    def note(msg: str) -> None:
        notices.append(msg)
        if log is not None:
            log(msg)

    x, prep, diarization, directions = _front(
        audio,
        sample_rate,
        cfg,
        diarization,
        diarize_cfg,
        models,
        session_id,
        note,
        inplace,
        diarizer_notes,
    )
    from notsofar.audio import SAMPLE_RATE

    separate = BACKENDS[cfg.separation.backend]
    speakers = separate(x, SAMPLE_RATE, diarization, cfg.separation, cfg.stft, prep.reference)
    return EnhanceResult(
        sample_rate=SAMPLE_RATE,
        num_samples=x.shape[-1],
        diarization=diarization,
        speakers=speakers,
        directions=directions,
        notices=tuple(notices),
    )


def diarize_array(
    audio: np.ndarray,
    sample_rate: int,
    cfg: EnhanceConfig | None = None,
    diarize_cfg: Any = None,
    models: Any = None,
    session_id: str = "audio",
    log: Callable[[str], None] | None = None,
) -> tuple[Transcript, dict[str, float]]:
    """Who spoke when in ``[C, T]`` array audio, as the front end diarizes before separating:
    steps 1-3 of :func:`enhance` (channel check, WPE, the voice diarizer on the dereverberated
    reference channel split and merged by SRP-PHAT directions). Returns the turns and each
    speaker's direction (degrees; empty when the spatial step did not run). ``log`` receives the
    notices, the diarizer's included."""
    cfg = cfg or EnhanceConfig()
    _, _, turns, directions = _front(
        audio, sample_rate, cfg, None, diarize_cfg, models, session_id, log or _drop, False, True
    )
    return turns, directions


def _drop(_msg: str) -> None:
    pass


def _front(
    audio: np.ndarray,
    sample_rate: int,
    cfg: EnhanceConfig,
    diarization: Transcript | None,
    diarize_cfg: Any,
    models: Any,
    session_id: str,
    note: Callable[[str], None],
    inplace: bool,
    diarizer_notes: bool,
) -> tuple[np.ndarray, PreparedArray, Transcript, dict[str, float]]:
    """:func:`enhance`'s steps before the separation: the dereverberated channels, the prepared
    array, the diarization (``diarization`` if given, refined by direction) and directions."""
    from notsofar.audio import SAMPLE_RATE
    from notsofar.enhance.spatial import spatial_diarize
    from notsofar.enhance.wpe import dereverberate

    prep = prepare_array(audio, sample_rate, cfg, session_id, note)
    x = prep.audio
    sr = SAMPLE_RATE
    stft_cfg = cfg.stft
    if stft_cfg.sample_rate != sr:
        raise NotsofarError(f"stft.sample_rate must be {sr}, got {stft_cfg.sample_rate}")
    if cfg.wpe.enabled:
        x = dereverberate(x, sr, cfg.wpe, stft_cfg, inplace=inplace or x is not audio)
    ours = diarization is None
    if diarization is None:
        import dataclasses

        from notsofar.diarize import diarize

        if getattr(diarize_cfg, "speaker_samples", None):
            # speakers are named at the end, from their enhanced streams (enhance/pipeline.py)
            diarize_cfg = dataclasses.replace(diarize_cfg, speaker_samples=None)
        diarization = diarize(
            x[prep.reference],
            sr,
            diarize_cfg,
            models=models,
            session_id=session_id,
            notice=(lambda msg: note(f"{session_id}: {msg}")) if diarizer_notes else None,
        )
    directions: dict[str, float] = {}
    if cfg.spatial.enabled and len(diarization):
        diarization, directions = spatial_diarize(
            x, sr, diarization, prep.geometry, cfg.spatial, stft_cfg
        )
    if ours:  # a guide's speaker names stay as given
        diarization, directions = _numbered(diarization, directions)
    return x, prep, diarization, directions


def _numbered(
    turns: Transcript, directions: dict[str, float]
) -> tuple[Transcript, dict[str, float]]:
    """Speakers renamed ``spk0``, ``spk1``, ... by first appearance, as the single-channel
    diarizer numbers them (the spatial step's merges and splits leave ``spk2`` without
    ``spk0``, or ``spk0~2``).

    >>> from notsofar.data import Segment
    >>> t = Transcript([Segment("s", "spk2", 0, 1, ""), Segment("s", "spk0~2", 1, 2, "")])
    >>> t, d = _numbered(t, {"spk0~2": 90.0, "spk2": 10.0})
    >>> [s.speaker for s in t], d
    (['spk0', 'spk1'], {'spk1': 90.0, 'spk0': 10.0})
    """
    from notsofar.data import first_appearance
    from notsofar.diarize.identify import rename

    order = first_appearance(turns)
    return rename(turns, order), {order[k]: v for k, v in directions.items() if k in order}
