"""Report page at meeting scale: a 60-minute, 10,000-word, 6-speaker meeting.

Builds the page (audio embedded as Opus), then opens it in headless Chromium several times
and reads, from the page's own clock (``performance.now()``, 0 = navigation start):
``ready`` (transcript, timeline and stats drawn, handlers attached: clickable) and ``audio``
(embedded audio decoded and its metadata loaded: a click on a word plays from there).
Baselines in the same run: the same page with the audio linked instead of embedded, and the
size base64 would have given.

The audio is the example meeting (48 s of far-field speech) repeated to 60 minutes; the
transcript is synthetic (seeded): 6 speakers taking turns of 3-40 words, ~10 % of turns
overlapping the previous one, word timings at ~170 words per minute.

    python benchmarks/bench_report.py [--runs 5] [--minutes 60] [--words 10000]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from chromium import Browser  # noqa: E402

from notsofar.data import Segment, Transcript, Word  # noqa: E402


def make_meeting(folder: Path, minutes: float, words: int, speakers: int, seed: int = 0):
    x, sr = sf.read(ROOT / "examples" / "meeting" / "meeting.wav", dtype="float32")
    n = int(minutes * 60 * sr)
    audio = np.tile(x, -(-n // len(x)))[:n]
    wav = folder / "long.wav"
    sf.write(wav, audio, sr, subtype="PCM_16")
    vocab = " ".join(
        s["words"]
        for s in json.loads((ROOT / "examples/meeting/meeting.ref.seglst.json").read_text())
    ).split()
    rng = np.random.default_rng(seed)
    duration = minutes * 60
    # turn lengths that add up to `words`
    lengths: list[int] = []
    while sum(lengths) < words:
        lengths.append(min(int(rng.integers(3, 41)), words - sum(lengths)))
    per_word = duration * 0.8 / words  # ~80 % of the meeting is speech
    gap = duration * 0.15 / len(lengths)
    t, prev, segs = 0.5, -1, []
    for length in lengths:
        spk = int(rng.integers(speakers))
        while spk == prev:
            spk = int(rng.integers(speakers))
        # ~10 % of turns start before the previous one ended (up to ~1.5 s of overlap)
        overlap = min(1.5, per_word * 4) if prev >= 0 and rng.random() < 0.1 else 0.0
        start = t - gap - overlap if overlap else t
        ws, c = [], start
        for _ in range(length):
            d = per_word * float(rng.uniform(0.6, 1.4))
            ws.append(Word(str(rng.choice(vocab)), round(c, 3), round(c + d * 0.9, 3), 0.9))
            c += d
        end = min(c, duration)
        ws = [w for w in ws if w.end_time <= duration]
        segs.append(
            Segment(
                "long",
                f"spk{spk}",
                ws[0].start_time,
                round(end, 3),
                " ".join(w.word for w in ws),
                tuple(ws),
            )
        )
        t, prev = c + gap, spk
    return wav, Transcript(segs)


def open_times(page: Path, runs: int) -> list[dict[str, float]]:
    out = []
    for _ in range(runs):
        with Browser(timeout_s=120) as b:  # a fresh browser (cold cache) per run
            b.send("Performance.enable")
            start = time.perf_counter()
            b.open(page.as_uri())
            b.wait_for("window.notsofarReport && notsofarReport.audioMs > 0", 60)
            wall = time.perf_counter() - start
            r = b.eval(
                "[notsofarReport.readyMs, notsofarReport.audioMs, notsofarReport.words,"
                " notsofarReport.decodeMs || 0]"
            )
            # main-thread time the page's tasks took (parse, script, layout): what an idle
            # machine would need; wall times above include waiting for a busy CPU
            metrics = {m["name"]: m["value"] for m in b.send("Performance.getMetrics")["metrics"]}
            problems = b.problems()
            # a click on the middle word seeks the audio there
            b.eval("document.querySelector(`.w[data-i='${notsofarReport.words >> 1}']`).click()")
            t = b.wait_for("audio.currentTime > 0 && audio.currentTime", 10)
        if problems:
            raise SystemExit(f"console errors: {problems}")
        out.append(
            {
                "ready_s": r[0] / 1000,
                "audio_s": r[1] / 1000,
                "decode_s": r[3] / 1000,
                "task_s": metrics["TaskDuration"],
                "script_s": metrics["ScriptDuration"],
                "wall_s": wall,
                "seek": t,
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--words", type=int, default=10000)
    ap.add_argument("--speakers", type=int, default=6)
    args = ap.parse_args()
    from notsofar.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        wav, hyp = make_meeting(folder, args.minutes, args.words, args.speakers)
        t = time.perf_counter()
        page = write_report(folder / "long.report.html", hyp, audio=wav)
        t_page = time.perf_counter() - t
        linked = write_report(folder / "linked.report.html", hyp, audio=wav, audio_mode="link")
        text = page.read_text(encoding="utf-8")
        audio_size = int(re.search(r'id="audio-data" data-length="(\d+)"', text).group(1))
        size, rest = page.stat().st_size, linked.stat().st_size
        embedded = open_times(page, args.runs)
        link = open_times(linked, args.runs)

    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"meeting: {args.minutes:g} min, {hyp.num_words} words, {len(hyp.speakers)} speakers, "
        f"{len(hyp)} segments"
    )
    kbps = audio_size * 8 / (args.minutes * 60) / 1000
    print(f"opus: {audio_size / 1e6:.2f} MB ({kbps:.1f} kbit/s)")
    print(f"page: {size / 1e6:.2f} MB, written in {t_page:.1f} s (Opus encoding included)")
    print(f"  size / (1.2 x audio + 1 MB) = {size / (1.2 * audio_size + 1e6):.3f}  (target <= 1)")
    print(
        f"  audio as text: {(size - rest) / audio_size:.3f} x the Opus bytes; the rest of the page "
        f"{rest / 1e6:.2f} MB; with base64 the page would be "
        f"{(rest + 4 * -(-audio_size // 3)) / 1e6:.2f} MB"
    )
    for name, rows in (("embedded audio", embedded), ("linked audio (baseline)", link)):
        print(
            f"{name}: ready {med(rows, 'ready_s'):.3f} s, "
            f"audio playable {med(rows, 'audio_s'):.3f} s, navigate->playable wall {med(rows, 'wall_s'):.3f} s (median of {len(rows)}; "
            f"ready {min(r['ready_s'] for r in rows):.3f}-{max(r['ready_s'] for r in rows):.3f}, "
            f"audio {min(r['audio_s'] for r in rows):.3f}-{max(r['audio_s'] for r in rows):.3f}); "
            f"main-thread busy {med(rows, 'task_s'):.3f} s (script {med(rows, 'script_s'):.3f} s, "
            f"audio text decode {med(rows, 'decode_s'):.3f} s)"
        )


if __name__ == "__main__":
    main()
