"""NIST CTM: ``<session> <channel> <start> <duration> <word> [<confidence>]``, one word per line.

notsofar reads the second column as the speaker label: NIST calls it the channel, and diarized
CTMs put the speaker there. Each line becomes a one-word :class:`Segment` with its word timing
(as meeteval does when it turns a CTM into SegLST). Writing a segment without word timings
spreads its words evenly over the segment. Times are written to the microsecond.
"""

from __future__ import annotations

from pathlib import Path

from notsofar.data import Segment, Transcript, Word
from notsofar.errors import NotsofarError
from notsofar.io._text import content_lines, fmt_time, parse_time
from notsofar.io.atomic import read_text, write_text


def _conf(token: str, path: str | Path | None, number: int) -> float | None:
    if token.upper() == "NA":
        return None
    return parse_time(token, "confidence", path, number)


def loads(text: str, path: str | Path | None = None) -> Transcript:
    """Parse CTM text.

    >>> t = loads("S1 A 0.5 0.25 hello 0.9")
    >>> (t[0].speaker, t[0].end_time, t[0].word_details[0].confidence)
    ('A', 0.75, 0.9)
    """
    segments = []
    for number, line in content_lines(text):
        fields = line.split()
        if len(fields) not in (5, 6):
            raise NotsofarError(
                "CTM line needs <session> <channel> <start> <duration> <word> [<confidence>]",
                path=path,
                line=number,
            )
        session, speaker, start_s, dur_s, word = fields[:5]
        start = parse_time(start_s, "start time", path, number)
        dur = parse_time(dur_s, "duration", path, number)
        if dur < 0:
            raise NotsofarError(f"negative duration {dur_s}", path=path, line=number)
        conf = _conf(fields[5], path, number) if len(fields) == 6 else None
        end = start + dur
        segments.append(
            Segment(
                session, speaker, start, end, word, word_details=(Word(word, start, end, conf),)
            )
        )
    return Transcript(segments)


def _words_with_times(s: Segment) -> list[Word]:
    tokens = s.words.split()
    if s.word_details is not None and all(
        w.start_time is not None and w.end_time is not None for w in s.word_details
    ):
        return list(s.word_details)
    step = s.duration / max(len(tokens), 1)
    return [
        Word(t, s.start_time + i * step, s.start_time + (i + 1) * step)
        for i, t in enumerate(tokens)
    ]


def dumps(transcript: Transcript) -> str:
    """CTM text, one line per word."""
    lines = []
    for s in transcript:
        for w in _words_with_times(s):
            assert w.start_time is not None and w.end_time is not None
            fields = [
                s.session_id,
                s.speaker,
                fmt_time(round(w.start_time, 6)),
                fmt_time(round(w.end_time - w.start_time, 6)),
                w.word,
            ]
            if w.confidence is not None:
                fields.append(fmt_time(w.confidence))
            lines.append(" ".join(fields) + "\n")
    return "".join(lines)


def load(path: str | Path) -> Transcript:
    """Read a CTM file."""
    return loads(read_text(path), path=path)


def dump(transcript: Transcript, path: str | Path) -> Path:
    """Write a CTM file atomically."""
    return write_text(path, dumps(transcript))
