"""Subtitles: SubRip (``.srt``) and WebVTT (``.vtt``), one cue per segment, speaker-labelled.

SRT has no speaker field, so the speaker leads the cue text in brackets (``[spk0] hello``);
WebVTT uses its voice span (``<v spk0>hello``). Times are written to the millisecond, so a file
read and written again is the same file. The session id is not stored; readers take it from
the file name (``meeting.srt`` -> ``meeting``).

>>> from notsofar.data import Segment, Transcript
>>> t = Transcript([Segment("m", "spk0", 1.5, 3.25, "hello there")])
>>> print(dumps_srt(t), end="")
1
00:00:01,500 --> 00:00:03,250
[spk0] hello there
>>> loads_vtt(dumps_vtt(t), session_id="m") == t
True
"""

from __future__ import annotations

import re
from pathlib import Path

from notsofar.data import Segment, Transcript
from notsofar.errors import NotsofarError

_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{3})$")
_ARROW = re.compile(r"^(\S+)\s+-->\s+(\S+)(?:\s.*)?$")


def format_time(seconds: float, sep: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT) or with ``.`` (WebVTT).

    >>> format_time(3725.0426)
    '01:02:05,043'
    """
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def parse_time(text: str, path: str | Path | None, line: int) -> float:
    m = _TIME.match(text.strip())
    if not m:
        raise NotsofarError(f"bad timestamp {text!r}", path=path, line=line)
    h, mi, s, ms = (int(g) if g else 0 for g in m.groups())
    if mi >= 60 or s >= 60:
        raise NotsofarError(f"bad timestamp {text!r}", path=path, line=line)
    return h * 3600 + mi * 60 + s + ms / 1000


def session_of(path: str | Path | None) -> str:
    return Path(path).name.split(".")[0] if path is not None else ""


def _ms(x: float) -> float:
    return round(float(x), 3)


def _cue_text(text: str) -> str:
    # a cue ends at a blank line: keep the words on one line
    return " ".join(text.split())


#: consecutive segments of one speaker share a cue when at most this far apart (s) ...
CUE_GAP_S = 1.0
#: ... and the cue stays at most this long (s; subtitle guidelines keep cues to ~7 s)
CUE_MAX_S = 7.0


def _cue_turns(transcript: Transcript) -> list[Segment]:
    from notsofar.io._text import merge_turns

    return merge_turns(transcript, CUE_GAP_S, CUE_MAX_S)


def dumps_srt(transcript: Transcript) -> str:
    blocks = []
    for i, s in enumerate(_cue_turns(transcript), start=1):
        blocks.append(
            f"{i}\n{format_time(s.start_time)} --> {format_time(s.end_time)}\n"
            f"[{s.speaker}] {_cue_text(s.words)}\n"
        )
    return "\n".join(blocks)


def dumps_vtt(transcript: Transcript) -> str:
    out = ["WEBVTT\n"]
    for s in _cue_turns(transcript):
        out.append(
            f"{format_time(s.start_time, '.')} --> {format_time(s.end_time, '.')}\n"
            f"<v {s.speaker}>{_cue_text(s.words)}\n"
        )
    return "\n".join(out)


def _cues(text: str, path: str | Path | None) -> list[tuple[int, float, float, str]]:
    """``(line, start, end, text)`` per cue: a ``-->`` line and the lines after it."""
    lines = text.splitlines()
    cues = []
    i = 0
    while i < len(lines):
        m = _ARROW.match(lines[i].strip())
        if not m:
            i += 1
            continue
        lineno = i + 1
        start = parse_time(m.group(1), path, lineno)
        end = parse_time(m.group(2), path, lineno)
        if end < start:
            raise NotsofarError("cue ends before it starts", path=path, line=lineno)
        body = []
        i += 1
        while i < len(lines) and lines[i].strip():
            body.append(lines[i].strip())
            i += 1
        cues.append((lineno, start, end, " ".join(body)))
    return cues


def loads_srt(
    text: str, path: str | Path | None = None, session_id: str | None = None
) -> Transcript:
    sid = session_id if session_id is not None else session_of(path)
    segments = []
    for _, a, b, body in _cues(text, path):
        m = re.match(r"^\[([^\]]*)\]\s*(.*)$", body)
        speaker, words = (m.group(1), m.group(2)) if m else ("", body)
        segments.append(Segment(sid, speaker, _ms(a), _ms(b), words))
    return Transcript(segments)


def loads_vtt(
    text: str, path: str | Path | None = None, session_id: str | None = None
) -> Transcript:
    if not text.lstrip("\ufeff").startswith("WEBVTT"):
        raise NotsofarError("not a WebVTT file (no WEBVTT header)", path=path, line=1)
    sid = session_id if session_id is not None else session_of(path)
    segments = []
    for _, a, b, body in _cues(text, path):
        m = re.match(r"^<v(?:\.[^ >]*)?\s+([^>]*)>(.*?)(?:</v>)?$", body)
        speaker, words = (m.group(1).strip(), m.group(2)) if m else ("", body)
        segments.append(Segment(sid, speaker, _ms(a), _ms(b), re.sub(r"<[^>]+>", "", words)))
    return Transcript(segments)
