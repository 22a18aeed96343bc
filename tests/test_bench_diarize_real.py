"""Scoring helpers of benchmarks/bench_diarize_real.py on small inputs with known answers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from notsofar.data import Segment, Transcript

ROOT = Path(__file__).resolve().parent.parent


sys.path.insert(0, str(Path(__file__).parent))
from helpers import load_benchmark  # noqa: E402

bdr = load_benchmark("bench_diarize_real")


def _rec(name: str, turns: list[tuple[str, float, float]], end: float, words: str = "") -> object:
    ref = Transcript(Segment(name, spk, a, b, words) for spk, a, b in turns)
    return bdr.Recording(name, "x", Path(f"{name}.wav"), ref, 0.0, end)


def test_pooled_der_weighs_by_speech_and_mean_by_recording() -> None:
    # a: 10 s of speech, 2 s missed; b: 1 s of speech, all of it missed
    a = _rec("a", [("A", 0, 10)], 20)
    b = _rec("b", [("B", 5, 6)], 20)
    hyps = {"a": Transcript([Segment("a", "s", 0, 8, "")]), "b": Transcript()}
    per, mean, pooled = bdr.diarization_scores([a, b], hyps, collar=0.0)
    assert per == pytest.approx({"a": 0.2, "b": 1.0})
    assert mean == pytest.approx(0.6)
    assert pooled == pytest.approx(3 / 11)


def test_collar_forgives_boundaries_and_overlap_is_scored() -> None:
    # two speakers overlap on [4, 6); the hypothesis has one speaker, boundaries 0.2 s late
    rec = _rec("m", [("A", 0, 6), ("B", 4, 10)], 12)
    hyp = {"m": Transcript([Segment("m", "s1", 0.2, 6.2, ""), Segment("m", "s2", 6.2, 10, "")])}
    per0, _, _ = bdr.diarization_scores([rec], hyp, collar=0.0)
    per5, _, _ = bdr.diarization_scores([rec], hyp, collar=0.5)
    # collar 0: overlap [4, 6) misses 2 s of B, [0, .2) 0.2 s missed, [6, 6.2) confused
    assert per0["m"] == pytest.approx((2 + 0.2 + 0.2) / 12)
    assert per5["m"] < per0["m"]  # 0.25 s each side of every reference boundary not scored
    assert per5["m"] > 0  # the missed overlap is still an error
    perfect = {"m": rec.ref}
    assert bdr.diarization_scores([rec], perfect, 0.0)[0]["m"] == 0.0


def test_der_is_scored_within_the_recording_span_only() -> None:
    rec = bdr.Recording(
        "u", "ami", Path("u.wav"), Transcript([Segment("u", "A", 0, 2, "")]), 0.0, 1.0
    )
    hyp = {"u": Transcript([Segment("u", "s", 0, 1, ""), Segment("u", "t", 1.5, 30, "")])}
    per, _, pooled = bdr.diarization_scores([rec], hyp, 0.0)
    assert per["u"] == 0.0 and pooled == 0.0
    assert bdr.count_errors([rec], hyp) == (1, 1, 0)  # 't' speaks only outside the span


def test_jer_and_speaker_counts() -> None:
    rec = _rec("j", [("A", 0, 5), ("B", 5, 10)], 10)
    hyp = {"j": Transcript([Segment("j", "s", 0, 10, "")])}
    per, mean = bdr.jer_scores([rec], hyp)
    assert per["j"] == pytest.approx(0.75) and mean == pytest.approx(0.75)  # (0.5 + 1) / 2
    three = {"j": Transcript(Segment("j", f"s{i}", i, i + 1, "") for i in range(3))}
    assert bdr.count_errors([rec, rec], {"j": three["j"]}) == (0, 2, 1)
    assert bdr.count_errors([rec], {}) == (0, 1, 2)  # no hypothesis: zero speakers


def test_tcpwer_pooled_over_meetings() -> None:
    a = _rec("a", [("A", 0, 2)], 5, "hello there")
    b = _rec("b", [("B", 0, 2)], 5, "one two three four")
    hyps = {
        "a": Transcript([Segment("a", "x", 0, 2, "hello there")]),
        "b": Transcript([Segment("b", "y", 0, 2, "one two")]),
    }
    per, pooled = bdr.tcpwer_scores([a, b], hyps)
    assert per == pytest.approx({"a": 0.0, "b": 0.5})
    assert pooled == pytest.approx(2 / 6)


def test_overrides_split_between_diarize_and_transcribe() -> None:
    diar, other = bdr.split_overrides(["diarize.backend=pyannote", "threshold=0.4", "asr.x=1"])
    assert diar == ["backend=pyannote", "threshold=0.4"] and other == ["asr.x=1"]


def test_one_speaker_turns() -> None:
    t = bdr.turns_from([(0.0, 1.23456), (2.0, 3.0)], "s")
    assert t.speakers == ["spk0"] and [s.end_time for s in t] == [1.235, 3.0]


def test_benchmarks_section_replaces_only_the_measured_subsections() -> None:
    old = "# Benchmarks\n\n## A\n\na text\n\n## Z\n\nz text\n"
    one = bdr.merge_section(old, {bdr.BLOCKS["bench"]: ["bench v1"], bdr.BLOCKS["ami"]: ["ami"]})
    two = bdr.merge_section(one, {bdr.BLOCKS["bench"]: ["bench v2"], bdr.BLOCKS["tune"]: ["t"]})
    assert "a text" in two and "z text" in two and two.count(bdr.SECTION) == 1
    assert "bench v1" not in two and "bench v2" in two and "ami" in two
    titles = [line for line in two.splitlines() if line.startswith("### ")]
    assert titles == [f"### {bdr.BLOCKS[k]}" for k in ("ami", "bench", "tune")]
    assert bdr.merge_section(two, {}) == two  # stable when nothing is measured
