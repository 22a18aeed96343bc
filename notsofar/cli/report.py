"""``notsofar report``: an interactive, self-contained HTML page for a transcript."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from notsofar.cli.common import QuietOption, console, handle_errors


class HtmlAudio(StrEnum):
    embed = "embed"
    link = "link"
    none = "none"


class Alignment(StrEnum):
    tcp = "tcp"
    cp = "cp"


HtmlAudioOption = Annotated[
    HtmlAudio,
    typer.Option(
        "--html-audio",
        help="embed: Opus inside the page; link: refer to the recording (long meetings).",
    ),
]


@handle_errors
def report_command(
    transcript: Annotated[
        Path, typer.Argument(help="Transcript: .seglst.json (word timings used), .srt, .stm, ...")
    ],
    audio: Annotated[Path | None, typer.Option("--audio", "-a", help="The recording.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output page (default: <name>.report.html beside it)."),
    ] = None,
    html_audio: HtmlAudioOption = HtmlAudio.embed,
    ref: Annotated[
        Path | None, typer.Option("--ref", "-r", help="Reference: mark the errors against it.")
    ] = None,
    session: Annotated[
        str | None, typer.Option(help="Session id, when the transcript holds several.")
    ] = None,
    alignment: Annotated[
        Alignment, typer.Option(help="meeteval assignment for --ref.")
    ] = Alignment.tcp,
    normalizer: Annotated[str, typer.Option(help="Text normalizer for --ref.")] = "notsofar",
    title: Annotated[str | None, typer.Option(help="Page title (default: session id).")] = None,
    quiet: QuietOption = False,
) -> None:
    """Write a self-contained HTML report: timeline, transcript, stats, search, audio."""
    from notsofar import io
    from notsofar.errors import NotsofarError
    from notsofar.report import write_report

    hyp = io.read(transcript)
    sessions = hyp.session_ids
    if session is not None:
        if session not in sessions:
            raise NotsofarError(
                f"no session {session!r} (it has {', '.join(sessions)})", path=transcript
            )
        hyp = hyp.filter(lambda s: s.session_id == session)
    elif len(sessions) > 1:
        raise NotsofarError(
            f"{len(sessions)} sessions: pick one with --session ({', '.join(sessions[:5])})",
            path=transcript,
        )
    reference = None
    if ref is not None:
        reference = io.read(ref)
        sid = hyp.session_ids[0] if len(hyp) else None
        if sid in reference.session_ids:
            reference = reference.filter(lambda s: s.session_id == sid)
        elif len(reference.session_ids) == 1 and sid is not None:
            reference = reference.with_session_id(sid)
        else:
            raise NotsofarError(f"no reference for session {sid!r}", path=ref)
    if audio is not None and not audio.is_file():
        raise NotsofarError("audio file not found", path=audio)
    if out is None:
        name = transcript.name.split(".")[0]
        out = transcript.with_name(f"{name}.report.html")
    path = write_report(
        out,
        hyp,
        audio=audio,
        audio_mode=html_audio.value if audio is not None else "none",
        reference=reference,
        normalizer=normalizer,
        alignment=alignment.value,
        title=title,
    )
    console(quiet).print(f"wrote {path}")
