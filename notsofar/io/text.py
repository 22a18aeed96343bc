"""Speaker-labelled plain text (``.txt``): one line per segment, readable and parseable.

Each line is ``[start - end] speaker: words`` with ``H:MM:SS.mmm`` times; consecutive segments of
one speaker at most :data:`MERGE_GAP_S` apart share a line. The session id comes from the file
name when read back.

>>> from notsofar.data import Segment, Transcript
>>> t = Transcript([Segment("m", "spk1", 62.5, 64.0, "good morning")])
>>> print(dumps(t), end="")
[0:01:02.500 - 0:01:04.000] spk1: good morning
>>> loads(dumps(t), session_id="m") == t
True
"""

from __future__ import annotations

import re
from pathlib import Path

from notsofar.data import Segment, Transcript
from notsofar.errors import NotsofarError
from notsofar.io._text import merge_turns
from notsofar.io.atomic import read_text, write_text
from notsofar.io.subtitles import session_of

_LINE = re.compile(
    r"^\[(\d+):(\d{2}):(\d{2}\.\d{3}) - (\d+):(\d{2}):(\d{2}\.\d{3})\] ([^:]*): ?(.*)$"
)


def _fmt(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{h}:{m:02d}:{rest / 1000:06.3f}"


#: consecutive segments of one speaker with at most this pause (s) between them share a line
MERGE_GAP_S = 3.0


def dumps(transcript: Transcript) -> str:
    """One ``[start - end] speaker: words`` line per turn, in time order."""
    return "".join(
        f"[{_fmt(s.start_time)} - {_fmt(s.end_time)}] {s.speaker}: {' '.join(s.words.split())}\n"
        for s in merge_turns(transcript, MERGE_GAP_S)
    )


def loads(text: str, path: str | Path | None = None, session_id: str | None = None) -> Transcript:
    """Parse text written by :func:`dumps`; blank lines are skipped."""
    sid = session_id if session_id is not None else session_of(path)
    segments = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = _LINE.match(line.strip())
        if not m:
            raise NotsofarError(
                "expected '[H:MM:SS.mmm - H:MM:SS.mmm] speaker: words'", path=path, line=number
            )
        g = m.groups()
        a = int(g[0]) * 3600 + int(g[1]) * 60 + float(g[2])
        b = int(g[3]) * 3600 + int(g[4]) * 60 + float(g[5])
        if b < a:
            raise NotsofarError("segment ends before it starts", path=path, line=number)
        segments.append(Segment(sid, g[6].strip(), round(a, 3), round(b, 3), g[7]))
    return Transcript(segments)


def load(path: str | Path) -> Transcript:
    return loads(read_text(path), path=path)


def dump(transcript: Transcript, path: str | Path) -> Path:
    return write_text(path, dumps(transcript))
