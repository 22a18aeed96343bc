"""The default restore backend: classical DSP, each step switched on by the analysis.

Order: declip (time domain) -> STFT -> WPE dereverberation (reverberant input above
``wpe_min_snr_db``) -> MMSE-LSA denoising with speech-presence-probability noise tracking and a
late-reverberation PSD from the T60 estimate -> residual time-frequency gate -> band extension
(opt-in) -> iSTFT -> loudness normalization with a peak ceiling. A step whose problem the
analysis does not find is skipped, so clean input passes through unchanged (no STFT round trip
at all when nothing is wrong).
"""

from __future__ import annotations

import contextlib

import numpy as np

from notsofar.restore.analyze import Degradation, analyze, clipped_mask, problems
from notsofar.restore.config import (
    BandwidthConfig,
    DenoiseConfig,
    DereverbConfig,
    DspConfig,
    LoudnessConfig,
    RestoreConfig,
)
from notsofar.restore.denoise import denoise, stft_config


def restore_mono(x: np.ndarray, sample_rate: int, cfg: RestoreConfig) -> np.ndarray:
    """Restore one channel ``[T]`` with the steps its analysis calls for."""
    with _one_blas_thread():
        d = analyze(x, sample_rate, cfg.analysis)
        return restore_with(x, sample_rate, d, cfg.dsp)


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """Single-threaded BLAS: the batched 10x10 WPE systems are too small to share, and on a
    busy machine BLAS threads waiting for each other made a step 3-10x slower (measured)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, run as is
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def plan(d: Degradation, dsp: DspConfig) -> list[str]:
    """The steps (in order) the DSP backend runs for a signal with analysis ``d``."""
    found = problems(d, dsp)
    steps = []
    if dsp.declip.enabled and "clipping" in found:
        steps.append("declip")
    if dsp.dereverb.enabled and "reverb" in found:
        steps.append("dereverb")
    if dsp.denoise.enabled and "noise" in found:
        steps.append("denoise")
    if dsp.bandwidth.enabled and "bandwidth" in found:
        steps.append("bandwidth")
    return steps


def restore_with(x: np.ndarray, sr: int, d: Degradation, dsp: DspConfig) -> np.ndarray:
    """Run the planned steps on ``x`` given its analysis ``d`` (exposed for tests/benchmarks)."""
    steps = plan(d, dsp)
    y = np.asarray(x, dtype=np.float32)
    if "declip" in steps:
        y = declip(y, max_ratio=dsp.declip.max_ratio)
    spectral = [s for s in steps if s != "declip"]
    if spectral:
        from notsofar.features import istft, stft

        fc = stft_config(sr, dsp)
        Y = stft(y, fc)
        if "dereverb" in spectral and d.snr_db >= dsp.dereverb.wpe_min_snr_db:
            Y = dereverb(Y, dsp.dereverb)
        # late reverberation is suppressed with the noise (its PSD from the T60 estimate)
        late = "dereverb" in spectral and dsp.dereverb.late_reverb
        t60 = d.t60_s * dsp.dereverb.t60_scale if late else 0.0
        if "denoise" in spectral or t60 > 0:
            Y = denoise(Y, dsp.denoise, t60_s=t60, frame_rate=fc.frame_rate)
            if dsp.denoise.gate:
                Y = residual_gate(Y, fc.frame_rate, sr / fc.n_fft, dsp.denoise)
        if "bandwidth" in spectral:
            cutoff_bin = int(round(d.bandwidth_hz / (sr / 2) * (Y.shape[0] - 1)))
            Y = extend_band(Y, cutoff_bin, dsp.bandwidth)
        y = istft(Y, fc, length=len(x))
    return normalize_loudness(y, sr, dsp.loudness)


# --------------------------------------------------------------------------- declipping


def declip(
    x: np.ndarray, level: float = 0.99, min_run: int = 2, context: int = 6, max_ratio: float = 1.5
) -> np.ndarray:
    """Re-interpolate clipped runs with a least-squares cubic through the good samples around.

    Each run gets a cubic fitted to ``context`` unclipped samples on each side (the slopes into
    and out of the run set the shape of the missing peak). All runs are solved at once (batched
    4x4 normal equations), so heavy clipping with thousands of runs costs milliseconds. The
    result is kept beyond the clip level in the run's direction (the true waveform was at least
    that large) and below ``max_ratio`` times it (long runs make any extrapolation uncertain).
    """
    x = np.asarray(x, dtype=np.float32)
    mask = clipped_mask(x, level, min_run)
    if not mask.any():
        return x
    n = len(x)
    d = np.diff(np.concatenate(([0], mask.view(np.int8), [0])))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)  # run = [s, e)
    k = np.arange(1, context + 1)
    anchors = np.concatenate([starts[:, None] - k[::-1], ends[:, None] - 1 + k], axis=1)
    valid = (anchors >= 0) & (anchors < n)
    anchors = np.clip(anchors, 0, n - 1)
    valid &= ~mask[anchors]  # a neighbouring run's samples are not evidence
    length = (ends - starts).astype(np.float64)
    # positions relative to the run centre, in run lengths: a well-conditioned system
    centre = (starts + ends - 1) / 2.0
    scale = np.maximum(length, 1.0)[:, None] / 2 + 1
    t = (anchors - centre[:, None]) / scale
    w = valid.astype(np.float64)
    V = np.stack([np.ones_like(t), t, t**2, t**3], axis=2) * w[..., None]
    v = x[anchors].astype(np.float64) * w
    A = V.transpose(0, 2, 1) @ V + np.eye(4)[None] * 1e-6
    b = V.transpose(0, 2, 1) @ v[..., None]
    coef = np.linalg.solve(A, b)[..., 0]
    run_id = np.cumsum(d == 1)[:n] - 1
    idx = np.flatnonzero(mask)
    r = run_id[idx]
    tt = (idx - centre[r]) / scale[r, 0]
    est = coef[r, 0] + coef[r, 1] * tt + coef[r, 2] * tt**2 + coef[r, 3] * tt**3
    clip_val = x[idx].astype(np.float64)
    sign = np.sign(clip_val)
    mag = np.clip(sign * est, np.abs(clip_val), max_ratio * np.abs(clip_val))
    y = x.copy()
    y[idx] = (sign * mag).astype(np.float32)
    return y


# --------------------------------------------------------------------------- dereverberation


def dereverb(Y: np.ndarray, cfg: DereverbConfig) -> np.ndarray:
    """Single-channel WPE on an STFT ``[F, frames]``.

    ``cfg.implementation``: ``fast`` (:func:`wpe_single`, batched over frequencies) or ``nara``
    (nara-wpe's reference ``wpe``); both compute the same estimator (tests check they agree).
    """
    if cfg.implementation == "nara":
        from nara_wpe.wpe import wpe

        Z = wpe(
            Y[:, None, :].astype(np.complex128),
            taps=cfg.taps,
            delay=cfg.delay,
            iterations=cfg.iterations,
            statistics_mode="full",
        )
        return Z[:, 0, :].astype(np.complex64)
    return wpe_single(Y, cfg.taps, cfg.delay, cfg.iterations)


def wpe_single(
    Y: np.ndarray, taps: int = 10, delay: int = 3, iterations: int = 3, eps: float = 1e-10
) -> np.ndarray:
    """Weighted prediction error dereverberation (Nakatani et al. 2010), one channel.

    Same estimator as ``nara_wpe.wpe.wpe`` with ``psd_context=0``: the late reverberation of
    each frame is predicted from frames ``delay .. delay + taps - 1`` back, with weights that
    minimize the power-normalized prediction error; all frequencies are solved in one batched
    ``taps x taps`` system per iteration (nara-wpe loops in Python), which is what makes the
    DSP backend's real-time factor.
    """
    # double precision: 1 / power spans ~10 decades, float32 sums lose the small terms
    Y = np.asarray(Y, dtype=np.complex128)
    F, T = Y.shape
    Yt = np.zeros((F, taps, T), dtype=Y.dtype)  # delayed copies of the observation
    for k in range(taps):
        s = delay + k
        if s < T:
            Yt[:, k, s:] = Y[:, : T - s]
    YtH = np.conj(Yt).transpose(0, 2, 1)  # [F, T, taps]
    X = Y
    eye = eps * np.eye(taps)
    # as nara-wpe: power floored at 1e-10 of the band's maximum (digital silence stays finite)
    floor = np.maximum(np.max(Y.real**2 + Y.imag**2, axis=1, keepdims=True) * 1e-10, 1e-30)
    for _ in range(iterations):
        lam = np.maximum(X.real**2 + X.imag**2, floor)
        W = Yt / lam[:, None, :]
        R = W @ YtH  # [F, taps, taps]
        P = W @ np.conj(Y)[:, :, None]  # [F, taps, 1]
        G = np.linalg.solve(R + eye, P)  # [F, taps, 1]
        X = Y - (np.conj(G).transpose(0, 2, 1) @ Yt)[:, 0, :]
    return X.astype(np.complex64)


# --------------------------------------------------------------------------- denoising


def residual_gate(
    Y: np.ndarray, frame_rate: float, bin_hz: float, cfg: DenoiseConfig
) -> np.ndarray:
    """Soft time-frequency gate against what the statistical estimator leaves behind.

    Non-stationary residue (babble-like noise, late reverberation the model missed) sits close
    to a slowly tracked per-bin floor; speech rises well above it. The floor is a ~1 s running
    minimum of the smoothed power, raised by ``gate_threshold_db``; the mask is a sigmoid of the
    level above it, smoothed over ~50 ms and ~300 Hz, bounded below by ``min_gain_db``.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter, uniform_filter1d

    p_db = 10 * np.log10(np.maximum(Y.real**2 + Y.imag**2, 1e-20))
    sm = uniform_filter1d(p_db, size=max(1, int(0.03 * frame_rate)), axis=1, mode="nearest")
    floor = minimum_filter1d(sm, size=max(3, int(1.0 * frame_rate)), axis=1, mode="nearest")
    floor = uniform_filter1d(floor, size=max(1, int(0.5 * frame_rate)), axis=1, mode="nearest")
    mask = 1.0 / (1.0 + np.exp(-(p_db - floor - cfg.gate_threshold_db) / 2.0))
    mask = uniform_filter(
        mask, size=(max(1, int(300 / bin_hz)), max(1, int(0.05 * frame_rate))), mode="nearest"
    )
    g = np.maximum(mask, 10 ** (cfg.min_gain_db / 20))
    return (Y * g).astype(np.complex64)


# --------------------------------------------------------------------------- bandwidth


def extend_band(Y: np.ndarray, cutoff_bin: int, cfg: BandwidthConfig) -> np.ndarray:
    """Fill bins above ``cutoff_bin`` by translating the top octave of the band upwards.

    Spectral translation (as in the high-band of AMR-WB-style codecs) keeps the harmonic
    structure and the time envelope of the source band; the level is the source's, lowered by
    ``cfg.gain_db`` and a further 12 dB tilt up to Nyquist, so the new band sits below speech.
    Existing content above the cutoff is kept where it is louder.
    """
    F = Y.shape[0]
    kc = int(np.clip(cutoff_bin, 2, F - 1))
    width = max(1, kc // 2)
    out = Y.copy()
    k = np.arange(kc, F)
    src = kc - width + ((k - kc) % width)
    tilt_db = cfg.gain_db - 12.0 * (k - kc) / max(1, F - 1 - kc)
    fill = Y[src] * (10 ** (tilt_db / 20))[:, None]
    keep = np.abs(Y[kc:]) >= np.abs(fill)
    out[kc:] = np.where(keep, Y[kc:], fill)
    return out


# --------------------------------------------------------------------------- loudness


def normalize_loudness(y: np.ndarray, sr: int, cfg: LoudnessConfig) -> np.ndarray:
    """Bring the active level to ``target_dbfs`` (if off by more than the tolerance) and keep
    the peak below ``peak_dbfs`` (one gain: no limiter distortion)."""
    from notsofar.restore.analyze import active_level_dbfs

    y = np.asarray(y, dtype=np.float32)
    gain = 1.0
    if cfg.enabled:
        level = active_level_dbfs(y, sr)
        if np.isfinite(level) and abs(level - cfg.target_dbfs) > cfg.tolerance_db:
            gain = 10 ** ((cfg.target_dbfs - level) / 20)
    peak = float(np.max(np.abs(y))) * gain
    ceiling = 10 ** (cfg.peak_dbfs / 20)
    if peak > ceiling:
        gain *= ceiling / peak
    return y if gain == 1.0 else (y * gain).astype(np.float32)
