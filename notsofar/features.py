"""The shared spectral front end: one STFT / log-mel definition used by every stage.

Restoration, multi-channel enhancement and analysis all call these functions with a
:class:`FeatureConfig`, so window, hop and mel definitions cannot drift between stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class FeatureConfig:
    """STFT and mel parameters. Defaults are the usual 16 kHz speech front end (25 ms / 10 ms)."""

    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 400
    hop_length: int = 160
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None

    @property
    def frame_rate(self) -> float:
        """STFT frames per second."""
        return self.sample_rate / self.hop_length


def stft(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Complex STFT along the last axis: ``[..., T] -> [..., F, frames]`` (Hann window, centred)."""
    import librosa

    return librosa.stft(
        np.asarray(x, dtype=np.float32),
        n_fft=cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        window="hann",
        center=True,
    )


def istft(
    X: np.ndarray, cfg: FeatureConfig = FeatureConfig(), length: int | None = None
) -> np.ndarray:
    """Inverse of :func:`stft`; ``length`` trims/pads to the original number of samples."""
    import librosa

    return librosa.istft(
        X,
        hop_length=cfg.hop_length,
        win_length=cfg.win_length,
        n_fft=cfg.n_fft,
        window="hann",
        length=length,
    ).astype(np.float32)


@lru_cache(maxsize=8)
def mel_filterbank(cfg: FeatureConfig) -> np.ndarray:
    """``[n_mels, n_fft // 2 + 1]`` Slaney mel filterbank."""
    import librosa

    return librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax
    ).astype(np.float32)


def power_spectrogram(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    return np.abs(stft(x, cfg)) ** 2


def log_mel(
    x: np.ndarray, cfg: FeatureConfig = FeatureConfig(), floor: float = 1e-10
) -> np.ndarray:
    """Log-mel power spectrogram ``[..., n_mels, frames]`` (natural log)."""
    return np.log(np.maximum(mel_filterbank(cfg) @ power_spectrogram(x, cfg), floor))


def frame_energy_db(x: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Per-frame energy in dB (relative to full scale), from the same STFT."""
    p = power_spectrogram(x, cfg).mean(axis=-2)
    return 10 * np.log10(np.maximum(p, 1e-12))
