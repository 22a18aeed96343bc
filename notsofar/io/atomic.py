"""Atomic file writes: write to a temporary name in the same folder, then rename.

An interrupted run never leaves a truncated file that a resumed run would trust.
"""

from __future__ import annotations

import contextlib
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
