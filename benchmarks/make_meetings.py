#!/usr/bin/env python
"""Generate the benchmark set: synthetic far-field 7-channel meetings with exact references.

    python benchmarks/make_meetings.py                      # -> bench_out/meetings/
    python benchmarks/make_meetings.py --out DIR --only bm01_2spk

Each meeting ``<name>/`` holds ``mc.flac`` (7 channels, NOTSOFAR array), ``sc.wav`` (channel 0),
``ref.seglst.json`` (session_id = name), ``ref.rttm`` and ``params.json``. Seeded; a meeting
whose files all exist is skipped (delete its folder to remake it). Needs espeak-ng.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from notsofar.audio import write
from notsofar.io.atomic import write_text
from notsofar.simulate.meeting import to_rttm
from notsofar.simulate.synthetic import MeetingPlan, make_meeting

#: name, speakers, minutes, RT60 (s), SNR (dB): spans 2-6 speakers, 2-5 min, RT60 0.3-0.7 s,
#: 5-20 dB SNR; overlap and backchannels from the layout defaults.
MEETINGS: tuple[tuple[str, int, float, float, float], ...] = (
    ("bm01_2spk", 2, 2.0, 0.30, 20.0),
    ("bm02_3spk", 3, 2.5, 0.40, 15.0),
    ("bm03_4spk", 4, 3.0, 0.50, 12.0),
    ("bm04_5spk", 5, 3.5, 0.60, 8.0),
    ("bm05_6spk", 6, 4.0, 0.70, 5.0),
    ("bm06_3spk", 3, 5.0, 0.55, 10.0),
    ("bm07_4spk", 4, 2.5, 0.35, 18.0),
)
FILES = ("mc.flac", "sc.wav", "ref.seglst.json", "ref.rttm", "params.json")


def make_one(out: Path, name: str, spk: int, minutes: float, rt60: float, snr: float) -> bool:
    """Make one meeting folder; False when it was already complete."""
    folder = out / name
    if all((folder / f).exists() for f in FILES):
        return False
    seed = 1000 + sum(map(ord, name))
    plan = MeetingPlan(
        name,
        seed=seed,
        num_speakers=spk,
        duration_s=minutes * 60.0,
        rt60_range_s=(rt60, rt60),
        snr_range_db=(snr, snr),
        overlap_prob=0.2,
        backchannel_prob=0.2,
    )
    m = make_meeting(plan, keep_images=False)
    write(folder / "mc.flac", m.mixture, m.sample_rate, subtype="PCM_16")
    write(folder / "sc.wav", m.mixture[0], m.sample_rate, subtype="PCM_16")
    write_text(folder / "ref.seglst.json", m.transcript.to_json())
    write_text(folder / "ref.rttm", to_rttm(m.transcript))
    # params last: its presence marks the meeting complete
    write_text(folder / "params.json", json.dumps(m.params, indent=1) + "\n")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench_out/meetings"))
    parser.add_argument("--only", nargs="*", help="make only these meeting names")
    args = parser.parse_args()
    for name, spk, minutes, rt60, snr in MEETINGS:
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        made = make_one(args.out, name, spk, minutes, rt60, snr)
        state = f"made in {time.perf_counter() - t0:.1f} s" if made else "exists, skipped"
        print(f"{name}: {spk} speakers, {minutes} min, RT60 {rt60} s, SNR {snr} dB: {state}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
