"""What ``notsofar score`` does around :func:`notsofar.score.score`: read inputs, print tables."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from notsofar.data import Transcript
from notsofar.errors import NotsofarError
from notsofar.score import ScoreReport


def read_any(path: Path) -> Transcript:
    """A transcript file, a folder of them, or (for references) a NOTSOFAR dataset root."""
    from notsofar import io
    from notsofar.io import notsofar as dataset

    if path.is_dir():
        if dataset.is_dataset(path):
            return dataset.load_reference(path)
        return io.read_dir(path)
    if not path.exists():
        raise NotsofarError("no such file or folder", path=path)
    return io.read(path)


def load_inputs(refs: list[Path], hyps: list[Path]) -> tuple[Transcript, Transcript, list[str]]:
    """Read references and hypotheses; returns ``(ref, hyp, notes)``.

    When a NOTSOFAR dataset root is the reference and the hypothesis covers only one track
    (all ``multichannel/...`` or all ``singlechannel/...`` sessions), the other track's
    sessions are left out of the reference rather than scored as missing.
    """
    notes: list[str] = []
    hyp = Transcript()
    for p in hyps:
        hyp = hyp + read_any(p)
    ref = Transcript()
    for p in refs:
        ref = ref + read_any(p)
    tracks = {s.split("/", 1)[0] for s in hyp.session_ids}
    ref_tracks = {s.split("/", 1)[0] for s in ref.session_ids}
    both = {"multichannel", "singlechannel"}
    if ref_tracks == both and len(tracks) == 1 and tracks <= both:
        (track,) = tracks
        ref = ref.filter(lambda s: s.session_id.startswith(track + "/"))
        notes.append(f"scoring the {track} track only (the hypothesis has no other sessions)")
    return ref, hyp, notes


@contextlib.contextmanager
def progress_bar(con: Any, total: int) -> Iterator[Callable[[], None]]:
    """A rich progress bar on the (stderr) console; yields the function that advances it."""
    if con.quiet:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "scoring", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=con,
        transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("score", total=total)
        yield lambda: progress.advance(task)


def report_stem(hyp: Path, out: Path | None) -> tuple[Path, str]:
    """Where the report goes: ``<hyp folder>/<hyp name>.score.*`` or ``<out>/<hyp name>.score.*``."""
    name = hyp.name.rstrip("/") or "hyp"
    for suffix in (".seglst.json", ".json", ".stm", ".ctm", ".rttm", ".srt", ".vtt", ".txt"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return (out if out is not None else hyp.parent), name


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _num(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:.2f}" if isinstance(x, float) and not float(x).is_integer() else f"{x:g}"


def print_report(
    report: ScoreReport, con: Any, notes: list[str], json_path: Path, tables: Any = None
) -> None:
    """Per-session and summary tables on ``tables`` (the results: stdout), notes and the
    report's path on ``con`` (stderr; both hidden by ``--quiet``), warnings always."""
    import sys

    from rich.table import Table

    tables = tables or con
    if not tables.is_terminal:
        tables.width = max(tables.width, 160)  # logs and CI: do not squeeze the tables
    for note in notes:
        con.print(f"[dim]{note}[/dim]")
    for w in report.warnings:
        print(f"notsofar: warning: {w}", file=sys.stderr)
    wer = ("insertions", "deletions", "substitutions", "missed_speaker", "falarm_speaker")
    diar = ("missed_detection", "false_alarm", "confusion")
    has_wer = any(r.insertions is not None for r in report.sessions)
    has_der = any(r.confusion is not None for r in report.sessions)
    cols = ["session", "metric", "rate %", "errors", "length"]
    cols += ["ins", "del", "sub", "miss spk", "FA spk"] if has_wer else []
    cols += ["miss s", "FA s", "conf s"] if has_der else []
    table = Table(*cols, title="per session", title_justify="left")
    for r in report.sessions:
        table.add_row(
            r.session_id + (" [red](no hyp)[/red]" if r.hyp_missing else ""),
            r.metric,
            _pct(r.error_rate),
            _num(r.errors),
            _num(r.length),
            *(_num(getattr(r, k)) for k in (wer if has_wer else ())),
            *(_num(getattr(r, k)) for k in (diar if has_der else ())),
        )
    tables.print(table)
    summary = Table(
        "metric", "sessions", "macro %", "micro %", "errors", "length", "ins", "del", "sub",
        "miss spk", "FA spk", title="summary", title_justify="left",
    )  # fmt: skip
    for s in report.summary:
        summary.add_row(
            s.metric,
            str(s.num_sessions),
            _pct(s.macro),
            _pct(s.micro),
            _num(s.errors),
            _num(s.length),
            *(_num(getattr(s, k)) for k in ("insertions", "deletions", "substitutions")),
            *(_num(getattr(s, k)) for k in ("missed_speaker", "falarm_speaker")),
        )
    tables.print(summary)
    con.print(f"report: {json_path} (+ .csv)")
