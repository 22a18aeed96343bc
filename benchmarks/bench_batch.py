#!/usr/bin/env python
"""Benchmark `notsofar transcribe` batches: sequential vs process pool vs Dask LocalCluster.

    flock /tmp/notsofar-cpu.lock python benchmarks/bench_batch.py          # all: ~25 min on 2 idle cores
    python benchmarks/bench_batch.py --long-minutes 0                      # throughput only

The set: 8 sessions of 2-3 minutes in the NOTSOFAR-1 layout (one single-channel device per
meeting), each built from real read speech (``/work/shared/realspeech``: LibriSpeech readers 19,
26, 27 taking turns, 0.3-0.8 s apart; seeded), written to ``bench_out/batch/``. Every
configuration runs the real CLI as a subprocess on the whole set into a fresh folder (model
loading included, as a user sees it):

* ``sequential``: the default (one process; diarization 1 torch thread in a background thread
  beside Whisper, CTranslate2 its default);
* ``sequential-2t``: the same with ``--threads-per-worker 2`` (every pool 2 threads);
* ``pool-2x1``: ``--workers 2`` (1 thread each, the default on 2 cores);
* ``dask-2x1``: ``--executor dask --workers 2`` (a LocalCluster of 2 single-threaded workers);
* ``pool-2x1-serial``: ``--workers 2`` with ``parallel_stages=false`` (diarization and Whisper
  one after the other inside each worker).

Reported: audio hours per wall hour, and the peak RSS of each worker process and of the whole
process tree (sampled every 0.1 s with psutil). The memory run transcribes two sessions of
``--long-minutes`` minutes on ``--workers 2`` and reports the tree's peak RSS. With ``--write``
the results replace the ``## Batches`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Batches (`transcribe --workers`, `--executor dask`)"
READERS = ("LS19", "LS26", "LS27")
CONFIGS = {
    "sequential": [],
    "sequential-2t": ["--threads-per-worker", "2"],
    "pool-2x1": ["--workers", "2"],
    "dask-2x1": ["--executor", "dask", "--workers", "2"],
    # each worker's diarization in its own thread beside Whisper (the default) or not
    "pool-2x1-serial": ["--workers", "2", "--set", "parallel_stages=false"],
}


def utterances(speech: Path) -> dict[str, list[Path]]:
    by_reader: dict[str, list[Path]] = {r: [] for r in READERS}
    for line in (speech / "speech.tsv").read_text().splitlines():
        path, speaker, _ = line.split("\t", 2)
        if speaker in by_reader:
            by_reader[speaker].append(speech / path)
    return by_reader


def make_session(by_reader: dict[str, list[Path]], seconds: float, seed: int) -> np.ndarray:
    """Readers take turns (2 or 3 of them) until ``seconds`` of audio, 0.3-0.8 s apart."""
    rng = np.random.default_rng(seed)
    readers = list(rng.permutation(READERS))[: 2 + seed % 2]
    cursor = {r: int(rng.integers(len(by_reader[r]))) for r in readers}
    parts, total, k = [], 0, 0
    while total < seconds * 16000:
        r = readers[k % len(readers)]
        k += 1
        x, sr = sf.read(by_reader[r][cursor[r] % len(by_reader[r])], dtype="float32")
        cursor[r] += 1
        assert sr == 16000
        gap = np.zeros(int(rng.uniform(0.3, 0.8) * 16000), dtype=np.float32)
        parts += [x, gap]
        total += len(x) + len(gap)
    return np.concatenate(parts)[: int(seconds * 16000)]


def make_set(root: Path, durations_s: list[float], by_reader: dict, seed0: int) -> Path:
    """A NOTSOFAR-layout set (``dev_set/MTG/MTG_<k>/sc_plaza_0/ch0.wav``); kept if present."""
    for k, seconds in enumerate(durations_s):
        mdir = root / "dev_set" / "MTG" / f"MTG_{k + 1}"
        wav = mdir / "sc_plaza_0" / "ch0.wav"
        if wav.is_file() and abs(sf.info(str(wav)).duration - seconds) < 0.01:
            continue
        wav.parent.mkdir(parents=True, exist_ok=True)
        sf.write(wav, make_session(by_reader, seconds, seed0 + k), 16000, subtype="PCM_16")
        device = {"device_name": "plaza_0", "is_mc": False, "is_close_talk": False}
        device["wav_file_names"] = "sc_plaza_0/ch0.wav"
        (mdir / "devices.json").write_text(json.dumps([device]))
        (mdir / "gt_transcription.json").write_text("[]")
    return root / "dev_set"


def run_measured(args: list[str]) -> dict:
    """Run the CLI; wall time, exit code, peak RSS per process and of the whole tree."""
    cmd = [sys.executable, "-m", "notsofar.cli.main", "transcribe", *args, "-q"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak: dict[int, int] = {}
    kind: dict[int, str] = {}
    tree_peak = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        total = 0
        for p in procs:
            try:
                rss = p.memory_info().rss
                if p.pid not in kind:
                    kind[p.pid] = "worker" if "spawn_main" in " ".join(p.cmdline()) else "main"
            except psutil.Error:
                continue
            total += rss
            peak[p.pid] = max(peak.get(p.pid, 0), rss)
        tree_peak = max(tree_peak, total)
        time.sleep(0.1)
    _, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    workers = [peak[p] for p in peak if kind.get(p) == "worker"]
    return {
        "wall_s": wall,
        "rc": proc.returncode,
        "stderr": stderr[-2000:],
        "main_mib": peak.get(proc.pid, 0) / 2**20,
        "worker_mib": [w / 2**20 for w in workers],
        "tree_mib": tree_peak / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--speech", type=Path, default=Path("/work/shared/realspeech"))
    ap.add_argument("--work", type=Path, default=ROOT / "bench_out" / "batch")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--long-minutes", type=float, default=60.0)
    ap.add_argument(
        "--repeats", type=int, default=1, help="runs per configuration, alternating order; median"
    )
    ap.add_argument("--write", action="store_true", help="replace the section in BENCHMARKS.md")
    args = ap.parse_args()
    if not (args.speech / "speech.tsv").is_file():
        sys.exit(f"bench_batch: no {args.speech}/speech.tsv (real speech needed)")
    by_reader = utterances(args.speech)
    durations = [120.0 + 60.0 * k / 7 for k in range(8)]  # 2-3 minutes
    data = make_set(args.work / "short", durations, by_reader, seed0=100)
    hours = sum(durations) / 3600
    started = datetime.datetime.now(datetime.UTC)
    print(f"started {started:%Y-%m-%d %H:%M:%S} UTC, load average {os.getloadavg()}", flush=True)
    load0 = os.getloadavg()[0]
    runs: dict[str, list[dict]] = {}
    outputs = {}
    names = list(filter(None, args.configs.split(",")))
    for rep in range(max(1, args.repeats)):
        for name in names if rep % 2 == 0 else names[::-1]:  # drifts hit every configuration
            out = args.work / "out" / name
            shutil.rmtree(out, ignore_errors=True)
            r = run_measured([str(data), "-o", str(out), *CONFIGS[name]])
            if r["rc"] != 0:
                sys.exit(f"bench_batch: {name} failed (exit {r['rc']}): {r['stderr']}")
            r["throughput"] = hours / (r["wall_s"] / 3600)
            runs.setdefault(name, []).append(r)
            outputs[(name, rep)] = sorted(
                (p.relative_to(out).as_posix(), p.read_text()) for p in out.rglob("*.seglst.json")
            )
            w = ", ".join(f"{m:.0f}" for m in r["worker_mib"]) or "-"
            print(
                f"{name:14s} wall {r['wall_s']:7.1f} s  {r['throughput']:6.1f} audio h / wall h"
                f"  main {r['main_mib']:.0f} MiB, workers [{w}] MiB, tree {r['tree_mib']:.0f} MiB",
                flush=True,
            )
    rows = {}
    for name in names:  # the run with the median wall time stands for its configuration
        ordered = sorted(runs[name], key=lambda r: r["wall_s"])
        rows[name] = {
            **ordered[(len(ordered) - 1) // 2],
            "walls": [r["wall_s"] for r in runs[name]],
        }
    same = len({json.dumps(o) for o in outputs.values()}) <= 1
    if outputs:
        print(f"identical .seglst.json across configurations: {same}")
    long = None
    if args.long_minutes > 0:
        ldata = make_set(args.work / "long", [args.long_minutes * 60.0] * 2, by_reader, seed0=200)
        out = args.work / "out" / "long"
        shutil.rmtree(out, ignore_errors=True)
        long = run_measured([str(ldata), "-o", str(out), "--workers", "2"])
        if long["rc"] != 0:
            sys.exit(f"bench_batch: long run failed (exit {long['rc']}): {long['stderr']}")
        w = ", ".join(f"{m:.0f}" for m in long["worker_mib"])
        print(
            f"2 x {args.long_minutes:.0f} min on --workers 2: wall {long['wall_s']:.0f} s, "
            f"workers [{w}] MiB, tree {long['tree_mib']:.0f} MiB "
            f"({long['tree_mib'] * 2**20 / 1e9:.2f} GB)",
            flush=True,
        )
    load1 = os.getloadavg()[0]
    report = section(rows, long, args, hours, started, (load0, load1), same)
    print(report)
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        text = path.read_text()
        if SECTION in text:
            head, rest = text.split(SECTION, 1)
            tail = rest[rest.find("\n## ") :] if "\n## " in rest else "\n"
            text = head + report + tail
        else:
            text = text.rstrip("\n") + "\n\n" + report
        path.write_text(text)


def section(rows, long, args, hours, started, loads, same) -> str:
    seq = rows.get("sequential")
    lines = [
        SECTION,
        "",
        f"- Command: `flock /tmp/notsofar-cpu.lock python benchmarks/bench_batch.py"
        f"{' --configs ' + args.configs if args.configs != ','.join(CONFIGS) else ''}"
        f"{' --repeats ' + str(args.repeats) if args.repeats > 1 else ''}"
        f"{' --long-minutes ' + format(args.long_minutes, 'g') if args.long_minutes != 60 else ''}`"
        f"; {started:%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
        f"{psutil.cpu_count()} cores, load average {loads[0]:.2f} before / {loads[1]:.2f} after.",
        f"- Data: 8 sessions of 2-3 min ({hours * 60:.1f} min in all), NOTSOFAR-1 layout, real "
        "read speech (LibriSpeech readers 19/26/27 taking turns; `/work/shared/realspeech`); "
        "default config (tiny.en; diarizer segmentation-3.0 + CAM++ on ONNX Runtime); the CLI "
        "as a subprocess, model loading included"
        + (
            f"; {args.repeats} runs per configuration in alternating order, the median shown."
            if args.repeats > 1
            else "."
        ),
        "",
        "| configuration | wall (s) | audio h / wall h | vs sequential | peak RSS main (MiB) "
        "| peak RSS per worker (MiB) | peak RSS all processes (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        ratio = f"{r['throughput'] / seq['throughput']:.2f}x" if seq else "-"
        w = " / ".join(f"{m:.0f}" for m in r["worker_mib"]) or "-"
        lines.append(
            f"| `{name}` {' '.join(CONFIGS[name])} | {r['wall_s']:.1f} | {r['throughput']:.1f} "
            f"| {ratio} | {r['main_mib']:.0f} | {w} | {r['tree_mib']:.0f} |"
        )
    lines.append("")
    if args.repeats > 1:
        walls = "; ".join(
            f"{n} " + " / ".join(f"{w:.1f}" for w in r["walls"]) for n, r in rows.items()
        )
        lines.append(f"- Every run's wall time (s), in run order: {walls}.")
    if rows:
        yes = "yes" if same else "NO"
        lines.append(f"- Same `.seglst.json` outputs in every configuration: {yes}.")
    if "pool-2x1" in rows and "dask-2x1" in rows:
        d = rows["dask-2x1"]["throughput"] / rows["pool-2x1"]["throughput"] - 1
        lines.append(f"- Dask vs process pool: {d * 100:+.1f} % throughput (target within 5 %).")
    if seq:
        best = max((r["throughput"], n) for n, r in rows.items() if n.startswith(("pool", "dask")))
        lines.append(
            f"- Best parallel (`{best[1]}`) vs sequential default: "
            f"{best[0] / seq['throughput']:.2f}x (target >= 1.15x)."
        )
    if long is not None:
        lines.append(
            f"- Memory: 2 sessions of {args.long_minutes:g} min on `--workers 2`: peak RSS of "
            f"all processes {long['tree_mib']:.0f} MiB = {long['tree_mib'] * 2**20 / 1e9:.2f} GB "
            f"(workers {' / '.join(f'{m:.0f}' for m in long['worker_mib'])} MiB; target < 3 GB), "
            f"wall {long['wall_s']:.0f} s."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
