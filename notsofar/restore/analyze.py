"""Blind degradation analysis: clipping, SNR, reverberation and bandwidth of one recording.

Everything here is estimated from the degraded signal alone (no reference, no VAD model), so it
runs on any file in a few milliseconds per second of audio and lets the DSP backend choose its
steps. The estimators are deliberately simple and documented; they are for deciding and
reporting, not for publication-grade measurement.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from notsofar.errors import NotsofarError
from notsofar.restore.config import AnalysisConfig, DspConfig

#: SNR reported for signals whose noise floor is digital silence.
MAX_SNR_DB = 80.0


@dataclass(frozen=True)
class Degradation:
    """What is wrong with one (mono) recording.

    Attributes:
        duration_s: length of the signal.
        sample_rate: its sample rate.
        peak_dbfs: highest absolute sample, dB full scale.
        level_dbfs: RMS level over active frames (dBFS).
        clipping_ratio: fraction of samples inside flat runs at the peak (0 = no clipping).
        snr_db: estimated speech-to-noise ratio (dB), from frame-energy percentiles.
        t60_s: blind reverberation time estimate (s), from sub-band envelope decay slopes.
        bandwidth_hz: effective bandwidth: highest frequency with energy above the floor.
    """

    duration_s: float
    sample_rate: int
    peak_dbfs: float
    level_dbfs: float
    clipping_ratio: float
    snr_db: float
    t60_s: float
    bandwidth_hz: float

    @property
    def nyquist_hz(self) -> float:
        return self.sample_rate / 2

    def to_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _db(p: np.ndarray | float) -> np.ndarray:
    return 10 * np.log10(np.maximum(p, 1e-20))


def clipped_mask(x: np.ndarray, level: float = 0.99, min_run: int = 2) -> np.ndarray:
    """Samples that sit in flat runs (>= ``min_run`` long) at the signal's positive/negative peak.

    Hard clipping (and the saturation of a converter) leaves runs of equal samples (within
    1e-4 of the peak) at the extremes; an unclipped waveform touches its peak in isolated
    samples, and even a slow tone's rounded peak changes from sample to sample. Positive and negative
    peaks are tested separately, so asymmetric clipping is found too.
    """
    x = np.asarray(x)
    mask = np.zeros(x.shape, dtype=bool)
    if x.size == 0:
        return mask
    for sign in (1.0, -1.0):
        peak = float(np.max(sign * x))
        if peak <= 0:
            continue
        at_peak = sign * x >= level * peak
        # clipped samples repeat the same value; a smooth peak of a low tone only comes close
        flat = np.zeros_like(at_peak)
        same = np.abs(np.diff(x)) <= 1e-4 * peak
        flat[:-1] |= same
        flat[1:] |= same
        at_peak &= flat
        if not at_peak.any():
            continue
        # run lengths of consecutive True values
        d = np.diff(np.concatenate(([0], at_peak.view(np.int8), [0])))
        starts = np.flatnonzero(d == 1)
        ends = np.flatnonzero(d == -1)
        for s, e in zip(starts, ends, strict=True):
            if e - s >= min_run:
                mask[s:e] = True
    return mask


def _frames(x: np.ndarray, sr: int, frame_s: float = 0.02) -> np.ndarray:
    n = max(1, int(frame_s * sr))
    m = len(x) // n
    if m == 0:
        return x[None, :]
    return x[: m * n].reshape(m, n)


def estimate_snr_db(x: np.ndarray, sr: int) -> float:
    """Speech-to-noise ratio from frame-power percentiles (VAD-free).

    The noise floor is the mean power of the quietest 10 % of 20 ms frames (speech has pauses);
    the speech power is the mean of the loudest 30 % minus that floor. This tracks the
    ``active speech level / noise`` SNR used by mixing recipes within a few dB from -5 to 30 dB.
    """
    p = np.sort(np.mean(_frames(x.astype(np.float64), sr) ** 2, axis=1))
    if p[-1] <= 0:
        return 0.0
    k = max(1, len(p) // 10)
    noise = float(np.mean(p[:k]))
    top = float(np.mean(p[-max(1, (3 * len(p)) // 10) :]))
    speech = max(top - noise, 1e-20)
    if noise <= speech * 10 ** (-MAX_SNR_DB / 10):
        return MAX_SNR_DB
    return float(np.clip(_db(speech / noise), -20.0, MAX_SNR_DB))


def estimate_t60_s(x: np.ndarray, sr: int) -> float:
    """Blind T60 from the steepest free decays of sub-band envelopes.

    Speech offsets decay at most as fast as the room lets them, so the fastest sustained decays
    of the sub-band energy envelopes (10 ms frames, smoothed) bound the reverberation time: for
    each band we fit straight lines (dB/s) to every stretch where the envelope falls for at least
    80 ms by 10 dB or more above the noise floor, and take a low percentile of the fitted T60s.
    The median over bands is returned; 0.0 when no decay stretch was found.
    """
    from notsofar.features import FeatureConfig, power_spectrogram

    cfg = FeatureConfig(
        sample_rate=sr, n_fft=_n_fft(sr), win_length=_n_fft(sr), hop_length=max(1, sr // 100)
    )
    P = power_spectrogram(x, cfg)  # [F, frames]
    nb = P.shape[0]
    freqs = np.linspace(0, sr / 2, nb)
    # octave-ish bands from 250 Hz to 4 kHz where speech has energy in most recordings
    edges = [250, 500, 1000, 2000, 4000]
    frame_rate = sr / cfg.hop_length
    min_len = int(0.08 * frame_rate)
    t60s = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi > sr / 2:
            break
        band = P[(freqs >= lo) & (freqs < hi)].sum(axis=0)
        env = _db(band)
        env = np.convolve(env, np.ones(3) / 3, mode="same")
        floor = np.percentile(env, 10)
        falling = np.diff(env) < 0
        d = np.diff(np.concatenate(([0], falling.view(np.int8), [0])))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        band_t60 = []
        for s, e in zip(starts, ends, strict=True):
            seg = env[s : e + 1]
            keep = seg > floor + 10
            seg = seg[keep]
            if len(seg) < min_len or seg[0] - seg[-1] < 10:
                continue
            t = np.arange(len(seg)) / frame_rate
            slope = np.polyfit(t, seg, 1)[0]
            if slope < 0:
                band_t60.append(-60.0 / slope)
        if len(band_t60) >= 3:
            t60s.append(float(np.percentile(band_t60, 20)))
    return float(np.median(t60s)) if t60s else 0.0


def _n_fft(sr: int) -> int:
    """A ~32 ms power-of-two FFT size for this rate."""
    return int(2 ** np.ceil(np.log2(0.032 * sr)))


def estimate_bandwidth_hz(x: np.ndarray, sr: int, margin_db: float = 10.0) -> float:
    """Highest frequency whose long-term active-speech spectrum is above the floor.

    The floor of each bin is its 10th-percentile power over frames (the noise floor) raised by
    ``margin_db``, and never less than 50 dB below the spectrum's maximum, so the leakage of a
    low-pass filter does not count as content.
    """
    from notsofar.features import FeatureConfig, power_spectrogram

    n_fft = _n_fft(sr)
    cfg = FeatureConfig(sample_rate=sr, n_fft=n_fft, win_length=n_fft, hop_length=n_fft // 2)
    P = power_spectrogram(x, cfg)
    e = P.sum(axis=0)
    active = e >= np.percentile(e, 50)
    ltas = _db(P[:, active].mean(axis=1))
    noise = _db(np.percentile(P, 10, axis=1))
    k = 5
    ltas = np.convolve(ltas, np.ones(k) / k, mode="same")
    noise = np.convolve(noise, np.ones(k) / k, mode="same")
    floor = np.maximum(noise + margin_db, ltas.max() - 50.0)
    above = np.flatnonzero(ltas > floor)
    if above.size == 0:
        return 0.0
    return float(above[-1] * sr / n_fft)


def active_level_dbfs(x: np.ndarray, sr: int) -> float:
    """RMS level (dBFS) over frames within 30 dB of the loudest (a simple gated loudness)."""
    p = np.mean(_frames(x.astype(np.float64), sr) ** 2, axis=1)
    if p.max() <= 0:
        return -float("inf")
    gate = p >= p.max() * 1e-3
    return float(_db(np.mean(p[gate])))


#: below this estimated SNR (dB) the T60 is measured on a denoised copy (even faint noise
#: fluctuations read as slow decays; only digital-silence-clean recordings skip it).
NOISY_SNR_DB = 50.0


#: the T60 of a long noisy recording is measured on a denoised copy of this many excerpts of
#: ``T60_EXCERPT_S`` spread over it (denoising all of it cost ~1 s per minute of audio, 0.02 of
#: restore's RTF); the cut between two excerpts is a one-frame drop, shorter than any decay the
#: estimate fits. On 3-min real-speech recordings (a real and two simulated rooms, real noise
#: at 5 / 20 / 60 dB) the estimates moved by 0.001-0.024 s. Audio without noise is measured
#: whole (it is not denoised: nothing to save)
T60_EXCERPTS = 3
T60_EXCERPT_S = 20.0


def _t60_input(x: np.ndarray, sr: int) -> np.ndarray:
    """``x``, or for a recording over ``T60_EXCERPTS * T60_EXCERPT_S`` its excerpts joined."""
    n = int(T60_EXCERPT_S * sr)
    if len(x) <= T60_EXCERPTS * n:
        return x
    starts = np.linspace(0, len(x) - n, T60_EXCERPTS).astype(int)
    return np.concatenate([x[a : a + n] for a in starts])


def _denoised(x: np.ndarray, sr: int) -> np.ndarray:
    from notsofar.features import istft, stft
    from notsofar.restore.config import DenoiseConfig, DspConfig
    from notsofar.restore.denoise import denoise, stft_config

    fc = stft_config(sr, DspConfig())
    return istft(denoise(stft(x, fc), DenoiseConfig()), fc, length=len(x))


def analyze(audio: np.ndarray, sample_rate: int, cfg: AnalysisConfig | None = None) -> Degradation:
    """Estimate the degradations of a mono signal ``[T]`` (see :class:`Degradation`)."""
    cfg = cfg or AnalysisConfig()
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise NotsofarError(f"analyze expects mono audio [T], got shape {x.shape}")
    check_signal(x, sample_rate)
    peak = float(np.max(np.abs(x)))
    snr = estimate_snr_db(x, sample_rate)
    # Noise masks the decays (and its fluctuations mimic slow ones): with noise present the T60
    # is estimated on a quickly denoised copy, which separates noisy from reverberant speech.
    if snr < NOISY_SNR_DB:
        t60 = estimate_t60_s(_denoised(_t60_input(x, sample_rate), sample_rate), sample_rate)
    else:
        t60 = estimate_t60_s(x, sample_rate)
    return Degradation(
        duration_s=len(x) / sample_rate,
        sample_rate=int(sample_rate),
        peak_dbfs=float(20 * np.log10(peak)),
        level_dbfs=active_level_dbfs(x, sample_rate),
        clipping_ratio=float(clipped_mask(x, cfg.clip_level, cfg.clip_min_run).mean()),
        snr_db=snr,
        t60_s=t60,
        bandwidth_hz=estimate_bandwidth_hz(x, sample_rate, cfg.bandwidth_margin_db),
    )


#: Shortest signal restore and analyze accept (s): below this no estimate is meaningful.
MIN_DURATION_S = 0.1


def check_signal(x: np.ndarray, sample_rate: int, path: str | Path | None = None) -> None:
    """Raise a one-line NotsofarError for empty, too short, silent or non-finite audio."""
    if x.size == 0 or x.shape[-1] == 0:
        raise NotsofarError("audio is empty", path=path)
    if not np.all(np.isfinite(x)):
        raise NotsofarError("audio contains NaN or infinite samples", path=path)
    if x.shape[-1] < MIN_DURATION_S * sample_rate:
        raise NotsofarError(
            f"audio is too short ({x.shape[-1] / sample_rate * 1000:.0f} ms; "
            f"at least {MIN_DURATION_S * 1000:.0f} ms needed)",
            path=path,
        )
    if not np.any(np.abs(x) > 1e-7):
        raise NotsofarError("audio is silent (all samples are zero)", path=path)


def write_json(results: dict[str, Degradation | list[Degradation]], path: str | Path) -> Path:
    """Save analyses (one per file; a list per channel for multi-channel files) as JSON."""
    from notsofar.io.atomic import write_text

    def conv(v: Degradation | list[Degradation]) -> object:
        return [d.to_dict() for d in v] if isinstance(v, list) else v.to_dict()

    return write_text(path, json.dumps({k: conv(v) for k, v in results.items()}, indent=2) + "\n")


def table(results: dict[str, list[Degradation]]) -> object:
    """A rich table of analyses: one row per file and channel, problems highlighted."""
    from rich.table import Table

    t = Table(title="Degradation analysis")
    for col in (
        "file",
        "ch",
        "dur (s)",
        "level (dBFS)",
        "clipping",
        "SNR (dB)",
        "T60 (s)",
        "bandwidth (kHz)",
    ):
        t.add_column(col, justify="left" if col == "file" else "right")
    for name, chans in results.items():
        for i, d in enumerate(chans):
            flag = problems(d)
            t.add_row(
                name,
                str(i),
                f"{d.duration_s:.2f}",
                f"{d.level_dbfs:.1f}",
                _mark(f"{d.clipping_ratio * 100:.2f}%", "clipping" in flag),
                _mark(f"{d.snr_db:.1f}", "noise" in flag),
                _mark(f"{d.t60_s:.2f}", "reverb" in flag),
                _mark(
                    f"{d.bandwidth_hz / 1000:.1f}/{d.nyquist_hz / 1000:.1f}", "bandwidth" in flag
                ),
            )
    return t


def _mark(text: str, bad: bool) -> str:
    return f"[bold red]{text}[/]" if bad else text


def problems(d: Degradation, thresholds: DspConfig | None = None) -> set[str]:
    """Names of the degradations found in ``d`` under the DSP backend's thresholds.

    A problem is reported even when the step that would treat it is switched off.
    """
    dsp = thresholds if thresholds is not None else DspConfig()
    out = set()
    if d.clipping_ratio >= dsp.declip.min_clip_ratio:
        out.add("clipping")
    if d.snr_db < dsp.denoise.max_snr_db:
        out.add("noise")
    if d.t60_s >= dsp.dereverb.min_t60_s:
        out.add("reverb")
    if d.bandwidth_hz < dsp.bandwidth.max_bandwidth_ratio * d.nyquist_hz:
        out.add("bandwidth")
    return out
