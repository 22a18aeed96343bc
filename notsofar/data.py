"""The one data model every stage speaks: :class:`Word`, :class:`Segment`, :class:`Transcript`.

Field names follow meeteval's SegLST (``session_id, speaker, start_time, end_time, words``) so a
:class:`Transcript` converts to and from :class:`meeteval.io.SegLST` without loss. Word-level
detail is optional and travels in SegLST as ``word_timings`` (``[[start, end], ...]``, the key
NOTSOFAR-1 and CHiME-8 use) and ``word_confidences``. Any other key is kept in ``extra``.

Values are immutable: use :func:`dataclasses.replace` to derive a changed copy.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from notsofar.errors import NotsofarError

SEGLST_KEYS = ("session_id", "speaker", "start_time", "end_time", "words")


def safe_id(text: str) -> str:
    """``text`` usable as one field of RTTM, STM or CTM (whitespace-separated formats): every
    run of whitespace becomes ``_``.

    >>> safe_id("my rec")
    'my_rec'
    """
    return "_".join(text.split()) if text.strip() else text


@dataclass(frozen=True, slots=True)
class Word:
    """One recognized or reference word, with optional timing (seconds) and confidence."""

    word: str
    start_time: float | None = None
    end_time: float | None = None
    confidence: float | None = None


def _freeze(value: Any) -> str:
    """Extra SegLST values are stored JSON-encoded so a Segment stays hashable and exact."""
    return json.dumps(value, ensure_ascii=False)


def _thaw(value: str) -> Any:
    return json.loads(value)


@dataclass(frozen=True, slots=True)
class Segment:
    """A speaker turn: who (``speaker``) said what (``words``) when, in a ``session_id``.

    ``words`` is the text as one string (SegLST). ``word_details`` optionally holds one
    :class:`Word` per whitespace token of ``words`` with timings/confidences.

    >>> s = Segment("S1", "A", 0.0, 1.5, "hello world")
    >>> s.duration
    1.5
    >>> Segment.from_seglst(s.to_seglst()) == s
    True
    """

    session_id: str
    speaker: str
    start_time: float
    end_time: float
    words: str
    word_details: tuple[Word, ...] | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("start_time", "end_time"):
            value = getattr(self, name)
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
            ):
                raise NotsofarError(
                    f"segment {self.describe()}: {name} must be a finite number, got {value!r}"
                )
        if self.end_time < self.start_time:
            raise NotsofarError(
                f"segment {self.describe()}: end_time {self.end_time} < start_time {self.start_time}"
            )

    def describe(self) -> str:
        return f"{self.session_id}/{self.speaker} [{self.start_time}-{self.end_time}]"

    @property
    def duration(self) -> float:
        return self.end_time - self.start_time

    @property
    def extra_dict(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.extra}

    def to_seglst(self) -> dict[str, Any]:
        """This segment as a SegLST dict (meeteval's format)."""
        out: dict[str, Any] = {
            "session_id": self.session_id,
            "speaker": self.speaker,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "words": self.words,
        }
        if self.word_details is not None:
            out["word_timings"] = [[w.start_time, w.end_time] for w in self.word_details]
            if any(w.confidence is not None for w in self.word_details):
                out["word_confidences"] = [w.confidence for w in self.word_details]
        out.update(self.extra_dict)
        return out

    @classmethod
    def from_seglst(cls, d: Mapping[str, Any]) -> Segment:
        """Build a segment from a SegLST dict; unknown keys are kept in ``extra``."""
        missing = [k for k in SEGLST_KEYS if k not in d]
        if missing:
            raise NotsofarError(f"SegLST segment is missing {', '.join(missing)}: {dict(d)!r:.120}")
        words = d["words"]
        if isinstance(words, list):  # some tools write a token list
            words = " ".join(map(str, words))
        details = None
        timings = d.get("word_timings")
        if timings is not None:
            tokens = str(words).split()
            confs = d.get("word_confidences") or [None] * len(tokens)
            if len(timings) != len(tokens) or len(confs) != len(tokens):
                raise NotsofarError(
                    f"segment {d['session_id']}/{d['speaker']} [{d['start_time']}-{d['end_time']}]: "
                    f"{len(tokens)} words but {len(timings)} word_timings"
                )
            details = tuple(
                Word(
                    t,
                    None if tm is None or tm[0] is None else float(tm[0]),
                    None if tm is None or tm[1] is None else float(tm[1]),
                    c,
                )
                for t, tm, c in zip(tokens, timings, confs, strict=True)
            )
        extra = tuple(
            sorted(
                (k, _freeze(v))
                for k, v in d.items()
                if k not in SEGLST_KEYS and k not in ("word_timings", "word_confidences")
            )
        )

        def num(key: str) -> float:
            value = d[key]
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value  # keep ints as ints so SegLST files round-trip byte-identically
            try:
                return float(d[key])
            except (TypeError, ValueError):
                raise NotsofarError(
                    f"segment {d['session_id']}/{d['speaker']}: {key} is not a number: {d[key]!r}"
                ) from None

        return cls(
            session_id=str(d["session_id"]),
            speaker=str(d["speaker"]),
            start_time=num("start_time"),
            end_time=num("end_time"),
            words=str(words),
            word_details=details,
            extra=extra,
        )


@dataclass(frozen=True, slots=True)
class Transcript:
    """An ordered, immutable collection of :class:`Segment`.

    >>> t = Transcript([Segment("S1", "B", 2, 3, "b"), Segment("S1", "A", 0, 1, "a")])
    >>> [s.speaker for s in t.sorted()]
    ['A', 'B']
    >>> sorted(t.groupby("speaker"))
    ['A', 'B']
    """

    segments: tuple[Segment, ...] = ()

    def __init__(self, segments: Iterable[Segment] = ()) -> None:
        object.__setattr__(self, "segments", tuple(segments))

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)

    def __len__(self) -> int:
        return len(self.segments)

    def __getitem__(self, i: int) -> Segment:
        return self.segments[i]

    def __add__(self, other: Transcript) -> Transcript:
        return Transcript(self.segments + tuple(other))

    @property
    def session_ids(self) -> list[str]:
        """Session ids in first-seen order."""
        return list(dict.fromkeys(s.session_id for s in self.segments))

    @property
    def speakers(self) -> list[str]:
        """Speaker labels in first-seen order."""
        return list(dict.fromkeys(s.speaker for s in self.segments))

    @property
    def num_words(self) -> int:
        return sum(len(s.words.split()) for s in self.segments)

    def filter(self, fn: Callable[[Segment], bool]) -> Transcript:
        return Transcript(s for s in self.segments if fn(s))

    def map(self, fn: Callable[[Segment], Segment]) -> Transcript:
        return Transcript(fn(s) for s in self.segments)

    def groupby(self, key: str | Callable[[Segment], Any]) -> dict[Any, Transcript]:
        """Group into ``{key: Transcript}``, keeping first-seen key order."""
        get = (lambda s: getattr(s, key)) if isinstance(key, str) else key
        groups: dict[Any, list[Segment]] = {}
        for s in self.segments:
            groups.setdefault(get(s), []).append(s)
        return {k: Transcript(v) for k, v in groups.items()}

    def sorted(self, key: str | Callable[[Segment], Any] = "start_time") -> Transcript:
        get = (lambda s: (getattr(s, key), s.end_time)) if isinstance(key, str) else key
        return Transcript(sorted(self.segments, key=get))

    def with_session_id(self, session_id: str) -> Transcript:
        return self.map(lambda s: dataclasses.replace(s, session_id=session_id))

    def to_seglst_dicts(self) -> list[dict[str, Any]]:
        return [s.to_seglst() for s in self.segments]

    def to_seglst(self) -> Any:
        """Convert to :class:`meeteval.io.SegLST` (imports meeteval lazily)."""
        from meeteval.io import SegLST

        return SegLST(self.to_seglst_dicts())

    @classmethod
    def from_seglst(cls, seglst: Any) -> Transcript:
        """Build from a :class:`meeteval.io.SegLST` or a list of SegLST dicts."""
        segments = getattr(seglst, "segments", seglst)
        return cls(Segment.from_seglst(d) for d in segments)

    def to_json(self) -> str:
        return json.dumps(self.to_seglst_dicts(), indent=2, ensure_ascii=False) + "\n"


def first_appearance(segments: Iterable[Segment]) -> dict[str, str]:
    """Each speaker's name ``spk0``, ``spk1``, ... in order of first appearance (start time,
    then name): how the diarizers number their speakers.

    >>> first_appearance([Segment("s", "b", 1, 2, ""), Segment("s", "a", 0, 1, "")])
    {'a': 'spk0', 'b': 'spk1'}
    """
    order: dict[str, str] = {}
    for seg in sorted(segments, key=lambda s: (s.start_time, s.speaker)):
        order.setdefault(seg.speaker, f"spk{len(order)}")
    return order


def html_name(session_id: str) -> str:
    """A file name for a session id (``multichannel/MTG_1_plaza_0`` → ``multichannel_MTG_1_plaza_0.html``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", session_id).strip("_") + ".html"
