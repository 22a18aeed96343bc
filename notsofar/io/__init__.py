"""File formats at the edges, chosen by suffix.

Each format is a module ``notsofar.io.<fmt>`` with the same four functions::

    loads(text, path=None) -> Transcript     dumps(transcript) -> str
    load(path) -> Transcript                 dump(transcript, path) -> Path   (atomic)

:func:`read` and :func:`write` pick the module from the file name through :data:`FORMATS`;
modules are imported only when used. UEM files hold scoring regions, not transcripts: see
:mod:`notsofar.io.uem`. The NOTSOFAR-1 dataset layout is read by :mod:`notsofar.io.notsofar`.

>>> format_of("exp/hyp.seglst.json")
'seglst'
>>> format_of("ref.STM")
'stm'
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from notsofar.data import Transcript
from notsofar.errors import NotsofarError

#: ``{suffix: module name under notsofar.io}``; the longest matching suffix wins.
FORMATS: dict[str, str] = {
    ".seglst.json": "seglst",
    ".json": "seglst",
    ".stm": "stm",
    ".ctm": "ctm",
    ".rttm": "rttm",
    ".srt": "srt",
    ".vtt": "vtt",
    ".txt": "txt",
}


def format_of(path: str | Path) -> str:
    """The format module name for ``path``, from its suffix (case-insensitive)."""
    name = Path(path).name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    known = ", ".join(sorted(FORMATS))
    raise NotsofarError(f"unknown transcript format (known suffixes: {known})", path=path)


def module_for(path: str | Path, fmt: str | None = None) -> ModuleType:
    """The format module for ``path`` (or the explicit ``fmt`` name)."""
    name = fmt or format_of(path)
    if name not in FORMATS.values():
        raise NotsofarError(f"unknown transcript format {name!r}", path=path)
    return importlib.import_module(f"notsofar.io.{name}")


def read(path: str | Path, fmt: str | None = None, **kw: Any) -> Transcript:
    """Read a transcript file; the format comes from the suffix unless ``fmt`` names it."""
    return module_for(path, fmt).load(path, **kw)


def write(path: str | Path, transcript: Transcript, fmt: str | None = None, **kw: Any) -> Path:
    """Write ``transcript`` atomically in the format its suffix (or ``fmt``) names."""
    return module_for(path, fmt).dump(transcript, path, **kw)


def is_transcript_file(path: str | Path) -> bool:
    """Whether ``path`` has a suffix :func:`read` understands (resolved configs etc. excluded)."""
    name = Path(path).name.lower()
    # skip hidden/temporary files and what `notsofar score` / meeteval-wer write beside hypotheses
    if name.startswith(".") or name.endswith(
        (".yaml", ".score.json", "wer.json", "_per_reco.json")
    ):
        return False
    return any(name.endswith(s) for s in FORMATS)


def _suffix_of(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return None


def read_dir(path: str | Path, suffixes: tuple[str, ...] | None = None) -> Transcript:
    """Read and concatenate the transcript files in a folder (recursively), sorted by name.

    A system often writes the same transcript in several formats (``.seglst.json`` beside
    ``.srt`` and ``.txt``); reading all of them would count every word twice. So only files of
    one suffix are read: the first of ``suffixes`` (default: the order of :data:`FORMATS`,
    SegLST first) that the folder has.

    Args:
        path: a folder.
        suffixes: suffixes to consider, in order of preference.
    """
    root = Path(path)
    if not root.is_dir():
        raise NotsofarError("not a folder", path=root)
    by_suffix: dict[str, list[Path]] = {}
    for p in sorted(root.rglob("*")):
        suffix = _suffix_of(p)
        if suffix is not None and p.is_file() and is_transcript_file(p):
            by_suffix.setdefault(suffix, []).append(p)
    for suffix in suffixes or tuple(FORMATS):
        if by_suffix.get(suffix):
            out: list = []
            for p in by_suffix[suffix]:
                out.extend(read(p))
            return Transcript(out)
    raise NotsofarError("no transcript files found in folder", path=root)
