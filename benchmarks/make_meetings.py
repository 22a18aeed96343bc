#!/usr/bin/env python
"""Generate the benchmark set: synthetic far-field 7-channel meetings with exact references.

    python benchmarks/make_meetings.py                      # -> bench_out/meetings/
    python benchmarks/make_meetings.py --set dev            # -> bench_out/dev_meetings/
    python benchmarks/make_meetings.py --out DIR --only bm01_2spk

``--set bench`` (default) is the benchmark set the figures in BENCHMARKS.md are measured on;
``--set dev`` is a separate tuning set (other names, hence other seeds, voices, rooms and
texts; same ranges) on which diarization settings are chosen, so the benchmark is not tuned on.

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
#: the tuning set: same ranges (2-6 speakers, 2-4 min, RT60 0.3-0.7 s, 5-20 dB), other seeds
DEV_MEETINGS: tuple[tuple[str, int, float, float, float], ...] = (
    ("dv01_2spk", 2, 2.5, 0.45, 10.0),
    ("dv02_3spk", 3, 3.0, 0.35, 16.0),
    ("dv03_4spk", 4, 2.5, 0.65, 7.0),
    ("dv04_5spk", 5, 3.5, 0.50, 12.0),
    ("dv05_6spk", 6, 4.0, 0.60, 9.0),
    ("dv06_3spk", 3, 4.0, 0.70, 6.0),
    ("dv07_6spk", 6, 3.0, 0.40, 14.0),
    ("dv08_4spk", 4, 3.5, 0.55, 8.0),
    # second half, added when eight meetings proved too few to choose between speaker encoders
    ("dv09_5spk", 5, 3.0, 0.40, 15.0),
    ("dv10_2spk", 2, 2.0, 0.60, 12.0),
    ("dv11_6spk", 6, 3.5, 0.50, 11.0),
    ("dv12_3spk", 3, 2.5, 0.30, 18.0),
    ("dv13_4spk", 4, 3.0, 0.45, 9.0),
    ("dv14_5spk", 5, 4.0, 0.65, 13.0),
    ("dv15_6spk", 6, 2.5, 0.35, 16.0),
    ("dv16_3spk", 3, 3.5, 0.60, 7.0),
)
SETS = {"bench": (MEETINGS, "bench_out/meetings"), "dev": (DEV_MEETINGS, "bench_out/dev_meetings")}
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
    parser.add_argument("--set", dest="which", choices=sorted(SETS), default="bench")
    parser.add_argument("--out", type=Path, default=None, help="default: per --set")
    parser.add_argument("--only", nargs="*", help="make only these meeting names")
    args = parser.parse_args()
    meetings, default_out = SETS[args.which]
    out = args.out or Path(default_out)
    for name, spk, minutes, rt60, snr in meetings:
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        made = make_one(out, name, spk, minutes, rt60, snr)
        state = f"made in {time.perf_counter() - t0:.1f} s" if made else "exists, skipped"
        print(f"{name}: {spk} speakers, {minutes} min, RT60 {rt60} s, SNR {snr} dB: {state}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
