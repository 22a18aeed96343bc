"""Diarization with space as well as voice: refine embedding clusters by direction of arrival.

People in a meeting sit still; two similar voices at different seats come from different
directions. :func:`spatial_diarize` measures an SRP-PHAT direction for every analysis window of
every diarization segment, then, per speaker cluster of the embedding diarizer, looks for more
than one dominant direction: a cluster drawn from two seats is split (``split``, when each
direction is a tight seat), two clusters from the same seat are merged, and a window that
points at another speaker's seat, far from its own speaker's, goes to that speaker
(``reseat``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from notsofar.arrays import ArrayGeometry
from notsofar.data import Segment, Transcript
from notsofar.enhance.config import SpatialConfig
from notsofar.enhance.doa import SRPPhat, angular_distance
from notsofar.features import FeatureConfig, stft

#: one talker's windows point within this many degrees of their seat (SRP-PHAT from the
#: dominant time-frequency bins, 1-s windows, WPE audio: 97 % of them on the tuning meetings)
SEAT_WIDTH_DEG = 15.0


@dataclass(frozen=True)
class WindowDOA:
    segment: int  # index into the diarization's segments
    start_time: float
    end_time: float
    azimuth_deg: float
    strength: float  # SRP peak (0..1): how coherent the window is
    overlapped: bool = False  # another speaker talks in it too (its direction is ambiguous)


def window_doas(
    audio: np.ndarray,
    sample_rate: int,
    diarization: Transcript,
    geometry: ArrayGeometry,
    cfg: SpatialConfig = SpatialConfig(),
    stft_cfg: FeatureConfig = FeatureConfig(n_fft=512, win_length=512, hop_length=128),
) -> list[WindowDOA]:
    """SRP-PHAT direction of every ``window_s`` window inside each diarization segment."""
    srp = SRPPhat(
        geometry,
        stft_cfg,
        cfg.fmin_hz,
        cfg.fmax_hz,
        cfg.azimuth_step_deg,
        cfg.elevation_deg,
        cfg.bin_snr_db,
    )
    hop_s = stft_cfg.hop_length / sample_rate
    segments = list(diarization)
    out: list[WindowDOA] = []
    for idx, seg in enumerate(diarization):
        a = max(0, int(seg.start_time * sample_rate))
        b = min(audio.shape[-1], int(seg.end_time * sample_rate))
        if b - a < int(0.1 * sample_rate):
            continue
        X = stft(audio[:, a:b], stft_cfg)
        n_frames = X.shape[-1]
        per = max(1, int(round(cfg.window_s / hop_s)))
        n_win = max(1, int(round(n_frames / per)))
        edges = np.linspace(0, n_frames, n_win + 1).astype(int)
        frames = [(int(edges[k]), int(edges[k + 1])) for k in range(n_win)]
        maps = srp.windows(X, frames)
        for (f0, f1), m in zip(frames, maps, strict=True):
            if not np.ptp(m) > 0:  # no usable bin (bin_snr_db): the window has no direction
                continue
            k = int(np.argmax(m))
            out.append(
                WindowDOA(
                    idx,
                    seg.start_time + f0 * hop_s,
                    min(seg.end_time, seg.start_time + f1 * hop_s),
                    float(srp.azimuths[k]),
                    float(m[k]),
                )
            )
    return [_mark_overlap(w, segments) for w in out]


def _mark_overlap(w: WindowDOA, segments: list[Segment]) -> WindowDOA:
    own = segments[w.segment].speaker
    for s in segments:
        if s.speaker != own and s.start_time < w.end_time and s.end_time > w.start_time:
            return dataclasses.replace(w, overlapped=True)
    return w


def direction_modes(
    azimuths: np.ndarray,
    durations: np.ndarray,
    min_separation_deg: float,
    min_share: float,
    min_s: float,
    max_modes: int = 4,
) -> list[float]:
    """Dominant directions of a set of windows: peaks of a smoothed circular histogram.

    A peak counts when it lies ``min_separation_deg`` from every stronger accepted peak and the
    windows nearest to it hold ``min_share`` of the total duration and ``min_s`` seconds.

    >>> az = np.array([10.0] * 10 + [200.0] * 6)
    >>> direction_modes(az, np.ones(16), 45, 0.2, 4)
    [10.0, 200.0]
    """
    if len(azimuths) == 0:
        return []
    grid = np.arange(0.0, 360.0, 1.0)
    d = angular_distance(grid[:, None], azimuths[None, :])
    hist = (np.exp(-0.5 * (d / 10.0) ** 2) * durations[None, :]).sum(axis=1)
    order = np.argsort(-hist)
    total = float(durations.sum())
    modes: list[float] = [float(grid[order[0]])]
    for g in order[1:]:
        if len(modes) >= max_modes:
            break
        cand = float(grid[g])
        if np.min(angular_distance(cand, np.array(modes))) < min_separation_deg:
            continue
        # a local maximum only (the histogram's shoulder is not a second seat)
        if hist[g] < hist[(g - 3) % 360] or hist[g] < hist[(g + 3) % 360]:
            continue
        trial = np.array(modes + [cand])
        nearest = np.argmin(angular_distance(azimuths[:, None], trial[None, :]), axis=1)
        mass = float(durations[nearest == len(modes)].sum())
        if mass >= min_share * total and mass >= min_s:
            modes.append(cand)
    return modes


def seats(
    azimuths: np.ndarray, durations: np.ndarray, modes: list[float], min_tight: float
) -> bool:
    """Whether every one of several directions is a seat: at least ``min_tight`` of the window
    time nearest to it lies within :data:`SEAT_WIDTH_DEG` of it.

    >>> az = np.array([10.0] * 9 + [40.0] + [200.0] * 5)
    >>> seats(az, np.ones(15), [10.0, 200.0], 0.9), seats(az, np.ones(15), [10.0, 200.0], 0.95)
    (True, False)
    """
    if len(modes) < 2:
        return True
    nearest = np.argmin(angular_distance(azimuths[:, None], np.array(modes)[None, :]), axis=1)
    for k, mode in enumerate(modes):
        mine = nearest == k
        tight = mine & (angular_distance(azimuths, mode) <= SEAT_WIDTH_DEG)
        if float(durations[tight].sum()) < min_tight * float(durations[mine].sum()):
            return False
    return True


def spatial_diarize(
    audio: np.ndarray,
    sample_rate: int,
    diarization: Transcript,
    geometry: ArrayGeometry,
    cfg: SpatialConfig = SpatialConfig(),
    stft_cfg: FeatureConfig = FeatureConfig(n_fft=512, win_length=512, hop_length=128),
) -> tuple[Transcript, dict[str, float]]:
    """Refine an embedding diarization with directions of arrival.

    Args:
        audio: ``[C, T]`` (dereverberated) array audio.
        sample_rate: its rate.
        diarization: speaker segments of the embedding diarizer (no words needed).
        geometry: the array (channels as in ``audio``).
        cfg: window length, band and split/merge thresholds.
        stft_cfg: the shared STFT.

    Returns:
        ``(refined diarization, {speaker: dominant azimuth in degrees})``. A split cluster ``A``
        becomes ``A`` (its main direction) and ``A~2``, ``A~3``...
    """
    segments = list(diarization)
    wins = window_doas(audio, sample_rate, diarization, geometry, cfg, stft_cfg)
    by_speaker: dict[str, list[WindowDOA]] = {}
    for w in wins:
        by_speaker.setdefault(segments[w.segment].speaker, []).append(w)
    directions: dict[str, float] = {}
    assigned: list[tuple[WindowDOA, str]] = []  # each window and the cluster it went to
    clean_windows: dict[str, list[tuple[float, float]]] = {}
    for spk, ws in by_speaker.items():
        az = np.array([w.azimuth_deg for w in ws])
        dur = np.array([w.end_time - w.start_time for w in ws])
        # a cluster's directions come from windows where it talks alone, when there are any
        clean = np.array([not w.overlapped for w in ws])
        use = clean if clean.any() else np.ones_like(clean)
        modes = direction_modes(
            az[use],
            dur[use],
            cfg.split_min_separation_deg,
            cfg.split_min_share,
            cfg.split_min_s,
            max_modes=4 if cfg.split else 1,
        )
        if not seats(az[use], dur[use], modes, cfg.split_min_tight):
            modes = modes[:1]
        names = [spk] + [f"{spk}~{k + 1}" for k in range(1, len(modes))]
        for name, m in zip(names, modes, strict=True):
            directions[name] = m
        nearest = np.argmin(angular_distance(az[:, None], np.array(modes)[None, :]), axis=1)
        for w, k, ok in zip(ws, nearest, use, strict=True):
            assigned.append((w, names[k]))
            if ok:
                clean_windows.setdefault(names[k], []).append(
                    (w.azimuth_deg, w.end_time - w.start_time)
                )
    out = Transcript(_rebuild(segments, assigned))
    target: dict[str, str] = {}
    if cfg.merge_max_separation_deg > 0:
        out, directions, target = _merge_same_seat(
            out, directions, cfg.merge_max_separation_deg, clean_windows
        )
    if cfg.reseat and len(directions) > 1:
        reseated = _reseat(assigned, target, directions, cfg)
        if reseated is not None:
            out = Transcript(_rebuild(segments, reseated, target))
    return out.sorted(), directions


def _rebuild(
    segments: list[Segment],
    assigned: list[tuple[WindowDOA, str]],
    rename: dict[str, str] | None = None,
) -> list[Segment]:
    """The diarization's segments with their windows' labels: one label for the whole segment,
    or the segment cut where the (smoothed) labels change; a segment without a window keeps its
    speaker (through ``rename``, e.g. a merge)."""
    rename = rename or {}
    parts_of: dict[int, list[tuple[float, float, str]]] = {}
    for w, name in assigned:
        parts_of.setdefault(w.segment, []).append((w.start_time, w.end_time, name))
    out: list[Segment] = []
    for idx, seg in enumerate(segments):
        parts = parts_of.get(idx)
        if not parts:
            out.append(dataclasses.replace(seg, speaker=rename.get(seg.speaker, seg.speaker)))
        elif len({p[2] for p in parts}) == 1:
            out.append(dataclasses.replace(seg, speaker=parts[0][2]))
        else:
            out.extend(_split_segment(seg, _smooth([p[2] for p in parts]), parts))
    return out


def _reseat(
    assigned: list[tuple[WindowDOA, str]],
    target: dict[str, str],
    directions: dict[str, float],
    cfg: SpatialConfig,
) -> list[tuple[WindowDOA, str]] | None:
    """Each window with its final label (``target``: the merge's mapping), a clean window that
    points at another speaker's seat, far from its own speaker's, given to that speaker
    (``SpatialConfig.reseat``). None when no window moves."""
    names = list(directions)
    seats_deg = np.array([directions[n] for n in names])
    out: list[tuple[WindowDOA, str]] = []
    moved = False
    for w, name in assigned:
        name = target.get(name, name)
        if not w.overlapped and name in directions:
            dist = angular_distance(w.azimuth_deg, seats_deg)
            k = int(np.argmin(dist))
            if (
                names[k] != name
                and dist[k] <= SEAT_WIDTH_DEG
                and angular_distance(w.azimuth_deg, directions[name])
                >= cfg.split_min_separation_deg
            ):
                name, moved = names[k], True
        out.append((w, name))
    return out if moved else None


def _smooth(labels: list[str]) -> list[str]:
    """Majority vote for short segments, a width-3 mode filter otherwise (one noisy window).
    A tied vote goes to the earliest label (not to a set's order, which Python's string hashing
    changes from process to process).

    >>> _smooth(["B", "A"]), _smooth(["A", "B", "B"]), _smooth(["A", "B", "A", "A"])
    (['B', 'B'], ['B', 'B', 'B'], ['A', 'A', 'A', 'A'])
    """
    if len(labels) <= 3:
        winner = max(labels, key=labels.count)
        return [winner] * len(labels)
    out = list(labels)
    for i in range(1, len(labels) - 1):
        if labels[i - 1] == labels[i + 1] != labels[i]:
            out[i] = labels[i - 1]
    return out


def _split_segment(
    seg: Segment, labels: list[str], parts: list[tuple[float, float, str]]
) -> list[Segment]:
    runs: list[list] = []
    for (t0, t1, _), lab in zip(parts, labels, strict=True):
        if runs and runs[-1][2] == lab:
            runs[-1][1] = t1
        else:
            runs.append([t0, t1, lab])
    runs[0][0] = seg.start_time
    runs[-1][1] = seg.end_time
    return [
        dataclasses.replace(
            seg, speaker=lab, start_time=float(t0), end_time=float(t1), word_details=None
        )
        for t0, t1, lab in runs
    ]


def _merge_same_seat(
    t: Transcript,
    directions: dict[str, float],
    max_sep: float,
    windows: dict[str, list[tuple[float, float]]],
    min_agree: float = 0.6,
) -> tuple[Transcript, dict[str, float], dict[str, str]]:
    """Merge a cluster into a bigger one when most of its windows point at that one's seat
    (the merged transcript, the remaining directions, and which cluster went into which).

    ``windows`` holds ``(azimuth, duration)`` of each cluster's non-overlapped windows; a
    cluster whose direction is a tie between two seats (e.g. it swallowed an overlap) agrees
    with neither and is left alone.
    """
    speech = {s: sum(x.duration for x in g) for s, g in t.groupby("speaker").items()}
    order = sorted(speech, key=lambda s: -speech[s])  # most speech first: it keeps its label
    target: dict[str, str] = {}
    for i, s in enumerate(order):
        if s not in directions or not windows.get(s):
            continue
        az = np.array([w[0] for w in windows[s]])
        dur = np.array([w[1] for w in windows[s]])
        for kept in order[:i]:
            if kept in target or kept not in directions:
                continue
            near = angular_distance(az, directions[kept]) <= max_sep
            if float(dur[near].sum()) >= min_agree * float(dur.sum()):
                target[s] = kept
                break
    if not target:
        return t, directions, target
    merged = t.map(lambda x: dataclasses.replace(x, speaker=target.get(x.speaker, x.speaker)))
    return merged, {s: a for s, a in directions.items() if s not in target}, target
