"""Whole synthetic meetings from espeak-ng voices: the fixtures' and benchmark set's generator.

:func:`make_meeting` draws a room and seats, synthesizes each speaker's sentences with their own
voice, lays out the turns and renders the 7-channel far-field mixture with its exact reference.
Needs the ``espeak-ng`` binary (a development tool; tests use the committed results).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from notsofar.arrays import BUILTIN, ArrayGeometry
from notsofar.simulate.meeting import (
    LayoutConfig,
    RenderedMeeting,
    Utterance,
    layout_meeting,
    render_meeting,
)
from notsofar.simulate.sentences import BACKCHANNELS, SENTENCES
from notsofar.simulate.voices import VOICES, Voice, synthesize


class EspeakSource:
    """Hands out sentences spoken by one voice per speaker (cached: each text is spoken once).

    Sentences are drawn without replacement per meeting so a speaker does not repeat themself
    and no two speakers say the same sentence (the reference stays unambiguous).
    """

    def __init__(
        self,
        voices: Sequence[Voice],
        sentences: Sequence[str] = SENTENCES,
        backchannels: Sequence[str] = BACKCHANNELS,
        sample_rate: int = 16000,
    ) -> None:
        self.voices = list(voices)
        self.sentences = list(sentences)
        self.backchannels = list(backchannels)
        self.sample_rate = sample_rate
        self._unused: list[str] = []
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def speak(self, speaker_index: int, text: str) -> Utterance:
        voice = self.voices[speaker_index]
        key = (voice.name, text)
        if key not in self._cache:
            self._cache[key] = synthesize(text, voice, self.sample_rate)
        return Utterance(voice.name, text, self._cache[key])

    def draw(self, speaker_index: int, rng: np.random.Generator) -> Utterance:
        if not self._unused:
            self._unused = [self.sentences[i] for i in rng.permutation(len(self.sentences))]
        return self.speak(speaker_index, self._unused.pop())

    def draw_backchannel(self, speaker_index: int, rng: np.random.Generator) -> Utterance | None:
        return self.speak(speaker_index, str(rng.choice(self.backchannels)))


@dataclass(frozen=True)
class MeetingPlan:
    """What to make: speakers, length, acoustics (ranges are sampled with the seed)."""

    session_id: str
    seed: int
    num_speakers: int = 3
    duration_s: float = 45.0
    rt60_range_s: tuple[float, float] = (0.3, 0.7)
    snr_range_db: tuple[float, float] = (5.0, 20.0)
    overlap_prob: float = 0.2
    backchannel_prob: float = 0.2
    reverberant: bool = True
    noisy: bool = True


def make_meeting(
    plan: MeetingPlan,
    voices: Sequence[Voice] | None = None,
    array: ArrayGeometry = BUILTIN["notsofar_mc"],
    sample_rate: int = 16000,
    source: EspeakSource | None = None,
    keep_images: bool = True,
) -> RenderedMeeting:
    """Synthesize, lay out and render one meeting; byte-identical for the same plan.

    Voices default to ``num_speakers`` voices drawn from :data:`VOICES` with the seed.
    """
    from notsofar.simulate.rooms import compute_rirs, sample_room

    rng = np.random.default_rng(plan.seed)
    if voices is None:
        idx = rng.choice(len(VOICES), size=plan.num_speakers, replace=False)
        voices = [VOICES[int(i)] for i in idx]
    src = source or EspeakSource(voices, sample_rate=sample_rate)
    src.voices = list(voices)
    layout = LayoutConfig(
        duration_s=plan.duration_s,
        overlap_prob=plan.overlap_prob,
        backchannel_prob=plan.backchannel_prob,
        sample_rate=sample_rate,
    )
    room = sample_room(rng, len(voices), plan.rt60_range_s)
    if plan.reverberant:
        rirs = compute_rirs(room, array, sample_rate, max_length_s=1.0)
    else:  # dry: a unit impulse per mic (keeps the 7-channel shape for the same code path)
        rirs = np.zeros((len(voices), array.num_channels, 1), dtype=np.float32)
        rirs[:, :, 0] = 1.0
    placements = layout_meeting(src, len(voices), rng, layout)
    snr = float(rng.uniform(*plan.snr_range_db)) if plan.noisy else None
    rendered = render_meeting(
        placements,
        [v.name for v in voices],
        rirs,
        rng,
        snr,
        plan.session_id,
        num_samples=int(plan.duration_s * sample_rate),
        array=array,
        sample_rate=sample_rate,
        keep_images=keep_images,
    )
    rendered.params.update(
        {
            "seed": plan.seed,
            "room_dims_m": [round(d, 3) for d in room.dims_m],
            "rt60_s": round(room.rt60_s, 3) if plan.reverberant else 0.0,
            "array_center_m": [round(c, 3) for c in room.array_center_m],
            "speaker_positions_m": [[round(c, 3) for c in p] for p in room.sources_m],
            "voices": [v.__dict__ for v in voices],
        }
    )
    return rendered
