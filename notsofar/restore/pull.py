"""Fetch and verify the official VoiceFixer checkpoints (``notsofar models pull voicefixer``).

The two files come from the Zenodo records the ``voicefixer`` package itself downloads from, and
land in the cache paths it uses (``~/.cache/voicefixer/...``), so weights a user already has are
found and ours serve the official package too. Each file is streamed to a temporary name next to
its target, checked (byte count against the server's ``Content-Length``, then a strict load into
the official module tree of :mod:`notsofar.restore.voicefixer`) and only then renamed into place:
an interrupted or corrupt download never sits where the backend would trust it.

The URLs can be redirected (tests, mirrors) with ``NOTSOFAR_VOICEFIXER_URL``: a base URL under
which both files are fetched by their file names.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from notsofar.errors import EXIT_PARTIAL, NotsofarError
from notsofar.restore.weights import (  # noqa: F401 (re-exported: pull's interface)
    CACHE_ENV,
    URL_ENV,
    VOICEFIXER_FILES,
    WeightFile,
    cache_root,
    cached_paths,
    url_of,
)


def verify(role: str, path: Path) -> None:
    """Raise a one-line NotsofarError unless ``path`` loads strictly in the official layout."""
    from notsofar.restore import voicefixer as vf

    model = vf.VoiceFixerModel()
    if role == "analysis":
        vf.load_analysis_state(model, path)
    else:
        vf.load_vocoder_state(model, path)


def _offline_hint(files: list[tuple[str, Path]]) -> str:
    return "; ".join(f"fetch {u} to {p}" for u, p in files)


def pull_voicefixer(
    root: Path | None = None,
    base_url: str | None = None,
    force: bool = False,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
    timeout_s: float = 30.0,
) -> dict[str, tuple[Path, str]]:
    """Download (if needed) and verify both VoiceFixer checkpoints.

    Args:
        root: cache root (default :func:`cache_root`).
        base_url: fetch from ``<base_url>/<file name>`` instead of Zenodo.
        force: download even when a verified file is already there.
        progress: ``progress(label, total_bytes)`` returns a callback fed each chunk's size.
        timeout_s: socket timeout per request.

    Returns:
        ``{role: (path, status)}`` with status ``present`` (already there, verified) or
        ``downloaded``.

    Raises:
        NotsofarError: the server cannot be reached (one line naming what to fetch and where
            to put it), a truncated download, or a file that does not load strictly.
    """
    from notsofar.io.atomic import atomic_path

    paths = cached_paths(root)
    plan = [(f, url_of(f, base_url), paths[f.role]) for f in VOICEFIXER_FILES]
    out: dict[str, tuple[Path, str]] = {}
    for i, (f, url, dest) in enumerate(plan):
        if dest.is_file() and not force:
            try:
                verify(f.role, dest)
                out[f.role] = (dest, "present")
                continue
            except NotsofarError:
                pass  # a broken file in the cache: fetched again below
        try:
            with atomic_path(dest) as tmp:
                _download(url, tmp, f.name, progress, timeout_s)
                verify(f.role, tmp)
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
            rest = [(g.url, p) for g, _, p in plan[i:]]
            raise NotsofarError(
                f"cannot download {url} ({reason}); to install by hand, {_offline_hint(rest)}",
                exit_code=EXIT_PARTIAL,
            ) from None
        out[f.role] = (dest, "downloaded")
    return out


def _download(
    url: str,
    dest: Path,
    label: str,
    progress: Callable[[str, int | None], Callable[[int], None]] | None,
    timeout_s: float,
) -> None:
    if not url.startswith(("http://", "https://")):
        raise NotsofarError(f"only http(s) URLs can be pulled, got {url}")
    req = urllib.request.Request(url, headers={"User-Agent": "notsofar"})
    with urllib.request.urlopen(req, timeout=timeout_s) as resp, dest.open("wb") as fh:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        advance = progress(label, total) if progress else None
        got = 0
        while chunk := resp.read(1 << 20):
            fh.write(chunk)
            got += len(chunk)
            if advance:
                advance(len(chunk))
    if total is not None and got != total:
        raise NotsofarError(
            f"download of {url} stopped at {got} of {total} bytes; run the pull again",
            exit_code=EXIT_PARTIAL,
        )
    if got == 0:
        raise NotsofarError(f"{url} sent an empty file", exit_code=EXIT_PARTIAL)
