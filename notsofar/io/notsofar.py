"""The NOTSOFAR-1 dataset layout (as the official baseline's ``load_meeting_data`` reads it).

A dataset root holds meeting folders ``MTG_<id>``, each with::

    gt_transcription.json    [{"speaker_id", "start_time", "end_time", "text", "word_timing"}, ...]
    gt_meeting_metadata.json {"MeetingID", "MtgType", "Participants", ...}   (optional)
    devices.json             [{"device_name", "is_mc", "is_close_talk", "wav_file_names"}, ...]
    mc_<device>/ch0.wav .. ch6.wav     sc_<device>/ch0.wav

``wav_file_names`` is a comma-separated list of paths relative to the meeting folder. Every
device is one session, named as the baseline names it:
``multichannel/MTG_30860_plaza_0``, ``singlechannel/MTG_30860_rockfall_1``. Close-talk devices
(``is_close_talk`` or a name starting with ``CT``) are not sessions: they may not be used at
inference. ``word_timing`` entries are ``[word, start, end]`` triples; they become word timings
when they line up one-to-one with the words of ``text``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from notsofar.data import Segment, Transcript, Word
from notsofar.errors import NotsofarError
from notsofar.io.atomic import read_text

Kind = Literal["mc", "sc"]
TRACK = {"mc": "multichannel", "sc": "singlechannel"}


@dataclass(frozen=True)
class NotsofarSession:
    """One device recording of one meeting: what a system transcribes and is scored on."""

    session_id: str
    meeting_id: str
    device: str
    kind: Kind
    wav_paths: tuple[Path, ...]
    reference: Transcript = field(default_factory=Transcript, repr=False)
    meeting_dir: Path | None = None


def _load_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise NotsofarError(
            f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=e.lineno
        ) from None


def _word_details(text: str, timing: Any) -> tuple[Word, ...] | None:
    """Word timings from ``word_timing`` when they match ``text`` word for word."""
    tokens = text.split()
    if not isinstance(timing, list) or len(timing) != len(tokens) or not tokens:
        return None
    words = []
    for token, t in zip(tokens, timing, strict=True):
        if isinstance(t, list | tuple) and len(t) == 3:
            start, end = t[1], t[2]
        elif isinstance(t, list | tuple) and len(t) == 2:
            start, end = t
        else:
            return None
        if not all(isinstance(v, int | float) for v in (start, end)):
            return None
        words.append(Word(token, float(start), float(end)))
    return tuple(words)


def load_transcription(path: str | Path, session_id: str) -> Transcript:
    """Read a ``gt_transcription.json`` as a reference transcript for ``session_id``."""
    path = Path(path)
    data = _load_json(path)
    if not isinstance(data, list):
        raise NotsofarError("gt_transcription.json must be a list of utterances", path=path)
    segments = []
    for i, u in enumerate(data):
        if not isinstance(u, dict):
            raise NotsofarError(f"utterance #{i} is not an object", path=path)
        missing = [k for k in ("speaker_id", "start_time", "end_time", "text") if k not in u]
        if missing:
            raise NotsofarError(f"utterance #{i} is missing {', '.join(missing)}", path=path)
        text = " ".join(str(u["text"]).split())
        try:
            segments.append(
                Segment(
                    session_id,
                    str(u["speaker_id"]),
                    float(u["start_time"]),
                    float(u["end_time"]),
                    text,
                    word_details=_word_details(text, u.get("word_timing")),
                )
            )
        except (TypeError, ValueError):
            raise NotsofarError(f"utterance #{i}: times are not numbers", path=path) from None
        except NotsofarError as e:
            raise NotsofarError(f"utterance #{i}: {e.message}", path=path) from None
    return Transcript(segments)


def is_dataset(root: str | Path) -> bool:
    """Whether ``root`` is (or contains) NOTSOFAR meeting folders."""
    return bool(_meeting_dirs(Path(root)))


def _meeting_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    if root.name.startswith("MTG_") and (root / "devices.json").is_file():
        return [root]
    # The downloaded layout nests meetings as <split>/<version>/MTG/MTG_*; look a few levels down.
    for depth in range(4):
        pattern = "/".join(["*"] * depth + ["MTG_*"])
        found = sorted(p for p in root.glob(pattern) if (p / "devices.json").is_file())
        if found:
            return found
    return []


def find_sessions(
    root: str | Path, kinds: tuple[Kind, ...] = ("mc", "sc"), with_reference: bool = True
) -> list[NotsofarSession]:
    """Every device session under a NOTSOFAR dataset root, in meeting then device order.

    Args:
        root: a dataset root (or one ``MTG_*`` folder).
        kinds: which tracks to keep: ``mc`` (multichannel) and/or ``sc`` (singlechannel).
        with_reference: read ``gt_transcription.json`` (absent in evaluation sets: then the
            reference is empty).

    Raises:
        NotsofarError: no meeting folders, or a malformed ``devices.json``.
    """
    root = Path(root)
    meetings = _meeting_dirs(root)
    if not meetings:
        raise NotsofarError("no NOTSOFAR meeting folders (MTG_*/devices.json) found", path=root)
    sessions = []
    for mdir in meetings:
        devices_path = mdir / "devices.json"
        devices = _load_json(devices_path)
        if not isinstance(devices, list):
            raise NotsofarError("devices.json must be a list of devices", path=devices_path)
        gt_path = mdir / "gt_transcription.json"
        gt = load_transcription(gt_path, "") if with_reference and gt_path.is_file() else None
        for i, d in enumerate(devices):
            if not isinstance(d, dict) or "device_name" not in d or "is_mc" not in d:
                raise NotsofarError(f"device #{i} needs device_name and is_mc", path=devices_path)
            name = str(d["device_name"])
            if d.get("is_close_talk") or name.startswith("CT"):
                continue
            kind: Kind = "mc" if d["is_mc"] else "sc"
            if kind not in kinds:
                continue
            session_id = f"{TRACK[kind]}/{mdir.name}_{name}"
            wavs = d.get("wav_file_names")
            if isinstance(wavs, str):
                wav_list = [w.strip() for w in wavs.split(",") if w.strip()]
            elif isinstance(wavs, list):
                wav_list = [str(w) for w in wavs]
            else:  # fall back to the folder convention
                folder = mdir / f"{kind}_{name}"
                wav_list = [p.name for p in sorted(folder.glob("ch*.wav"))]
                wav_list = [f"{kind}_{name}/{w}" for w in wav_list]
            sessions.append(
                NotsofarSession(
                    session_id=session_id,
                    meeting_id=mdir.name,
                    device=name,
                    kind=kind,
                    wav_paths=tuple(mdir / w for w in wav_list),
                    reference=gt.with_session_id(session_id) if gt is not None else Transcript(),
                    meeting_dir=mdir,
                )
            )
    return sessions


def load_reference(root: str | Path, kinds: tuple[Kind, ...] = ("mc", "sc")) -> Transcript:
    """The reference of every session under ``root``, one copy of a meeting per device."""
    out: list[Segment] = []
    for s in find_sessions(root, kinds):
        out.extend(s.reference)
    return Transcript(out)


def meeting_metadata(meeting_dir: str | Path) -> dict[str, Any]:
    """``gt_meeting_metadata.json`` of a meeting folder ({} when absent)."""
    path = Path(meeting_dir) / "gt_meeting_metadata.json"
    if not path.is_file():
        return {}
    data = _load_json(path)
    if not isinstance(data, dict):
        raise NotsofarError("gt_meeting_metadata.json must be an object", path=path)
    return data
