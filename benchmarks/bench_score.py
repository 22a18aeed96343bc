"""Benchmark: `notsofar score` (tcpWER) against `meeteval-wer tcpwer` on a NOTSOFAR-scale set.

Generates (seeded, cached under benchmarks/.cache/score/) 315 sessions x 6 min, ~1,000 words
per session, 4-8 speakers; the hypothesis is the reference with random substitutions,
deletions, insertions, time jitter and some speaker confusions. Both tools score the same
files, alternating which goes first, several repeats; reports median wall time, the time ratio
and each tool's peak RSS (from wait4 of the child process), checks the numbers are identical,
and writes the ``## Scoring`` section of BENCHMARKS.md.

Run from the repo root with the venv active:

    python benchmarks/bench_score.py              # full set, 5 repeats
    python benchmarks/bench_score.py --sessions 20 --repeats 1 --no-write   # quick check
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "su",
    "ta",
    "ri",
    "po",
    "ve",
    "da",
    "an",
    "el",
    "or",
    "is",
    "um",
    "be",
    "co",
    "fu",
    "ga",
    "hi",
]


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))))
    return sorted(words)


def make_set(sessions: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Reference and hypothesis SegLST lists (plain dicts, meeteval's format)."""
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    ref: list[dict] = []
    hyp: list[dict] = []
    for i in range(sessions):
        sid = f"multichannel/MTG_{30000 + i}_dev_{i % 7}"
        speakers = [f"spk{k}" for k in range(rng.randint(4, 8))]
        labels = {s: f"hyp{j}" for j, s in enumerate(rng.sample(speakers, len(speakers)))}
        t, words = 0.0, 0
        free = dict.fromkeys(speakers, 0.0)  # a speaker does not overlap themself
        while words < 1000:
            spk = rng.choice(speakers)
            n = rng.randint(3, 25)
            dur = n * rng.uniform(0.28, 0.4)
            t = max(t, free[spk] + 0.2)
            start, end = round(t, 2), round(t + dur, 2)
            free[spk] = end
            text = [rng.choice(vocab) for _ in range(n)]
            ref.append(dict(session_id=sid, speaker=spk, start_time=start, end_time=end,
                            words=" ".join(text)))  # fmt: skip
            out = []
            for w in text:
                r = rng.random()
                if r < 0.05:  # deletion
                    continue
                out.append(rng.choice(vocab) if r < 0.13 else w)  # substitution
                if rng.random() < 0.03:  # insertion
                    out.append(rng.choice(vocab))
            jitter = rng.uniform(-0.5, 0.5)
            h_spk = labels[spk] if rng.random() > 0.05 else rng.choice(list(labels.values()))
            hs = max(0.0, start + jitter)
            hyp.append(dict(session_id=sid, speaker=h_spk, start_time=round(hs, 2),
                            end_time=round(hs + dur + rng.uniform(-0.3, 0.3), 2) if dur > 0.3 else round(hs + dur, 2),
                            words=" ".join(out)))  # fmt: skip
            words += n
            t += dur * rng.uniform(0.7, 1.3)  # some overlap between speakers, some pauses
    return ref, hyp


def run(cmd: list[str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (MiB) of one child process."""
    log = cwd / "stderr.log"  # a file, not a pipe: a full pipe would stall a chatty child
    with log.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{log.read_text()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux: KiB


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def write_section(text: str) -> None:
    path = REPO / "BENCHMARKS.md"
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Scoring\n.*?(?=^## |\Z)", re.S | re.M)
    text = text.rstrip("\n") + "\n\n"  # a blank line before the next section
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else old.rstrip() + "\n\n" + text
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(new)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sessions", type=int, default=315)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    args = ap.parse_args()

    cache = REPO / "benchmarks" / ".cache" / "score" / f"n{args.sessions}"
    cache.mkdir(parents=True, exist_ok=True)
    ref_path, hyp_path = cache / "ref.seglst.json", cache / "hyp.seglst.json"
    if not ref_path.exists():
        ref, hyp = make_set(args.sessions)
        ref_path.write_text(json.dumps(ref))
        hyp_path.write_text(json.dumps(hyp))
    ref = json.loads(ref_path.read_text())
    n_words = sum(len(s["words"].split()) for s in ref)
    n_spk = {s["session_id"] + s["speaker"] for s in ref}
    ends: dict[str, float] = {}
    for seg in ref:
        ends[seg["session_id"]] = max(ends.get(seg["session_id"], 0.0), seg["end_time"])
    minutes = statistics.mean(ends.values()) / 60
    print(f"{args.sessions} sessions, {len(ref)} segments, {n_words} reference words "
          f"({n_words / args.sessions:.0f}/session), {len(n_spk)} speakers, "
          f"{minutes:.1f} min/session", file=sys.stderr)  # fmt: skip

    bindir = Path(sys.executable).parent
    out_n = cache / "out_notsofar"
    out_n.mkdir(exist_ok=True)
    ours = [str(bindir / "notsofar"), "score", "-r", str(ref_path), "-h", str(hyp_path),
            "--metric", "tcpwer", "--collar", "5", "--normalizer", "none", "-q", "-o", str(out_n)]  # fmt: skip
    ours_float = [*ours[:-1], str(out_n / "float"), "--set", "exact_times=false"]
    ours_norm = [a if a != "none" else "notsofar" for a in ours[:-1]] + [str(out_n / "norm")]
    ours_words = [a if a != "none" else "notsofar-words" for a in ours[:-1]] + [
        str(out_n / "words")
    ]
    theirs = [str(bindir / "meeteval-wer"), "tcpwer", "-r", str(ref_path), "-h", str(hyp_path),
              "--collar", "5"]  # fmt: skip

    variants = {"notsofar": ours, "meeteval": theirs, "notsofar_float": ours_float}
    times: dict[str, list[float]] = {k: [] for k in [*variants, "notsofar_norm", "notsofar_words"]}
    rss: dict[str, list[float]] = {k: [] for k in times}
    cpu: dict[str, list[float]] = {k: [] for k in times}
    for i in range(args.repeats):
        order = list(variants.items())
        if i % 2:
            order.reverse()
        for name, cmd in order:
            w, c, m = run(cmd, cache)
            times[name].append(w)
            cpu[name].append(c)
            rss[name].append(m)
            print(
                f"  run {i + 1}: {name:15s} {w:7.2f} s wall {c:7.2f} s CPU {m:5.0f} MiB",
                file=sys.stderr,
            )
    # the default (official NOTSOFAR-1) normalizer on top, and the earlier default beside it
    for name, cmd in (("notsofar_norm", ours_norm), ("notsofar_words", ours_words)):
        w, c, m = run(cmd, cache)
        times[name].append(w)
        cpu[name].append(c)
        rss[name].append(m)
        print(f"  {name}: {w:7.2f} s wall {c:7.2f} s CPU {m:5.0f} MiB", file=sys.stderr)

    theirs_json = json.loads((cache / "hyp.seglst_tcpwer.json").read_text())
    per_reco = json.loads((cache / "hyp.seglst_tcpwer_per_reco.json").read_text())
    keys = ("errors", "length", "insertions", "deletions", "substitutions")

    def same_as_meeteval(folder: Path) -> bool:
        report = json.loads((folder / "hyp.score.json").read_text())
        total = report["summary"]["tcpwer"]
        rows = report["sessions"]["tcpwer"]
        return all(total[k] == theirs_json[k] for k in keys) and all(
            rows[s][k] == per_reco[s][k] for s in per_reco for k in keys
        )

    identical = same_as_meeteval(out_n)
    identical_float = same_as_meeteval(out_n / "float")
    mine = json.loads((out_n / "hyp.score.json").read_text())["summary"]["tcpwer"]
    med = {k: statistics.median(v) for k, v in times.items()}
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    ratio = med["notsofar"] / med["meeteval"]
    ratio_float = med["notsofar_float"] / med["meeteval"]
    cpu_ratio = mcpu["notsofar"] / mcpu["meeteval"]
    cpu_ratio_float = mcpu["notsofar_float"] / mcpu["meeteval"]
    verdict = "met" if ratio <= 1.1 else "MISSED"
    cpu_verdict = "met" if cpu_ratio <= 1.1 else "MISSED"
    cmd = (
        "python benchmarks/bench_score.py"
        + (f" --sessions {args.sessions}" if args.sessions != 315 else "")
        + (f" --repeats {args.repeats}" if args.repeats != 5 else "")
    )
    section = f"""## Scoring

`notsofar score` (tcpWER, collar 5) against `meeteval-wer tcpwer --collar 5` on the same files.

- Command: `{cmd}` (repo root, venv active)
- Machine: 2 CPU cores, {cpu_model()}; date {dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}
- Data (generated, seed 0): {args.sessions} sessions, {len(ref)} segments, {n_words} reference words
  ({n_words / args.sessions:.0f} per session), 4-8 speakers per session ({len(n_spk)} in all), {minutes:.1f} min on average; hypothesis =
  reference with ~8% substitutions, 5% deletions, 3% insertions, +-0.5 s jitter, 5% wrong speaker.
- Repeats: {args.repeats}, alternating which tool runs first; medians of wall time (whole process:
  start-up, reading the files, scoring, writing results).

| tool | median wall (s) | wall, each run (s) | median CPU (s) | peak RSS (MiB) |
|---|---|---|---|---|
| `meeteval-wer tcpwer --collar 5` (baseline) | {med["meeteval"]:.2f} | {", ".join(f"{x:.2f}" for x in times["meeteval"])} | {mcpu["meeteval"]:.2f} | {max(rss["meeteval"]):.0f} |
| `notsofar score --normalizer none` (decimal times, default) | {med["notsofar"]:.2f} | {", ".join(f"{x:.2f}" for x in times["notsofar"])} | {mcpu["notsofar"]:.2f} | {max(rss["notsofar"]):.0f} |
| same, `--set exact_times=false` (float times) | {med["notsofar_float"]:.2f} | {", ".join(f"{x:.2f}" for x in times["notsofar_float"])} | {mcpu["notsofar_float"]:.2f} | {max(rss["notsofar_float"]):.0f} |
| `notsofar score` (default `notsofar` normalizer: the official NOTSOFAR-1 one, 1 run) | {med["notsofar_norm"]:.2f} | {times["notsofar_norm"][0]:.2f} | {mcpu["notsofar_norm"]:.2f} | {max(rss["notsofar_norm"]):.0f} |
| `notsofar score --normalizer notsofar-words` (the earlier default, 1 run) | {med["notsofar_words"]:.2f} | {times["notsofar_words"][0]:.2f} | {mcpu["notsofar_words"]:.2f} | {max(rss["notsofar_words"]):.0f} |

- Time ratio notsofar / meeteval, same inputs, no normalizer (default decimal times):
  wall **{ratio:.2f}x**, CPU **{cpu_ratio:.2f}x** (target <= 1.1x: wall {verdict}, CPU {cpu_verdict});
  float times: wall {ratio_float:.2f}x, CPU {cpu_ratio_float:.2f}x. The machine is shared with other
  jobs, so wall times swing run to run; CPU time (user + sys of the process) is the steadier measure.
- CPU with a normalizer (single runs): official NOTSOFAR-1 {mcpu["notsofar_norm"]:.2f} s, earlier rules
  {mcpu["notsofar_words"]:.2f} s; without one {mcpu["notsofar"]:.2f} s median ({min(cpu["notsofar"]):.2f}-{max(cpu["notsofar"]):.2f} s across runs).
  This set's words are plain lowercase, so normalizing is mostly memoized per-word lookups.
- Numbers identical to meeteval (errors, length, ins/del/sub, overall and per session):
  **{"yes" if identical else "NO"}** (float times: {"yes" if identical_float else "NO"}) —
  tcpWER {100 * mine["micro"]:.2f}% ({mine["errors"]}/{mine["length"]}).
"""
    print(section)
    if not args.no_write:
        write_section(section)
    for sub in ("norm", "words", "float"):
        shutil.rmtree(out_n / sub, ignore_errors=True)
    if not identical:
        raise SystemExit("numbers differ from meeteval")


if __name__ == "__main__":
    main()
