"""NIST UEM scoring regions: ``<session> <channel> <start> <end>`` per line.

A UEM says which part of each session is scored; it is not a transcript, so it has its own
small data type :class:`Uem` (``{session_id: (start, end)}`` is what meeteval and pyannote take).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from notsofar.errors import NotsofarError
from notsofar.io._text import content_lines, fmt_time, parse_time
from notsofar.io.atomic import read_text, write_text


@dataclass(frozen=True, slots=True)
class UemRegion:
    """One scored region of a session, in seconds."""

    session_id: str
    start_time: float
    end_time: float
    channel: str = "1"


@dataclass(frozen=True, slots=True)
class Uem:
    """Scoring regions, in file order."""

    regions: tuple[UemRegion, ...] = ()

    def as_dict(self) -> dict[str, tuple[float, float]]:
        """``{session_id: (start, end)}``; one region per session, as meeteval expects."""
        return {r.session_id: (r.start_time, r.end_time) for r in self.regions}


def loads(text: str, path: str | Path | None = None) -> Uem:
    """Parse UEM text.

    >>> loads("S1 1 0 60.5").as_dict()
    {'S1': (0.0, 60.5)}
    """
    regions = []
    seen: set[str] = set()
    for number, line in content_lines(text):
        fields = line.split()
        if len(fields) != 4:
            raise NotsofarError(
                "UEM line needs <session> <channel> <start> <end>", path=path, line=number
            )
        start = parse_time(fields[2], "start time", path, number)
        end = parse_time(fields[3], "end time", path, number)
        if end < start:
            raise NotsofarError(f"end {fields[3]} < start {fields[2]}", path=path, line=number)
        if fields[0] in seen:
            raise NotsofarError(
                f"session {fields[0]} has more than one region (unsupported)",
                path=path,
                line=number,
            )
        seen.add(fields[0])
        regions.append(UemRegion(fields[0], start, end, fields[1]))
    return Uem(tuple(regions))


def dumps(uem: Uem) -> str:
    """UEM text, one line per region."""
    return "".join(
        f"{r.session_id} {r.channel} {fmt_time(r.start_time)} {fmt_time(r.end_time)}\n"
        for r in uem.regions
    )


def load(path: str | Path) -> Uem:
    """Read a UEM file."""
    return loads(read_text(path), path=path)


def dump(uem: Uem, path: str | Path) -> Path:
    """Write a UEM file atomically."""
    return write_text(path, dumps(uem))
