"""Fast multichannel convolution: cache-blocked overlap-save over each source's active span.

:func:`convolve_active` convolves every source with its (full, early) responses at all mics
block by block: one moderate FFT size (:func:`block_fft_size`, 16384 for a 0.5 s response), so
each block's product and inverse transform for all (set, mic) rows stay in cache and go straight
into the image buffer, and a cached seat's spectra are ~1 MB instead of ~9 MB at the size of a
whole 10 s example. Blocks where a source is silent are skipped (in a 10 s, 3-speaker example
each speaker talks for ~3 s). Measured in whole runs against one big FFT per source (the
previous kernel, same runs): 1 -> 2 worker scaling 1.75-1.90x vs 1.72-1.83x, peak RSS per
worker ~220 vs 390 MB, CPU per example within 1-5 % (BENCHMARKS.md, "Simulation";
``benchmarks/bench_simulate_kernel.py`` times the kernels alone).
:func:`convolve_sources` (meeting mode, the committed fixtures) keeps one FFT over the whole
signal, so the files it made stay byte-identical.

Batches are padded to a multiple of :data:`SIMD_ROWS` rows: scipy's pocketfft transforms float32
rows that many at a time with SIMD and the rows left over one by one, about 3.5x slower per row
(measured at n = 168,750: 1.35 ms per row for a batch of 3, 0.37 ms per row for a batch of 4).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: Rows pocketfft transforms together (its float32 SIMD width); batches are padded to a multiple.
SIMD_ROWS = 4


def _fast_len(n: int) -> int:
    from scipy.fft import next_fast_len

    return int(next_fast_len(n, real=True))


def padded_rows(rows: int) -> int:
    """``rows`` rounded up to a multiple of :data:`SIMD_ROWS`."""
    return -(-rows // SIMD_ROWS) * SIMD_ROWS


def rfft_rows(x: np.ndarray, n: int) -> np.ndarray:
    """``rfft(x, n)`` along the last axis (any leading shape), complex64, SIMD-padded batch."""
    from scipy import fft

    x = np.asarray(x, dtype=np.float32)
    rows = x.reshape(-1, x.shape[-1])[:, :n]
    buf = np.zeros((padded_rows(len(rows)), n), dtype=np.float32)
    buf[: len(rows), : rows.shape[-1]] = rows
    spec = fft.rfft(buf, axis=-1, overwrite_x=True)[: len(rows)]
    return spec.reshape(*x.shape[:-1], n // 2 + 1)


def spectrum_buffer(rows: int, n: int) -> np.ndarray:
    """An uninitialised ``[padded_rows(rows), n // 2 + 1]`` complex64 batch for
    :func:`irfft_rows` (rows past ``rows`` are zeroed here; the caller fills the others)."""
    buf = np.empty((padded_rows(rows), n // 2 + 1), dtype=np.complex64)
    buf[rows:] = 0
    return buf


def irfft_rows(spec: np.ndarray, rows: int, n: int, length: int) -> np.ndarray:
    """Inverse of a :func:`spectrum_buffer` batch: ``[rows, length]`` float32 (a view; the
    buffer is overwritten). A ``length`` beyond ``n`` is zero-padded: the convolution has ended."""
    from scipy import fft

    y = fft.irfft(spec, n=n, axis=-1, overwrite_x=True)[:rows]
    if length <= n:
        return y[:, :length]
    out = np.zeros((rows, length), dtype=y.dtype)
    out[:, :n] = y
    return out


def convolve_sources(
    sources: np.ndarray, rir_sets: Sequence[np.ndarray], length: int | None = None
) -> list[np.ndarray]:
    """Convolve ``sources [S, T]`` with each response set ``[S, C, L]`` in ``rir_sets``.

    Returns one ``[S, C, length]`` float32 image per response set (default length ``T``; the
    reverberant tail beyond it is cut), views of one batch: the source spectra are computed once
    for all sets, and all sets go through one inverse transform.
    """
    sets = list(rir_sets)
    n = fft_size(sources.shape[-1], max(r.shape[-1] for r in sets))
    length = sources.shape[-1] if length is None else int(length)
    s = sources.shape[0]
    src = rfft_rows(sources, n)  # [S, F]
    c = sets[0].shape[1]
    rows = len(sets) * s * c
    buf = spectrum_buffer(rows, n)
    prod = buf[:rows].reshape(len(sets), s, c, -1)
    for i, r in enumerate(sets):
        for j, h in enumerate(rfft_rows(r, n)):  # [C, F] per source
            np.multiply(h, src[j], out=prod[i, j])
    y = irfft_rows(buf, rows, n, length).reshape(len(sets), s, c, length)
    return list(y)


def naive_convolve(sources: np.ndarray, rirs: np.ndarray, length: int | None = None) -> np.ndarray:
    """Reference: one ``scipy.signal.fftconvolve`` per (source, mic) pair (the benchmark baseline)."""
    from scipy.signal import fftconvolve

    s, t = sources.shape
    length = t if length is None else int(length)
    out = np.zeros((s, rirs.shape[1], length), dtype=np.float32)
    for i in range(s):
        for m in range(rirs.shape[1]):
            y = fftconvolve(sources[i], rirs[i, m])[:length]
            out[i, m, : len(y)] = y
    return out


def block_fft_size(rir_length: int) -> int:
    """The overlap-save FFT size for responses of ``rir_length`` samples: the power of two that
    holds twice the response (so a block yields at least ``rir_length`` new samples), >= 4096.

    >>> block_fft_size(8000)  # 0.5 s at 16 kHz: blocks of 8385 output samples
    16384
    """
    return max(4096, 1 << (2 * int(rir_length) - 1).bit_length())


def fft_size(num_samples: int, rir_length: int) -> int:
    """The linear-convolution FFT size used by :func:`convolve_sources`."""
    return _fast_len(num_samples + rir_length - 1)


def rir_spectrum(rir: np.ndarray, n: int) -> np.ndarray:
    """``rfft`` of a response (any leading shape) at size ``n``, complex64, for reuse."""
    return rfft_rows(rir, n)


def convolve_active(
    sources: np.ndarray,
    spectra: Callable[[int], np.ndarray],
    n: int,
    rir_length: int,
    length: int | None = None,
    buffers: dict | None = None,
    peaks: np.ndarray | None = None,
    total: np.ndarray | None = None,
) -> np.ndarray:
    """Overlap-save convolution of each source over its active span, at block FFT size ``n``.

    Source ``j``'s images are computed from its first non-zero sample to ``rir_length - 1``
    samples after its last, in blocks of ``n - rir_length + 1`` output samples; outside that
    span they are exactly zero, as the full convolution's are.

    Args:
        sources: ``[S, T]`` float32 dry signals.
        spectra: ``spectra(j)`` -> source ``j``'s response spectra ``[sets, C, n // 2 + 1]``
            (e.g. full and early responses, :func:`rir_spectrum` at ``n``), typically cached.
        n: block FFT size (:func:`block_fft_size`); must exceed ``rir_length``.
        rir_length: response length in samples.
        length: output length (default ``T``; the tail beyond it is cut).
        buffers: a dict the caller keeps between calls: the output array is reused from it
            (valid until the next call with it), which spares a simulator writing ~27 MB of
            fresh (page-faulting) memory per 10 s example.
        peaks: optional ``[sets]`` array, filled with each set's largest absolute image value
            (0 if all are silent), taken block by block while each block is in cache: what a
            writer quantizing the images needs, without two more passes over ~27 MB.
        total: optional ``[C, length]`` float32 array, filled with the sum over sources of set
            0's images (e.g. the reverberant speech at each mic), block by block as well, equal
            to ``images[0].sum(axis=0)`` bit for bit (sources added in order).

    Returns:
        ``[sets, S, C, length]`` float32 images.
    """
    from scipy import fft

    s, t = sources.shape
    length = t if length is None else int(length)
    hop = n - rir_length + 1
    if hop < 1:
        raise ValueError(f"block FFT size {n} does not exceed the response length {rir_length}")
    spans: dict[int, tuple[int, int, int]] = {}  # source -> (first, end of active, end of images)
    for j in range(s):
        nz = np.flatnonzero(sources[j])
        if nz.size:  # a silent source has silent images
            a, b = int(nz[0]), int(nz[-1]) + 1
            if a < length:
                spans[j] = (a, b, min(b + rir_length - 1, length))
    sets, c, f = spectra(next(iter(spans), 0)).shape
    shape = (sets, s, c, length)
    out = None if buffers is None else buffers.get("images")
    if out is None or out.shape != shape:
        out = np.zeros(shape, dtype=np.float32)
        if buffers is not None:
            buffers["images"] = out
    else:
        for j in range(s):  # a reused buffer: zero what the sources' images do not fill
            a, _, e = spans.get(j, (length, 0, length))
            out[:, j, :, :a] = 0
            out[:, j, :, e:] = 0
    rows = sets * c
    buf = spectrum_buffer(rows, n)
    if peaks is not None:
        peaks[:] = 0
    if total is not None:
        total[...] = 0
    for j, (a, b, e) in spans.items():
        h = spectra(j).reshape(rows, f)
        blocks = -(-(e - a) // hop)
        x = np.zeros((padded_rows(blocks), n), dtype=np.float32)
        for k in range(blocks):  # block k's output starts at a + k * hop and needs its past
            p0 = a + k * hop - rir_length + 1
            lo, hi = max(p0, a), min(p0 + n, b)
            if hi > lo:
                x[k, lo - p0 : hi - p0] = sources[j, lo:hi]
        xf = fft.rfft(x, axis=-1, overwrite_x=True)
        for k in range(blocks):
            np.multiply(h, xf[k], out=buf[:rows])
            y = irfft_rows(buf, rows, n, n)  # the first rir_length - 1 samples wrap around
            p = a + k * hop
            w = min(hop, e - p)
            block = y[:, rir_length - 1 : rir_length - 1 + w].reshape(sets, c, w)
            out[:, j, :, p : p + w] = block
            if total is not None:
                total[:, p : p + w] += block[0]
            if peaks is not None:
                for i in range(sets):
                    peaks[i] = max(peaks[i], block[i].max(), -block[i].min())
    return out
