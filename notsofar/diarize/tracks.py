"""Recordings with one close microphone per speaker: a call recorded one party per channel, a
headset meeting's individual channels (AMI/CHiME "IHM"), a podcast's per-guest tracks, or a
folder of one file per participant (a video call's separate audio per person, AMI's
``Headset-<k>`` files).

Who spoke when then comes from which channel carries the voice, not from speaker embeddings:
speaker ``spk<k>`` is channel ``k`` (a folder's speakers are named after their files:
:func:`speaker_names`). Each channel's speech (Silero VAD on that channel) counts
only where the channel is at least ``crosstalk_db`` louder than the other channels' voices leak
into it (the leak measured where one speaker talks alone: :func:`own_frames`), so a voice
leaking into another's microphone is not taken for that speaker, while two people talking at
once are both kept. ``transcribe`` then has Whisper read each channel on its own speaker's
turns only (:mod:`notsofar.pipeline.tracks`).

``channel: speakers`` asks for this (on a folder: its audio files are the speakers, one each,
:func:`speaker_files`); ``channel: auto`` (the default) picks it for a stereo
file whose channels take turns being much louder than each other (:func:`is_per_speaker`),
and averages other stereo files as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.errors import NotsofarError

if TYPE_CHECKING:
    from notsofar.data import Transcript
    from notsofar.diarize.config import DiarizeConfig

#: level frames (s)
FRAME_S = 0.1
#: a channel's speech level: this percentile of its frame levels (its own speaker's loud frames;
#: a lower one fell among the leaked voices on a channel whose speaker talks little)
SPEECH_PERCENTILE = 99.0
#: frames where the loudest channel lies this far below its speech level hold nobody
ACTIVE_DB = -30.0
#: ``auto`` on a stereo file: one speaker per channel when each channel is this much louder
#: than the other (levels relative to each channel's own speech) in at least ``SIDE_SHARE`` of
#: the active frames. Two parties recorded on their own channels differ by their crosstalk
#: (15-25 dB on the close-talk real-voice meetings; 14 dB in the test call, a party recorded 6
#: dB quieter with 20 dB of leak; 30 dB or more on a phone line) whenever one talks; a mono
#: file saved as stereo by nothing; a stereo microphone pair in a room by a few dB, a spaced
#: pair with a talker close to one microphone by the direct sound's excess over the room's
#: reverberation (rarely over 12 dB: such a recording may need ``channel: mix``; the notice
#: says which path ran). The share only asks that both parties talk (3 %; the least on the
#: close-talk meetings was 10 %)
SIDE_DB = 12.0
SIDE_SHARE = 0.03
#: a frame tells whose voice it is when some channel lies ``DECIDED_DB`` above its floor (its
#: ``FLOOR_PERCENTILE`` level); quieter frames (pauses, where every channel holds the same
#: room noise) follow the nearest frame that does
FLOOR_PERCENTILE = 10.0
DECIDED_DB = 15.0
#: crosstalk is measured on frames where one channel is near its speech level and this much
#: above every other (relative levels), at least ``MIN_ALONE`` of them (else levels compare)
ALONE_DB = 10.0
MIN_ALONE = 20
#: turns: pieces shorter than this are dropped, gaps shorter than ``JOIN_S`` joined (s)
MIN_TURN_S = 0.2
JOIN_S = 0.3


#: a recording given to this module: a file (read channel by channel, streamed), 16 kHz
#: samples ``[C, T]`` in memory (the Python API), or a tuple of files, one per speaker (each
#: streamed, a multi-channel one averaged; they may differ in length and sample rate)
Audio = str | Path | np.ndarray | tuple[Path, ...]


def speaker_files(folder: str | Path) -> tuple[Path, ...]:
    """The audio files directly in ``folder`` (sorted by name; hidden files left out): one
    speaker each. A one-line error when there are fewer than two."""
    from notsofar.audio import audio_files

    folder = Path(folder)
    files = tuple(audio_files(folder, recursive=False))
    if len(files) < 2:
        raise NotsofarError(
            f"channel=speakers on a folder needs one audio file per speaker; found {len(files)}",
            path=folder,
        )
    return files


def speaker_names(files: tuple[Path, ...]) -> list[str]:
    """Speaker labels for a folder's files: each file's name without its audio extension
    (whitespace made ``_``: RTTM fields hold none); the whole name where two would collide.

    >>> speaker_names((Path("m/Alice Smith.wav"), Path("m/ES2011a.Headset-1.flac")))
    ['Alice_Smith', 'ES2011a.Headset-1']
    >>> speaker_names((Path("bob.wav"), Path("bob.flac")))
    ['bob.wav', 'bob.flac']
    """
    from notsofar.data import safe_id

    names = [safe_id(p.name[: -len(p.suffix)] if p.suffix else p.name) for p in files]
    if len(set(names)) < len(names):
        names = [safe_id(p.name) for p in files]
    return names


def track_labels(audio: Audio, channels: int) -> list[str]:
    """The speaker of each channel: ``spk<k>``, or a folder's file names
    (:func:`speaker_names`)."""
    if isinstance(audio, tuple):
        return speaker_names(audio)
    return [f"spk{k}" for k in range(channels)]


def num_channels(audio: Audio) -> int:
    from notsofar.audio import info

    if isinstance(audio, np.ndarray):
        return 1 if audio.ndim == 1 else int(audio.shape[0])
    if isinstance(audio, tuple):
        return len(audio)
    return info(audio).num_channels


def channel_source(audio: Audio, k: int, name: str) -> Any:
    """Channel ``k`` as an :class:`~notsofar.pipeline.source.AudioSource`."""
    from notsofar.pipeline.source import ArraySource, FileSource

    if isinstance(audio, np.ndarray):
        return ArraySource(np.ascontiguousarray(audio[k], dtype=np.float32), name)
    if isinstance(audio, tuple):
        return FileSource(audio[k], "mix", name=name)
    return FileSource(audio, k, name=name)


def channel_sources(audio: Audio, name: str) -> list[Any]:
    """Every channel (a folder's every file) as an
    :class:`~notsofar.pipeline.source.AudioSource`; a one-line error for an unreadable file."""
    return [channel_source(audio, k, name) for k in range(num_channels(audio))]


def channel_levels(audio: Audio, block_s: float = 60.0) -> np.ndarray:
    """Frame levels ``[C, frames]`` (dB, ``FRAME_S`` frames) of every channel of a recording;
    a file is streamed block by block (memory grows by 10 numbers per channel-second). One
    file per speaker: each file's levels (its channels averaged), the shorter ones padded with
    silence (-120 dB)."""
    from notsofar.audio import stream

    if isinstance(audio, tuple):
        rows = [_levels(stream(p, block_s=block_s, channel="mix")) for p in audio]
        rows = [r if r.size else np.zeros((1, 0)) for r in rows]  # an empty file
        frames = max(r.shape[1] for r in rows)
        return np.concatenate(
            [np.pad(r, ((0, 0), (0, frames - r.shape[1])), constant_values=-120.0) for r in rows]
        )
    return _levels([audio] if isinstance(audio, np.ndarray) else stream(audio, block_s=block_s))


def _levels(blocks: Any) -> np.ndarray:
    """:func:`channel_levels` of a sequence of ``[C, T]`` (or ``[T]``) 16 kHz blocks."""
    hop = int(round(FRAME_S * SAMPLE_RATE))
    out: list[np.ndarray] = []
    rest: np.ndarray | None = None
    for x in blocks:
        x = np.atleast_2d(x)
        if rest is not None:
            x = np.concatenate([rest, x], axis=1)
        n = x.shape[1] // hop
        frames = x[:, : n * hop].reshape(x.shape[0], n, hop)
        out.append(10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=2) + 1e-12))
        rest = x[:, n * hop :]
    if rest is not None and rest.shape[1]:
        out.append(
            10 * np.log10(np.mean(rest.astype(np.float64) ** 2, axis=1, keepdims=True) + 1e-12)
        )
    if not out:
        return np.zeros((0, 0))
    return np.concatenate(out, axis=1)


def relative_levels(levels: np.ndarray) -> np.ndarray:
    """Each channel's frame levels relative to its own speech level (``SPEECH_PERCENTILE``),
    so that channels recorded at different gains compare."""
    if levels.shape[1] == 0:
        return levels
    return levels - np.percentile(levels, SPEECH_PERCENTILE, axis=1, keepdims=True)


def own_frames(levels: np.ndarray, margin_db: float) -> np.ndarray:
    """``[C, frames]``: where each channel holds its own speaker's voice, not only what leaks
    in from the others. How much of channel ``j`` leaks into channel ``k`` is measured where
    ``j``'s speaker talks alone (``j`` near its speech level, every other channel ``ALONE_DB``
    below it): the median of ``level_j - level_k`` there. Channel ``k`` then holds its own voice
    where it is at least ``margin_db`` louder than every other channel's leak predicts; two
    people talking at once are both kept. A pair without such frames compares relative levels
    instead (``k`` within ``margin_db`` of ``j``).

    >>> t = np.arange(300)
    >>> a = np.where(t % 30 < 10, -20.0, -60.0)       # A alone, B alone, both
    >>> b = np.where((t % 30 >= 10) & (t % 30 < 20), -26.0, -60.0)
    >>> a, b = np.maximum(a, b - 14), np.maximum(b, a - 20)   # crosstalk 14 / 20 dB
    >>> both = t % 30 >= 20
    >>> a[both], b[both] = -21.0, -27.0
    >>> own = own_frames(np.stack([a, b]), 6.0)
    >>> own[:, :30:5].astype(int).tolist()
    [[1, 1, 0, 0, 1, 1], [0, 0, 1, 1, 1, 1]]
    """
    rel = relative_levels(levels)
    c = len(levels)
    own = np.ones(levels.shape, dtype=bool)
    for j in range(c):
        others = np.delete(rel, j, axis=0)
        alone = (rel[j] >= -ALONE_DB) & (rel[j] - others.max(axis=0, initial=-np.inf) >= ALONE_DB)
        for k in range(c):
            if k == j:
                continue
            if alone.sum() >= MIN_ALONE:
                leak = float(np.median(levels[j, alone] - levels[k, alone]))
                own[k] &= levels[k] >= levels[j] - leak + margin_db
            else:
                own[k] &= rel[k] >= rel[j] - margin_db
    return own


def is_per_speaker(levels: np.ndarray) -> bool:
    """Whether a two-channel recording holds one speaker per channel (see ``SIDE_DB``).

    >>> t = np.arange(200)
    >>> a = np.where(t % 40 < 20, -20.0, -60.0)   # channel 0 talks, then channel 1
    >>> b = np.where(t % 40 < 20, -60.0, -22.0)
    >>> is_per_speaker(np.stack([a, b])), is_per_speaker(np.stack([a, a - 3.0]))
    (True, False)
    """
    if levels.shape[0] != 2 or levels.shape[1] == 0:
        return False
    rel = relative_levels(levels)
    active = rel.max(axis=0) > ACTIVE_DB
    if active.sum() < 10:
        return False
    diff = rel[0, active] - rel[1, active]
    return bool(min(np.mean(diff > SIDE_DB), np.mean(diff < -SIDE_DB)) >= SIDE_SHARE)


def tracks_levels(audio: Audio, channel: int | str, name: str = "") -> np.ndarray | None:
    """The channel levels (:func:`channel_levels`) when ``channel`` (a config value) sends
    ``audio`` down the one-speaker-per-channel path: ``speakers`` (an error for mono audio), or
    ``auto`` on a stereo recording that :func:`is_per_speaker` recognises; else None. The
    levels are read once, for the decision and for :func:`diarize_tracks`."""
    if channel not in ("speakers", "auto"):
        return None
    channels = num_channels(audio)
    if channel == "speakers" and channels < 2:
        message = (
            "channel=speakers needs one channel per speaker (or a folder of one file per "
            "speaker); the audio is mono"
        )
        if isinstance(audio, np.ndarray):
            raise NotsofarError(f"{name}: {message}" if name else message)
        raise NotsofarError(message, path=audio)
    if channel == "auto" and channels != 2:
        return None
    levels = channel_levels(audio)
    return levels if channel == "speakers" or is_per_speaker(levels) else None


def array_tracks(
    audio: np.ndarray, sample_rate: int, channel: int | str, name: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """The Python API's ``[C, T]`` input as 16 kHz tracks, and their levels, when ``channel``
    sends it down the one-speaker-per-channel path (:func:`tracks_levels`), else None."""
    from notsofar.audio import check_finite, resample

    x = np.asarray(audio)
    if channel not in ("speakers", "auto") or (channel == "auto" and num_channels(x) != 2):
        return None
    check_finite(x, name)
    x = np.ascontiguousarray(resample(x.astype(np.float32), sample_rate, SAMPLE_RATE))
    levels = tracks_levels(x, channel, name)
    return None if levels is None else (x, levels)


def name_tracks(
    audio: Audio, turns: Transcript, cfg: DiarizeConfig, models: Any, session_id: str
) -> tuple[dict[str, str], str]:
    """:func:`notsofar.diarize.identify.identify` for one-speaker-per-microphone turns: each
    speaker's voice from their own channel (or file). ``({}, "")`` without speaker samples."""
    if not cfg.speaker_samples:
        return {}, ""
    from notsofar.diarize.identify import identify

    labels = track_labels(audio, num_channels(audio))
    sources = dict(zip(labels, channel_sources(audio, session_id), strict=True))
    return identify(sources, turns, cfg, models)


def tracks_notes(
    spans: list[list[tuple[float, float]]], cfg: DiarizeConfig, files: bool = False
) -> list[str]:
    """The notices of a run of this path (:func:`diarize_tracks`'s ``spans``; ``files``: on a
    folder of one file per speaker): that it ran, and that no speech was found when no
    channel holds any."""
    channels = len(spans)
    if files:
        notes = [f"one speaker per file ({channels} files: each speaker is named after their file)"]
    else:
        notes = [
            f"one speaker per channel ({channels} channels: spk<k> is channel k; "
            "channel=mix diarizes their average instead)"
        ]
    if not any(spans):
        from notsofar.vad import no_speech_note

        notes.append(no_speech_note(cfg.vad))
    return notes


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True))


def channel_turns(
    regions: list[tuple[float, float]], keep: np.ndarray, decided: np.ndarray | None = None
) -> list[tuple[float, float]]:
    """The parts of a channel's speech ``regions`` on frames where ``keep`` (its voice is
    its own, not leaked from another channel); gaps under ``JOIN_S`` joined, pieces under
    ``MIN_TURN_S`` dropped. Frames not ``decided`` (nobody loud: a pause, a soft sound, where
    every channel holds the same room noise) take the verdict of the nearest decided frame of
    the same region; a region without any keeps its own.

    >>> keep = np.array([True] * 10 + [False] * 10 + [True] * 10)
    >>> channel_turns([(0.0, 3.0)], keep)
    [(0.0, 1.0), (2.0, 3.0)]
    >>> decided = np.array([True] * 5 + [False] * 25)
    >>> channel_turns([(0.0, 3.0)], ~keep, decided)
    []
    """
    from notsofar.vad import merge_regions

    pieces = []
    for a, b in regions:
        fa, fb = int(a / FRAME_S), min(len(keep), int(np.ceil(b / FRAME_S)))
        k = keep[fa:fb]
        if decided is not None and decided[fa:fb].any():
            known = np.nonzero(decided[fa:fb])[0]
            # the nearest decided frame (the earlier one at equal distance)
            k = k[known[np.searchsorted((known[1:] + known[:-1]) / 2, np.arange(len(k)))]]
        for ra, rb in _runs(k):
            pieces.append((max(a, (fa + ra) * FRAME_S), min(b, (fa + rb) * FRAME_S)))
    joined = merge_regions(pieces, gap_s=JOIN_S)
    return [(round(float(a), 3), round(float(b), 3)) for a, b in joined if b - a >= MIN_TURN_S]


def bridge_pauses(
    turns: list[tuple[float, float]], others: list[tuple[float, float]], max_gap_s: float
) -> list[tuple[float, float]]:
    """Join a speaker's consecutive turns across a pause under ``max_gap_s`` in which no other
    speaker talks (``diarize.min_gap_s``, as the diarizer does: references run through a
    speaker's pauses).

    >>> bridge_pauses([(0.0, 1.0), (1.5, 2.0), (2.8, 3.0)], [(2.2, 2.5)], 1.0)
    [(0.0, 2.0), (2.8, 3.0)]
    """
    end = max([b for _, b in turns + others], default=0.0)
    busy = np.zeros(int(np.ceil(end / FRAME_S)) + 1, dtype=bool)  # someone else talks
    for a, b in others:
        busy[int(a / FRAME_S) : int(np.ceil(b / FRAME_S))] = True
    out: list[tuple[float, float]] = []
    for a, b in turns:
        gap = busy[int(np.ceil(out[-1][1] / FRAME_S)) : int(a / FRAME_S)] if out else busy[:0]
        if out and a - out[-1][1] < max_gap_s and not gap.any():
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def diarize_tracks(
    audio: Audio,
    cfg: DiarizeConfig,
    crosstalk_db: float,
    session_id: str,
    levels: np.ndarray | None = None,
) -> tuple[Transcript, list[list[tuple[float, float]]]]:
    """Speaker turns (``spk<k>`` = channel ``k``; a folder's: :func:`track_labels`) and each
    channel's turns as spans; ``cfg``
    gives the VAD settings and ``min_gap_s``; ``levels``: :func:`channel_levels` if already
    read."""
    from notsofar.data import Segment, Transcript
    from notsofar.vad import source_regions

    levels = channel_levels(audio) if levels is None else levels
    if levels.size == 0:  # an empty file
        return Transcript(), []
    own = own_frames(levels, crosstalk_db)
    # someone talks loud enough to tell whose microphone it is: a channel well above its floor
    floor = np.percentile(levels, FLOOR_PERCENTILE, axis=1, keepdims=True)
    decided = (levels - floor).max(axis=0) >= DECIDED_DB
    spans = []
    for k in range(len(levels)):
        regions = source_regions(channel_source(audio, k, session_id), cfg.vad)
        spans.append(channel_turns(regions, own[k], decided))
    spans = [
        bridge_pauses(ts, [t for j, o in enumerate(spans) if j != k for t in o], cfg.min_gap_s)
        for k, ts in enumerate(spans)
    ]
    labels = track_labels(audio, len(spans))
    turns = [Segment(session_id, labels[k], a, b, "") for k, ts in enumerate(spans) for a, b in ts]
    return Transcript(turns).sorted(), spans
