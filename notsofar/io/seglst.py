"""SegLST JSON (meeteval's format): a JSON list of segment dicts.

``session_id, speaker, start_time, end_time, words`` plus optional ``word_timings``,
``word_confidences`` and any other key (kept). A plain ``.json`` file is read the same way.
"""

from __future__ import annotations

import json
from pathlib import Path

from notsofar.data import Segment, Transcript
from notsofar.errors import NotsofarError
from notsofar.io.atomic import read_text, write_text


def loads(text: str, path: str | Path | None = None) -> Transcript:
    """Parse SegLST JSON text.

    >>> t = loads('[{"session_id": "S", "speaker": "A", "start_time": 0, "end_time": 1, "words": "hi"}]')
    >>> t[0].words
    'hi'
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotsofarError(
            f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=e.lineno
        ) from None
    if isinstance(data, dict):
        # meeteval also accepts a dict of equal-length lists ({"words": [...], ...})
        try:
            keys = list(data)
            data = [dict(zip(keys, row, strict=True)) for row in zip(*data.values(), strict=True)]
        except (TypeError, ValueError):
            raise NotsofarError("SegLST must be a list of segments", path=path) from None
    if not isinstance(data, list):
        raise NotsofarError("SegLST must be a list of segments", path=path)
    if data and isinstance(data[0], dict) and {"speaker_id", "text"} <= data[0].keys():
        raise NotsofarError(
            "this is a NOTSOFAR gt_transcription.json, not SegLST: "
            "pass the dataset root (or use notsofar.io.notsofar.load_transcription)",
            path=path,
        )
    segments = []
    for i, d in enumerate(data):
        if not isinstance(d, dict):
            raise NotsofarError(f"segment #{i} is not an object: {d!r:.60}", path=path)
        try:
            segments.append(Segment.from_seglst(d))
        except NotsofarError as e:
            raise NotsofarError(f"segment #{i}: {e.message}", path=path) from None
    return Transcript(segments)


def dumps(transcript: Transcript) -> str:
    """SegLST JSON text (2-space indent, UTF-8 kept, trailing newline)."""
    return transcript.to_json()


def load(path: str | Path) -> Transcript:
    """Read a SegLST JSON file."""
    return loads(read_text(path), path=path)


def dump(transcript: Transcript, path: str | Path) -> Path:
    """Write a SegLST JSON file atomically."""
    return write_text(path, dumps(transcript))
