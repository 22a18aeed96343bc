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


def fft_size(num_samples: int, rir_length: int) -> int:
    """The linear-convolution FFT size used by :func:`convolve_spectra`."""
    return _fast_len(num_samples + rir_length - 1)


def rir_spectrum(rir: np.ndarray, n: int) -> np.ndarray:
    """``rfft`` of a response (any leading shape) at size ``n``, complex64, for reuse."""
    from scipy import fft

    return fft.rfft(np.asarray(rir, dtype=np.float32), n=n, axis=-1)


def convolve_spectra(
    sources: np.ndarray,
    spectra_sets: Sequence[Sequence[np.ndarray]],
    n: int,
    length: int | None = None,
) -> list[np.ndarray]:
    """Like :func:`convolve_sources` with precomputed response spectra.

    ``spectra_sets``: per set, one ``[C, n // 2 + 1]`` spectrum per source. A simulator reuses
    each room seat's spectra across many examples, which removes the response FFTs (half the
    transforms) from the per-example cost. Returns ``[S, C, length]`` views per set.
    """
    from scipy import fft

    length = sources.shape[-1] if length is None else int(length)
    src = fft.rfft(sources.astype(np.float32), n=n, axis=-1)
    outs = []
    for hs in spectra_sets:
        prod = np.empty((len(hs), *hs[0].shape), dtype=np.complex64)
        for j, h in enumerate(hs):
            np.multiply(h, src[j], out=prod[j])
        outs.append(fft.irfft(prod, n=n, axis=-1, overwrite_x=True)[..., :length])
    return outs
