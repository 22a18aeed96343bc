"""Multichannel diffuse noise with the spatial coherence the array geometry implies.

Habets & Gannot's method ("Generating sensor signals in isotropic noise fields", JASA 2007):
independent noises per channel are mixed, per frequency, through a factor ``C(f)`` of the
target coherence matrix ``Gamma(f) = C(f)^H C(f)``. For a spherically isotropic field
``Gamma_ij(f) = sinc(2 f d_ij / c)`` (numpy's normalised sinc), ``d_ij`` the mic distance.
We mix the whole signal's rFFT (stationary noise), which is the method's one-frame limit.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from notsofar.arrays import SPEED_OF_SOUND, ArrayGeometry


def diffuse_coherence(array: ArrayGeometry, freqs_hz: np.ndarray) -> np.ndarray:
    """Target coherence ``[F, C, C]`` of a spherically isotropic (diffuse) field."""
    p = array.as_array()
    d = np.linalg.norm(p[:, None] - p[None], axis=-1)  # [C, C]
    return np.sinc(2.0 * freqs_hz[:, None, None] * d[None] / SPEED_OF_SOUND)


def _mixing_factors(gamma: np.ndarray) -> np.ndarray:
    """``A(f)`` with ``A A^T = Gamma``: eigen factor, robust where Gamma is near-singular."""
    w, v = np.linalg.eigh(gamma)  # low frequencies: all mics coherent, Gamma ~ rank one
    w = np.clip(w, 0.0, None)
    return v * np.sqrt(w)[:, None, :]


#: The coherence is mixed in this many equal frequency bands (~4 Hz wide at 16 kHz): it changes
#: by < 0.003 across a band for a 10 cm array, and one factorization per band instead of per
#: FFT bin makes the cost independent of the signal length.
NUM_BANDS = 2048


@lru_cache(maxsize=8)
def band_factors(array: ArrayGeometry, sample_rate: int, num_bands: int = NUM_BANDS) -> np.ndarray:
    """``[num_bands, C, C]`` real mixing factors at the band centres (cached per geometry)."""
    centres = (np.arange(num_bands) + 0.5) * (sample_rate / 2) / num_bands
    return _mixing_factors(diffuse_coherence(array, centres)).astype(np.float32)


def spectral_shape(num_bins: int, sample_rate: int, color: str) -> np.ndarray:
    """Amplitude shape per rFFT bin: ``white``, ``pink`` (1/f power) or ``brown`` (1/f^2)."""
    f = np.linspace(0, sample_rate / 2, num_bins)
    f[0] = f[1] if num_bins > 1 else 1.0
    exponent = {"white": 0.0, "pink": 0.5, "brown": 1.0}[color]
    return f**-exponent


@lru_cache(maxsize=8)
def _band_shape(nb: int, width: int, f_bins: int, sample_rate: int, color: str) -> np.ndarray:
    """:func:`spectral_shape` in the band layout ``[nb, 1, 2 * width]`` (re, im interleaved),
    float32, zero past the last bin; cached, as every example of a run has the same length."""
    g = np.zeros(nb * width, dtype=np.float32)
    g[:f_bins] = spectral_shape(f_bins, sample_rate, color)
    return np.repeat(g, 2).reshape(nb, 1, 2 * width)


#: Longer noise is made of independent blocks of this many samples, joined by equal-power
#: crossfades (independent fields with the same coherence sum to that coherence), so memory
#: stays flat for hour-long signals.
BLOCK_SAMPLES = 1 << 20
CROSSFADE_SAMPLES = 1024


def diffuse_noise(
    array: ArrayGeometry,
    num_samples: int,
    rng: np.random.Generator,
    sample_rate: int = 16000,
    color: str = "pink",
    source: np.ndarray | None = None,
) -> np.ndarray:
    """Diffuse noise ``[C, num_samples]`` (float32, unit variance per channel on average).

    Args:
        array: mic geometry that sets the coherence.
        num_samples: length.
        rng: random generator (seeded by the caller for reproducibility).
        sample_rate: Hz.
        color: spectral colour of generated noise (ignored when ``source`` is given).
        source: optional ``[C, T]`` independent recorded noise channels (e.g. one recording cut
            at C different offsets) to impose the coherence on instead of generated noise.
    """
    if num_samples <= BLOCK_SAMPLES or source is not None:
        return _diffuse_block(array, num_samples, rng, sample_rate, color, source)
    out = np.zeros((array.num_channels, num_samples), dtype=np.float32)
    fade_in = np.sin(np.linspace(0, np.pi / 2, CROSSFADE_SAMPLES, dtype=np.float32))
    pos = 0
    while pos < num_samples:
        n = min(BLOCK_SAMPLES, num_samples - pos + (CROSSFADE_SAMPLES if pos else 0))
        start = pos - (CROSSFADE_SAMPLES if pos else 0)
        block = _diffuse_block(array, n, rng, sample_rate, color, None)
        if pos:
            k = min(CROSSFADE_SAMPLES, n)
            out[:, start : start + k] *= fade_in[::-1][:k]  # cos fade out of the previous block
            block[:, :k] *= fade_in[:k]  # sin fade in: cos^2 + sin^2 = 1 keeps the power
        out[:, start : start + n] += block
        pos = start + n
    return out


def _diffuse_block(
    array: ArrayGeometry,
    num_samples: int,
    rng: np.random.Generator,
    sample_rate: int,
    color: str,
    source: np.ndarray | None,
) -> np.ndarray:
    from notsofar.simulate.convolve import irfft_rows, rfft_rows, spectrum_buffer

    c = array.num_channels
    n_fft = int(num_samples)
    f_bins = n_fft // 2 + 1
    nb = min(NUM_BANDS, f_bins)
    width = -(-f_bins // nb)
    # bin f belongs to band f // width; each band is mixed by one real [C, C] factor, as one
    # batched real matmul over interleaved (re, im) pairs: bands [nb, C, 2 * width] float32
    if source is None:
        # white spectra drawn directly in the band layout: zero-mean uniform re/im parts (half
        # the cost of Gaussian ones; each time sample sums thousands of bins, so it is Gaussian
        # anyway). The colour is a per-bin gain common to all channels: it commutes with the
        # mixing and is applied after it.
        bands = rng.random((nb, c, 2 * width), dtype=np.float32)
        bands -= np.float32(0.5)
    else:
        spec = rfft_rows(np.asarray(source, dtype=np.float32)[:, :num_samples], n_fft)
        padded = np.zeros((c, nb * width), dtype=np.complex64)
        padded[:, :f_bins] = spec
        bands = np.ascontiguousarray(padded.reshape(c, nb, width).transpose(1, 0, 2))
        bands = bands.view(np.float32)
    mixed = np.matmul(band_factors(array, sample_rate, nb), bands)
    if source is None:
        mixed *= _band_shape(nb, width, f_bins, sample_rate, color)
    # back to [C, F] bins, straight into the inverse transform's (SIMD-padded) input
    mc = mixed.view(np.complex64)  # [nb, C, width]
    buf = spectrum_buffer(c, n_fft)
    whole = f_bins // width  # bands wholly below f_bins; the next one is cut there
    dst = np.reshape(buf[:c, : whole * width], (c, whole, width), copy=False)
    dst[...] = mc[:whole].transpose(1, 0, 2)
    if whole * width < f_bins:
        buf[:c, whole * width :] = mc[whole, :, : f_bins - whole * width]
    x = irfft_rows(buf, c, n_fft, num_samples)
    x /= np.float32(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)
    return x


def measured_coherence(x: np.ndarray, i: int, j: int, n_fft: int = 512) -> np.ndarray:
    """Real part of the complex coherence between channels ``i`` and ``j`` (Welch estimate)."""
    from notsofar.features import FeatureConfig, stft

    cfg = FeatureConfig(n_fft=n_fft, win_length=n_fft, hop_length=n_fft // 2)
    xi, xj = stft(x[i], cfg), stft(x[j], cfg)
    sij = np.mean(xi * np.conj(xj), axis=-1)
    sii = np.mean(np.abs(xi) ** 2, axis=-1)
    sjj = np.mean(np.abs(xj) ** 2, axis=-1)
    return np.real(sij / np.sqrt(sii * sjj + 1e-20))
