"""Who said each word: words attributed to speakers by time overlap with a diarization."""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from notsofar.data import Segment, Transcript, Word

#: seconds on each side of a word that decide between speakers who both talk during it
OVERLAP_CONTEXT_S = 1.0

#: a word ending a sentence (for the sentence-level smoothing of :func:`attribute`)
SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")


def speaker_of(word: Word, turns: list[Segment], starts: np.ndarray) -> str:
    """The speaker whose turns overlap ``word`` most; the nearest turn if none overlaps.

    Where the diarization has two speakers at once (overlapped speech), the word goes to the
    one who talks more in the ``OVERLAP_CONTEXT_S`` around it: Whisper transcribes the
    sustained voice, not a short interjection over it.

    >>> turns = [Segment("s", "A", 0.0, 5.0, ""), Segment("s", "B", 2.0, 2.6, "")]
    >>> speaker_of(Word("yes", 2.1, 2.5), turns, np.array([0.0, 2.0]))
    'A'
    """
    a = word.start_time or 0.0
    b = max(word.end_time or a, a)
    return _pick(a, b, *_overlaps(a, b, turns, starts), turns)


def _pick(
    a: float,
    b: float,
    overlap: dict[str, float],
    context: dict[str, float],
    turns: list[Segment],
) -> str:
    """:func:`speaker_of`'s choice for ``[a, b]`` from its :func:`_overlaps`."""
    if overlap:
        top = max(overlap.values())
        # speakers covering (nearly) as much of the word as the best one: decide by context
        close = [spk for spk, ov in overlap.items() if ov >= 0.5 * top]
        return max(close, key=lambda spk: (context.get(spk, 0.0), overlap[spk]))
    mid = (a + b) / 2
    nearest = min(turns, key=lambda s: max(s.start_time - mid, mid - s.end_time, 0.0))
    return nearest.speaker


def _overlaps(
    a: float, b: float, turns: list[Segment], starts: np.ndarray
) -> tuple[dict[str, float], dict[str, float]]:
    """Per speaker: seconds of ``[a, b]`` their turns cover, and seconds of it with
    :data:`OVERLAP_CONTEXT_S` on each side."""
    # turns are sorted by start; any overlapping one (context included) starts before b + ctx
    hi = int(np.searchsorted(starts, b + OVERLAP_CONTEXT_S, side="right"))
    overlap: dict[str, float] = {}
    context: dict[str, float] = {}
    for s in turns[max(0, hi - 64) : hi]:
        ov = min(b, s.end_time) - max(a, s.start_time)
        if ov > 0:
            overlap[s.speaker] = overlap.get(s.speaker, 0.0) + ov
        cv = min(b + OVERLAP_CONTEXT_S, s.end_time) - max(a - OVERLAP_CONTEXT_S, s.start_time)
        if cv > 0:
            context[s.speaker] = context.get(s.speaker, 0.0) + cv
    return overlap, context


def sentence_speakers(
    words: list[Word],
    turns: list[Segment],
    starts: np.ndarray,
    penalty: float,
    names: list[str] | None = None,
) -> list[str]:
    """The speakers of one sentence's words: each word's :func:`speaker_of`, then, with
    ``penalty`` > 0, the sequence that maximises the words' shares covered by their speaker's
    turns (plus 0.01 for :func:`speaker_of`'s choice) less ``penalty`` per change of speaker.

    Whisper's word timestamps drift at turn boundaries (a sentence's last word stretched over
    the next talker's start, a first word started early), so a word alone in another speaker's
    turn does not move a sentence; a run of words that is does.

    >>> turns = [Segment("s", "A", 0.0, 2.0, ""), Segment("s", "B", 2.0, 4.0, "")]
    >>> ws = [Word("one", 0.2, 0.8), Word("two", 0.9, 1.7), Word("three.", 1.8, 2.4)]
    >>> sentence_speakers(ws, turns, np.array([0.0, 2.0]), 0.0)
    ['A', 'A', 'B']
    >>> sentence_speakers(ws, turns, np.array([0.0, 2.0]), 0.5)
    ['A', 'A', 'A']

    ``names``: the diarization's speakers, sorted (derived from ``turns`` when None; pass them
    when calling once per sentence).
    """
    from notsofar.diarize.pyannote import viterbi_relabel

    spans = []
    for w in words:
        a = w.start_time or 0.0
        b = max(w.end_time or a, a)
        spans.append((a, b, *_overlaps(a, b, turns, starts)))
    base = [_pick(a, b, overlap, context, turns) for a, b, overlap, context in spans]
    names = names if names is not None else sorted({s.speaker for s in turns})
    if penalty <= 0 or len(words) < 2 or len(names) < 2:
        return base
    index = {n: i for i, n in enumerate(names)}
    share = np.zeros((len(words), len(names)))
    for i, (a, b, overlap, _) in enumerate(spans):
        if b - a < MIN_WORD_S:  # a word of no length covers one timestamp step
            b = a + MIN_WORD_S
            overlap = _overlaps(a, b, turns, starts)[0]
        for spk, ov in overlap.items():
            share[i, index[spk]] = min(ov / (b - a), 1.0)
    labels = viterbi_relabel(share, np.array([index[s] for s in base]), 0.01, penalty)
    return [names[k] for k in labels]


def _sentences(words: list[Word], max_gap_s: float) -> list[list[Word]]:
    """``words`` cut after each word that ends a sentence and at pauses over ``max_gap_s``."""
    out: list[list[Word]] = []
    current: list[Word] = []
    for w in words:
        if current and (w.start_time or 0.0) - (current[-1].end_time or 0.0) > max_gap_s:
            out.append(current)
            current = []
        current.append(w)
        if SENTENCE_END.search(w.word):
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def attribute(
    chunks: list[list[Word]],
    diarization: Transcript | None,
    session_id: str,
    max_gap_s: float = 1.0,
    default_speaker: str = "spk0",
    change_penalty: float = 0.0,
) -> Transcript:
    """Turn ASR word groups into speaker segments.

    A new segment starts at every ASR segment boundary, at a change of speaker (so a speaker
    change inside an ASR segment splits it), and after a pause longer than ``max_gap_s``.
    Each word goes to :func:`speaker_of`; with ``change_penalty`` > 0 each sentence's words
    are smoothed by :func:`sentence_speakers`.

    >>> d = Transcript([Segment("s", "A", 0.0, 1.0, ""), Segment("s", "B", 1.0, 2.0, "")])
    >>> ws = [Word("hi", 0.1, 0.4), Word("there", 0.5, 0.9), Word("yes", 1.2, 1.5)]
    >>> [(s.speaker, s.words) for s in attribute([ws], d, "s")]
    [('A', 'hi there'), ('B', 'yes')]
    """
    chunks = [[_with_length(w) for w in words] for words in chunks]
    turns = list(diarization.sorted()) if diarization is not None else []
    starts = np.array([s.start_time for s in turns])
    names = sorted({s.speaker for s in turns})
    segments: list[Segment] = []
    for words in chunks:
        current: list[Word] = []
        current_spk = None
        if turns:
            speakers = [
                spk
                for sentence in _sentences(words, max_gap_s)
                for spk in sentence_speakers(sentence, turns, starts, change_penalty, names)
            ]
        else:
            speakers = [default_speaker] * len(words)
        for w, spk in zip(words, speakers, strict=True):
            gap = (w.start_time or 0.0) - (current[-1].end_time or 0.0) if current else 0.0
            if current and (spk != current_spk or gap > max_gap_s):
                segments.append(_segment(current, current_spk, session_id))
                current = []
            current.append(w)
            current_spk = spk
        if current:
            segments.append(_segment(current, current_spk, session_id))
    return Transcript(segments).sorted()


#: the shortest word (s): Whisper's timestamps come in 20 ms steps and it sometimes gives a
#: word the same start and end; a word takes at least one step
MIN_WORD_S = 0.02


def _with_length(w: Word) -> Word:
    """``w`` lasting at least :data:`MIN_WORD_S` (a zero-length word made a zero-length
    segment: ``[0:01:31.220 - 0:01:31.220] spk4: Great.``)."""
    a = w.start_time
    if a is None or (w.end_time is not None and w.end_time - a >= MIN_WORD_S):
        return w
    return dataclasses.replace(w, end_time=round(a + MIN_WORD_S, 3))


def _segment(words: list[Word], speaker: str | None, session_id: str) -> Segment:
    return Segment(
        session_id=session_id,
        speaker=speaker or "spk0",
        start_time=words[0].start_time or 0.0,
        end_time=max(w.end_time or 0.0 for w in words),
        words=" ".join(w.word for w in words),
        word_details=tuple(words),
    )
