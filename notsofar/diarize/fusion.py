"""Two speaker encoders fused: resemblyzer's d-vectors and CAM++ x-vectors, concatenated.

Each window's embedding is ``[sqrt(1 - w) * d, sqrt(w) * c]`` with ``d`` (resemblyzer, 256-d) and
``c`` (CAM++, 192-d) L2-normalised, so the cosine of two fused windows is
``(1 - w) cos_d + w cos_c``: score-level fusion of two speaker-verification systems, the usual
way to combine encoders whose errors differ. ``w`` is ``diarize.fusion_weight``.

CAM++ costs about 6x resemblyzer's CPU per window (31 vs 5 ms), so it is computed on a coarser
grid (``diarize.campplus_hop_s``) and each resemblyzer window takes the overlap-weighted mean of the
CAM++ windows it overlaps.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from notsofar.diarize import campplus, resemblyzer
from notsofar.diarize.config import DiarizeConfig


def spread(fine: np.ndarray, coarse: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Embeddings of ``coarse`` spans carried onto ``fine`` spans, weighted by time overlap.

    Args:
        fine: ``[n, 2]`` start/end seconds.
        coarse: ``[m, 2]`` start/end seconds (cover the same speech as ``fine``).
        vectors: ``[m, D]`` L2-normalised embeddings of ``coarse``.

    Returns:
        ``[n, D]`` L2-normalised; a fine span that overlaps no coarse span takes the nearest one.

    >>> spread(np.array([[0.0, 1.0], [1.0, 2.0]]), np.array([[0.0, 1.5], [1.5, 3.0]]),
    ...        np.array([[1.0, 0.0], [0.0, 1.0]])).astype(float).round(3).tolist()
    [[1.0, 0.0], [0.707, 0.707]]
    """
    if len(fine) == 0 or len(coarse) == 0:
        return np.zeros((len(fine), vectors.shape[1]), dtype=np.float32)
    overlap = np.clip(
        np.minimum(fine[:, 1:2], coarse[None, :, 1]) - np.maximum(fine[:, :1], coarse[None, :, 0]),
        0.0,
        None,
    )
    none = overlap.sum(axis=1) == 0
    if none.any():
        gap = np.abs(fine[none].mean(axis=1)[:, None] - coarse.mean(axis=1)[None, :])
        overlap[np.flatnonzero(none), gap.argmin(axis=1)] = 1.0
    out = overlap @ vectors
    return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)).astype(np.float32)


def embed_chunk(
    audio: np.ndarray,
    start_s: float,
    regions: list[tuple[float, float]],
    cfg: DiarizeConfig,
    models: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Fused embeddings of the windows over ``regions`` of a chunk starting at ``start_s``.

    Returns:
        ``(spans [n, 2] absolute seconds, embeddings [n, 448] L2-normalised)``.
    """
    spans, d = resemblyzer.embed_chunk(audio, start_s, regions, cfg, models)
    coarse_cfg = replace(cfg, hop_s=cfg.campplus_hop_s)
    coarse, c = campplus.embed_chunk(audio, start_s, regions, coarse_cfg, models)
    d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    w = cfg.fusion_weight
    fused = np.hstack([np.sqrt(1.0 - w) * d, np.sqrt(w) * spread(spans, coarse, c)])
    return spans, fused.astype(np.float32)
