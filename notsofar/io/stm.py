"""NIST STM: ``<session> <channel> <speaker> <start> <end> <words...>`` (one segment per line).

Lines starting with ``;;`` are comments. A channel other than ``1`` is kept in the segment's
``extra`` so that reading and writing gives the same file. Word timings are not representable.
"""

from __future__ import annotations

from pathlib import Path

from notsofar.data import Segment, Transcript
from notsofar.errors import NotsofarError
from notsofar.io._text import channel_extra, channel_of, content_lines, fmt_time, parse_time
from notsofar.io.atomic import read_text, write_text


def loads(text: str, path: str | Path | None = None) -> Transcript:
    """Parse STM text.

    >>> loads("S1 1 A 0 1.5 hello world")[0].end_time
    1.5
    """
    segments = []
    for number, line in content_lines(text):
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            raise NotsofarError(
                "STM line needs <session> <channel> <speaker> <start> <end> [words]",
                path=path,
                line=number,
            )
        session, channel, speaker, start, end = fields[:5]
        words = fields[5] if len(fields) == 6 else ""
        try:
            segments.append(
                Segment(
                    session,
                    speaker,
                    parse_time(start, "start time", path, number),
                    parse_time(end, "end time", path, number),
                    " ".join(words.split()),
                    extra=channel_extra(channel),
                )
            )
        except NotsofarError as e:
            if e.path is not None:
                raise
            raise NotsofarError(e.message, path=path, line=number) from None
    return Transcript(segments)


def dumps(transcript: Transcript) -> str:
    """STM text, one line per segment, in the transcript's order."""
    lines = []
    for s in transcript:
        channel = channel_of(s.extra_dict)
        words = s.words.split()
        for token in (s.session_id, channel, s.speaker):
            if not token or any(c.isspace() for c in token):
                raise NotsofarError(f"segment {s.describe()}: STM field {token!r} has spaces")
        lines.append(
            " ".join(
                [s.session_id, channel, s.speaker, fmt_time(s.start_time), fmt_time(s.end_time)]
                + words
            )
        )
    return "".join(line + "\n" for line in lines)


def load(path: str | Path) -> Transcript:
    """Read an STM file."""
    return loads(read_text(path), path=path)


def dump(transcript: Transcript, path: str | Path) -> Path:
    """Write an STM file atomically."""
    return write_text(path, dumps(transcript))
