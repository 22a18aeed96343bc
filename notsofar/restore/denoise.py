"""The shared spectral tools of restoration: the STFT front end at any rate and the MMSE-LSA
denoiser with speech-presence noise tracking and a late-reverberation PSD.

They live apart from :mod:`notsofar.restore.dsp` because the analysis
(:mod:`notsofar.restore.analyze`) also denoises a quick copy to measure T60, and the DSP
backend in turn runs the analysis: neither module imports the other's internals.
"""

from __future__ import annotations

import numpy as np

from notsofar.restore.config import DenoiseConfig, DspConfig


def stft_config(sr: int, dsp: DspConfig) -> object:
    """The shared STFT front end scaled to ``sr`` (window and hop keep their duration)."""
    from notsofar.features import FeatureConfig

    scale = sr / 16000
    n_fft = int(2 ** np.round(np.log2(max(64, dsp.n_fft * scale))))
    hop = max(16, int(round(dsp.hop_length * n_fft / dsp.n_fft)))
    return FeatureConfig(sample_rate=sr, n_fft=n_fft, win_length=n_fft, hop_length=hop)


def _initial_noise(P: np.ndarray) -> np.ndarray:
    """Noise PSD from the quietest 10 % of frames (speech pauses), per bin."""
    e = P.mean(axis=0)
    k = max(1, P.shape[1] // 10)
    quiet = np.argsort(e)[:k]
    return P[:, quiet].mean(axis=1) + 1e-12


def late_reverb_psd(
    P: np.ndarray, t60_s: float, frame_rate: float, delay_s: float = 0.05
) -> np.ndarray:
    """Late-reverberation PSD of Lebart et al. (2001): the power ``delay_s`` earlier, decayed
    by the exponential room model for that time (``exp(-2 * 3 ln10 / T60 * delay)``)."""
    if t60_s <= 0:
        return np.zeros_like(P)
    n = max(1, int(round(delay_s * frame_rate)))
    decay = np.exp(-2 * 3 * np.log(10) / t60_s * n / frame_rate)
    out = np.zeros_like(P)
    # smoothed power so single frames do not dominate
    Ps = P.copy()
    for t in range(1, P.shape[1]):
        Ps[:, t] = 0.5 * Ps[:, t - 1] + 0.5 * P[:, t]
    out[:, n:] = decay * Ps[:, :-n]
    return out


def denoise(
    Y: np.ndarray, cfg: DenoiseConfig, t60_s: float = 0.0, frame_rate: float = 125.0
) -> np.ndarray:
    """MMSE log-spectral amplitude (Ephraim & Malah 1985) with SPP noise tracking.

    The noise PSD follows Gerkmann & Hendriks (2012): a posteriori speech presence probability
    with a fixed 15 dB a-priori SNR under speech presence, stagnation guard, recursive smoothing.
    The a-priori SNR uses the decision-directed estimate. With ``t60_s > 0`` the late
    reverberation PSD (:func:`late_reverb_psd`) is added to the interference suppressed.
    """
    from scipy.special import exp1

    P = (Y.real**2 + Y.imag**2).astype(np.float64)
    F, T = P.shape
    noise = _initial_noise(P)
    rev = late_reverb_psd(P, t60_s, frame_rate)
    xi_h1 = 10 ** (15 / 10)
    g_min = 10 ** (cfg.min_gain_db / 20)
    over = 10 ** (cfg.overestimate_db / 10)
    p_bar = np.full(F, 0.5)
    prev = np.ones(F)  # |S_hat|^2 / noise of the previous frame
    G = np.empty((F, T))
    c = xi_h1 / (1 + xi_h1)
    for t in range(T):
        p = P[:, t]
        # --- noise tracking (speech presence probability)
        post = p / noise
        ph1 = 1.0 / (1.0 + (1 + xi_h1) * np.exp(-np.minimum(post * c, 50.0)))
        p_bar = 0.9 * p_bar + 0.1 * ph1
        ph1 = np.where(p_bar > 0.99, np.minimum(ph1, 0.99), ph1)
        noise = cfg.noise_alpha * noise + (1 - cfg.noise_alpha) * ((1 - ph1) * p + ph1 * noise)
        noise = np.maximum(noise, 1e-12)
        # --- MMSE-LSA gain
        gamma = np.minimum(p / (over * noise + rev[:, t]), 1e4)
        xi = cfg.dd_alpha * prev + (1 - cfg.dd_alpha) * np.maximum(gamma - 1, 0)
        xi = np.maximum(xi, 10 ** (-25 / 10))
        v = np.maximum(xi / (1 + xi) * gamma, 1e-8)
        g = xi / (1 + xi) * np.exp(0.5 * exp1(v))
        g = np.clip(g, g_min, 1.0)
        prev = g**2 * gamma
        G[:, t] = g
    return (Y * G).astype(np.complex64)
