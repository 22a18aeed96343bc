"""Where the official VoiceFixer checkpoints come from and where they are cached.

The same URLs and cache layout as the ``voicefixer`` package, so weights a user already has are
found (used by :mod:`notsofar.restore.voicefixer` to find them and :mod:`notsofar.restore.pull`
to fetch them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: env var: base URL to fetch both files from (``<base>/<file name>``) instead of Zenodo.
URL_ENV = "NOTSOFAR_VOICEFIXER_URL"
#: env var: cache root instead of ``~/.cache/voicefixer`` (the voicefixer package's own).
CACHE_ENV = "NOTSOFAR_VOICEFIXER_CACHE"


@dataclass(frozen=True)
class WeightFile:
    """One official checkpoint: where VoiceFixer downloads it from and where it caches it."""

    role: str  #: ``analysis`` or ``vocoder``
    url: str
    #: path under the cache root, as in voicefixer/restorer/__init__.py and vocoder/config.py
    relpath: str

    @property
    def name(self) -> str:
        return Path(self.relpath).name


VOICEFIXER_FILES = (
    WeightFile(
        "analysis",
        "https://zenodo.org/record/5600188/files/vf.ckpt?download=1",
        "analysis_module/checkpoints/vf.ckpt",
    ),
    WeightFile(
        "vocoder",
        "https://zenodo.org/record/5469951/files/model.ckpt-1490000_trimed.pt?download=1",
        "synthesis_module/44100/model.ckpt-1490000_trimed.pt",
    ),
)


def cache_root() -> Path:
    """``$NOTSOFAR_VOICEFIXER_CACHE`` or ``~/.cache/voicefixer`` (the voicefixer package's root)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "voicefixer"


def cached_paths(root: Path | None = None) -> dict[str, Path]:
    """``{"analysis": path, "vocoder": path}`` in the official cache layout."""
    root = root if root is not None else cache_root()
    return {f.role: root / f.relpath for f in VOICEFIXER_FILES}


def url_of(f: WeightFile, base_url: str | None = None) -> str:
    """The URL ``f`` is fetched from: under ``base_url`` / ``$NOTSOFAR_VOICEFIXER_URL``, if set."""
    base = base_url if base_url is not None else os.environ.get(URL_ENV)
    return f"{base.rstrip('/')}/{f.name}" if base else f.url
