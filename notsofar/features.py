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


@lru_cache(maxsize=4)
def kaldi_mel_banks(n_mels: int = 80, n_fft: int = 512, sample_rate: int = 16000) -> np.ndarray:
    """Kaldi's triangular mel filters ``[n_mels, n_fft // 2 + 1]`` (low 20 Hz, high Nyquist).

    Kaldi builds the triangles in the mel domain (``1127 ln(1 + f / 700)``) over the FFT bins
    below Nyquist; the Nyquist bin gets no weight.
    """

    def mel(f: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)

    lo, hi = mel(20.0), mel(sample_rate / 2)
    edges = lo + (hi - lo) / (n_mels + 1) * np.arange(n_mels + 2)
    bins = mel(np.arange(n_fft // 2) * sample_rate / n_fft)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins - left) / (centre - left)
    down = (right - bins) / (right - centre)
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.pad(banks, ((0, 0), (0, 1))).astype(np.float32)


def kaldi_fbank(x: np.ndarray, n_mels: int = 80, sample_rate: int = 16000) -> np.ndarray:
    """Kaldi ``compute-fbank-feats`` defaults (as in ``torchaudio.compliance.kaldi.fbank``).

    25 ms frames every 10 ms (``snip_edges``), DC removed per frame, pre-emphasis 0.97, Povey
    window, 512-point power spectrum, log of Kaldi's mel filters (floored at float epsilon), no
    dither. This is the input of the Kaldi-recipe speaker encoders (CAM++, ECAPA, ResNet
    x-vectors); it is tested against k2-fsa's ``kaldi-native-fbank``.

    Args:
        x: mono samples ``[T]`` at ``sample_rate``, float scale (|x| <= 1).

    Returns:
        ``[frames, n_mels]`` float32 log mel energies (``frames = 1 + (T - 400) // 160``;
        zero frames for fewer than 400 samples).
    """
    win = int(0.025 * sample_rate)
    hop = int(0.010 * sample_rate)
    n_fft = 1 << (win - 1).bit_length()
    x = np.asarray(x, dtype=np.float32)
    if len(x) < win:
        return np.zeros((0, n_mels), dtype=np.float32)
    n = 1 + (len(x) - win) // hop
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop][:n].astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    frames[:, 1:] -= 0.97 * frames[:, :-1].copy()
    frames[:, 0] *= 1.0 - 0.97
    frames *= (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / (win - 1))) ** 0.85
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2
    energies = power.astype(np.float32) @ kaldi_mel_banks(n_mels, n_fft, sample_rate).T
    return np.log(np.maximum(energies, np.finfo(np.float32).eps))
