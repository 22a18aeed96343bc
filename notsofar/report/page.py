"""Assemble the self-contained report page: data, script, style and (optionally) the audio.

The page is one HTML file: the SegLST segments, the per-speaker statistics and any scoring
errors travel as a JSON data block; the audio either as an Opus data block spelled by
:func:`notsofar.report.audio.bytes_to_text` (``embed``), as a relative link to the recording
(``link``), or not at all (``none``). ``report.js`` and ``report.css`` are inlined.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import Any

from notsofar.data import Transcript
from notsofar.errors import NotsofarError
from notsofar.io.subtitles import CUE_GAP_S, CUE_MAX_S
from notsofar.io.text import MERGE_GAP_S as TXT_GAP_S
from notsofar.report.audio import AUDIO_MIME, CHUNK_BYTES, bytes_to_text, encode_audio
from notsofar.report.model import overlap_regions, speaker_stats, union

_STATIC = Path(__file__).parent / "static"
AUDIO_MODES = ("embed", "link", "none")


def _json_block(value: Any) -> str:
    # "</script" or "<!--" inside a script element would end or confuse it; "<" only occurs
    # inside JSON strings, where "\u003c" is the same character
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def page_data(
    transcript: Transcript,
    title: str | None = None,
    errors: dict[str, Any] | None = None,
    duration_s: float | None = None,
) -> dict[str, Any]:
    """The JSON the page reads: segments (SegLST dicts, file order), speakers, stats, overlaps."""
    sessions = transcript.session_ids
    session_id = sessions[0] if sessions else ""
    segs = transcript.sorted()
    by = {
        spk: union((s.start_time, s.end_time) for s in t)
        for spk, t in segs.groupby("speaker").items()
    }
    end = max((s.end_time for s in transcript), default=0.0)
    if errors:
        end = max([end] + [e[2] for e in errors["errors"]])
    return {
        "title": title or session_id or "meeting",
        "session_id": session_id or title or "",
        "duration": float(max(end, duration_s or 0.0)),
        "speakers": sorted(by, key=lambda spk: by[spk][0][0]),  # in order of first words
        "segments": transcript.to_seglst_dicts(),
        "stats": speaker_stats(transcript),
        "speech_s": round(
            float(sum(b - a for a, b in union(x for iv in by.values() for x in iv))), 3
        ),
        "overlaps": [[round(float(a), 3), round(float(b), 3)] for a, b in overlap_regions(by)],
        "errors": errors,
        # the downloads merge a speaker's consecutive segments as notsofar's writers do
        "merge": {"txt_gap": TXT_GAP_S, "cue_gap": CUE_GAP_S, "cue_max": CUE_MAX_S},
    }


def audio_duration(path: str | Path | tuple[Path, ...]) -> float:
    from notsofar.audio import info

    if isinstance(path, tuple):  # one file per speaker
        return max(info(p).duration_s for p in path)
    return info(path).duration_s


def render(
    data: dict[str, Any],
    audio: str | Path | tuple[Path, ...] | None = None,
    audio_mode: str = "embed",
    link_base: str | Path | None = None,
) -> str:
    """The page as text. ``link_base`` is the folder the page will live in (for ``link``)."""
    if audio_mode not in AUDIO_MODES:
        raise NotsofarError(f"unknown audio mode {audio_mode!r} (known: {', '.join(AUDIO_MODES)})")
    audio_block = ""
    audio_attrs = ""
    if isinstance(audio, tuple):
        audio_mode = "embed" if audio_mode == "link" else audio_mode  # no one file to link to
    if audio is not None and audio_mode == "embed":
        encoded = encode_audio(audio)
        audio_block = (
            f'<script type="application/octet-stream" id="audio-data" data-length="{len(encoded)}"'
            f' data-chunk="{CHUNK_BYTES}" data-mime="{AUDIO_MIME}">{bytes_to_text(encoded)}</script>'
        )
    elif audio is not None and audio_mode == "link":
        target = Path(os.path.abspath(audio))
        base = Path(os.path.abspath(link_base or "."))
        rel = os.path.relpath(target, base)
        audio_attrs = f' src="{html.escape(_uri_path(Path(rel).as_posix()), quote=True)}"'
    title = html.escape(data["title"])
    parts = {
        "title": title,
        "style": (_STATIC / "report.css").read_text(encoding="utf-8"),
        "script": (_STATIC / "report.js").read_text(encoding="utf-8"),
        "audio_attrs": audio_attrs,
        "data": _json_block(data),
        "audio_block": audio_block,
    }
    template = (_STATIC / "report.html").read_text(encoding="utf-8")
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], template)


def _uri_path(rel: str) -> str:
    from urllib.parse import quote

    return quote(rel, safe="/")
