"""Speaker embeddings from resemblyzer's shipped d-vector encoder, on sliding windows over speech.

The encoder's input is the 40-band (power, not log) mel spectrogram with 25 ms / 10 ms frames;
it is computed with the shared front end (:mod:`notsofar.features`), which reproduces
resemblyzer's own ``wav_to_mel_spectrogram`` exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.diarize.config import DiarizeConfig
from notsofar.features import FeatureConfig

#: resemblyzer's front end: 25 ms windows, 10 ms hop, 40 mel bands at 16 kHz
MEL = FeatureConfig(n_fft=400, win_length=400, hop_length=160, n_mels=40)
#: resemblyzer normalises utterances to -30 dBFS before embedding; the mel is power, so gain^2
TARGET_RMS = 10 ** (-30 / 20)


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


def embed_chunk(
    audio: np.ndarray,
    start_s: float,
    regions: list[tuple[float, float]],
    cfg: DiarizeConfig,
    models: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Embed the windows over ``regions`` (absolute seconds) of a chunk starting at ``start_s``.

    Returns:
        ``(spans [n, 2] absolute seconds, embeddings [n, 256] L2-normalised)``.
    """
    import torch

    from notsofar.features import mel_filterbank, power_spectrogram

    spans = window_spans(regions, cfg)
    if not spans or len(audio) == 0:
        return np.zeros((0, 2)), np.zeros((0, 256), dtype=np.float32)
    mel = (mel_filterbank(MEL) @ power_spectrogram(audio, MEL)).T  # [frames, 40]
    fps = SAMPLE_RATE / MEL.hop_length
    encoder = models.encoder()
    device = next(encoder.parameters()).device
    pieces: list[np.ndarray] = []
    for a, b in spans:
        f0 = max(0, int(round((a - start_s) * fps)))
        f1 = min(len(mel), max(f0 + 1, int(round((b - start_s) * fps))))
        s0 = int((a - start_s) * SAMPLE_RATE)
        s1 = int((b - start_s) * SAMPLE_RATE)
        rms = float(np.sqrt(np.mean(audio[max(0, s0) : max(s0 + 1, s1)] ** 2) + 1e-12))
        pieces.append(mel[f0:f1] * (TARGET_RMS / rms) ** 2)
    result = np.zeros((len(pieces), 256), dtype=np.float32)
    # diarize.threads (see DiarizeConfig); restored afterwards so other stages keep theirs
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, cfg.threads) if cfg.threads else threads)
    try:
        _encode(encoder, device, pieces, result, cfg.batch_size)
    finally:
        torch.set_num_threads(threads)
    return np.asarray(spans, dtype=float), result


def _encode(
    encoder: Any, device: Any, pieces: list[np.ndarray], result: np.ndarray, batch_size: int
) -> None:
    """Embed ``pieces`` (mel frames) into ``result``, batching windows of equal length."""
    import torch

    order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
    with torch.no_grad():
        i = 0
        while i < len(order):
            n = len(pieces[order[i]])
            j = i
            while j < len(order) and j - i < batch_size and len(pieces[order[j]]) == n:
                j += 1
            batch = torch.from_numpy(np.stack([pieces[k] for k in order[i:j]]).astype(np.float32))
            emb = encoder(batch.to(device)).cpu().numpy()
            result[order[i:j]] = emb
            i = j
