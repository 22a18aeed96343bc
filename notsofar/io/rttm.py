"""NIST RTTM speaker turns: ``SPEAKER <session> <channel> <start> <duration> <NA> <NA> <speaker> <NA> <NA>``.

Only ``SPEAKER`` lines are read (other types, e.g. ``SPKR-INFO``, are skipped); segments get empty
``words``. Writing drops words: RTTM holds who spoke when, not what, and replaces whitespace in
session ids and speaker labels with ``_`` (:func:`notsofar.data.safe_id`), as fields are
separated by whitespace. Times are written to the
microsecond, so a file written by :func:`dumps` reads back and writes again identically.
"""

from __future__ import annotations

from pathlib import Path

from notsofar.data import Segment, Transcript, safe_id
from notsofar.errors import NotsofarError
from notsofar.io._text import channel_extra, channel_of, content_lines, fmt_time, parse_time
from notsofar.io.atomic import read_text, write_text


def loads(text: str, path: str | Path | None = None) -> Transcript:
    """Parse RTTM text.

    >>> loads("SPEAKER S1 1 0.5 2 <NA> <NA> alice <NA> <NA>")[0].end_time
    2.5
    """
    segments = []
    for number, line in content_lines(text, comment="#"):
        fields = line.split()
        if fields[0] != "SPEAKER":
            if fields[0].isupper() and len(fields) >= 2:
                continue  # other RTTM record types carry no speaker turn
            raise NotsofarError(
                f"not an RTTM line (expected 'SPEAKER ...'): {line!r:.60}", path=path, line=number
            )
        if len(fields) < 8:
            raise NotsofarError(
                "RTTM SPEAKER line needs at least 8 fields "
                "(SPEAKER <session> <channel> <start> <duration> <NA> <NA> <speaker>)",
                path=path,
                line=number,
            )
        start = parse_time(fields[3], "start time", path, number)
        dur = parse_time(fields[4], "duration", path, number)
        if dur < 0:
            raise NotsofarError(f"negative duration {fields[4]}", path=path, line=number)
        segments.append(
            Segment(fields[1], fields[7], start, start + dur, "", extra=channel_extra(fields[2]))
        )
    return Transcript(segments)


def dumps(transcript: Transcript) -> str:
    """RTTM text, one SPEAKER line per segment."""
    lines = []
    for s in transcript:
        start = fmt_time(round(s.start_time, 6))
        dur = fmt_time(round(s.end_time - s.start_time, 6))
        channel = channel_of(s.extra_dict)
        lines.append(
            f"SPEAKER {safe_id(s.session_id)} {channel} {start} {dur} <NA> <NA> "
            f"{safe_id(s.speaker)} <NA> <NA>\n"
        )
    return "".join(lines)


def load(path: str | Path) -> Transcript:
    """Read an RTTM file."""
    return loads(read_text(path), path=path)


def dump(transcript: Transcript, path: str | Path) -> Path:
    """Write an RTTM file atomically."""
    return write_text(path, dumps(transcript))
