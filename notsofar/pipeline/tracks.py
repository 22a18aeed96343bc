"""``transcribe`` on a recording with one close microphone per speaker: the turns of
:mod:`notsofar.diarize.tracks` (speaker ``spk<k>`` = channel ``k``, or one file each), then
Whisper on each channel (file) over its own speaker's turns only, the channel silent elsewhere,
so the other voices leaking into a close microphone are not recognised a second time and
overlapped speech is recognised from each speaker's own microphone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.diarize.identify import rename
from notsofar.diarize.tracks import (
    Audio,
    channel_sources,
    diarize_tracks,
    name_tracks,
    track_labels,
    tracks_notes,
)

if TYPE_CHECKING:
    from notsofar.pipeline.config import TranscribeConfig
    from notsofar.pipeline.single import Result

#: Whisper hears a channel only on its speaker's turns, widened by this much (s): elsewhere the
#: channel holds the other speakers' leaked voices, which Whisper would transcribe again
TURN_PAD_S = 0.2


class OwnTurns:
    """A channel as an :class:`~notsofar.pipeline.source.AudioSource` that is silent outside
    its speaker's turns (each widened by ``TURN_PAD_S``)."""

    def __init__(self, source: Any, turns: list[tuple[float, float]]) -> None:
        self.source = source
        self.name = source.name
        self.turns = turns

    @property
    def duration_s(self) -> float:
        return float(self.source.duration_s)

    def _masked(self, start_s: float, x: np.ndarray) -> np.ndarray:
        keep = np.zeros(len(x), dtype=bool)
        for a, b in self.turns:
            lo = max(0, int(round((a - TURN_PAD_S - start_s) * SAMPLE_RATE)))
            hi = min(len(x), int(round((b + TURN_PAD_S - start_s) * SAMPLE_RATE)))
            if hi > lo:
                keep[lo:hi] = True
        return np.where(keep, x, 0.0).astype(np.float32)

    def blocks(self, block_s: float) -> Any:
        for start_s, x in self.source.blocks(block_s):
            yield start_s, self._masked(start_s, x)

    def read(self, start_s: float, duration_s: float) -> np.ndarray:
        return self._masked(start_s, self.source.read(start_s, duration_s))


def transcribe_tracks(
    audio: Audio,
    cfg: TranscribeConfig,
    models: Any,
    session_id: str,
    on_progress: Callable[[float], None] | None = None,
    levels: np.ndarray | None = None,
) -> Result:
    """Transcribe a recording with one close microphone per speaker (see the module);
    ``levels``: its channel levels if already read."""
    from notsofar.data import Transcript
    from notsofar.pipeline.single import Result
    from notsofar.recognize import recognize_source
    from notsofar.vad import merge_regions

    sources = channel_sources(audio, session_id)
    duration = max(float(s.duration_s) for s in sources)  # a folder's files may differ
    diarization, spans = diarize_tracks(audio, cfg.diarize, cfg.crosstalk_db, session_id, levels)
    if on_progress:
        on_progress(0.1 * duration)
    words = []
    labels = track_labels(audio, len(spans))
    for k, ts in enumerate(spans):
        if not ts:
            continue
        source = OwnTurns(sources[k], ts)
        own = diarization.filter(lambda s, k=k: s.speaker == labels[k])
        words.append(recognize_source(source, own, cfg.asr, models, regions=ts))
        if on_progress:
            on_progress(duration * (0.1 + 0.9 * (k + 1) / len(spans)))
    transcript = sum(words[1:], words[0]).sorted() if words else Transcript()
    regions = merge_regions([r for ts in spans for r in ts])
    notes = tracks_notes(spans, cfg.diarize, files=isinstance(audio, tuple))
    names, note = name_tracks(audio, diarization, cfg.diarize, models, session_id)
    if names or note:
        transcript, diarization = rename(transcript, names), rename(diarization, names)
        notes.append(note)
    return Result(transcript, diarization, duration, tuple(regions), notes=tuple(notes))
