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

#: name, speakers, minutes, RT60 (s), SNR (dB), seed (voices, room, script; the first sets' seeds
#: were 1000 + the sum of the name's character codes, which repeats across names): spans 2-6 speakers, 2-5 min, RT60 0.3-0.7 s,
#: 5-20 dB SNR; overlap and backchannels from the layout defaults.
MEETINGS: tuple[tuple[str, int, float, float, float, int], ...] = (
    ("bm01_2spk", 2, 2.0, 0.30, 20.0, 1783),
    ("bm02_3spk", 3, 2.5, 0.40, 15.0, 1785),
    ("bm03_4spk", 4, 3.0, 0.50, 12.0, 1787),
    ("bm04_5spk", 5, 3.5, 0.60, 8.0, 1789),
    ("bm05_6spk", 6, 4.0, 0.70, 5.0, 1791),
    ("bm06_3spk", 3, 5.0, 0.55, 10.0, 1789),
    ("bm07_4spk", 4, 2.5, 0.35, 18.0, 1791),
)
#: the tuning set: same ranges (2-6 speakers, 2-4 min, RT60 0.3-0.7 s, 5-20 dB), other seeds
DEV_MEETINGS: tuple[tuple[str, int, float, float, float, int], ...] = (
    ("dv01_2spk", 2, 2.5, 0.45, 10.0, 1794),
    ("dv02_3spk", 3, 3.0, 0.35, 16.0, 1796),
    ("dv03_4spk", 4, 2.5, 0.65, 7.0, 1798),
    ("dv04_5spk", 5, 3.5, 0.50, 12.0, 1800),
    ("dv05_6spk", 6, 4.0, 0.60, 9.0, 1802),
    ("dv06_3spk", 3, 4.0, 0.70, 6.0, 1800),
    ("dv07_6spk", 6, 3.0, 0.40, 14.0, 1804),
    ("dv08_4spk", 4, 3.5, 0.55, 8.0, 1803),
    # second half, added when eight meetings proved too few to choose between speaker encoders
    ("dv09_5spk", 5, 3.0, 0.40, 15.0, 1805),
    ("dv10_2spk", 2, 2.0, 0.60, 12.0, 1794),
    ("dv11_6spk", 6, 3.5, 0.50, 11.0, 1799),
    ("dv12_3spk", 3, 2.5, 0.30, 18.0, 1797),
    ("dv13_4spk", 4, 3.0, 0.45, 9.0, 1799),
    ("dv14_5spk", 5, 4.0, 0.65, 13.0, 1801),
    ("dv15_6spk", 6, 2.5, 0.35, 16.0, 1803),
    ("dv16_3spk", 3, 3.5, 0.60, 7.0, 1801),
    # dv17-dv32: added to choose the pitch feature's weight on more than 16 meetings
    ("dv17_2spk", 2, 2.5, 0.36, 15.0, 3017),
    ("dv18_3spk", 3, 2.0, 0.51, 10.0, 3018),
    ("dv19_4spk", 4, 2.0, 0.50, 6.0, 3019),
    ("dv20_5spk", 5, 2.5, 0.33, 6.0, 3020),
    ("dv21_6spk", 6, 2.5, 0.63, 7.0, 3021),
    ("dv22_3spk", 3, 2.5, 0.55, 19.0, 3022),
    ("dv23_4spk", 4, 3.0, 0.46, 20.0, 3023),
    ("dv24_5spk", 5, 2.0, 0.64, 9.0, 3024),
    ("dv25_2spk", 2, 2.0, 0.35, 10.0, 3025),
    ("dv26_3spk", 3, 3.0, 0.37, 14.0, 3026),
    ("dv27_4spk", 4, 3.0, 0.45, 13.0, 3027),
    ("dv28_5spk", 5, 2.0, 0.32, 8.0, 3028),
    ("dv29_6spk", 6, 3.0, 0.47, 10.0, 3029),
    ("dv30_3spk", 3, 3.0, 0.48, 9.0, 3030),
    ("dv31_4spk", 4, 3.0, 0.58, 9.0, 3031),
    ("dv32_6spk", 6, 3.0, 0.51, 18.0, 3032),
)
SETS = {"bench": (MEETINGS, "bench_out/meetings"), "dev": (DEV_MEETINGS, "bench_out/dev_meetings")}
FILES = ("mc.flac", "sc.wav", "ref.seglst.json", "ref.rttm", "params.json")


def make_one(
    out: Path, name: str, spk: int, minutes: float, rt60: float, snr: float, seed: int
) -> bool:
    """Make one meeting folder; False when it was already complete."""
    folder = out / name
    if all((folder / f).exists() for f in FILES):
        return False
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
    for name, spk, minutes, rt60, snr, seed in meetings:
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        made = make_one(out, name, spk, minutes, rt60, snr, seed)
        state = f"made in {time.perf_counter() - t0:.1f} s" if made else "exists, skipped"
        print(f"{name}: {spk} speakers, {minutes} min, RT60 {rt60} s, SNR {snr} dB: {state}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
