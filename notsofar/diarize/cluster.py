"""Clustering window embeddings into speakers, and turning labels back into speaker turns.

Clustering sees each window averaged with its neighbours within ``smooth_s`` seconds
(:func:`smooth`). Speaker count (``count``): ``nme`` (default) and ``eigengap`` (for recordings
with at least ``eigengap_min_windows`` windows) read it off the spectrum of a pruned affinity
(NME-SC chooses the pruning itself, :func:`nme_count`) and split with spectral clustering;
shorter recordings and ``threshold`` cut the average-linkage (cosine) dendrogram at
``threshold``; ``silhouette`` clusters for every ``k`` in ``[min_speakers, max_speakers]`` and keeps
the best silhouette score (one speaker if even that is below ``min_silhouette``). Tiny clusters
(< ``min_cluster_share`` of the windows) are folded into their nearest neighbour. Resegmentation
scores every ``step_s`` frame of speech against each speaker centroid (averaging the windows
that cover it), then median-filters the labels and drops turns shorter than ``min_segment_s``.
"""

from __future__ import annotations

import numpy as np

from notsofar.data import Segment, Transcript
from notsofar.diarize.config import DiarizeConfig


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def _cluster_k(x: np.ndarray, k: int, method: str, affinity: np.ndarray) -> np.ndarray:
    if k == 1:
        return np.zeros(len(x), dtype=int)
    if method == "spectral":
        import warnings

        from sklearn.cluster import SpectralClustering

        with warnings.catch_warnings():
            # a pruned affinity may fall apart into pieces: that is the point of pruning
            warnings.filterwarnings("ignore", message="Graph is not fully connected")
            return SpectralClustering(
                n_clusters=k, affinity="precomputed", random_state=0, assign_labels="cluster_qr"
            ).fit_predict(affinity)
    from sklearn.cluster import AgglomerativeClustering

    return AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(x)


def _fold_small(x: np.ndarray, labels: np.ndarray, min_count: int) -> np.ndarray:
    """Reassign members of clusters smaller than ``min_count`` to the nearest remaining centroid."""
    while True:
        ids, counts = np.unique(labels, return_counts=True)
        if len(ids) <= 1 or counts.min() >= min_count:
            break
        small = ids[np.argmin(counts)]
        keep = ids[ids != small]
        cents = _normalize(np.stack([x[labels == i].mean(0) for i in keep]))
        members = labels == small
        labels = labels.copy()
        labels[members] = keep[np.argmax(x[members] @ cents.T, axis=1)]
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def pruned_affinity(x: np.ndarray, prune: float) -> np.ndarray:
    """Cosine affinity in which each row keeps only its ``prune`` share of nearest neighbours
    (symmetrised, zero diagonal), as in NME-SC: it removes the many weak links that
    overlapped and noisy windows make."""
    n = len(x)
    sim = x @ x.T
    keep = max(2, int(round(prune * n)))
    idx = np.argsort(-sim, axis=1)[:, :keep]
    rows = np.arange(n)[:, None]
    a = np.zeros_like(sim)
    a[rows, idx] = np.clip(sim[rows, idx], 0.0, None)
    a = (a + a.T) / 2
    np.fill_diagonal(a, 0.0)
    return a


def eigengap_count(x: np.ndarray, cfg: DiarizeConfig) -> int:
    """Speaker count from the eigengap of the normalised Laplacian of a pruned affinity.

    Each row of the cosine affinity keeps its ``prune`` share of nearest neighbours (as in
    NME-SC, Park et al. 2019), which removes the many weak links that overlapped and noisy
    windows make. One speaker is assumed when even the second-smallest eigenvalue is above
    ``single_speaker_gap`` (no cluster structure at all).
    """
    from scipy.linalg import eigh

    n = len(x)
    a = pruned_affinity(x, cfg.prune)
    d = 1.0 / np.sqrt(np.maximum(a.sum(axis=1), 1e-9))
    lap = np.eye(n) - d[:, None] * a * d[None, :]
    upper = min(cfg.max_speakers, n - 1)
    eig = eigh(lap, eigvals_only=True, subset_by_index=[0, upper])
    if cfg.min_speakers == 1 and eig[1] > cfg.single_speaker_gap:
        return 1
    lo = max(2, cfg.min_speakers)
    gaps = np.diff(eig)  # gaps[k-1] = eig[k] - eig[k-1]: the gap after k clusters
    return int(lo + np.argmax(gaps[lo - 1 : upper]))


def nme_count(x: np.ndarray, cfg: DiarizeConfig) -> int:
    """Speaker count by NME-SC (Park et al. 2019): for each pruning ``p`` (neighbours kept per
    row), the binarised, symmetrised affinity's Laplacian gives a count ``k`` (largest eigengap
    among the smallest ``max_speakers`` + 1 eigenvalues) and a normalised maximum eigengap
    ``g`` (that gap over the largest eigenvalue); the ``p`` with the smallest ``p / g`` wins.

    ``x`` are L2-normalised embeddings, not mean-removed: with two or three speakers, removing
    the mean pushes the voices that are not the odd one out together. One speaker is never
    returned here (see :func:`cluster` for that test).
    """
    from scipy.linalg import eigh

    n = len(x)
    if n > cfg.count_windows:  # cubic cost: an even subsample says as much about the count
        x = x[np.linspace(0, n - 1, cfg.count_windows).astype(int)]
        n = len(x)
    upper = min(cfg.max_speakers, n - 1)
    lo = max(2, cfg.min_speakers)
    if upper <= lo:
        return max(1, upper)
    order = np.argsort(-(x @ x.T), axis=1)
    rows = np.arange(n)[:, None]
    step = max(1, n // 100)
    best = (np.inf, lo)
    for keep in range(max(2, step), max(3, n // 4), step):
        a = np.zeros((n, n))
        a[rows, order[:, :keep]] = 1.0
        a = (a + a.T) / 2
        eig = eigh(np.diag(a.sum(axis=1)) - a, eigvals_only=True)
        gaps = np.diff(eig[: upper + 1])  # gaps[k-1]: the gap after k clusters
        k = lo + int(np.argmax(gaps[lo - 1 : upper]))
        ratio = (keep / n) / max(gaps[k - 1] / max(eig[-1], 1e-9), 1e-12)
        if ratio < best[0]:
            best = (ratio, k)
    return best[1]


def smooth(x: np.ndarray, spans: np.ndarray | None, seconds: float) -> np.ndarray:
    """Each row of ``x`` averaged with the rows whose span centres lie within ``seconds`` of
    its own, re-normalised; ``x`` itself when ``spans`` is None or ``seconds`` is 0.

    One 1.5 s window's embedding says as much about its words as about its voice; averaging a
    window with its neighbours (mostly the same speaker) keeps the voice and evens out the
    words, so clusters form by speaker rather than by sentence.

    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> smooth(x, np.array([[0.0, 1.5], [0.5, 2.0], [9.0, 10.5]]), 0.5).round(3).tolist()
    [[0.707, 0.707], [0.707, 0.707], [0.0, 1.0]]
    """
    if spans is None or seconds <= 0 or len(x) == 0:
        return x
    mid = np.asarray(spans, dtype=float).mean(axis=1)
    order = np.argsort(mid, kind="stable")
    sorted_mid = mid[order]
    lo = np.searchsorted(sorted_mid, mid - seconds - 1e-9)
    hi = np.searchsorted(sorted_mid, mid + seconds + 1e-9, side="right")
    # prefix sums over time order: O(n) memory, whatever the recording's length
    sums = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x[order], axis=0)])
    return _normalize(sums[hi] - sums[lo])


def _estimate(x: np.ndarray, affinity: np.ndarray, cfg: DiarizeConfig) -> np.ndarray:
    """Labels with an estimated speaker count: best silhouette if ``cfg.count`` says so,
    else the dendrogram cut at ``cfg.threshold``."""
    upper = max(1, min(cfg.max_speakers, len(x) - 1))
    if cfg.count != "silhouette":
        from sklearn.cluster import AgglomerativeClustering

        if len(x) < 2:
            return np.zeros(len(x), dtype=int)
        labels = AgglomerativeClustering(
            n_clusters=None,
            metric="cosine",
            linkage="average",
            # the pitch pair adds up to pitch_weight to every dot product and to every norm:
            # distances shrink by 1 / (1 + w), and so does the cut, to mean the same
            distance_threshold=cfg.threshold / (1.0 + cfg.pitch_weight),
        ).fit_predict(x)
        k = int(labels.max()) + 1
        if k > upper:
            labels = _cluster_k(x, upper, "agglomerative", affinity)
        return labels
    from sklearn.metrics import silhouette_score

    best_labels, best_score = np.zeros(len(x), dtype=int), -np.inf
    for k in range(max(2, cfg.min_speakers), upper + 1):
        labels = _cluster_k(x, k, cfg.clustering, affinity)
        score = silhouette_score(x, labels, metric="cosine")
        if score > best_score:
            best_labels, best_score = labels, score
    if cfg.min_speakers == 1 and best_score < cfg.min_silhouette:
        best_labels = np.zeros(len(x), dtype=int)
    return best_labels


def embedding_space(embeddings: np.ndarray, cfg: DiarizeConfig) -> np.ndarray:
    """The space clustering and resegmentation share: L2-normalised, and with the recording's
    mean removed when the eigengap path is used (it takes away what every window has in
    common, room and channel, leaving what tells speakers apart)."""
    x = _normalize(np.asarray(embeddings, dtype=np.float64))
    if _use_eigengap(len(x), cfg) and cfg.center:
        x = _normalize(x - x.mean(axis=0))
    return x


def _use_eigengap(n: int, cfg: DiarizeConfig) -> bool:
    return (
        cfg.num_speakers is None
        and cfg.count in ("eigengap", "nme")
        and n >= cfg.eigengap_min_windows
    )


def cluster(
    embeddings: np.ndarray,
    cfg: DiarizeConfig,
    spans: np.ndarray | None = None,
    raw: np.ndarray | None = None,
) -> np.ndarray:
    """Speaker centroids ``[K, D]`` from window embeddings (in :func:`embedding_space`).

    The count ``K`` is estimated unless ``num_speakers`` is set; windows belong to their
    nearest centroid.

    Args:
        embeddings: ``[n, D]`` window embeddings in :func:`embedding_space`.
        cfg: diarization settings.
        spans: ``[n, 2]`` window start/end seconds; with them, clustering sees the windows
            smoothed over ``cfg.smooth_s`` (:func:`smooth`). The centroids are always means of
            the unsmoothed ``embeddings``, so resegmentation can score single windows.
        raw: ``[n, D]`` the embeddings before mean removal, for the ``nme`` count
            (``embeddings`` when None).
    """
    x = np.asarray(embeddings, dtype=np.float64)
    n = len(x)
    if n == 0:
        return np.zeros((0, x.shape[1] if x.ndim == 2 else 256))
    fit = np.arange(n)
    if n > cfg.max_cluster_windows:  # quadratic cost: cluster an even subsample
        fit = np.linspace(0, n - 1, cfg.max_cluster_windows).astype(int)
    x_fit = x[fit]
    xs = smooth(x, spans, cfg.smooth_s)[fit]
    # spectral clustering splits the pruned graph: the full one lets every window vote
    affinity = pruned_affinity(xs, cfg.prune)
    if cfg.num_speakers is not None:
        labels = _cluster_k(xs, min(cfg.num_speakers, len(xs)), cfg.clustering, affinity)
    elif _use_eigengap(n, cfg):
        k = eigengap_count(xs, cfg)
        if cfg.count == "nme" and k > 1:
            base = _normalize(np.asarray(x if raw is None else raw, dtype=np.float64))
            k = nme_count(smooth(base, spans, cfg.smooth_s)[fit], cfg)
        labels = _cluster_k(xs, k, cfg.clustering, affinity)
    else:
        # few windows: the eigengap is unreliable; cut the dendrogram, fold tiny clusters
        affinity = np.clip(x_fit @ x_fit.T, 0.0, 1.0)
        labels = _estimate(x_fit, affinity, cfg)
        min_count = max(3, int(np.ceil(cfg.min_cluster_share * len(x_fit))))
        labels = _fold_small(x_fit, labels, min_count)
        k = max(int(labels.max()) + 1, min(cfg.min_speakers, len(x_fit)))
        if k > 1 and (cfg.clustering != "agglomerative" or k != int(labels.max()) + 1):
            # the dendrogram gives the count; the configured method draws the borders
            labels = _cluster_k(x_fit, k, cfg.clustering, affinity)
    k = int(labels.max()) + 1
    return _normalize(
        np.stack([x_fit[labels == i].mean(0) for i in range(k) if (labels == i).any()])
    )


def _median(labels: np.ndarray, width: int) -> np.ndarray:
    """Majority label in a sliding window (a median filter for categorical labels)."""
    if width <= 1 or len(labels) < 3:
        return labels
    half = width // 2
    out = labels.copy()
    for i in range(len(labels)):
        seg = labels[max(0, i - half) : i + half + 1]
        vals, counts = np.unique(seg, return_counts=True)
        best = vals[counts == counts.max()]
        out[i] = labels[i] if labels[i] in best else best[0]
    return out


def resegment(
    regions: list[tuple[float, float]],
    spans: np.ndarray,
    embeddings: np.ndarray,
    centroids: np.ndarray,
    cfg: DiarizeConfig,
    session_id: str = "audio",
) -> Transcript:
    """Speaker turns over ``regions`` from window embeddings (in :func:`embedding_space`)
    scored against speaker centroids."""
    if len(centroids) == 0 or len(spans) == 0:
        return Transcript()
    x = np.asarray(embeddings, dtype=np.float64)
    sims = x @ centroids.T  # [windows, K]
    mids = spans.mean(axis=1)
    segments: list[Segment] = []
    order = np.argsort(spans[:, 0])
    starts_sorted = spans[order, 0]
    for a, b in regions:
        n = max(1, int(round((b - a) / cfg.step_s)))
        t = a + (np.arange(n) + 0.5) * (b - a) / n
        # windows that may cover this region (window starts before b)
        lo = np.searchsorted(starts_sorted, a - cfg.window_s - 1e-6)
        hi = np.searchsorted(starts_sorted, b + 1e-6)
        cand = order[lo:hi]
        cand = cand[(spans[cand, 1] > a) & (spans[cand, 0] < b)]
        if len(cand) == 0:  # region too short for a window: take the nearest window in time
            cand = np.array([int(np.argmin(np.abs(mids - (a + b) / 2)))])
            scores = np.repeat(sims[cand].mean(0, keepdims=True), n, axis=0)
        else:
            cover = (spans[cand, 0][None, :] <= t[:, None]) & (spans[cand, 1][None, :] > t[:, None])
            # a frame no window covers borrows from the windows nearest to it
            none = ~cover.any(axis=1)
            if none.any():
                dist = np.abs(mids[cand][None, :] - t[none][:, None])
                cover[none] = dist == dist.min(axis=1, keepdims=True)
            w = cover.astype(float)
            scores = (w @ sims[cand]) / w.sum(axis=1, keepdims=True)
        labels = _median(np.argmax(scores, axis=1), int(round(cfg.median_s / cfg.step_s)) | 1)
        edges = a + np.arange(n + 1) * (b - a) / n
        runs = _runs(labels)
        runs = _drop_short(runs, edges, cfg.min_segment_s)
        for lab, i0, i1 in runs:
            segments.append(
                Segment(session_id, f"spk{lab}", round(edges[i0], 3), round(edges[i1], 3), "")
            )
            if cfg.overlap_margin > 0:
                segments.extend(_overlap(scores[i0:i1], lab, edges[i0 : i1 + 1], cfg, session_id))
    return Transcript(segments).sorted()


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    runs: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            runs.append((int(labels[start]), start, i))
            start = i
    return runs


def _drop_short(
    runs: list[tuple[int, int, int]], edges: np.ndarray, min_s: float
) -> list[tuple[int, int, int]]:
    """Give runs shorter than ``min_s`` to a neighbour, then join equal neighbours."""
    runs = list(runs)
    while len(runs) > 1:
        lengths = [edges[i1] - edges[i0] for _, i0, i1 in runs]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_s:
            break
        lab, i0, i1 = runs.pop(i)
        if i > 0 and (i == len(runs) or lengths[i - 1] >= lengths[i + 1]):
            pl, p0, _ = runs[i - 1]
            runs[i - 1] = (pl, p0, i1)
        else:
            nl, _, n1 = runs[i]
            runs[i] = (nl, i0, n1)
        merged: list[tuple[int, int, int]] = []
        for r in runs:
            if merged and merged[-1][0] == r[0]:
                merged[-1] = (r[0], merged[-1][1], r[2])
            else:
                merged.append(r)
        runs = merged
    return runs


def _overlap(
    scores: np.ndarray, main: int, edges: np.ndarray, cfg: DiarizeConfig, session_id: str
) -> list[Segment]:
    """Second-speaker turns where another centroid scores within ``overlap_margin`` of ``main``."""
    if scores.shape[1] < 2:
        return []
    other = scores.copy()
    other[:, main] = -np.inf
    second = np.argmax(other, axis=1)
    close = scores[:, main] - other.max(axis=1) < cfg.overlap_margin
    labels = np.where(close, second, -1)
    out = []
    for lab, i0, i1 in _runs(labels):
        if lab >= 0 and edges[i1] - edges[i0] >= cfg.min_segment_s:
            out.append(
                Segment(session_id, f"spk{lab}", round(edges[i0], 3), round(edges[i1], 3), "")
            )
    return out
