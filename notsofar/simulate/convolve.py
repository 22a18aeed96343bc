"""Fast multichannel convolution: every speaker through every mic's response in one batched rFFT.

One rFFT per source signal, one per (source, mic) response, a broadcast multiply and one inverse
per (source, mic): the cost of ``S * C`` separate ``fftconvolve`` calls without recomputing each
source's spectrum C times, on a fast 5-smooth FFT size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _fast_len(n: int) -> int:
    from scipy.fft import next_fast_len

    return int(next_fast_len(n, real=True))


def convolve_sources(
    sources: np.ndarray, rir_sets: Sequence[np.ndarray], length: int | None = None
) -> list[np.ndarray]:
    """Convolve ``sources [S, T]`` with each response set ``[S, C, L]`` in ``rir_sets``.

    Returns one ``[S, C, length]`` float32 image per response set (default length ``T``; the
    reverberant tail beyond it is cut), the source spectra computed once for all of them.
    """
    from scipy import fft

    s, t = sources.shape
    length = t if length is None else int(length)
    sets = list(rir_sets)
    n = _fast_len(t + max(r.shape[-1] for r in sets) - 1)
    src = fft.rfft(sources.astype(np.float32), n=n, axis=-1)  # [S, F] complex64
    outs = []
    for r in sets:
        h = fft.rfft(r.astype(np.float32), n=n, axis=-1)  # [S, C, F]
        y = fft.irfft(h * src[:, None, :], n=n, axis=-1)[..., :length]
        outs.append(np.ascontiguousarray(y, dtype=np.float32))
    return outs


def naive_convolve(sources: np.ndarray, rirs: np.ndarray, length: int | None = None) -> np.ndarray:
    """Reference: one ``scipy.signal.fftconvolve`` per (source, mic) pair (the benchmark baseline)."""
    from scipy.signal import fftconvolve

    s, t = sources.shape
    length = t if length is None else int(length)
    out = np.zeros((s, rirs.shape[1], length), dtype=np.float32)
    for i in range(s):
        for m in range(rirs.shape[1]):
            out[i, m] = fftconvolve(sources[i], rirs[i, m])[:length]
    return out
