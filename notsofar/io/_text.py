"""Helpers shared by the line-based formats (STM, CTM, RTTM, UEM) and the readable ones."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from notsofar.data import Segment, Transcript
from notsofar.errors import NotsofarError


def fmt_time(x: float) -> str:
    """Shortest text that reads back as the same float; integral values without ``.0``.

    >>> fmt_time(3.0), fmt_time(0.1 + 0.2), fmt_time(12)
    ('3', '0.30000000000000004', '12')
    """
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def parse_time(token: str, what: str, path: str | Path | None, line: int) -> float:
    try:
        value = float(token)
    except ValueError:
        raise NotsofarError(f"{what} is not a number: {token!r}", path=path, line=line) from None
    if not math.isfinite(value):
        raise NotsofarError(f"{what} is not finite: {token!r}", path=path, line=line)
    return value


def content_lines(text: str, comment: str = ";;") -> Iterator[tuple[int, str]]:
    """``(1-based line number, stripped line)`` for non-empty, non-comment lines."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith(comment):
            yield number, stripped


def channel_extra(channel: str, default: str = "1") -> tuple[tuple[str, str], ...]:
    """Keep a non-default channel field in ``Segment.extra`` so it round-trips."""
    import json

    return () if channel == default else (("channel", json.dumps(channel)),)


def channel_of(extra: dict, default: str = "1") -> str:
    value = extra.get("channel", default)
    return str(value)


def merge_turns(
    transcript: Transcript, max_gap_s: float, max_duration_s: float | None = None
) -> list[Segment]:
    """Segments in time order with consecutive ones of one speaker merged, for the formats
    people read (``.txt``, ``.srt``, ``.vtt``): a pause of at most ``max_gap_s`` and, with
    ``max_duration_s``, a merged segment no longer than that (a subtitle cue must stay short).

    >>> t = Transcript([Segment("m", "A", 0.0, 1.0, "so"), Segment("m", "A", 1.2, 2.0, "yes"),
    ...                 Segment("m", "B", 2.5, 3.0, "no"), Segment("m", "A", 3.5, 4.0, "ok")])
    >>> [(s.speaker, s.words) for s in merge_turns(t, 1.0)]
    [('A', 'so yes'), ('B', 'no'), ('A', 'ok')]
    """
    import dataclasses

    out: list[Segment] = []
    for s in transcript.sorted():
        prev = out[-1] if out else None
        if (
            prev is not None
            and (prev.session_id, prev.speaker) == (s.session_id, s.speaker)
            and s.start_time - prev.end_time <= max_gap_s
            and (max_duration_s is None or s.end_time - prev.start_time <= max_duration_s)
        ):
            details = None
            if prev.word_details is not None and s.word_details is not None:
                details = (*prev.word_details, *s.word_details)
            out[-1] = dataclasses.replace(
                prev,
                end_time=max(prev.end_time, s.end_time),
                words=" ".join(f"{prev.words} {s.words}".split()),
                word_details=details,
            )
        else:
            out.append(s)
    return out
