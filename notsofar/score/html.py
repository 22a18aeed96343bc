"""meeteval's alignment visualization (self-contained HTML), one file per session."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from notsofar.data import (
    Transcript,
    html_name,  # noqa: F401 (used here and re-exported)
)
from notsofar.errors import NotsofarError
from notsofar.io.atomic import atomic_path
from notsofar.normalize import get_normalizer
from notsofar.score.config import ScoreConfig

#: d3 v7 (ISC licence, ``static/d3.LICENSE``), vendored from the npm package ``d3@7.9.2``'s
#: ``dist/d3.min.js``: meeteval's page inlines d3 from its user cache and downloads it from a
#: CDN when missing; notsofar never downloads at run time, and the page must open offline.
D3_JS = Path(__file__).parent / "static" / "d3.min.js"


@contextlib.contextmanager
def _offline_d3() -> Iterator[None]:
    """Point meeteval's d3 cache (platformdirs' user data dir) at the vendored copy."""
    old = os.environ.get("XDG_DATA_HOME")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "meeteval").mkdir()
        shutil.copyfile(D3_JS, Path(tmp) / "meeteval" / "d3.js")
        os.environ["XDG_DATA_HOME"] = tmp
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("XDG_DATA_HOME", None)
            else:
                os.environ["XDG_DATA_HOME"] = old


def write_html(
    ref: Transcript,
    hyp: Transcript,
    cfg: ScoreConfig,
    out_dir: str | Path,
    reports: bool = True,
) -> list[Path]:
    """Write ``<out_dir>/<session>.html`` for every reference session; returns the paths.

    With ``reports``, each session also gets ``<session>.report.html``: notsofar's report page
    (:mod:`notsofar.report`) with meeteval's errors marked on the timeline and the words.

    The alignment is meeteval's ``tcp`` (``cp`` when only cpWER is scored); meeteval's viewer
    uses its own fixed 5 s collar for the tcp alignment. Words are normalized as for scoring.
    d3.js is inlined (the vendored copy), so the page opens offline.
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
    if reports:
        from notsofar.report import write_session_reports

        written += write_session_reports(ref, hyp, out_dir, cfg.normalizer, alignment)
    return written
