"""Intrusive metrics against a clean reference: PESQ-WB, STOI, SI-SDR, log-spectral distance.

:func:`align` makes a reference usable first: resampled to the estimate's rate, delayed/advanced
by the cross-correlation peak, and cut/padded to the estimate's length.
"""

from __future__ import annotations

import numpy as np

from notsofar.errors import NotsofarError

#: largest offset (s) :func:`align` searches between estimate and reference.
MAX_LAG_S = 1.0


def align(
    estimate: np.ndarray,
    reference: np.ndarray,
    sample_rate: int,
    reference_rate: int | None = None,
    max_lag_s: float = MAX_LAG_S,
    path: object = None,
) -> np.ndarray:
    """The reference resampled, shifted by the cross-correlation lag and fitted to the estimate.

    Raises:
        NotsofarError: if the lengths differ by more than ``max_lag_s`` plus 10 % (not the same
            recording) or either signal is silent.
    """
    from scipy.signal import correlate

    from notsofar.audio import resample

    est = np.asarray(estimate, dtype=np.float32)
    ref = np.asarray(reference, dtype=np.float32)
    if ref.ndim != 1 or est.ndim != 1:
        raise NotsofarError("reference and estimate must be mono", path=path)
    if reference_rate is not None and reference_rate != sample_rate:
        ref = resample(ref, reference_rate, sample_rate)
    n = len(est)
    if abs(len(ref) - n) > max_lag_s * sample_rate + 0.1 * n:
        raise NotsofarError(
            f"reference is {len(ref) / sample_rate:.2f} s but the audio is {n / sample_rate:.2f} s:"
            " not the same recording",
            path=path,
        )
    if not np.any(ref) or not np.any(est):
        raise NotsofarError("reference or estimate is silent", path=path)
    max_lag = int(max_lag_s * sample_rate)
    c = correlate(est, ref, mode="full", method="fft")
    lags = np.arange(-len(ref) + 1, n)
    ok = np.abs(lags) <= max_lag
    lag = int(lags[ok][np.argmax(np.abs(c[ok]))])
    out = np.zeros(n, dtype=np.float32)
    if lag >= 0:
        m = min(n - lag, len(ref))
        out[lag : lag + m] = ref[:m]
    else:
        m = min(n, len(ref) + lag)
        out[:m] = ref[-lag : -lag + m]
    return out


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019).

    >>> x = np.sin(np.arange(1000) / 10)
    >>> round(si_sdr(0.5 * x, x), 1) > 100
    True
    """
    est = np.asarray(estimate, np.float64)
    ref = np.asarray(reference, np.float64)
    est = est - est.mean()
    ref = ref - ref.mean()
    a = np.dot(est, ref) / max(np.dot(ref, ref), 1e-20)
    target = a * ref
    noise = est - target
    return float(
        10 * np.log10(max(np.dot(target, target), 1e-20) / max(np.dot(noise, noise), 1e-20))
    )


def lsd(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """Log-spectral distance (dB): RMS over bins of the log-power difference, mean over frames.

    Frames where the reference is silent are skipped (VoiceFixer's LSD uses all frames of speech
    recordings, which have few such frames).
    """
    from notsofar.features import FeatureConfig, power_spectrogram

    n_fft = int(2 ** np.ceil(np.log2(0.032 * sample_rate)))
    cfg = FeatureConfig(
        sample_rate=sample_rate, n_fft=n_fft, win_length=n_fft, hop_length=n_fft // 4
    )
    pe = power_spectrogram(estimate, cfg)
    pr = power_spectrogram(reference, cfg)
    e = pr.sum(axis=0)
    active = e > e.max() * 1e-6
    d = np.log10(pe[:, active] + 1e-10) - np.log10(pr[:, active] + 1e-10)
    return float(np.mean(np.sqrt(np.mean((10 * d) ** 2, axis=0))))


def pesq_wb(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2, ``pesq`` package) at 16 kHz; NaN if PESQ finds no speech."""
    from pesq import pesq

    from notsofar.audio import resample

    ref = resample(np.asarray(reference, np.float32), sample_rate, 16000)
    est = resample(np.asarray(estimate, np.float32), sample_rate, 16000)
    try:
        return float(pesq(16000, ref.astype(np.float64), est.astype(np.float64), "wb"))
    except Exception:  # pesq raises NoUtterancesError / BufferTooShortError on odd input
        return float("nan")


def stoi(estimate: np.ndarray, reference: np.ndarray, sample_rate: int) -> float:
    """Short-time objective intelligibility (Taal et al. 2011, ``pystoi``), 0..1."""
    from pystoi import stoi as _stoi

    return float(
        _stoi(
            np.asarray(reference, np.float64),
            np.asarray(estimate, np.float64),
            sample_rate,
            extended=False,
        )
    )


def reference_metrics(
    estimate: np.ndarray,
    reference: np.ndarray,
    sample_rate: int,
    reference_rate: int | None = None,
    path: object = None,
) -> dict[str, float]:
    """PESQ-WB, STOI, SI-SDR and LSD of ``estimate`` against an aligned ``reference``."""
    ref = align(estimate, reference, sample_rate, reference_rate, path=path)
    est = np.asarray(estimate, np.float32)
    return {
        "pesq_wb": pesq_wb(est, ref, sample_rate),
        "stoi": stoi(est, ref, sample_rate),
        "si_sdr": si_sdr(est, ref),
        "lsd": lsd(est, ref, sample_rate),
    }
