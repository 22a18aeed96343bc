"""Degradations after VoiceFixer's training recipe, for tests and benchmarks.

Noise at a given SNR, reverberation by a room impulse response (synthetic exponential decay or a
pyroomacoustics shoebox), hard clipping at a fraction of the peak, low-pass to a cutoff, a
telephone line. All take and return float32 ``[T]`` and (but the telephone line) keep the
length; a ``seed`` makes them reproducible.
"""

from __future__ import annotations

import numpy as np


def add_noise(
    x: np.ndarray,
    snr_db: float,
    seed: int = 0,
    noise: np.ndarray | None = None,
    color: str = "pink",
) -> np.ndarray:
    """Add noise at ``snr_db`` relative to the signal's power over its active (top-half) frames.

    ``noise`` (tiled/cut to length) or generated ``color`` noise: ``white``, ``pink`` (1/f) or
    ``babble``-like (speech-shaped: pink noise modulated by a slow random envelope).
    """
    rng = np.random.default_rng(seed)
    n = len(x)
    if noise is None:
        w = rng.standard_normal(n)
        if color in ("pink", "babble"):
            W = np.fft.rfft(w)
            f = np.arange(len(W))
            W[1:] /= np.sqrt(f[1:])
            W[0] = 0
            w = np.fft.irfft(W, n)
        if color == "babble":
            env = np.interp(np.arange(n), np.linspace(0, n, 40), 0.4 + rng.random(40))
            w = w * env
        noise = w
    else:
        noise = np.resize(np.asarray(noise, dtype=np.float64), n)
    p_sig = _active_power(x)
    p_noise = float(np.mean(noise**2)) + 1e-20
    gain = np.sqrt(p_sig / (p_noise * 10 ** (snr_db / 10)))
    return (x + gain * noise).astype(np.float32)


def _active_power(x: np.ndarray, frame: int = 320) -> float:
    m = len(x) // frame
    if m == 0:
        return float(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-20
    p = np.mean(np.asarray(x[: m * frame], np.float64).reshape(m, frame) ** 2, axis=1)
    return float(np.mean(p[p >= np.median(p)])) + 1e-20


def synthetic_rir(t60_s: float, sr: int, drr_db: float = 0.0, seed: int = 0) -> np.ndarray:
    """Exponentially decaying Gaussian noise tail after a unit direct path (Polack's model)."""
    rng = np.random.default_rng(seed)
    n = max(2, int(1.2 * t60_s * sr))
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-3 * np.log(10) * t / max(t60_s, 1e-3))
    tail[: int(0.002 * sr)] = 0  # first reflections arrive after a couple of ms
    h = np.zeros(n)
    h[0] = 1.0
    # scale the tail for the requested direct-to-reverberant ratio
    tail *= np.sqrt(1.0 / (np.sum(tail**2) * 10 ** (drr_db / 10)))
    return h + tail


def room_rir(t60_s: float, sr: int, seed: int = 0) -> np.ndarray:
    """A shoebox RIR from pyroomacoustics (image source + Sabine absorption for ``t60_s``)."""
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    dims = np.array([6.0, 5.0, 3.0]) * (0.8 + 0.4 * rng.random(3))
    absorption, max_order = pra.inverse_sabine(t60_s, dims)
    room = pra.ShoeBox(
        dims, fs=sr, materials=pra.Material(absorption), max_order=min(max_order, 30)
    )
    src = dims * np.array([0.3, 0.4, 0.5])
    mic = dims * np.array([0.65, 0.6, 0.45])
    room.add_source(src)
    room.add_microphone(mic)
    room.compute_rir()
    h = np.asarray(room.rir[0][0], dtype=np.float64)
    return h / np.max(np.abs(h))


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with ``rir``, keep the length, aligned on the direct path, same active power."""
    from scipy.signal import fftconvolve

    d = int(np.argmax(np.abs(rir)))
    y = fftconvolve(x, rir)[d : d + len(x)]
    y *= np.sqrt(_active_power(x) / _active_power(y))
    return y.astype(np.float32)


def clip(x: np.ndarray, threshold: float) -> np.ndarray:
    """Hard-clip at ``threshold`` times the peak (VoiceFixer: 0.1-0.5), then restore the level."""
    peak = float(np.max(np.abs(x)))
    c = threshold * peak
    y = np.clip(x, -c, c)
    return (y * (peak / c) * 0.9).astype(np.float32) if c > 0 else x


def lowpass(x: np.ndarray, sr: int, cutoff_hz: float, order: int = 8) -> np.ndarray:
    """Zero-phase Butterworth low-pass at ``cutoff_hz`` (VoiceFixer: 2-8 kHz at 44.1 kHz)."""
    from scipy.signal import butter, sosfiltfilt

    if cutoff_hz >= sr / 2:
        return np.asarray(x, np.float32)
    sos = butter(order, cutoff_hz / (sr / 2), output="sos")
    return sosfiltfilt(sos, x).astype(np.float32)


def telephone(x: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    """A telephone line: 300-3400 Hz band-pass, 8 kHz, G.711 mu-law (libsndfile's codec, through
    a WAV in memory), peak at half scale. Returns the 8 kHz samples and their rate (unlike the
    others, the length changes with the rate)."""
    import io

    import soundfile as sf
    from scipy.signal import butter, resample_poly, sosfilt

    sos = butter(6, [300, 3400], btype="band", fs=sr, output="sos")
    y = resample_poly(sosfilt(sos, np.asarray(x, np.float64)), 8000, sr)
    buf = io.BytesIO()
    sf.write(buf, 0.5 * y / max(float(np.abs(y).max()), 1e-9), 8000, subtype="ULAW", format="WAV")
    buf.seek(0)
    out, rate = sf.read(buf, dtype="float32")
    return out, int(rate)
