"""DNSMOS P.835 (SIG/BAK/OVRL) and P.808 from the ONNX models shipped in ``speechmos``.

Same algorithm as ``speechmos.dnsmos`` (Reddy et al., ICASSP 2022: 9.01 s windows hopped by 1 s,
polynomial calibration, averaged), but the ONNX sessions are created once per process with a
bounded thread count, and audio at any rate / any level is accepted (resampled to 16 kHz;
out-of-range samples are scaled into [-1, 1] instead of raising). Nothing is downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from notsofar.errors import NotsofarError

SR = 16000
INPUT_LENGTH_S = 9.01


def _model_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("speechmos")
    if spec is None or not spec.submodule_search_locations:
        raise NotsofarError("DNSMOS needs the 'speechmos' package (pip install speechmos)")
    d = Path(list(spec.submodule_search_locations)[0]) / "dnsmos_models"
    for name in ("sig_bak_ovr.onnx", "model_v8.onnx"):
        if not (d / name).exists():
            raise NotsofarError(f"DNSMOS model {name} missing from the speechmos package", path=d)
    return d


@lru_cache(maxsize=1)
def _sessions(threads: int = 1) -> tuple[Any, Any]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    d = _model_dir()
    providers = ["CPUExecutionProvider"]
    primary = ort.InferenceSession(str(d / "sig_bak_ovr.onnx"), opts, providers=providers)
    p808 = ort.InferenceSession(str(d / "model_v8.onnx"), opts, providers=providers)
    return primary, p808


def _p808_features(audio: np.ndarray) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(y=audio, sr=SR, n_fft=321, hop_length=160, n_mels=120)
    return ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T


_P_OVR = np.poly1d([-0.06766283, 1.11546468, 0.04602535])
_P_SIG = np.poly1d([-0.08397278, 1.22083953, 0.0052439])
_P_BAK = np.poly1d([-0.13166888, 1.60915514, -0.39604546])


def dnsmos(audio: np.ndarray, sample_rate: int, threads: int = 1) -> dict[str, float]:
    """DNSMOS P.835 scores of mono audio: ``{'sig', 'bak', 'ovrl', 'p808'}`` (1..5, higher=better).

    Args:
        audio: mono ``[T]`` float samples (any rate; resampled to 16 kHz).
        sample_rate: rate of ``audio``.
        threads: ONNX Runtime intra-op threads.
    """
    from notsofar.audio import resample

    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise NotsofarError(f"DNSMOS expects mono audio [T], got shape {x.shape}")
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise NotsofarError("DNSMOS needs non-empty, finite audio")
    x = resample(x, sample_rate, SR)
    peak = float(np.max(np.abs(x)))
    if peak > 1.0:
        x = x / peak
    n = int(INPUT_LENGTH_S * SR)
    while len(x) < n:  # short clips are repeated to fill one window, as the reference does
        x = np.concatenate([x, x])
    primary, p808 = _sessions(threads)
    hops = int(np.floor(len(x) / SR) - INPUT_LENGTH_S) + 1
    scores = []
    for i in range(hops):
        seg = x[i * SR : i * SR + n]
        if len(seg) < n:
            continue
        sig, bak, ovr = primary.run(None, {"input_1": seg[None, :].astype(np.float32)})[0][0]
        feats = _p808_features(seg[:-160]).astype(np.float32)[None]
        p = p808.run(None, {"input_1": feats})[0][0][0]
        scores.append((_P_SIG(sig), _P_BAK(bak), _P_OVR(ovr), p))
    s = np.mean(np.array(scores, dtype=np.float64), axis=0)
    return {"sig": float(s[0]), "bak": float(s[1]), "ovrl": float(s[2]), "p808": float(s[3])}
