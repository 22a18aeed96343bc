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
from notsofar.diarize.windows import encode_windows, window_spans
from notsofar.features import FeatureConfig

#: resemblyzer's front end: 25 ms windows, 10 ms hop, 40 mel bands at 16 kHz
MEL = FeatureConfig(n_fft=400, win_length=400, hop_length=160, n_mels=40)
#: resemblyzer normalises utterances to -30 dBFS before embedding; the mel is power, so gain^2
TARGET_RMS = 10 ** (-30 / 20)


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
    from notsofar.features import mel_filterbank, power_spectrogram

    spans = window_spans(regions, cfg)
    if not spans or len(audio) == 0:
        return np.zeros((0, 2)), np.zeros((0, 256), dtype=np.float32)
    mel = (mel_filterbank(MEL) @ power_spectrogram(audio, MEL)).T  # [frames, 40]
    fps = SAMPLE_RATE / MEL.hop_length
    encoder = models.encoder()
    pieces: list[np.ndarray] = []
    for a, b in spans:
        f0 = max(0, int(round((a - start_s) * fps)))
        f1 = min(len(mel), max(f0 + 1, int(round((b - start_s) * fps))))
        s0 = int((a - start_s) * SAMPLE_RATE)
        s1 = int((b - start_s) * SAMPLE_RATE)
        rms = float(np.sqrt(np.mean(audio[max(0, s0) : max(s0 + 1, s1)] ** 2) + 1e-12))
        pieces.append(mel[f0:f1] * (TARGET_RMS / rms) ** 2)
    result = encode_windows(encoder, pieces, 256, cfg.batch_size, cfg.threads)
    return np.asarray(spans, dtype=float), result
