"""Interactive, self-contained HTML meeting reports (``notsofar report``, ``transcribe --html``).

One HTML file, no network needed to open it: a speaker timeline (lanes, overlaps, zoom and
scroll), the transcript in turns with clickable words that seek the audio, per-speaker talk
time / turns / overlap / words per minute, search, renaming speakers with downloads of the
renamed SegLST/SRT/VTT/TXT, the audio embedded as Opus (or linked), and, given a reference,
meeteval's alignment errors (insertions, deletions, substitutions, speaker errors).
"""

from __future__ import annotations

from pathlib import Path

from notsofar.data import Transcript
from notsofar.errors import NotsofarError
from notsofar.report.page import AUDIO_MODES, audio_duration, page_data, render

__all__ = [
    "AUDIO_MODES",
    "build_report",
    "report_name",
    "write_report",
    "write_session_reports",
    "write_transcribe_report",
]


def build_report(
    transcript: Transcript,
    audio: str | Path | tuple[Path, ...] | None = None,
    audio_mode: str = "embed",
    reference: Transcript | None = None,
    normalizer: str = "notsofar",
    alignment: str = "tcp",
    title: str | None = None,
    link_base: str | Path | None = None,
) -> str:
    """The report page for one session as HTML text.

    Args:
        transcript: the hypothesis (one session; SegLST ``word_timings`` are used when present,
            else words are spread over their segment by characters).
        audio: the recording (a tuple of files, one per speaker: their sum, embedded); None
            gives a page without a player.
        audio_mode: ``embed`` (Opus inside the page), ``link`` (a relative link to ``audio``,
            for long meetings) or ``none``.
        reference: a reference transcript of the same session: the page then marks errors.
        normalizer: text normalizer for the alignment (as ``notsofar score``).
        alignment: meeteval's ``tcp`` or ``cp`` assignment and alignment.
        title: page title (default: the session id).
        link_base: the folder the page will be written to (``link`` mode).
    """
    if len(transcript.session_ids) > 1:
        raise NotsofarError(
            f"a report shows one session; the transcript has {len(transcript.session_ids)}"
            f" ({', '.join(transcript.session_ids[:3])}, ...): pass one session"
        )
    errors = None
    if reference is not None:
        from notsofar.normalize import get_normalizer
        from notsofar.report.model import scoring_errors

        errors = scoring_errors(reference, transcript, get_normalizer(normalizer), alignment)
    duration = audio_duration(audio) if audio is not None else None
    data = page_data(transcript, title=title, errors=errors, duration_s=duration)
    return render(data, audio=audio, audio_mode=audio_mode, link_base=link_base)


def write_report(path: str | Path, transcript: Transcript, **kwargs: object) -> Path:
    """Write :func:`build_report`'s page to ``path`` atomically (``link_base`` = its folder)."""
    from notsofar.io.atomic import write_text

    path = Path(path)
    kwargs.setdefault("link_base", path.parent)
    return write_text(path, build_report(transcript, **kwargs))  # type: ignore[arg-type]


def report_name(session_id: str) -> str:
    """The report file for a session (``multichannel/MTG_1`` → ``multichannel_MTG_1.report.html``)."""
    from notsofar.data import html_name

    return html_name(session_id).removesuffix(".html") + ".report.html"


def write_session_reports(
    ref: Transcript,
    hyp: Transcript,
    out_dir: str | Path,
    normalizer: str = "notsofar",
    alignment: str = "tcp",
) -> list[Path]:
    """One report page (no audio) with the errors marked, per reference session, in ``out_dir``."""
    out_dir = Path(out_dir)
    hyp_by = hyp.groupby("session_id")
    written = []
    for session_id, r in ref.groupby("session_id").items():
        h = hyp_by.get(session_id, Transcript())
        page = build_report(
            h if len(h) else r.filter(lambda s: False),
            reference=r,
            normalizer=normalizer,
            alignment=alignment,
            title=session_id,
        )
        written.append(write_text_atomic(out_dir / report_name(session_id), page))
    return written


def write_text_atomic(path: Path, text: str) -> Path:
    from notsofar.io.atomic import write_text

    return write_text(path, text)


def write_transcribe_report(
    out_dir: str | Path,
    name: str,
    audio: str | Path | tuple[Path, ...] | None,
    audio_mode: str = "embed",
) -> Path:
    """``<out_dir>/<name>.report.html`` from ``transcribe``'s ``<name>.seglst.json`` and the audio."""
    from notsofar import io

    out_dir = Path(out_dir)
    transcript = io.read(out_dir / f"{name}.seglst.json")
    return write_report(
        out_dir / f"{name}.report.html",
        transcript,
        audio=audio,
        audio_mode=audio_mode if audio is not None else "none",
        title=Path(name).name,
    )
