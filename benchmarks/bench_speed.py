#!/usr/bin/env python
"""`notsofar transcribe` against bare faster-whisper: wall time with cold start, and peak memory.

    python benchmarks/make_real_meetings.py --set long          # once (real voices)
    python benchmarks/bench_speed.py                            # 5-min and 60-s recordings
    python benchmarks/bench_speed.py --long-minutes 60          # + 60-min peak RSS
    python benchmarks/bench_speed.py --write                    # update BENCHMARKS.md

The recordings are real-voice meetings (``make_real_meetings.py --set long``: LibriSpeech
readers, distinct sentences) concatenated to the wanted length. Each run is a fresh process
(imports and model loads included, as a user starts it):

* **bare**: faster-whisper alone on the file (the same embedded ``tiny.en``, beam 5, its VAD
  filter on, every segment consumed), no diarization, nothing written;
* **ours**: ``notsofar transcribe FILE -o DIR`` with the default config (diarization, ASR,
  word attribution, every output written).

Both run ``--repeats`` times in alternating order and the median is reported, so drifts of a
shared machine hit both. Peak RSS is the child's ``ru_maxrss``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Transcription speed and memory (real voices)"
#: the long set's four meetings of distinct LibriSpeech sentences. Not the short benchmark
#: meetings: most of their speakers have one sentence each and say it at every turn, and
#: Whisper's temperature fallback (a window whose text compresses too well is decoded again by
#: sampling, up to 6 times) fires on such verbatim repetition, which a real meeting does not
#: have (BENCHMARKS.md)
DEFAULT_MEETINGS = Path("/work/data/realmeet/long")
DEFAULT_PATTERN = "lw0?_*.wav"

BARE = """
import sys
from faster_whisper import WhisperModel
from notsofar.pipeline.models import default_whisper_dir
m = WhisperModel(str(default_whisper_dir()), device="cpu", compute_type="int8")
segs, _ = m.transcribe(sys.argv[1], beam_size=5, vad_filter=True, language="en")
print(sum(len(s.text.split()) for s in segs))
"""


def make_recording(meetings: Path, minutes: float, out: Path, pattern: str = "*.wav") -> float:
    """Concatenate the single-channel meetings matching ``pattern`` (cycling) to ``minutes``;
    returns seconds."""
    import soundfile as sf

    files = sorted(p for p in meetings.glob(pattern) if not p.name.endswith(".7ch.wav"))
    if not files:
        sys.exit(f"no meetings in {meetings}: run benchmarks/make_real_meetings.py first")
    want = int(minutes * 60 * 16000)
    parts, have, i = [], 0, 0
    while have < want:
        x, sr = sf.read(files[i % len(files)], dtype="float32")
        assert sr == 16000
        parts.append(x[: want - have])
        have += len(parts[-1])
        i += 1
    sf.write(out, np.concatenate(parts), 16000, subtype="PCM_16")
    return have / 16000


def run(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def compare(path: Path, repeats: int, tmp: Path) -> dict:
    bare_cmd = [sys.executable, "-c", BARE, str(path)]
    ours_cmd = [sys.executable, "-m", "notsofar.cli.main", "transcribe", str(path), "-o"]
    bare, ours = [], []
    for r in range(repeats):
        order = [("bare", bare_cmd), ("ours", [*ours_cmd, str(tmp / f"o{r}")])]
        for name, cmd in order if r % 2 == 0 else order[::-1]:
            (bare if name == "bare" else ours).append(run(cmd))
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    return {
        "bare_wall": med(bare, 0),
        "ours_wall": med(ours, 0),
        "bare_cpu": med(bare, 1),
        "ours_cpu": med(ours, 1),
        "ratio_wall": med(ours, 0) / med(bare, 0),
        "ratio_cpu": med(ours, 1) / med(bare, 1),
        "runs": {"bare": bare, "ours": ours},
    }


def peak_rss(path: Path, tmp: Path) -> float:
    """Peak RSS (MB) of ``notsofar transcribe`` in a child (``ru_maxrss`` of that child alone)."""
    code = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, sys.executable, "-m", "notsofar.cli.main", "transcribe"]
        + [str(path), "-o", str(tmp / "long")],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--meetings", type=Path, default=DEFAULT_MEETINGS)
    ap.add_argument(
        "--pattern",
        default=DEFAULT_PATTERN,
        help="meetings to concatenate (default: the long set's four meetings of distinct "
        "LibriSpeech sentences)",
    )
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--long-minutes", type=float, default=0.0, help="0: no memory run")
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for label, minutes in (("5 min", 5.0), ("60 s", 1.0)):
            wav = tmp / f"rec_{minutes:g}.wav"
            make_recording(args.meetings, minutes, wav, args.pattern)
            results[label] = compare(wav, args.repeats, tmp)
            r = results[label]
            print(
                f"{label}: bare {r['bare_wall']:.1f} s wall / {r['bare_cpu']:.1f} s CPU, "
                f"ours {r['ours_wall']:.1f} s / {r['ours_cpu']:.1f} s -> "
                f"{r['ratio_wall']:.2f}x wall, {r['ratio_cpu']:.2f}x CPU",
                flush=True,
            )
        if args.long_minutes > 0:
            wav = tmp / "long.wav"
            make_recording(args.meetings, args.long_minutes, wav, args.pattern)
            results["long_rss_mb"] = peak_rss(wav, tmp)
            print(f"{args.long_minutes:g} min: peak RSS {results['long_rss_mb']:.0f} MB")
    if args.write:
        write_section(results, args)


def write_section(results: dict, args: argparse.Namespace) -> None:
    cmd = "python benchmarks/bench_speed.py" + (
        f" --long-minutes {args.long_minutes:g}" if args.long_minutes else ""
    )
    if args.meetings != DEFAULT_MEETINGS or args.pattern != DEFAULT_PATTERN:
        cmd += f" --meetings {args.meetings} --pattern '{args.pattern}'"
    lines = [
        SECTION,
        "",
        f"`{cmd}` ({datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, {os.cpu_count()} cores; recordings: real-voice meetings "
        f"`{args.meetings}/{args.pattern}` concatenated; median of {args.repeats} alternating "
        "runs, fresh processes, cold start included).",
        "",
        "| recording | bare faster-whisper wall / CPU | `transcribe` wall / CPU | ratio wall | "
        "ratio CPU | target |",
        "|---|---|---|---|---|---|",
    ]
    for label, target in (("5 min", "<= 1.3x wall"), ("60 s", "<= 1.6x wall")):
        r = results[label]
        lines.append(
            f"| {label} | {r['bare_wall']:.1f} s / {r['bare_cpu']:.1f} s | {r['ours_wall']:.1f} s"
            f" / {r['ours_cpu']:.1f} s | {r['ratio_wall']:.2f}x | {r['ratio_cpu']:.2f}x | "
            f"{target} |"
        )
    if "long_rss_mb" in results:
        lines += [
            "",
            f"{args.long_minutes:g}-minute recording: peak RSS "
            f"{results['long_rss_mb']:.0f} MB (target <= 2 GB).",
        ]
    lines += [
        "",
        "Raw runs (wall s, CPU s, peak RSS MB):",
        "",
        "```",
        json.dumps({k: v["runs"] for k, v in results.items() if isinstance(v, dict)}),
        "```",
        "",
    ]
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text()
    block = "\n".join(lines)
    if SECTION in text:
        # the run replaces the section's table; its "### " subsections (notes, history) stay
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        sub = text.find("\n### ", start, nxt if nxt >= 0 else len(text))
        end = sub if sub >= 0 else nxt
        text = text[:start] + block + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + block
    path.write_text(text)


if __name__ == "__main__":
    main()
