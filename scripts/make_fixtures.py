#!/usr/bin/env python
"""Regenerate the example meeting and the test fixtures (seeded; needs espeak-ng).

    python scripts/make_fixtures.py            # writes examples/meeting/ and tests/fixtures/

Every file is derived from a fixed seed, fixed voices and the sentences in
notsofar/simulate/sentences.py, so re-running gives the same audio (same espeak-ng version).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from notsofar.audio import write
from notsofar.io.atomic import write_text
from notsofar.simulate.meeting import RenderedMeeting, to_rttm
from notsofar.simulate.synthetic import MeetingPlan, make_meeting
from notsofar.simulate.voices import VOICES

ROOT = Path(__file__).resolve().parent.parent
VOICE = {v.name: v for v in VOICES}


def _write_refs(m: RenderedMeeting, stem: Path, session_id: str) -> None:
    t = m.transcript.with_session_id(session_id)
    write_text(stem.with_name(stem.name + ".ref.seglst.json"), t.to_json())
    write_text(stem.with_name(stem.name + ".ref.rttm"), to_rttm(t))


def _params(m: RenderedMeeting, **extra: object) -> dict:
    return {**m.params, **extra, "overlap_ratio": m.params["overlap_ratio"]}


def example_meeting(out: Path) -> dict:
    plan = MeetingPlan(
        "meeting",
        seed=20240601,
        num_speakers=3,
        duration_s=48.0,
        rt60_range_s=(0.4, 0.4),
        snr_range_db=(20.0, 20.0),
        overlap_prob=0.4,
        backchannel_prob=0.3,
    )
    voices = [VOICE["spk_m3_us"], VOICE["spk_f2_us"], VOICE["spk_m1_gb"]]
    m = make_meeting(plan, voices)
    write(out / "meeting.wav", m.mixture[0], m.sample_rate, subtype="PCM_16")
    _write_refs(m, out / "meeting", "meeting")
    return _params(m, file="examples/meeting/meeting.wav")


def two_speakers(out: Path) -> dict:
    plan = MeetingPlan(
        "two_speakers",
        seed=1515,
        num_speakers=2,
        duration_s=15.0,
        rt60_range_s=(0.35, 0.35),
        snr_range_db=(25.0, 25.0),
        overlap_prob=0.0,
        backchannel_prob=0.0,
    )
    m = make_meeting(plan, [VOICE["spk_m3_us"], VOICE["spk_f4_gb"]])
    write(out / "two_speakers.wav", m.mixture[0], m.sample_rate, subtype="PCM_16")
    _write_refs(m, out / "two_speakers", "two_speakers")
    return _params(m, file="tests/fixtures/two_speakers.wav")


def mc_two_speakers(out: Path) -> dict:
    plan = MeetingPlan(
        "mc_two_speakers",
        seed=7,
        num_speakers=2,
        duration_s=12.0,
        rt60_range_s=(0.45, 0.45),
        snr_range_db=(15.0, 15.0),
        overlap_prob=0.6,
        backchannel_prob=0.0,
    )
    m = make_meeting(plan, [VOICE["spk_m7_us"], VOICE["spk_f2_us"]])
    write(out / "mc_two_speakers.flac", m.mixture, m.sample_rate, subtype="PCM_16")
    _write_refs(m, out / "mc_two_speakers", "mc_two_speakers")
    return _params(m, file="tests/fixtures/mc_two_speakers.flac")


def clean_speech(out: Path) -> dict:
    plan = MeetingPlan(
        "clean_speech",
        seed=5,
        num_speakers=1,
        duration_s=5.0,
        overlap_prob=0.0,
        backchannel_prob=0.0,
        reverberant=False,
        noisy=False,
    )
    m = make_meeting(plan, [VOICE["spk_f2_us"]])
    write(out / "clean_speech.wav", m.mixture[0], m.sample_rate, subtype="PCM_16")
    _write_refs(m, out / "clean_speech", "clean_speech")
    return _params(m, file="tests/fixtures/clean_speech.wav")


def embedded_speech(out: Path) -> None:
    """The speech shipped with notsofar for ``notsofar simulate``'s out-of-the-box default."""
    from notsofar.simulate.sentences import SENTENCES
    from notsofar.simulate.voices import synthesize

    rows = ["# path\tspeaker\ttext (espeak-ng speech made by scripts/make_fixtures.py)"]
    k = 0
    for voice in VOICES[:8]:
        for _ in range(3):
            text = SENTENCES[k % len(SENTENCES)]
            name = f"{voice.name}_{k:03d}.flac"
            write(out / name, synthesize(text, voice), 16000, subtype="PCM_16")
            rows.append(f"{name}\t{voice.name}\t{text}")
            k += 1
    write_text(out / "index.tsv", "\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root to write into")
    args = parser.parse_args()
    fixtures = args.root / "tests" / "fixtures"
    example = args.root / "examples" / "meeting"
    made = [
        example_meeting(example),
        two_speakers(fixtures),
        mc_two_speakers(fixtures),
        clean_speech(fixtures),
    ]
    embedded_speech(args.root / "notsofar" / "simulate" / "data")
    # the generation parameters, for anyone who wants to know the room/SNR/voices of a fixture
    write_text(fixtures / "fixtures.params.json", json.dumps(made[1:], indent=1) + "\n")
    write_text(example / "meeting.params.json", json.dumps(made[0], indent=1) + "\n")
    for p in made:
        print(p["file"], "snr", p["snr_db"], "rt60", p["rt60_s"], "overlap", p["overlap_ratio"])


if __name__ == "__main__":
    main()
