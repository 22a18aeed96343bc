"""What a report page shows, computed once in Python: speakers, stats, overlaps, scoring errors.

Everything here is plain JSON-able data; :mod:`notsofar.report.page` puts it in the page.
Intervals are ``(start_time, end_time)`` in seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from notsofar.data import Transcript

Interval = tuple[float, float]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping intervals.

    >>> union([(0, 2), (1, 3), (5, 6), (6, 7)])
    [(0, 3), (5, 7)]
    """
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def intersect(x: list[Interval], y: list[Interval]) -> list[Interval]:
    """Intersection of two merged interval lists.

    >>> intersect([(0, 3), (5, 7)], [(2, 6)])
    [(2, 3), (5, 6)]
    """
    out, i, j = [], 0, 0
    while i < len(x) and j < len(y):
        a, b = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if a < b:
            out.append((a, b))
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return out


def total(intervals: Iterable[Interval]) -> float:
    return sum(b - a for a, b in intervals)


def overlap_regions(by_speaker: dict[str, list[Interval]]) -> list[Interval]:
    """Where two or more speakers talk at once (a sweep over the merged turns).

    >>> overlap_regions({"A": [(0, 4)], "B": [(3, 6)], "C": [(5, 8)]})
    [(3, 4), (5, 6)]
    """
    events = sorted(
        [(a, 1) for iv in by_speaker.values() for a, _ in iv]
        + [(b, -1) for iv in by_speaker.values() for _, b in iv],
        key=lambda e: (e[0], e[1]),  # ends before starts at the same time: touching is no overlap
    )
    out, active, start = [], 0, 0.0
    for t, d in events:
        if active < 2 <= active + d:
            start = t
        elif active >= 2 > active + d and t > start:
            out.append((start, t))
        active += d
    return union(out)


def speaker_stats(transcript: Transcript) -> dict[str, dict[str, float]]:
    """Per speaker: talk time, turns, overlap time (while someone else talks), words, wpm.

    A turn is a run of a speaker's segments, in time order, that no other speaker's segment
    starts inside. Talk time is the union of the speaker's segments.

    >>> from notsofar.data import Segment
    >>> t = Transcript([Segment("m", "A", 0, 4, "a b c d"), Segment("m", "B", 3, 6, "e"),
    ...                 Segment("m", "A", 6, 8, "f")])
    >>> speaker_stats(t)["A"]
    {'talk_s': 6.0, 'turns': 2, 'overlap_s': 1.0, 'words': 5, 'wpm': 50.0}
    """
    segs = transcript.sorted()
    by = {
        spk: union((s.start_time, s.end_time) for s in t)
        for spk, t in segs.groupby("speaker").items()
    }
    turns: dict[str, int] = dict.fromkeys(by, 0)
    previous = None
    for s in segs:
        if s.speaker != previous:
            turns[s.speaker] += 1
            previous = s.speaker
    words = {spk: t.num_words for spk, t in segs.groupby("speaker").items()}
    out = {}
    for spk, iv in by.items():
        others = union(x for other, ivs in by.items() if other != spk for x in ivs)
        talk = total(iv)
        out[spk] = {
            "talk_s": round(float(talk), 3),
            "turns": turns[spk],
            "overlap_s": round(float(total(intersect(iv, others))), 3),
            "words": words[spk],
            "wpm": round(words[spk] / (talk / 60), 1) if talk > 0 else 0.0,
        }
    return out


def scoring_errors(
    ref: Transcript,
    hyp: Transcript,
    normalizer: Callable[[str], str],
    alignment: str = "tcp",
    speaker_window_s: float = 2.0,
) -> dict[str, Any]:
    """Word errors of ``hyp`` against ``ref`` from meeteval's alignment, for the timeline.

    meeteval assigns hypothesis speakers to reference speakers (``tcp`` or ``cp``) and aligns the
    words (normalized as for scoring, pseudo word times spread by characters). Each error is
    ``[type, start_time, end_time, speaker, word, other]``: ``i`` insertion (hyp speaker, hyp
    word), ``d`` deletion (ref speaker, ref word), ``s`` substitution (hyp speaker, hyp word, ref
    word). A speaker error ``x`` is an insertion and a deletion of the same word less than
    ``speaker_window_s`` apart: the word was recognised, but given to the wrong speaker (hyp
    speaker, word, ref speaker); it replaces the pair.
    """
    from meeteval.viz.visualize import get_visualization_data

    from notsofar.score import _to_meeteval

    if not len(ref):
        return {"alignment": alignment, "errors": [], "counts": {}, "ref_words": 0}
    data = get_visualization_data(
        _to_meeteval(ref, normalizer), _to_meeteval(hyp, normalizer), assignment=alignment
    )
    w, utts = data["words"], data["utterances"]
    errors: list[list[Any]] = []
    ref_words = 0
    for i, word in enumerate(w["words"]):
        start = float(w["start_time"][i])
        end = start + float(w["duration"][i])
        src = w["source"][i]
        speaker = utts[w["utterance_index"][i]]["stream"]  # the label before assignment
        kinds = [m[1] for m in (w["matches"][i] or [])]
        ref_words += src == "r"
        if src == "h" and "i" in kinds:
            errors.append(["i", start, end, speaker, word, ""])
        elif src == "r" and "d" in kinds:
            errors.append(["d", start, end, speaker, word, ""])
        elif src == "h" and "s" in kinds:
            other = w["words"][w["matches"][i][0][0]] if w["matches"][i][0][0] is not None else ""
            errors.append(["s", start, end, speaker, word, other])
    errors.sort(key=lambda e: e[1])
    # pair an insertion with a deletion of the same word nearby: a speaker error
    deletions: dict[str, list[int]] = {}
    for k, e in enumerate(errors):
        if e[0] == "d":
            deletions.setdefault(e[4], []).append(k)
    used: set[int] = set()
    for k, e in enumerate(errors):
        if e[0] != "i":
            continue
        centre = (e[1] + e[2]) / 2
        best = min(
            (d for d in deletions.get(e[4], []) if d not in used),
            key=lambda d: abs((errors[d][1] + errors[d][2]) / 2 - centre),
            default=None,
        )
        if (
            best is not None
            and abs((errors[best][1] + errors[best][2]) / 2 - centre) < speaker_window_s
        ):
            used.add(best)
            errors[k] = ["x", e[1], e[2], e[3], e[4], errors[best][3]]
    errors = [
        [e[0], round(e[1], 3), round(e[2], 3), *e[3:]]
        for k, e in enumerate(errors)
        if k not in used
    ]
    counts = {t: sum(e[0] == t for e in errors) for t in "idsx"}
    return {"alignment": alignment, "errors": errors, "counts": counts, "ref_words": ref_words}
