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


def band_gap_db(fbank: np.ndarray, sample_rate: int = 16000, top: float = 0.3) -> tuple[float, int]:
    """How far (dB) the loudest frames of a Kaldi fbank (:func:`kaldi_fbank`) fall from
    1-3 kHz to 4.3-5.2 kHz, just above a telephone line's band, and how many frames that is:
    -8 to 11 dB for wideband speech (read, meeting, far-field, noisy, and 11.025 kHz recordings
    with 5.5 kHz of band), 50-65 dB for telephone speech (300-3400 Hz, 8 kHz) brought to 16 kHz.
    The frames are the ``top`` share by mean log energy (speech rather than pauses).
    """
    if len(fbank) == 0:
        return 0.0, 0
    banks = kaldi_mel_banks(fbank.shape[1], 512, sample_rate)
    centre = banks.argmax(axis=1) * sample_rate / 512
    mid, high = (centre > 1000) & (centre < 3000), (centre > 4300) & (centre < 5200)
    energy = fbank.mean(axis=1)
    loud = fbank[energy >= np.quantile(energy, 1.0 - top)]
    gap = (loud[:, mid].mean() - loud[:, high].mean()) * 10.0 / np.log(10.0)
    return float(gap), len(loud)


def yin_f0(
    x: np.ndarray,
    sample_rate: int = 16000,
    fmin: float = 60.0,
    fmax: float = 450.0,
    hop_length: int = 160,
    frame_length: int = 1024,
    threshold: float = 0.15,
) -> tuple[np.ndarray, np.ndarray]:
    """Fundamental frequency by YIN (de Cheveigné & Kawahara 2002), one value per hop.

    The cumulative-mean-normalised difference function of each frame is computed through FFT
    cross-correlation; a frame's period is the deepest point of the first dip below
    ``threshold`` (refined by a parabola), and the frame is voiced when there is such a dip.

    Args:
        x: mono samples ``[T]``.
        sample_rate: rate of ``x``.
        fmin, fmax: search range (Hz); ``frame_length`` must exceed twice ``sample_rate / fmin``.
        hop_length, frame_length: frame step and length in samples (frames start at 0, ``snip
            edges``: ``1 + (T - frame_length) // hop_length`` frames).
        threshold: largest normalised difference a voiced frame's period may have.

    Returns:
        ``(f0, aperiodicity)``, each ``[frames]``: f0 in Hz (NaN where unvoiced) and the
        normalised difference at the chosen period (0 for a pure tone, ~1 for noise).
    """
    tau_min = max(2, int(sample_rate / fmax))
    tau_max = int(np.ceil(sample_rate / fmin))
    integ = frame_length - tau_max  # samples each lag's difference sums over
    if integ < tau_max:
        raise ValueError(f"frame_length {frame_length} too short for fmin {fmin} Hz")
    x = np.asarray(x, dtype=np.float32)
    if len(x) < frame_length:
        return np.zeros(0), np.zeros(0)
    n = 1 + (len(x) - frame_length) // hop_length
    frames = np.lib.stride_tricks.sliding_window_view(x, frame_length)[::hop_length][:n]
    f0, ap = np.empty(n), np.empty(n)
    for a in range(0, n, _YIN_BLOCK):  # blocks of frames: memory stays flat on long audio
        b = min(n, a + _YIN_BLOCK)
        f0[a:b], ap[a:b] = _yin_frames(frames[a:b], sample_rate, tau_min, tau_max, threshold)
    return f0, ap


#: frames :func:`yin_f0` analyses at once (~50 MB of float64 spectra for 1024-sample frames)
_YIN_BLOCK = 1024


def _yin_frames(
    frames: np.ndarray, sample_rate: int, tau_min: int, tau_max: int, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    from scipy import fft

    n, frame_length = frames.shape
    integ = frame_length - tau_max
    frames = frames.astype(np.float64)
    nfft = fft.next_fast_len(frame_length + integ - 1, real=True)
    spec = fft.rfft(frames, nfft, axis=1)
    head = fft.rfft(frames[:, :integ], nfft, axis=1)
    r = fft.irfft(np.conj(head) * spec, nfft, axis=1)[:, : tau_max + 1]
    # energy of the integration window at each lag: e[tau] = sum_{j < integ} x[j + tau]^2
    c = np.concatenate([np.zeros((n, 1)), np.cumsum(frames**2, axis=1)], axis=1)
    e = c[:, integ : integ + tau_max + 1] - c[:, : tau_max + 1]
    d = np.maximum(e[:, :1] + e - 2.0 * r, 0.0)
    cum = np.cumsum(d[:, 1:], axis=1)
    taus = np.arange(1, tau_max + 1)
    cmnd = np.ones_like(d)
    # a silent frame (no difference at any lag) has no period: leave it at 1, unvoiced
    cmnd[:, 1:] = np.where(cum > 1e-12, d[:, 1:] * taus / np.maximum(cum, 1e-12), 1.0)
    sub = cmnd[:, tau_min : tau_max + 1]
    cols = np.arange(sub.shape[1])
    below = sub < threshold
    voiced = below.any(axis=1)
    first = np.argmax(below, axis=1)
    # the dip runs from the first lag below threshold to the next lag above it
    stop = np.where((cols >= first[:, None]) & ~below, cols, sub.shape[1]).min(axis=1)
    dip = (cols >= first[:, None]) & (cols < stop[:, None])
    best = np.where(voiced, np.argmin(np.where(dip, sub, np.inf), axis=1), np.argmin(sub, axis=1))
    rows = np.arange(n)
    ap = sub[rows, best]
    # parabolic interpolation around the chosen lag
    lo = sub[rows, np.maximum(best - 1, 0)]
    hi = sub[rows, np.minimum(best + 1, sub.shape[1] - 1)]
    denom = lo - 2 * ap + hi
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (lo - hi) / np.where(denom == 0, 1, denom), 0.0)
    period = tau_min + best + np.clip(shift, -1.0, 1.0)
    f0 = np.where(voiced, sample_rate / period, np.nan)
    return f0, np.clip(ap, 0.0, None)
