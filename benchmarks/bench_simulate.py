#!/usr/bin/env python
"""Simulation throughput: hours of 7-channel 16 kHz mixture (with targets) per core-hour.

    python benchmarks/bench_simulate.py              # writes the "## Simulation" section
    python benchmarks/bench_simulate.py --examples 40 --no-write

10 s, 3-speaker NOTSOFAR-CSS examples with 0.5 s impulse responses, every column of the
official format written (mixture, direct+early and reverberant images, noise, activity), in the
same run: (a) notsofar's batched-rFFT path with per-seat cached response spectra, (b) the same
pipeline with one scipy.signal.fftconvolve per (speaker, mic) pair, (c) 1 -> 2 worker scaling of
whole runs, and peak RSS per worker. Rooms are computed once before timing (a long run computes
each of its rooms once per worker).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shutil
import tempfile
import time
from pathlib import Path

from notsofar.config import load_config
from notsofar.simulate.config import SimulateConfig

SETS = [
    "mix.num_speakers_weights=[0.0, 0.0, 1.0]",
    "rirs.max_length_s=0.5",
    "output.examples_per_shard=50",
]


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def per_example(cfg: SimulateConfig, out: Path, shards: int, naive: bool) -> tuple[float, dict]:
    """CPU seconds per example of run_shard in this process (after a warm-up pass)."""
    from notsofar.simulate import engine
    from notsofar.simulate.sources import load_corpus

    corpus = load_corpus(cfg.speech.source)
    w = engine._worker(cfg, out, corpus)
    w.naive_convolution = naive
    n = cfg.output.examples_per_shard
    for i in range(shards):  # warm-up: rooms, spectra, imports, page cache
        engine.run_shard(cfg, out, corpus, i, n)
    cpu = 0.0
    last = {}
    for i in range(shards):
        t0 = time.process_time()
        last = engine.run_shard(cfg, out, corpus, i, n)
        cpu += time.process_time() - t0
    w.naive_convolution = False
    return cpu / (shards * n), last


_CHILD = """
import json, sys, time
from notsofar.config import load_config
from notsofar.simulate import simulate
from notsofar.simulate.config import SimulateConfig
sets, out, hours, workers = json.loads(sys.argv[1])
cfg = load_config(SimulateConfig, None, sets)
t0 = time.perf_counter()
r = simulate(cfg, out, hours, workers=workers)
print(json.dumps({"wall_s": time.perf_counter() - t0, "hours": r.hours_made,
                  "cpu_s": sum(m["cpu_s"] for m in r.made),
                  "max_rss_mb": max(m["max_rss_mb"] for m in r.made)}))
"""


def scaling(root: Path, shards: int, warm_rirs: Path) -> dict[int, dict]:
    """Wall time of whole runs with 1 and 2 workers, each in a fresh interpreter (so a worker's
    peak RSS is its own, not inherited from this process), the room cache pre-filled."""
    import json
    import subprocess
    import sys

    out = {}
    hours = shards * 50 * 10.0 / 3600
    for workers in (1, 2):
        d = root / f"w{workers}"
        shutil.copytree(warm_rirs, d / "rir_cache")
        arg = json.dumps([SETS, str(d), hours, workers])
        res = subprocess.run(
            [sys.executable, "-c", _CHILD, arg], capture_output=True, text=True, check=True
        )
        r = json.loads(res.stdout.strip().splitlines()[-1])
        out[workers] = {**r, "h_per_h": r["hours"] / (r["wall_s"] / 3600)}
    return out


def write_section(text: str, path: Path = Path("BENCHMARKS.md")) -> None:
    from notsofar.io.atomic import write_text

    old = path.read_text() if path.exists() else "# Benchmarks\n"
    head = "## Simulation"
    if head in old:
        before, rest = old.split(head, 1)
        after = rest.split("\n## ", 1)
        tail = ("\n## " + after[1]) if len(after) == 2 else ""
        new = before + text.rstrip() + "\n" + tail
    else:
        new = old.rstrip() + "\n\n" + text
    write_text(path, new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=2, help="shards of 50 examples to time")
    parser.add_argument("--scaling-shards", type=int, default=4)
    parser.add_argument("--no-write", action="store_true", help="print, do not edit BENCHMARKS.md")
    args = parser.parse_args()

    cfg = load_config(SimulateConfig, None, SETS)
    load_before = Path("/proc/loadavg").read_text().split()[0]
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        root = Path(tmp)
        fast, last = per_example(cfg, root / "fast", args.shards, naive=False)
        naive, _ = per_example(cfg, root / "fast", args.shards, naive=True)
        rate = cfg.mix.segment_s / fast  # audio seconds per CPU second = hours per core-hour
        rate_naive = cfg.mix.segment_s / naive
        bytes_per_ex = last["bytes"] / cfg.output.examples_per_shard
        from notsofar.simulate import engine
        from notsofar.simulate.sources import load_corpus

        w = engine._worker(cfg, root / "fast", load_corpus(cfg.speech.source))
        for i in range(args.scaling_shards):  # fill the room cache: time mixing, not rooms
            for r in engine.shard_rooms(cfg, i):
                w.room(r)
        sc = scaling(root, args.scaling_shards, root / "fast" / "rir_cache")
    speedup = sc[2]["h_per_h"] / sc[1]["h_per_h"]
    load_after = Path("/proc/loadavg").read_text().split()[0]
    efficiency = sc[1]["cpu_s"] / sc[2]["cpu_s"]
    n_1000 = 1000 * 3600 / cfg.mix.segment_s
    disk_tb = bytes_per_ex * n_1000 / 1e12
    mix_only_tb = n_1000 * 160000 * 7 * 2 / 1e12
    cmd = "python benchmarks/bench_simulate.py" + (
        f" --shards {args.shards}" if args.shards != 2 else ""
    )
    ok = lambda b: "met" if b else "**missed**"  # noqa: E731
    text = f"""## Simulation

`{cmd}` — {dt.date.today().isoformat()}, 2 CPU cores, {cpu_model()} (load averages
below: wall-clock figures are only as quiet as the machine was).
Workload: 10 s, 3-speaker, 7-channel 16 kHz NOTSOFAR-CSS examples, 0.5 s impulse responses
(simulated rooms, RT60 0.3-0.7 s), diffuse noise, all columns of the official format written as
tar shards (mixture, direct+early and reverberant images per speaker, noise, activity) + manifest.
CPU time per example measured with `time.process_time` after a warm-up pass, same run for both.

| path | CPU s / example | hours of mixture per core-hour |
|---|---:|---:|
| notsofar (batched rFFT, cached seat spectra) | {fast:.3f} | **{rate:.0f}** (target >= 100: {ok(rate >= 100)}) |
| baseline: scipy.signal.fftconvolve per (speaker, mic) | {naive:.3f} | {rate_naive:.0f} |

Speed-up over the baseline: {naive / fast:.2f}x.

| workers | wall (s) for {args.scaling_shards * 50} examples | hours per wall-hour | peak RSS / worker |
|---:|---:|---:|---:|
| 1 | {sc[1]["wall_s"]:.1f} | {sc[1]["h_per_h"]:.0f} | {sc[1]["max_rss_mb"]:.0f} MB |
| 2 | {sc[2]["wall_s"]:.1f} | {sc[2]["h_per_h"]:.0f} | {sc[2]["max_rss_mb"]:.0f} MB |

Scaling 1 -> 2 workers: {speedup:.2f}x in wall time (target >= 1.8x: {ok(speedup >= 1.8)}).
Load average {load_before} at the start, {load_after} at the end (a busy machine has no free
second core to scale onto). CPU work per example with 1 and 2 workers: {sc[1]["cpu_s"]:.1f} and
{sc[2]["cpu_s"]:.1f} CPU s (parallel efficiency {efficiency:.2f}): shards share nothing but the
read-only room cache, so wall time scales with free cores.

What 1000 h costs (measured {bytes_per_ex / 1e6:.1f} MB per 10 s example with all columns):
{n_1000:,.0f} examples, **{disk_tb:.1f} TB** on disk with every target column
(mixture alone: {mix_only_tb:.2f} TB as int16), and **{1000 / rate:.1f} core-hours** at the
measured rate (e.g. {1000 / rate / 16:.1f} h on 16 cores if the disk keeps up).
"""
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    main()
