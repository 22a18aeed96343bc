#!/usr/bin/env python
"""Convolution kernel go/no-go: cache-blocked overlap-save vs one big active-span rFFT.

    flock /tmp/cpu.lock python benchmarks/bench_simulate_kernel.py

Same inputs for every kernel: 10 s, 3-speaker, 7-mic examples (each speaker active ~2.5-4.5 s,
turns overlapping), 0.5 s responses (8000 taps), full + early sets, each example's three seats
drawn from 16 seats whose spectra are cached as a simulator caches them. Reports CPU per
example of the kernel alone, one process, and the inflation when two copies run at the same
time (CPU per example with 2 concurrent processes / with 1): on a 2-core machine with a shared
L3, what a second worker costs the first. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

SR, T, L, C, SEATS = 16000, 160000, 8000, 7, 16


def inputs(seed: int = 0, count: int = 8) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """``count`` dry examples ``[3, T]`` and 16 seats' full and early responses ``[16, C, L]``."""
    rng = np.random.default_rng(seed)
    dry = []
    for _ in range(count):
        x = np.zeros((3, T), dtype=np.float32)
        lens = rng.integers(int(2.5 * SR), int(4.5 * SR), size=3)
        ov = rng.uniform(0.0, 0.4)
        pos = int(rng.integers(0, int(0.5 * SR)))
        for j, n in enumerate(lens):
            n = min(int(n), T - pos)
            x[j, pos : pos + n] = rng.standard_normal(n).astype(np.float32) * 0.05
            pos += n - int(ov * n)
        dry.append(x)
    decay = np.exp(-np.arange(L) / (0.08 * SR)).astype(np.float32)
    h = (rng.standard_normal((SEATS, C, L)).astype(np.float32) * decay) * 0.1
    e = h.copy()
    e[..., int(0.05 * SR) :] = 0
    return dry, h, e


#: The simulator whose kernel is "previous": one big active-span rFFT per source.
PREVIOUS = "fa941e79f4d2d305f297061d6d4587fb95385e66"


@functools.cache
def previous_convolve() -> types.ModuleType:
    """``notsofar/simulate/convolve.py`` as of :data:`PREVIOUS`, read from git (it imports
    nothing else of notsofar), so the comparison runs the real previous kernel, not a copy."""
    src = subprocess.run(
        ["git", "show", f"{PREVIOUS}:notsofar/simulate/convolve.py"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    module = types.ModuleType("previous_convolve")
    exec(compile(src, f"{PREVIOUS[:7]}:convolve.py", "exec"), module.__dict__)
    return module


def make_kernel(name: str, h: np.ndarray, e: np.ndarray):
    """A function ``(dry, seats, buffers) -> [2, S, C, T]`` images for kernel ``name``:
    ``previous`` (:func:`previous_convolve`'s ``convolve_active``) or ``blocked-<n>``
    (notsofar's ``convolve_active`` at block FFT size n)."""
    from notsofar.simulate import convolve

    cache: dict = {}
    if name == "previous":
        prev = previous_convolve()
        sizes = prev.fft_sizes(T, L)
        for s in range(SEATS):
            for n in sizes:
                cache[s, n] = prev.rir_spectrum(np.stack([h[s], e[s]]), n)

        def run(dry, seats, buffers):
            return prev.convolve_active(dry, lambda j, n: cache[seats[j], n], sizes, L, T, buffers)

        return run
    n = int(name.split("-")[1])
    for s in range(SEATS):
        cache[s] = convolve.rir_spectrum(np.stack([h[s], e[s]]), n)

    def run_blocked(dry, seats, buffers):
        return convolve.convolve_active(dry, lambda j: cache[seats[j]], n, L, T, buffers)

    return run_blocked


def measure(name: str, examples: int, seed: int) -> float:
    """CPU seconds per example of kernel ``name`` (after a warm-up)."""
    dry, h, e = inputs()
    run = make_kernel(name, h, e)
    rng = np.random.default_rng(seed)
    seats = [rng.choice(SEATS, size=3, replace=False) for _ in range(examples)]
    buffers: dict = {}
    for i in range(5):
        run(dry[i % len(dry)], seats[i], buffers)
    t0 = time.process_time()
    for i in range(examples):
        run(dry[i % len(dry)], seats[i], buffers)
    return (time.process_time() - t0) / examples


def concurrent(name: str, procs: int, examples: int) -> list[float]:
    """CPU s / example of each of ``procs`` copies of kernel ``name`` run at the same time."""
    cmd = [sys.executable, __file__, "--child", name, "--examples", str(examples)]
    ps = [
        subprocess.Popen([*cmd, "--seed", str(i)], stdout=subprocess.PIPE, text=True)
        for i in range(procs)
    ]
    return [float(p.communicate()[0]) for p in ps]


def check(names: list[str]) -> None:
    """Max abs difference of each kernel's images from the previous kernel's, over the peak."""
    dry, h, e = inputs(seed=1, count=3)
    ref_k = make_kernel("previous", h, e)
    for name in names:
        k = make_kernel(name, h, e)
        worst = 0.0
        for i, x in enumerate(dry):
            seats = [i, i + 3, i + 6]
            ref = np.array(ref_k(x, seats, {}))
            got = np.array(k(x, seats, {}))
            worst = max(worst, float(np.abs(got - ref).max() / np.abs(ref).max()))
        print(f"{name}: max |diff| / peak vs previous = {worst:.2e}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernels", default="previous,blocked-16384,blocked-32768")
    ap.add_argument("--examples", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(measure(a.child, a.examples, a.seed))
        return
    names = a.kernels.split(",")
    check([n for n in names if n != "previous"])
    with open("/proc/loadavg") as f:
        print("load at start:", f.read().split()[:3], flush=True)
    one: dict[str, list[float]] = {n: [] for n in names}
    two: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(a.repeats):  # interleaved, so drift hits every kernel alike
        for n in names:
            one[n] += concurrent(n, 1, a.examples)
            two[n] += concurrent(n, 2, a.examples)
    res = {}
    for n in names:
        c1, c2 = statistics.median(one[n]), statistics.median(two[n])
        res[n] = {
            "cpu_1": c1,
            "cpu_2": c2,
            "inflation": c2 / c1,
            "runs_1": one[n],
            "runs_2": two[n],
        }
        print(
            f"{n:>14}: CPU/example 1 proc {1000 * c1:.1f} ms, 2 concurrent {1000 * c2:.1f} ms, "
            f"inflation {c2 / c1:.3f}  (1: {[round(1000 * x, 1) for x in one[n]]}, "
            f"2: {[round(1000 * x, 1) for x in two[n]]})",
            flush=True,
        )
    with open("/proc/loadavg") as f:
        print("load at end:", f.read().split()[:3])
    print(json.dumps(res))


if __name__ == "__main__":
    main()
