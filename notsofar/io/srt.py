"""The ``.srt`` format for :mod:`notsofar.io` (implemented in :mod:`notsofar.io.subtitles`)."""

from __future__ import annotations

from pathlib import Path

from notsofar.data import Transcript
from notsofar.io.atomic import read_text, write_text
from notsofar.io.subtitles import dumps_srt as dumps
from notsofar.io.subtitles import loads_srt as loads

__all__ = ["dump", "dumps", "load", "loads"]


def load(path: str | Path) -> Transcript:
    return loads(read_text(path), path=path)


def dump(transcript: Transcript, path: str | Path) -> Path:
    return write_text(path, dumps(transcript))
