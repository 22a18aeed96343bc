"""``diarize.backend: pyannote``: the pyannote 3.x recipe, with CAM++ embeddings, streamed.

1. pyannote segmentation-3.0 (:mod:`notsofar.diarize.segmentation`) on 10 s windows every
   ``seg_step_s`` over each chunk of speech: up to three local speakers per window, overlap
   included (hard powerset decoding).
2. One CAM++ pass over the chunk's Kaldi fbank gives frame-level features (the network up to its
   statistics pooling); each (window, local speaker) gets the mean and standard deviation of the
   frames where that speaker talks *alone* (all its frames if that is under
   ``min_embedding_s``), through CAM++'s own embedding layer. One encoder pass per chunk instead
   of one per (window, speaker): the embeddings cost about as much as the audio is long.
3. At the end, the embeddings of every chunk are clustered together (:mod:`notsofar.diarize.ahc`:
   centroid-linkage agglomerative clustering with a distance threshold and a minimum cluster
   size, as pyannote 3.1 does), each window's local speakers are mapped to distinct global
   speakers (Hungarian assignment), and the windows are stitched back on one frame grid: at
   every frame the ``count`` most active speakers, where ``count`` is the number of speakers the
   segmentation hears there (so overlapped speech gives two turns at once).
4. Resegmentation: CAM++ embeddings of short spans (``reseg_window_s`` every ``reseg_hop_s``,
   pooled from the same frame features over frames of one voice) relabel the stretches where
   one speaker talks, by a Viterbi pass against the speakers' centroids: a change of speaker
   that the 10 s windows missed (one local speaker covering two people who follow each other)
   is found. Chosen on the real-voice tuning meetings: confusion 10.2 -> 6.7 % of speech.

Memory holds one chunk's audio and features, and per window only its hard activity
(``[589, 3]`` bytes) and three 192-d embeddings: about 3 MB per hour at a 2 s step.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.data import Segment, Transcript, first_appearance
from notsofar.diarize.config import DiarizeConfig

if TYPE_CHECKING:
    from notsofar.diarize.onnxrt import Campplus
    from notsofar.diarize.segmentation import Segmentation

#: CAM++ output frames: the fbank's 10 ms hop, halved by its first TDNN layer's stride 2
CAMPP_STEP_S = 0.02
#: fbank frames per CAM++ block and context on each side (memory stays ~40 MB per block)
BLOCK_FRAMES = 1000
CONTEXT_FRAMES = 100
#: speech behind an embedding that is clustered anyway when a recording has few embeddings
SHORT_EMBEDDING_S = 0.5


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op threads set to ``threads`` inside the block (0: left alone); nothing
    happens when torch is not loaded (the ONNX Runtime path)."""
    if not threads or "torch" not in sys.modules:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def campplus_frames(net: Campplus, fbank: np.ndarray) -> np.ndarray:
    """CAM++'s frame-level output ``[channels, ceil(T / 2)]`` for a ``[T, 80]`` fbank, run in
    blocks of ``BLOCK_FRAMES`` frames with ``CONTEXT_FRAMES`` of context on each side, each
    block mean-normalised over itself and its context."""
    out = []
    for a in range(0, len(fbank), BLOCK_FRAMES):
        lo = max(0, a - CONTEXT_FRAMES)
        hi = min(len(fbank), a + BLOCK_FRAMES + CONTEXT_FRAMES)
        piece = fbank[lo:hi] - fbank[lo:hi].mean(axis=0, keepdims=True)
        y = net.frames(piece)
        # output frame j covers input frames 2j, 2j+1
        j0 = (a - lo) // 2
        j1 = j0 + (min(a + BLOCK_FRAMES, len(fbank)) - a + 1) // 2
        out.append(y[:, j0:j1])
    return np.concatenate(out, axis=1) if out else np.zeros((0, 0), np.float32)


def pooled_embeddings(net: Campplus, frames: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """CAM++ embeddings ``[n, 192]`` (L2-normalised) from frame features ``[C, T]`` pooled
    over each row of ``masks [n, T]`` (mean and unbiased standard deviation, as CAM++'s own
    statistics pooling)."""
    m = masks.astype(np.float32)
    n = np.maximum(m.sum(axis=1, keepdims=True), 2.0)
    mean = m @ frames.T / n
    var = (m @ (frames.T**2) - n * mean**2) / (n - 1)
    return _embed_moments(net, mean, var)


def _embed_moments(net: Campplus, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """CAM++'s embedding layer on pooled statistics (mean, standard deviation from ``var``
    floored at 1e-4), L2-normalised."""
    stats = np.concatenate([mean, np.sqrt(np.maximum(var, 1e-4))], axis=1).astype(np.float32)
    emb = net.embed(stats)
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-9)


def short_embeddings(
    net: Campplus, frames: np.ndarray, alone: np.ndarray, window_s: float, hop_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CAM++ embeddings of ``window_s`` spans every ``hop_s`` over a chunk's frame features
    ``[C, T]``, pooled over the frames where one voice talks alone (``alone [T]``): centre times
    (s, chunk-relative), embeddings ``[m, 192]`` (float16, L2-normalised) and how much speech
    (s) each holds. Cumulative sums make each span's statistics O(C), whatever its length."""
    c, t = frames.shape
    centers = np.arange(hop_s / 2, t * CAMPP_STEP_S, hop_s)
    half = int(round(window_s / 2 / CAMPP_STEP_S))
    mid = np.round(centers / CAMPP_STEP_S).astype(int)
    lo, hi = np.clip(mid - half, 0, t), np.clip(mid + half, 0, t)
    m = alone.astype(np.float64)
    x = frames.T.astype(np.float64) * m[:, None]
    zero = np.zeros((1, c))
    s1 = np.concatenate([zero, np.cumsum(x, axis=0)])
    s2 = np.concatenate([zero, np.cumsum(x * frames.T, axis=0)])
    n = np.concatenate([[0.0], np.cumsum(m)])
    count = n[hi] - n[lo]
    keep = count * CAMPP_STEP_S >= min(0.5, window_s / 2)
    emb = np.zeros((len(centers), net.dim), np.float16)
    if keep.any():
        k = np.nonzero(keep)[0]
        nn = np.maximum(count[k], 2.0)[:, None]
        mean = (s1[hi[k]] - s1[lo[k]]) / nn
        var = ((s2[hi[k]] - s2[lo[k]]) - nn * mean**2) / (nn - 1)
        emb[k] = _embed_moments(net, mean, var)
    return centers, emb, np.where(keep, count * CAMPP_STEP_S, 0.0)


def viterbi_relabel(
    sims: np.ndarray, current: np.ndarray, prior: float, penalty: float
) -> np.ndarray:
    """The speaker sequence maximising ``sum(sims[i, k_i] + prior * [k_i == current[i]])
    - penalty * (number of changes)`` over consecutive short spans of one voice.

    >>> s = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.9], [0.1, 0.8], [0.15, 0.9]])
    >>> viterbi_relabel(s, np.zeros(5, int), 0.1, 0.3).tolist()
    [0, 0, 1, 1, 1]
    >>> viterbi_relabel(s, np.zeros(5, int), 0.2, 2.0).tolist()
    [0, 0, 0, 0, 0]
    """
    m, k = sims.shape
    score = sims + prior * (np.arange(k)[None, :] == current[:, None])
    back = np.zeros((m, k), dtype=int)
    acc = score[0].copy()
    for i in range(1, m):
        stay = acc
        best = int(np.argmax(acc))
        switch = acc[best] - penalty
        back[i] = np.where(stay >= switch, np.arange(k), best)
        acc = np.maximum(stay, switch) + score[i]
    out = np.zeros(m, dtype=int)
    out[-1] = int(np.argmax(acc))
    for i in range(m - 1, 0, -1):
        out[i - 1] = back[i, out[i]]
    return out


class Accumulator:
    """Windows' local activity and embeddings gathered chunk by chunk, clustered at the end."""

    def __init__(self, cfg: DiarizeConfig, models: Any) -> None:
        self.cfg = cfg
        self.models = models
        self.starts: list[np.ndarray] = []  # absolute window starts (s)
        self.activity: list[np.ndarray] = []  # [n, F, K] uint8
        self.embeddings: list[np.ndarray] = []  # [n, K, 192]
        self.usable: list[np.ndarray] = []  # [n, K] bool: embedding good enough to cluster
        self.speech_s: list[np.ndarray] = []  # [n, K] seconds of speech behind each embedding
        # resegmentation: short spans' absolute centre times and embeddings (float16)
        self.short_t: list[np.ndarray] = []
        self.short_emb: list[np.ndarray] = []
        # the same for stretches of VAD speech that segmentation-3.0 heard nobody in
        self.unheard_t: list[np.ndarray] = []
        self.unheard_emb: list[np.ndarray] = []
        # per chunk: (dB from 1-3 kHz to 4.3-5.2 kHz in the loudest frames, frames)
        self.band_gap: list[tuple[float, int]] = []
        #: one-line notices on how the recording was handled (``finish`` adds them), for the
        #: caller to show: e.g. telephone-band audio clustered with its own settings
        self.notes: list[str] = []

    def networks(self) -> tuple[Segmentation, Campplus]:
        """segmentation-3.0 and CAM++ on the configured runtime (loaded once per run)."""
        return self.models.diarizer_networks(self.cfg.runtime, self.cfg.threads)

    def prepare(self) -> None:
        """Load the models ahead of the first chunk: ``transcribe`` runs this in the
        background while Whisper loads."""
        self.networks()

    def prepare_finish(self) -> None:
        """Import the clustering's scipy modules (~0.5 CPU-s) ahead of :meth:`finish`:
        ``transcribe`` runs this in the background after the first chunk's embeddings, when
        Whisper alone leaves a core idle, rather than beside Whisper's model load."""
        import scipy.cluster.hierarchy  # noqa: F401
        import scipy.optimize  # noqa: F401

    def add(self, audio: np.ndarray, start_s: float, regions: list[tuple[float, float]]) -> None:
        from notsofar.diarize.segmentation import segment
        from notsofar.features import band_gap_db, kaldi_fbank

        cfg = self.cfg
        if len(audio) < int(0.1 * SAMPLE_RATE):
            return
        seg, net = self.networks()
        with torch_threads(cfg.threads):
            starts, act = segment(seg, audio, cfg.seg_step_s)
        n, nf, k = act.shape
        length_s = len(audio) / SAMPLE_RATE
        # frames past the end of the chunk (zero padding) say nothing
        centers = seg.frame_duration_s / 2 + seg.frame_step_s * np.arange(nf)
        act[(starts[:, None] + centers[None, :]) > length_s] = 0

        fbank = kaldi_fbank(audio)
        self.band_gap.append(band_gap_db(fbank))
        with torch_threads(cfg.threads):
            feats = campplus_frames(net, fbank)
        t = (np.arange(feats.shape[1]) + 0.5) * CAMPP_STEP_S
        alone = act.sum(axis=2, keepdims=True) == 1
        masks = np.zeros((n, k, feats.shape[1]), dtype=bool)
        # the windows' summed count of voices, and how many windows cover, per CAM++ frame
        voices = np.zeros(feats.shape[1])
        cover = np.zeros(feats.shape[1])
        for w in range(n):
            inside = (t >= starts[w]) & (t < starts[w] + seg.duration_s)
            idx = np.clip(
                np.round((t[inside] - starts[w] - centers[0]) / seg.frame_step_s).astype(int),
                0,
                nf - 1,
            )
            voices[inside] += act[w, idx].sum(axis=1)
            cover[inside] += 1
            clean = act[w] * alone[w]
            for s in range(k):
                m = clean[idx, s].astype(bool)
                if m.sum() * CAMPP_STEP_S < cfg.min_embedding_s:
                    m = act[w, idx, s].astype(bool)
                masks[w, s, inside] = m
        counts = masks.sum(axis=2) * CAMPP_STEP_S
        # clustered: enough speech for a reliable embedding; any speech at all still gets one,
        # so that the window's assignment can place it
        usable = counts >= cfg.min_embedding_s
        some = counts >= 3 * CAMPP_STEP_S
        emb = np.zeros((n, k, net.dim), dtype=np.float32)
        if some.any():
            with torch_threads(cfg.threads):
                emb[some] = pooled_embeddings(net, feats, masks[some])
        if cfg.reseg_penalty > 0:
            # one voice alone, by the windows' mean count of voices
            alone_t = np.rint(voices / np.maximum(cover, 1)) == 1
            with torch_threads(cfg.threads):
                tc, se, speech = short_embeddings(
                    net, feats, alone_t, cfg.reseg_window_s, cfg.reseg_hop_s
                )
            self.short_t.append(start_s + tc[speech > 0])
            self.short_emb.append(se[speech > 0])
        if cfg.fill_speech and cfg.fill_by_voice:
            # VAD speech in which the windows' mean count of voices rounds to nobody
            inside = np.zeros(len(t), dtype=bool)
            for ra, rb in regions:
                inside |= (t + start_s >= ra) & (t + start_s < rb)
            unheard = inside & (cover > 0) & (np.rint(voices / np.maximum(cover, 1)) == 0)
            if unheard.any():
                with torch_threads(cfg.threads):
                    tc, se, speech = short_embeddings(
                        net, feats, unheard, cfg.reseg_window_s, cfg.reseg_hop_s
                    )
                self.unheard_t.append(start_s + tc[speech > 0])
                self.unheard_emb.append(se[speech > 0])
        self.starts.append(start_s + starts)
        self.activity.append(act)
        self.embeddings.append(emb)
        self.usable.append(usable)
        self.speech_s.append(np.where(some, counts, 0.0))

    def finish(
        self, regions: list[tuple[float, float]], cfg: DiarizeConfig, session_id: str
    ) -> Transcript:
        from notsofar.diarize.ahc import (
            assign,
            centroids_of,
            cluster_labels,
            conflict_splits,
            piece,
        )

        if not self.starts:
            return Transcript()
        # two local speakers of one window this far apart are two voices, whatever the band:
        # a telephone line brings different people closer for CAM++, not one person's windows
        # (median distance 0.47 both ways; ``conflict_splits``)
        voices_apart = cfg.ahc_threshold
        # telephone-band audio: its own cut, and no rule that takes people for one voice
        narrow = self.narrowband()
        if narrow:
            gap, cut = self.band_gap_db(), cfg.narrowband_ahc_threshold
            self.notes.append(
                f"telephone-band audio (4.3-5.2 kHz {gap:.0f} dB below 1-3 kHz): speakers "
                f"clustered with diarize.narrowband_* (cut {cut}); "
                "diarize.narrowband_gap_db=0 turns this off"
            )
            cfg = self.cfg = replace(
                cfg,
                linkage=cfg.narrowband_linkage,
                ahc_threshold=cfg.narrowband_ahc_threshold,
                split_distance=cfg.narrowband_split_distance,
            )
        seg, _ = self.networks()
        starts = np.concatenate(self.starts)
        act = np.concatenate(self.activity)
        emb = np.concatenate(self.embeddings)
        usable = np.concatenate(self.usable)
        active = act.sum(axis=1) > 0  # [n, K]
        if usable.sum() < 2 * cfg.min_cluster_size:
            # a short recording: too few embeddings of a full second each; cluster every local
            # speaker with half a second of speech rather than find one speaker only
            usable = usable | (np.concatenate(self.speech_s) >= SHORT_EMBEDDING_S)
        if not usable.any():
            # speech too short for any embedding: one speaker wherever anyone talks
            binary = self._reconstruct(starts, act, np.where(active, 0, -2), seg)
            return self._turns(binary, regions, seg, session_id)

        def frames(centroids: np.ndarray) -> np.ndarray:
            return self._reconstruct(starts, act, assign(emb, active, centroids), seg, centroids)

        clustered = emb[usable]
        labels = cluster_labels(clustered, cfg)
        centroids = centroids_of(clustered, labels)
        binary = frames(centroids)
        if cfg.num_speakers is None:
            conflicts = conflict_splits(clustered, labels, np.nonzero(usable)[0], cfg, voices_apart)
            split = self._split_merged(
                binary, centroids, seg.frame_step_s, seg.frame_duration_s / 2, conflicts
            )
            if len(split) > len(centroids):
                centroids = split
                binary = frames(centroids)
        if cfg.num_speakers is None and cfg.mixture_similarity > 0 and not narrow:
            centroids, binary = self._drop_blends(centroids, binary, frames, seg)
        # speakers with too little speech go one at a time, least first: pieces of one person
        # split over several small clusters join up instead of vanishing together
        floor = 1 if cfg.num_speakers is None else cfg.num_speakers
        floor = max(floor, cfg.min_speakers)
        while len(centroids) > floor:
            speech = binary.sum(axis=0) * seg.frame_step_s
            least = int(np.argmin(speech))
            if speech[least] >= min(cfg.min_speaker_s, cfg.min_speaker_share * speech.sum()):
                # else a piece of a known voice, most alike first (not on a telephone line,
                # where CAM++ puts people closer)
                least = -1 if narrow else piece(centroids, speech, cfg)
                if least < 0:
                    break
            centroids = np.delete(centroids, least, axis=0)
            binary = frames(centroids)
        if cfg.fill_speech and cfg.fill_by_voice:
            self._fill_unheard(
                binary, centroids, regions, seg.frame_step_s, seg.frame_duration_s / 2
            )
        return self._turns(binary, regions, seg, session_id)

    def _drop_blends(
        self,
        centroids: np.ndarray,
        binary: np.ndarray,
        frames: Callable[[np.ndarray], np.ndarray],
        seg: Any,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Drop, one at a time, a speaker who is two others heard as one (see
        ``DiarizeConfig.mixture_similarity``) and heard alone for at most ``mixture_max_s``;
        the frames are stitched again without it (``frames``). Never below ``min_speakers``
        or two speakers."""
        from notsofar.diarize.ahc import blends

        cfg = self.cfg
        while len(centroids) > max(2, cfg.min_speakers):
            found = blends(centroids, cfg)
            if not found:
                break  # the usual case: no one-voice span bookkeeping needed
            alone = np.zeros(len(centroids))
            if self.short_t:
                _, _, _, who = self._one_voice_spans(
                    binary, seg.frame_step_s, seg.frame_duration_s / 2
                )
                alone = np.bincount(who, minlength=len(centroids)) * cfg.reseg_hop_s
            drop = [k for _, k in found if alone[k] <= cfg.mixture_max_s]
            if not drop:
                break
            centroids = np.delete(centroids, drop[0], axis=0)
            binary = frames(centroids)
        return centroids, binary

    def band_gap_db(self) -> float:
        """dB from 1-3 kHz down to 4.3-5.2 kHz in the loudest frames of the chunks seen so far
        (:func:`notsofar.features.band_gap_db`, frame-weighted; 0 before any chunk)."""
        frames = sum(n for _, n in self.band_gap)
        return sum(g * n for g, n in self.band_gap) / frames if frames else 0.0

    def narrowband(self) -> bool:
        """Telephone-band audio (see ``DiarizeConfig.narrowband_gap_db``), judged from the
        chunks' fbanks seen so far."""
        if self.cfg.narrowband_gap_db <= 0 or not self.band_gap:
            return False
        return self.band_gap_db() >= self.cfg.narrowband_gap_db

    def _turns(
        self, binary: np.ndarray, regions: list[tuple[float, float]], seg: Any, session_id: str
    ) -> Transcript:
        """The frame grid as turns, with ``fill_speech`` applied first."""
        step, offset = seg.frame_step_s, seg.frame_duration_s / 2
        if self.cfg.fill_speech:
            # a speaker without a turn long enough to keep does not lend its label to the gaps
            turns = _speaker_turns(binary, step, offset, self.cfg)
            binary[:, [not runs for runs in turns]] = False
            fill_speech(binary, regions, step, offset)
        return _to_turns(binary, step, seg.frame_duration_s, self.cfg, session_id)

    def _reconstruct(
        self,
        starts: np.ndarray,
        act: np.ndarray,
        labels: np.ndarray,
        seg: Any,
        centroids: np.ndarray | None = None,
    ) -> np.ndarray:
        """Stitch windows onto one frame grid ``[frames, speakers]`` (bool): per frame, the
        ``count`` most active speakers; then, with ``reseg_penalty`` > 0 and ``centroids``,
        :meth:`_resegment`."""
        from notsofar.diarize.segmentation import stitch

        num_speakers = 1 if centroids is None else len(centroids)
        step = seg.frame_step_s
        n, nf, k = act.shape
        # per window: each global speaker's activity, and (last column) how many voices it hears
        values = np.zeros((n, nf, num_speakers + 1), dtype=np.float32)
        for w in range(n):
            for s in range(k):
                if labels[w, s] >= 0:
                    np.maximum(
                        values[w, :, labels[w, s]], act[w, :, s], out=values[w, :, labels[w, s]]
                    )
        values[:, :, -1] = act.sum(axis=2)
        last = int(np.round(starts / step).max()) + nf
        grid = stitch(seg, starts, values, (last + 0.5) * step)
        score, count = grid[:, :-1], grid[:, -1]
        count = np.minimum(np.rint(count), min(2, num_speakers)).astype(int)
        order = np.argsort(-score, axis=1)
        binary = np.zeros_like(score, dtype=bool)
        for c in range(1, int(count.max(initial=0)) + 1):
            rows = np.nonzero(count >= c)[0]
            binary[rows, order[rows, c - 1]] = True
        if centroids is not None and self.cfg.reseg_penalty > 0 and num_speakers > 1:
            self._resegment(binary, centroids, step, seg.frame_duration_s / 2)
        return binary

    def _one_voice_spans(
        self, binary: np.ndarray, step: float, offset: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The short spans (centre times, embeddings, frame rows) that fall on frames where
        exactly one speaker talks, and that speaker's index."""
        tc = np.concatenate(self.short_t)
        emb = np.concatenate(self.short_emb).astype(np.float32)
        frame = np.round((tc - offset) / step).astype(int)
        inside = (frame >= 0) & (frame < len(binary))
        tc, emb, frame = tc[inside], emb[inside], frame[inside]
        single = binary[frame].sum(axis=1) == 1
        tc, emb, frame = tc[single], emb[single], frame[single]
        return tc, emb, frame, np.argmax(binary[frame], axis=1)

    def _split_merged(
        self,
        binary: np.ndarray,
        centroids: np.ndarray,
        step: float,
        offset: float,
        conflicts: dict[int, np.ndarray],
    ) -> np.ndarray:
        """Centroids with each merged speaker split in two (see ``split_distance``): Ward's
        two groups of the speaker's one-voice spans become two speakers when far enough apart
        and both big enough; a speaker they leave whole that ``conflicts`` holds (see
        :func:`notsofar.diarize.ahc.conflict_splits`) takes that split instead."""
        from scipy.cluster.hierarchy import fcluster, linkage

        from notsofar.diarize.ahc import _normalize

        cfg = self.cfg
        emb, who = np.zeros((0, 1)), np.zeros(0, dtype=int)
        if self.short_t and cfg.split_distance > 0:
            _, emb, _, who = self._one_voice_spans(binary, step, offset)
        out = list(centroids)
        for k in range(len(centroids)):
            if len(out) >= cfg.max_speakers:
                break
            x = emb[who == k].astype(np.float64)
            halves = None
            if len(x) >= 20:
                # evenly spread over the recording: Ward is quadratic in the spans
                pick = x[np.linspace(0, len(x) - 1, min(len(x), 400)).astype(int)]
                groups = fcluster(linkage(pick, "ward"), 2, "maxclust") == 1
                a, b = (_normalize(pick[h].mean(0)) for h in (groups, ~groups))
                share = min(groups.mean(), 1.0 - groups.mean())
                if (
                    np.linalg.norm(a - b) > cfg.split_distance
                    and share >= cfg.split_min_share
                    and share * len(x) * cfg.reseg_hop_s >= cfg.split_min_s
                ):
                    halves = (a, b)
            if halves is None and k in conflicts:
                halves = tuple(conflicts[k])
            if halves is not None:
                out[k] = halves[0]
                out.append(halves[1])
        return np.stack(out)

    def _fill_unheard(
        self,
        binary: np.ndarray,
        centroids: np.ndarray,
        regions: list[tuple[float, float]],
        step: float,
        offset: float,
    ) -> None:
        """Give VAD speech that segmentation-3.0 heard nobody in (in place) the speaker whose
        centroid its ``reseg_window_s`` CAM++ spans match, with the Viterbi pass of
        :meth:`_resegment` (``reseg_penalty`` per change) over each run of consecutive spans;
        only frames where nobody talks and inside ``regions`` change."""
        if not self.unheard_t:
            return
        tc = np.concatenate(self.unheard_t)
        emb = np.concatenate(self.unheard_emb).astype(np.float32)
        frame = np.round((tc - offset) / step).astype(int)
        ok = (frame >= 0) & (frame < len(binary))
        if not ok.any():
            return
        tc, emb, frame = tc[ok], emb[ok], frame[ok]
        order = np.argsort(tc, kind="stable")
        tc, emb, frame = tc[order], emb[order], frame[order]
        inside = np.zeros(len(binary), dtype=bool)
        for a, b in regions:
            lo, hi = _frame_range(a, b, step, offset, len(binary))
            inside[lo:hi] = True
        silent = inside & ~binary.any(axis=1)
        sims = emb @ centroids.T.astype(np.float32)
        best = np.argmax(sims, axis=1)
        for _, spk, rows in self._span_labels(tc, frame, sims, best, 0.0, step, len(binary)):
            rows = rows[silent[rows]]
            binary[rows, spk] = True
            silent[rows] = False

    def _resegment(
        self, binary: np.ndarray, centroids: np.ndarray, step: float, offset: float
    ) -> None:
        """Relabel stretches of one voice by short-span embeddings (in place): a speaker change
        that the 10 s windows missed (segmentation-3.0 sometimes keeps two people who follow
        each other as one local speaker) is found where ``reseg_window_s`` spans match another
        speaker's centroid, with a Viterbi pass (``reseg_prior`` for the windows' own label,
        ``reseg_penalty`` per change) over each run of consecutive spans."""
        if not self.short_t:
            return
        cfg = self.cfg
        tc, emb, frame, current = self._one_voice_spans(binary, step, offset)
        if len(tc) == 0:
            return
        sims = emb @ centroids.T.astype(np.float32)
        spans = self._span_labels(tc, frame, sims, current, cfg.reseg_prior, step, len(binary))
        for i, spk, rows in spans:
            if spk == current[i]:
                continue
            rows = rows[binary[rows].sum(axis=1) == 1]
            binary[rows] = False
            binary[rows, spk] = True

    def _span_labels(
        self,
        tc: np.ndarray,
        frame: np.ndarray,
        sims: np.ndarray,
        current: np.ndarray,
        prior: float,
        step: float,
        num_frames: int,
    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """Per short span (centre times ``tc``, sorted; frame rows ``frame``): its index, its
        speaker by :func:`viterbi_relabel` (``prior`` for ``current``, ``reseg_penalty`` per
        change) over each run of spans one hop apart, and the frame rows within half a hop of
        its centre. Lazy: the rows are for the caller to filter against the frames as they
        are when the span comes."""
        cfg = self.cfg
        breaks = np.nonzero(np.diff(tc) > 1.5 * cfg.reseg_hop_s)[0] + 1
        half = int(round(cfg.reseg_hop_s / 2 / step))
        for run in np.split(np.arange(len(tc)), breaks):
            labels = viterbi_relabel(sims[run], current[run], prior, cfg.reseg_penalty)
            for i, spk in zip(run, labels, strict=True):
                lo, hi = max(0, frame[i] - half), min(num_frames, frame[i] + half + 1)
                yield int(i), int(spk), np.arange(lo, hi)


def fill_speech(
    binary: np.ndarray, regions: list[tuple[float, float]], step: float, offset: float
) -> None:
    """Give every silent frame of ``binary [frames, speakers]`` (in place) whose centre lies in
    a speech region the speaker of the nearest frame in that region where someone talks (the
    first of two talking at once); a region where nobody talks stays silent. Frame ``i`` spans
    ``offset + i * step`` to ``offset + (i + 1) * step``.

    >>> b = np.zeros((10, 2), dtype=bool); b[2, 0] = b[7, 1] = True
    >>> fill_speech(b, [(0.0, 0.6), (0.6, 1.0)], 0.1, 0.0)
    >>> b.argmax(axis=1).tolist(), b.any(axis=1).astype(int).tolist()
    ([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    """
    talking = binary.any(axis=1)
    for a, b in regions:
        lo, hi = _frame_range(a, b, step, offset, len(binary))
        idx = np.nonzero(talking[lo:hi])[0]
        if hi <= lo or len(idx) == 0 or len(idx) == hi - lo:
            continue
        pos = np.nonzero(~talking[lo:hi])[0]
        right = idx[np.minimum(np.searchsorted(idx, pos), len(idx) - 1)]
        left = idx[np.maximum(np.searchsorted(idx, pos) - 1, 0)]
        near = np.where(np.abs(pos - left) <= np.abs(right - pos), left, right)
        binary[lo + pos, np.argmax(binary[lo + near], axis=1)] = True


def _frame_range(
    a: float, b: float, step: float, offset: float, num_frames: int
) -> tuple[int, int]:
    """The rows ``lo:hi`` of the frames whose centres lie in ``[a, b)`` (frame ``i`` spans
    ``offset + i * step`` to ``offset + (i + 1) * step``), clipped to ``num_frames``."""
    lo = max(0, int(np.ceil((a - offset) / step - 0.5)))
    hi = min(num_frames, int(np.ceil((b - offset) / step - 0.5)))
    return lo, hi


def _speaker_turns(
    binary: np.ndarray, step: float, offset: float, cfg: DiarizeConfig
) -> list[list[list[float]]]:
    """Per speaker (column of ``binary``), its turns ``[t0, t1]``: runs of active frames, gaps
    under ``min_gap_s`` in which nobody else talks filled (a pause inside one person's turn),
    turns under ``min_segment_s`` dropped."""
    out = []
    talking = binary.sum(axis=1)  # speakers active per frame
    for spk in range(binary.shape[1]):
        x = np.concatenate([[False], binary[:, spk], [False]]).astype(np.int8)
        edges = np.diff(x)
        on, off = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        others = talking > binary[:, spk]  # someone else talks in the frame
        runs: list[list[float]] = []
        last = 0
        for a, b in zip(on, off, strict=True):
            t0, t1 = offset + a * step, offset + b * step
            if runs and t0 - runs[-1][1] < cfg.min_gap_s and not others[last:a].any():
                runs[-1][1] = t1
            else:
                runs.append([t0, t1])
            last = b
        out.append([r for r in runs if r[1] - r[0] >= cfg.min_segment_s])
    return out


def _to_turns(
    binary: np.ndarray, step: float, frame_duration: float, cfg: DiarizeConfig, session_id: str
) -> Transcript:
    """Per-speaker runs of active frames -> turns (:func:`_speaker_turns`)."""
    segments = []
    for spk, runs in enumerate(_speaker_turns(binary, step, frame_duration / 2, cfg)):
        for t0, t1 in runs:
            segments.append(Segment(session_id, f"spk{spk}", round(t0, 3), round(t1, 3), ""))
    from dataclasses import replace

    segments.sort(key=lambda s: (s.start_time, s.speaker))  # ties in the output keep this order
    rename = first_appearance(segments)
    return Transcript([replace(s, speaker=rename[s.speaker]) for s in segments]).sorted()
