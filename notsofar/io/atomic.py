"""Atomic file writes: write to a temporary name in the same folder, then rename.

An interrupted run never leaves a truncated file that a resumed run would trust.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from notsofar.errors import NotsofarError

# Read once at import (os.umask can only be read by setting it, which is not thread-safe later).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path``.

    The temporary name keeps the final suffix (``suffix`` or ``path``'s), so libraries that pick a
    format from the name (soundfile, tarfile) still do the right thing. On error it is removed.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.",
            suffix=".tmp" + (suffix if suffix is not None else path.suffix),
            dir=path.parent,
        )
    except OSError as e:
        raise NotsofarError(f"cannot write output: {e.strerror}", path=path) from None
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the final file the usual permissions (0666 minus the umask)
    with contextlib.suppress(OSError):
        os.chmod(tmp_path, 0o666 & ~_UMASK)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def stale_temps(path: str | Path) -> list[Path]:
    """Temporary files :func:`atomic_path` made for ``path`` and never renamed or removed (the
    writer was killed, e.g. SIGKILL or a power cut, between creating and renaming them)."""
    path = Path(path)
    pattern = f".{glob.escape(path.name)}.*.tmp*"
    return sorted(p for p in path.parent.glob(pattern) if p.is_file())


def remove_stale_temps(path: str | Path) -> int:
    """Remove :func:`stale_temps` of ``path``; call it only where no other process is writing
    ``path`` (a batch does, for the outputs of the session it is about to make). Returns how
    many were removed."""
    removed = 0
    for tmp in stale_temps(path):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed += 1
    return removed


#: the probe file of earlier versions of :func:`check_writable` (left behind by a kill)
_LEGACY_PROBE = ".notsofar-write-test"


def check_writable(folder: str | Path) -> None:
    """A one-line error now, rather than after an hour of work, if ``folder`` cannot take files.

    The probe is an unnamed temporary file (``O_TMPFILE`` where the OS has it), so a run killed
    here leaves nothing behind; probes that earlier versions left are removed.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise NotsofarError(f"output folder is not writable: {e.strerror}", path=folder) from None
    remove_stale_temps(folder / _LEGACY_PROBE)


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 text atomically."""
    with atomic_path(path) as tmp:
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as e:
            raise NotsofarError(f"cannot write output: {e.strerror}", path=path) from None
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write bytes atomically."""
    with atomic_path(path) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as e:
            raise NotsofarError(f"cannot write output: {e.strerror}", path=path) from None
    return Path(path)


def read_text(path: str | Path) -> str:
    """Read UTF-8 text, turning OS and decoding problems into one-line errors."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotsofarError("file not found", path=path) from None
    except IsADirectoryError:
        raise NotsofarError("is a directory, expected a file", path=path) from None
    except UnicodeDecodeError as e:
        raise NotsofarError(f"not UTF-8 text (byte {e.start})", path=path) from None
    except OSError as e:
        raise NotsofarError(f"cannot read: {e.strerror}", path=path) from None
