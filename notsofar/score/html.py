"""meeteval's alignment visualization (self-contained HTML), one file per session."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from notsofar.data import Transcript
from notsofar.errors import NotsofarError
from notsofar.io.atomic import atomic_path
from notsofar.normalize import get_normalizer
from notsofar.score.config import ScoreConfig


def html_name(session_id: str) -> str:
    """A file name for a session id (``multichannel/MTG_1_plaza_0`` → ``multichannel_MTG_1_plaza_0.html``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", session_id).strip("_") + ".html"


# meeteval inlines d3.js from its user cache and downloads it when missing; notsofar never
# downloads at run time. Without a cached copy the page gets a loader that fetches d3 when a
# browser opens it (meeteval's page already waits until d3 is defined).
_D3_LOADER = (
    "(function(){var s=document.createElement('script');"
    "s.src='https://cdn.jsdelivr.net/npm/d3@7';document.head.appendChild(s);})();"
)


@contextlib.contextmanager
def _offline_d3() -> Iterator[None]:
    import platformdirs

    if (Path(platformdirs.user_data_dir("meeteval")) / "d3.js").is_file():
        yield
        return
    old = os.environ.get("XDG_DATA_HOME")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "meeteval").mkdir()
        (Path(tmp) / "meeteval" / "d3.js").write_text(_D3_LOADER)
        os.environ["XDG_DATA_HOME"] = tmp
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("XDG_DATA_HOME", None)
            else:
                os.environ["XDG_DATA_HOME"] = old


def write_html(
    ref: Transcript, hyp: Transcript, cfg: ScoreConfig, out_dir: str | Path
) -> list[Path]:
    """Write ``<out_dir>/<session>.html`` for every reference session; returns the paths.

    The alignment is meeteval's ``tcp`` (``cp`` when only cpWER is scored); meeteval's viewer
    uses its own fixed 5 s collar for the tcp alignment. Words are normalized as for scoring.
    d3.js is inlined when meeteval has it cached; otherwise the page loads it when opened.
    """
    from meeteval.viz.visualize import AlignmentVisualization

    from notsofar.score import _to_meeteval

    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise NotsofarError(f"cannot create HTML folder: {e.strerror}", path=out_dir) from None
    alignment = "cp" if set(cfg.metrics) & {"tcpwer", "tcorcwer"} == set() else "tcp"
    normalizer = get_normalizer(cfg.normalizer)
    hyp_by = hyp.groupby("session_id")
    written = []
    for session_id, r in ref.groupby("session_id").items():
        h = hyp_by.get(session_id, Transcript())
        viz = AlignmentVisualization(
            _to_meeteval(r, normalizer), _to_meeteval(h, normalizer), alignment=alignment
        )
        path = out_dir / html_name(session_id)
        with _offline_d3(), atomic_path(path) as tmp:
            viz.dump(str(tmp))
        written.append(path)
    return written
