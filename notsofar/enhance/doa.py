"""Direction of arrival: GCC-PHAT for a microphone pair and SRP-PHAT over the whole array.

Conventions: azimuth in degrees, counter-clockwise from the array's +x axis, in [0, 360);
far-field plane waves; a source in direction ``u`` reaches microphone ``p`` ``p·u / c`` seconds
*earlier* than the array centre.
"""

from __future__ import annotations

import numpy as np

from notsofar.arrays import SPEED_OF_SOUND, ArrayGeometry
from notsofar.features import FeatureConfig, stft


def gcc_phat(
    x: np.ndarray, y: np.ndarray, sample_rate: int, max_tau_s: float | None = None, interp: int = 16
) -> float:
    """Time difference of arrival (s) of ``x`` relative to ``y`` by GCC-PHAT (Knapp & Carter 1976).

    Positive when ``x`` lags ``y``.

    >>> rng = np.random.default_rng(0)
    >>> s = rng.standard_normal(16000)
    >>> round(gcc_phat(np.roll(s, 3), s, 16000) * 16000, 2)
    3.0
    """
    n = len(x) + len(y)
    X = np.fft.rfft(x, n=n)
    Y = np.fft.rfft(y, n=n)
    R = X * np.conj(Y)
    R /= np.maximum(np.abs(R), 1e-12)
    cc = np.fft.irfft(R, n=interp * n)
    max_shift = interp * n // 2
    if max_tau_s is not None:
        max_shift = min(int(interp * sample_rate * max_tau_s), max_shift)
    cc = np.concatenate((cc[-max_shift:], cc[: max_shift + 1]))
    shift = int(np.argmax(np.abs(cc))) - max_shift
    return shift / float(interp * sample_rate)


def azimuth_grid(step_deg: float) -> np.ndarray:
    return np.arange(0.0, 360.0, step_deg)


def steering_delays(
    geometry: ArrayGeometry, azimuths_deg: np.ndarray, elevation_deg: float = 0.0
) -> np.ndarray:
    """``[A, C]`` arrival-time advance (s) of each microphone vs. the centre, per azimuth."""
    az = np.deg2rad(azimuths_deg)
    el = np.deg2rad(elevation_deg)
    u = np.stack([np.cos(az) * np.cos(el), np.sin(az) * np.cos(el), np.full_like(az, np.sin(el))])
    return (geometry.as_array() @ u).T / SPEED_OF_SOUND


class SRPPhat:
    """SRP-PHAT maps over an azimuth grid from a multi-channel STFT.

    The PHAT-weighted cross-spectra of all microphone pairs are averaged over a window of frames
    and steered to every candidate azimuth; the map's peak is the direction of the dominant source.

    PHAT gives every time-frequency bin the same weight, so in noise and reverberation the bins
    that hold only the noise field or a reverberant tail pull the peak away from the talker. With
    ``bin_snr_db``, only bins at least that far above the analysed signal's own floor (the 20th
    percentile of each frequency's power over its frames) count: the bins the direct sound
    dominates (time-frequency bin selection, as in DOA estimation in noise).
    """

    def __init__(
        self,
        geometry: ArrayGeometry,
        stft_cfg: FeatureConfig,
        fmin_hz: float = 200.0,
        fmax_hz: float = 4000.0,
        azimuth_step_deg: float = 5.0,
        elevation_deg: float = 0.0,
        bin_snr_db: float | None = None,
    ) -> None:
        self.geometry = geometry
        self.bin_snr_db = bin_snr_db
        self.stft_cfg = stft_cfg
        self.azimuths = azimuth_grid(azimuth_step_deg)
        freqs = np.fft.rfftfreq(stft_cfg.n_fft, 1.0 / stft_cfg.sample_rate)
        self.bins = np.flatnonzero((freqs >= fmin_hz) & (freqs <= fmax_hz))
        i, j = np.triu_indices(geometry.num_channels, k=1)
        self.pairs = (i, j)
        adv = steering_delays(geometry, self.azimuths, elevation_deg)  # [A, C]
        tdiff = adv[:, i] - adv[:, j]  # [A, P]: mic i leads mic j by this much
        omega = 2 * np.pi * freqs[self.bins]  # [F]
        # X_i X_j^* = |S|^2 exp(+j w (adv_i - adv_j)); steering multiplies by the conjugate
        self.steer = np.exp(-1j * omega[None, None, :] * tdiff[:, :, None]).astype(np.complex64)

    def cross_spectra(self, X: np.ndarray) -> np.ndarray:
        """PHAT cross-spectra ``[P, F, N]`` of an STFT ``[C, F_all, N]`` (band-limited)."""
        Xb = X[:, self.bins, :]
        i, j = self.pairs
        R = Xb[i] * np.conj(Xb[j])
        R /= np.maximum(np.abs(R), 1e-10)
        if self.bin_snr_db is not None and Xb.shape[-1] > 1:
            power = np.abs(Xb[0]) ** 2  # [F, N]: the first microphone (NOTSOFAR's centre mic)
            floor = np.percentile(power, 20, axis=1, keepdims=True)
            R *= (power > floor * 10 ** (self.bin_snr_db / 10))[None]
        return R

    def map_from_cross(self, R_sum: np.ndarray) -> np.ndarray:
        """SRP over azimuths ``[A, W]`` from frame-summed cross-spectra ``[P, F, W]``."""
        return np.einsum("apf,pfw->aw", self.steer, R_sum).real

    def windows(self, X: np.ndarray, frame_windows: list[tuple[int, int]]) -> np.ndarray:
        """Normalised SRP maps ``[W, A]`` for ``(first_frame, end_frame)`` windows of ``X``."""
        if not frame_windows:
            return np.zeros((0, len(self.azimuths)))
        R = self.cross_spectra(X)
        csum = np.concatenate(
            [np.zeros(R.shape[:2] + (1,), R.dtype), np.cumsum(R, axis=-1)], axis=-1
        )
        a = np.array([w[0] for w in frame_windows])
        b = np.array([w[1] for w in frame_windows])
        R_sum = (csum[:, :, b] - csum[:, :, a]) / np.maximum(b - a, 1)[None, None, :]
        m = self.map_from_cross(R_sum) / (len(self.pairs[0]) * len(self.bins))
        return m.T

    def doa(self, x: np.ndarray) -> float:
        """The dominant azimuth (degrees) of a ``[C, T]`` signal."""
        X = stft(x, self.stft_cfg)
        m = self.windows(X, [(0, X.shape[-1])])[0]
        return float(self.azimuths[int(np.argmax(m))])


def angular_distance(a_deg: np.ndarray | float, b_deg: np.ndarray | float) -> np.ndarray:
    """Absolute difference of azimuths on the circle, in [0, 180] degrees."""
    d = np.abs((np.asarray(a_deg) - np.asarray(b_deg) + 180.0) % 360.0 - 180.0)
    return d
