"""Synthetic meetings: turn-taking layout, room rendering and the exact reference transcript.

A meeting is built in two steps, both seeded:

1. :func:`layout_meeting` places utterances on a timeline: speakers take turns with pauses,
   sometimes start before the previous speaker has finished (overlap), and sometimes say a short
   backchannel ("yeah") while someone else holds the floor.
2. :func:`render_meeting` convolves each speaker's dry track with the responses from their seat,
   adds diffuse noise at a chosen SNR, and returns the mixture, per-speaker images (full
   reverberant and direct + early), the noise and the reference :class:`~notsofar.data.Transcript`
   (one segment per utterance; times are where the samples were placed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from notsofar.arrays import BUILTIN, ArrayGeometry
from notsofar.data import Segment, Transcript, Word


@dataclass(frozen=True)
class Utterance:
    """One dry utterance: mono float32 audio at the meeting's sample rate and its exact text."""

    speaker: str
    text: str
    audio: np.ndarray = field(repr=False, compare=False)
    #: per word of ``text``: (start, end) seconds from the utterance start, when known
    word_timings: tuple[tuple[float, float], ...] | None = None

    @property
    def num_samples(self) -> int:
        return int(self.audio.shape[-1])


@dataclass(frozen=True)
class Placement:
    """An utterance placed at ``start_sample`` for speaker number ``speaker_index``."""

    speaker_index: int
    start_sample: int
    utterance: Utterance
    backchannel: bool = False

    @property
    def end_sample(self) -> int:
        return self.start_sample + self.utterance.num_samples


class UtteranceSource(Protocol):
    """Anything that hands out utterances per speaker (espeak voices, a corpus, ...)."""

    def draw(self, speaker_index: int, rng: np.random.Generator) -> Utterance: ...

    def draw_backchannel(
        self, speaker_index: int, rng: np.random.Generator
    ) -> Utterance | None: ...


@dataclass(frozen=True)
class LayoutConfig:
    """Turn-taking parameters (seconds and probabilities)."""

    duration_s: float = 45.0
    lead_in_s: tuple[float, float] = (0.3, 0.8)
    pause_s: tuple[float, float] = (0.2, 1.0)
    overlap_prob: float = 0.2
    overlap_s: tuple[float, float] = (0.3, 1.2)
    backchannel_prob: float = 0.2
    tail_s: float = 0.8
    sample_rate: int = 16000


def layout_meeting(
    source: UtteranceSource,
    num_speakers: int,
    rng: np.random.Generator,
    cfg: LayoutConfig = LayoutConfig(),
) -> list[Placement]:
    """Place utterances until ``cfg.duration_s`` is filled; a speaker never overlaps themself."""
    sr = cfg.sample_rate
    limit = int((cfg.duration_s - cfg.tail_s) * sr)
    busy_until = [0] * num_speakers
    placements: list[Placement] = []
    floor_end = int(rng.uniform(*cfg.lead_in_s) * sr)
    current = int(rng.integers(num_speakers))
    order_first = list(rng.permutation(num_speakers))  # everybody speaks early on
    turn = 0
    while True:
        if turn < num_speakers:
            speaker = int(order_first[turn])
        else:
            others = [k for k in range(num_speakers) if k != current] or [current]
            speaker = int(rng.choice(others))
        utt = source.draw(speaker, rng)
        prev = placements[-1] if placements and not placements[-1].backchannel else None
        if prev is not None and rng.random() < cfg.overlap_prob:
            max_ov = min(prev.utterance.num_samples, utt.num_samples) // 2
            ov = min(int(rng.uniform(*cfg.overlap_s) * sr), max_ov)
            start = floor_end - ov
        else:
            start = floor_end + int(rng.uniform(*cfg.pause_s) * sr)
        start = max(start, busy_until[speaker] + int(0.1 * sr))
        if start + utt.num_samples > limit:
            break
        p = Placement(speaker, start, utt)
        placements.append(p)
        busy_until[speaker] = p.end_sample
        floor_end = max(floor_end, p.end_sample)
        current = speaker
        turn += 1
        if num_speakers > 1 and utt.num_samples > 2 * sr and rng.random() < cfg.backchannel_prob:
            listener = int(rng.choice([k for k in range(num_speakers) if k != speaker]))
            bc = source.draw_backchannel(listener, rng)
            if bc is not None:
                bstart = start + int(rng.uniform(0.5 * sr, utt.num_samples - 1.2 * sr))
                if (
                    bstart > busy_until[listener] + int(0.1 * sr)
                    and bstart + bc.num_samples < p.end_sample
                ):
                    placements.append(Placement(listener, bstart, bc, backchannel=True))
                    busy_until[listener] = bstart + bc.num_samples
    return sorted(placements, key=lambda q: q.start_sample)


@dataclass
class RenderedMeeting:
    """The rendered audio ([C, T] / [S, C, T] float32), activity [S, T] and exact reference."""

    mixture: np.ndarray
    images: np.ndarray
    early: np.ndarray
    noise: np.ndarray
    dry: np.ndarray
    activity: np.ndarray
    transcript: Transcript
    speakers: list[str]
    params: dict[str, Any]
    sample_rate: int = 16000


def dbfs_rms(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def render_meeting(
    placements: Sequence[Placement],
    speakers: Sequence[str],
    rirs: np.ndarray,
    rng: np.random.Generator,
    snr_db: float | None,
    session_id: str,
    num_samples: int | None = None,
    array: ArrayGeometry = BUILTIN["notsofar_mc"],
    early_ms: float = 50.0,
    level_jitter_db: float = 3.0,
    peak: float = 0.8,
    noise: np.ndarray | None = None,
    sample_rate: int = 16000,
    keep_images: bool = True,
) -> RenderedMeeting:
    """Render placements through ``rirs [S, C, L]`` and add diffuse noise at ``snr_db``.

    Each utterance is levelled to -25 dBFS RMS, then each speaker gets a random gain within
    ``±level_jitter_db``. ``snr_db=None`` adds no noise. The SNR is the power of all speech
    images on channel 0, over samples where someone speaks, to the noise power. Finally every component is scaled by one gain so
    the mixture peaks at ``peak``. ``noise`` ([C, T], any level) replaces generated noise.
    ``keep_images=False`` returns empty ``images``/``early``, so long meetings with many
    speakers need memory for the mixture only.
    """
    from notsofar.simulate.convolve import convolve_sources
    from notsofar.simulate.noise import diffuse_noise
    from notsofar.simulate.rooms import early_part

    num_spk = len(speakers)
    end = max((p.end_sample for p in placements), default=0)
    t = int(num_samples) if num_samples is not None else end + int(0.8 * sample_rate)
    dry = np.zeros((num_spk, t), dtype=np.float32)
    activity = np.zeros((num_spk, t), dtype=bool)
    gains_db = rng.uniform(-level_jitter_db, level_jitter_db, size=num_spk)
    segments = []
    for p in placements:
        a = p.utterance.audio.astype(np.float32)
        a = a * 10 ** ((-25.0 - dbfs_rms(a) + gains_db[p.speaker_index]) / 20)
        seg = slice(p.start_sample, min(t, p.end_sample))
        dry[p.speaker_index, seg] += a[: seg.stop - seg.start]
        activity[p.speaker_index, seg] = True
        t0 = p.start_sample / sample_rate
        details = None
        wt = p.utterance.word_timings
        if wt is not None and len(wt) == len(p.utterance.text.split()):
            details = tuple(
                Word(w, round(t0 + a, 3), round(t0 + b, 3))
                for w, (a, b) in zip(p.utterance.text.split(), wt, strict=True)
            )
        segments.append(
            Segment(
                session_id,
                speakers[p.speaker_index],
                round(t0, 3),
                round(min(t, p.end_sample) / sample_rate, 3),
                p.utterance.text,
                word_details=details,
            )
        )
    early_rirs = early_part(rirs, early_ms, sample_rate)
    c = rirs.shape[1]
    images = np.empty((num_spk, c, t if keep_images else 0), dtype=np.float32)
    early = np.empty_like(images)
    speech = np.zeros((c, t), dtype=np.float32)
    for k in range(num_spk):
        # one speaker at a time: memory for one speaker's transforms instead of all speakers'
        # at once (a 120 s meeting of 8: ~0.4 GB, not ~2.6 GB); every row is transformed as it
        # is in one batch, and the images are summed in speaker order, so no value changes
        sets = [rirs[k : k + 1], early_rirs[k : k + 1]] if keep_images else [rirs[k : k + 1]]
        out = convolve_sources(dry[k : k + 1], sets, t)
        speech += out[0][0]
        if keep_images:
            images[k], early[k] = out[0][0], out[1][0]
    active = activity.any(axis=0)
    speech_power = float(np.mean(speech[0, active] ** 2)) if active.any() else 1e-10
    if snr_db is None:  # noiseless
        noise = np.zeros_like(speech)
    else:
        if noise is None:
            noise = diffuse_noise(array, t, rng, sample_rate)
        noise = np.asarray(noise, dtype=np.float32)[:, :t]
        noise_power = float(np.mean(noise[0] ** 2)) + 1e-20
        noise = noise * np.sqrt(speech_power / noise_power / 10 ** (snr_db / 10))
    mixture = speech + noise
    g = peak / (float(np.max(np.abs(mixture))) + 1e-12)
    params = {
        "snr_db": None if snr_db is None else round(float(snr_db), 2),
        "speaker_gains_db": [round(float(x), 2) for x in gains_db],
        "output_gain": round(g, 6),
        "num_utterances": len(placements),
        "overlap_ratio": round(overlap_ratio(activity), 4),
    }
    images *= g  # in place: scaled copies would double the peak memory of a long meeting
    early *= g
    return RenderedMeeting(
        mixture=(mixture * g).astype(np.float32),
        images=images,
        early=early,
        noise=(noise * g).astype(np.float32),
        dry=(dry * g).astype(np.float32),
        activity=activity,
        transcript=Transcript(segments).sorted(),
        speakers=list(speakers),
        params=params,
        sample_rate=sample_rate,
    )


def overlap_ratio(activity: np.ndarray) -> float:
    """Fraction of speech time (any speaker active) where two or more speakers are active.

    >>> overlap_ratio(np.array([[1, 1, 1, 0], [0, 0, 1, 1]], dtype=bool))
    0.25
    """
    n = activity.sum(axis=0)
    speech = int(np.count_nonzero(n))
    return float(np.count_nonzero(n >= 2) / speech) if speech else 0.0


def to_rttm(transcript: Transcript, file_id: str | None = None) -> str:
    """RTTM text of a reference (the project's RTTM writer, segments sorted by start time)."""
    from notsofar.io.rttm import dumps

    t = transcript.sorted()
    return dumps(t if file_id is None else t.with_session_id(file_id))
