"""What every speaker encoder backend shares: the sliding windows over speech, and running an
encoder network over the windows' feature frames in batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from notsofar.diarize.config import DiarizeConfig


def window_spans(
    regions: list[tuple[float, float]], cfg: DiarizeConfig
) -> list[tuple[float, float]]:
    """Sliding windows over each speech region; a short region is one window of its own length.

    >>> window_spans([(0.0, 3.0), (4.0, 4.5)], DiarizeConfig(window_s=1.5, hop_s=0.75))
    [(0.0, 1.5), (0.75, 2.25), (1.5, 3.0), (4.0, 4.5)]
    """
    spans: list[tuple[float, float]] = []
    for a, b in regions:
        length = b - a
        if length < cfg.min_window_s:
            continue
        if length <= cfg.window_s:
            spans.append((a, b))
            continue
        n = int(np.ceil((length - cfg.window_s) / cfg.hop_s)) + 1
        starts = np.minimum(a + cfg.hop_s * np.arange(n), b - cfg.window_s)
        spans.extend((round(float(s), 3), round(float(s) + cfg.window_s, 3)) for s in starts)
    return spans


def encode_windows(
    net: Any, pieces: list[np.ndarray], dim: int, batch_size: int, threads: int
) -> np.ndarray:
    """Embeddings ``[len(pieces), dim]`` of ``pieces`` (each ``[frames, features]``) by ``net``,
    batching windows of equal length, on ``threads`` torch threads (0: torch's current number,
    see ``DiarizeConfig.threads``; restored afterwards so other stages keep theirs)."""
    import torch

    result = np.zeros((len(pieces), dim), dtype=np.float32)
    device = next(net.parameters()).device
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, threads) if threads else before)
    try:
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
        with torch.no_grad():
            i = 0
            while i < len(order):
                n = len(pieces[order[i]])
                j = i
                while j < len(order) and j - i < batch_size and len(pieces[order[j]]) == n:
                    j += 1
                batch = np.stack([pieces[k] for k in order[i:j]]).astype(np.float32, copy=False)
                result[order[i:j]] = net(torch.from_numpy(batch).to(device)).cpu().numpy()
                i = j
    finally:
        torch.set_num_threads(before)
    return result
