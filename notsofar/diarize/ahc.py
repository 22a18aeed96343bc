"""Global speaker clustering of (window, local speaker) embeddings, as pyannote 3.1 does.

Agglomerative clustering of L2-normalised embeddings (``linkage``: centroid, or average for
telephone audio), cut at a Euclidean distance ``ahc_threshold``; clusters with fewer than
``min_cluster_size`` members are folded into the nearest large one (by centroid cosine
distance); a forced or bounded count walks the dendrogram to the cut nearest the threshold that
gives it. Then every window's local speakers
are mapped to *distinct* global speakers by a Hungarian assignment on cosine similarity
(two voices heard at once in one window cannot be one person).

Follows ``pyannote.audio.pipelines.clustering.AgglomerativeClustering`` and
``assign_embeddings`` (pyannote.audio 3.1, MIT, (c) CNRS), re-implemented because
pyannote.audio cannot be imported beside this torch build.
"""

from __future__ import annotations

import numpy as np

from notsofar.diarize.config import DiarizeConfig


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def cluster_labels(
    x: np.ndarray, cfg: DiarizeConfig, weights: np.ndarray | None = None
) -> np.ndarray:
    """Cluster index per row of ``x`` (``[n, d]``), 0..S-1. ``weights`` (default 1 each): how
    many embeddings a row stands for, when counting a cluster's size.

    >>> x = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99]])
    >>> cluster_labels(x, DiarizeConfig(ahc_threshold=0.5, min_cluster_size=1)).tolist()
    [0, 0, 1, 1]
    >>> cluster_labels(x, DiarizeConfig(ahc_threshold=0.5, num_speakers=1)).tolist()
    [0, 0, 0, 0]
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(x)
    if n == 1:
        return np.zeros(1, dtype=int)
    x = _normalize(np.asarray(x, dtype=np.float64))
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    min_size = min(cfg.min_cluster_size, max(1, round(0.1 * w.sum())))
    tree = linkage(x, method=cfg.linkage, metric="euclidean")
    labels = fcluster(tree, cfg.ahc_threshold, criterion="distance") - 1

    def large_of(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids, inverse = np.unique(lab, return_inverse=True)
        counts = np.bincount(inverse, weights=w)
        return ids, counts, ids[counts >= min_size]

    ids, counts, large = large_of(labels)
    lo = cfg.num_speakers or cfg.min_speakers
    hi = cfg.num_speakers or cfg.max_speakers
    want = cfg.num_speakers
    if len(large) < lo:
        want = lo
    elif len(large) > hi:
        want = hi
    if want is not None and len(large) != want:
        # walk away from the threshold, merge by merge, until the count of large clusters fits
        steps = tree.copy()
        steps[:, 2] = np.arange(n - 1)
        best, best_count = n - 1, 1
        for it in np.argsort(np.abs(tree[:, 2] - cfg.ahc_threshold)):
            found = len(large_of(fcluster(steps, it, criterion="distance") - 1)[2])
            if abs(found - want) < abs(best_count - want):
                best, best_count = it, found
            if found == want:
                break
        if best_count != want:
            # no cut gives that many large clusters: stop merging ``want`` merges before the end
            # (centroid linkage is not monotonic, so count merges rather than cut a distance)
            labels = fcluster(steps, n - 1 - want, criterion="distance") - 1
            return np.unique(labels, return_inverse=True)[1]
        labels = fcluster(steps, best, criterion="distance") - 1
        ids, counts, large = large_of(labels)
    if len(large) == 0:
        return np.zeros(n, dtype=int)
    small = ids[counts < min_size]
    if len(small):
        cents = _normalize(np.stack([x[labels == i].mean(0) for i in large]))
        room = (hi - len(large)) if want is None else 0
        keep = _distinct_small(
            x, labels, small, counts[counts < min_size], cents, cfg, room, float(w.sum())
        )
        # the rest join the nearest speaker: a large cluster or a small one kept as a voice
        targets = np.concatenate([large, sorted(keep)]).astype(int)
        cents = np.vstack([cents, *(_normalize(x[labels == i].mean(0)) for i in sorted(keep))])
        for s in small:
            if s in keep:
                continue
            c = _normalize(x[labels == s].mean(0))
            labels[labels == s] = targets[int(np.argmax(cents @ c))]
    return np.unique(labels, return_inverse=True)[1]


def _distinct_small(
    x: np.ndarray,
    labels: np.ndarray,
    small: np.ndarray,
    sizes: np.ndarray,
    cents: np.ndarray,
    cfg: DiarizeConfig,
    room: int,
    total: float,
) -> set[int]:
    """The small clusters that stay speakers of their own: at least ``small_cluster_min_size``
    embeddings and ``small_cluster_min_share`` of ``total`` (the weight of all), with a
    centroid farther than ``small_cluster_distance`` (cosine) from every large cluster's (a
    voice heard in one short turn, not a stray piece of a known voice) and from every small
    cluster already kept (two pieces of one short-heard voice are one speaker); the farthest
    first, at most ``room`` of them."""
    if cfg.small_cluster_distance <= 0 or room <= 0:
        return set()
    far = []
    for s, size in zip(small, sizes, strict=True):
        if size < cfg.small_cluster_min_size or size < cfg.small_cluster_min_share * total:
            continue
        c = _normalize(x[labels == s].mean(0))
        d = 1.0 - float(np.max(cents @ c))
        if d > cfg.small_cluster_distance:
            far.append((d, int(s), c))
    kept: list[tuple[int, np.ndarray]] = []
    for _, s, c in sorted(far, key=lambda f: -f[0]):
        if len(kept) < room and all(
            1.0 - float(k @ c) > cfg.small_cluster_distance for _, k in kept
        ):
            kept.append((s, c))
    return {s for s, _ in kept}


def cluster(x: np.ndarray, cfg: DiarizeConfig) -> np.ndarray:
    """Speaker centroids ``[S, d]`` (L2-normalised) of the embeddings ``x``."""
    return centroids_of(x, cluster_labels(x, cfg))


def centroids_of(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The L2-normalised mean of each label's rows of ``x``, labels 0..S-1 in order."""
    x = _normalize(np.asarray(x, dtype=np.float64))
    return _normalize(np.stack([x[labels == i].mean(0) for i in range(labels.max() + 1)]))


def blends(centroids: np.ndarray, cfg: DiarizeConfig) -> list[tuple[float, int]]:
    """The speakers whose centroid is a blend of two others' (see
    ``DiarizeConfig.mixture_similarity``): ``(similarity to the blend, speaker)``, the most
    blend-like first. The two others must be distinct voices (no more alike than
    ``mixture_pair_max``), and the blend must beat either of them by ``mixture_margin``.

    >>> a, b, c = np.eye(3)
    >>> cfg = DiarizeConfig()
    >>> both = (a + b) / np.sqrt(2) + 0.1 * c
    >>> [k for _, k in blends(np.stack([a, b, both]), cfg)]  # two people heard as one
    [2]
    >>> blends(np.stack([a, b, 0.3 * (a + b) + c]), cfg)  # a third voice, nearer neither
    []
    """
    c = _normalize(np.asarray(centroids, dtype=np.float64))
    sims = c @ c.T
    found = []
    for k in range(len(c)):
        best = None
        for i in range(len(c)):
            for j in range(i + 1, len(c)):
                if k in (i, j) or sims[i, j] > cfg.mixture_pair_max:
                    continue
                s = float(_normalize(c[i] + c[j]) @ c[k])
                if s >= cfg.mixture_similarity and s >= max(sims[k, i], sims[k, j]) + (
                    cfg.mixture_margin
                ):
                    best = s if best is None else max(best, s)
        if best is not None:
            found.append((best, k))
    return sorted(found, reverse=True)


def piece(centroids: np.ndarray, speech_s: np.ndarray, cfg: DiarizeConfig) -> int:
    """The speaker to drop as a piece of a known voice, or -1: of the speakers heard for less
    than ``min_speaker_s`` whose centroid lies within ``min_speaker_similarity`` (cosine) of
    another speaker's, the most alike. Never below two speakers (two voices alike are still
    two people).

    >>> a, b, c = np.eye(3)
    >>> cfg = DiarizeConfig(min_speaker_similarity=0.73)
    >>> near_a = 0.9 * a + 0.3 * c  # a second cluster of the first voice
    >>> piece(np.stack([a, b, near_a]), np.array([60.0, 40.0, 5.0]), cfg)
    2
    >>> piece(np.stack([a, b, near_a]), np.array([60.0, 40.0, 25.0]), cfg)  # heard long enough
    -1
    >>> piece(np.stack([a, b, 0.6 * a + 0.8 * c]), np.array([60.0, 40.0, 5.0]), cfg)  # a voice
    -1
    >>> piece(np.stack([a, near_a]), np.array([60.0, 5.0]), cfg)  # two stay two
    -1
    """
    if cfg.min_speaker_similarity <= 0 or len(centroids) <= 2:
        return -1
    c = _normalize(np.asarray(centroids, dtype=np.float64))
    sims = c @ c.T
    np.fill_diagonal(sims, -1.0)
    best = sims.max(axis=1)
    near = (np.asarray(speech_s) < cfg.min_speaker_s) & (best >= cfg.min_speaker_similarity)
    if not near.any():
        return -1
    return int(np.argmax(np.where(near, best, -np.inf)))


def _farthest(x: np.ndarray) -> tuple[float, tuple[int, int]]:
    """The largest Euclidean distance between two rows of ``x`` (L2-normalised), and the
    rows."""
    sims = x @ x.T
    i, j = np.unravel_index(np.argmin(sims), sims.shape)
    return float(np.sqrt(max(0.0, 2.0 - 2.0 * sims[i, j]))), (int(i), int(j))


def conflict_splits(
    x: np.ndarray,
    labels: np.ndarray,
    windows: np.ndarray,
    cfg: DiarizeConfig,
    distance: float | None = None,
) -> dict[int, np.ndarray]:
    """Clusters that took in two local speakers of one window too often, each with two
    centroids ``[2, d]`` to split it into: ``{label: centroids}``.

    segmentation-3.0 hears two people in one window as two local speakers, so a cluster that
    holds both local speakers of a window in at least ``conflict_min`` windows, and in at least
    ``conflict_share`` of the windows where it meets another local speaker, has probably merged
    two voices that CAM++ puts closer than the cut (a far-field pair, a short-heard third
    person); so has one that does in at least ``conflict_many`` windows and
    ``conflict_many_share`` of them (a long meeting, where a merged pair meets many others).
    Its split: two centroids seeded by the least similar such pair, refined as k-means in which
    each window's local speakers go to distinct halves (Hungarian, as :func:`assign`).
    ``x`` holds the clustered embeddings, ``windows`` the window of each. A pair counts when
    it lies farther apart than ``distance`` (default: the cut, ``cfg.ahc_threshold``):
    segmentation-3.0 sometimes hears one voice as two local speakers, and those lie close.

    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0], [0.9, 0.2]])
    >>> cfg = DiarizeConfig(conflict_min=2)
    >>> conflict_splits(x, np.zeros(5, int), np.array([0, 0, 1, 1, 2]), cfg)[0].round(2).tolist()
    [[0.99, 0.11], [0.05, 1.0]]
    >>> conflict_splits(x, np.zeros(5, int), np.array([0, 1, 2, 3, 4]), cfg)
    {}
    """
    from scipy.optimize import linear_sum_assignment

    if cfg.conflict_share <= 0 or cfg.num_speakers is not None:
        return {}
    x = _normalize(np.asarray(x, dtype=np.float64))
    distance = cfg.ahc_threshold if distance is None else distance
    wins, per_window = np.unique(windows, return_counts=True)
    shared = wins[per_window >= 2]  # windows with two or more clustered local speakers
    out: dict[int, np.ndarray] = {}
    for c in range(labels.max() + 1):
        rows = np.nonzero(labels == c)[0]
        mine, count = np.unique(windows[rows], return_counts=True)
        # per window where the cluster holds two or more local speakers: their positions in
        # ``rows`` and their farthest pair; kept where that pair lies beyond ``distance``
        held = [np.nonzero(windows[rows] == w)[0] for w in mine[count >= 2]]
        both = [(idx, far) for idx in held if (far := _farthest(x[rows[idx]]))[0] > distance]
        meets = np.intersect1d(shared, mine)
        few = len(both) >= cfg.conflict_min and len(both) >= cfg.conflict_share * len(meets)
        many = (
            cfg.conflict_many > 0
            and len(both) >= cfg.conflict_many
            and len(both) >= cfg.conflict_many_share * len(meets)
        )
        if not (few or many):
            continue
        idx, (_, pair) = max(both, key=lambda b: b[1][0])
        cents = x[rows[idx[list(pair)]]]
        side = np.full(len(rows), -1)
        for _ in range(50):
            sims = x[rows] @ cents.T
            new = np.argmax(sims, axis=1)
            for idx, _ in both:
                r, k = linear_sum_assignment(sims[idx], maximize=True)
                new[idx[r]] = k
            if np.array_equal(new, side):
                break
            side = new
            cents = _normalize(np.stack([x[rows[side == k]].mean(0) for k in (0, 1)]))
        out[c] = cents
    return out


def assign(emb: np.ndarray, active: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Global speaker of each window's local speakers ``[n, K]``; -2 where a local speaker is
    silent (or left over when a window has more voices than there are speakers).

    >>> c = np.eye(2)
    >>> e = np.array([[[0.1, 0.9], [0.8, 0.2], [0.0, 0.0]]])
    >>> assign(e, np.array([[True, True, False]]), c).tolist()
    [[1, 0, -2]]
    """
    from scipy.optimize import linear_sum_assignment

    n, k, _ = emb.shape
    sims = _normalize(emb) @ centroids.T  # [n, K, S]
    labels = np.full((n, k), -2, dtype=int)
    for w in range(n):
        rows = np.nonzero(active[w])[0]
        if len(rows) == 0:
            continue
        if len(rows) == 1 or len(centroids) == 1:
            best = np.argmax(sims[w, rows], axis=1)
            if len(centroids) == 1:
                labels[w, rows] = 0
            else:
                labels[w, rows[0]] = best[0]
            continue
        r, c = linear_sum_assignment(sims[w, rows], maximize=True)
        labels[w, rows[r]] = c
    return labels
