"""Helpers shared by the line-based formats (STM, CTM, RTTM, UEM)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

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
