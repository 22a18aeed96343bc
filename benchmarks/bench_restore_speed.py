"""Restore speed on a long recording: DeepFilterNet3 in one pass vs in pieces, one per core.

``bench_restore.py`` times 3-8 s utterances, which never run in pieces (``MIN_PIECE_S``). Here
the report split's real utterances are joined into one recording of ``--minutes`` (0.3 s gaps),
reverberated with the real RIR and mixed with the report split's real noise at ``--snr`` dB, and
the default ``restore`` (``chain``) runs on it with ``deepfilter.threads: 1`` (one pass) and
``0`` (one piece per usable core), alternating, ``--repeats`` times each in this process after one
untimed warm-up. Wall and process CPU time per run (RTF = time / audio duration); the outputs'
SI-SDR against the clean recording and DNSMOS OVRL (mean over 9 s windows) show what the pieces
cost in quality.

    python benchmarks/bench_restore_speed.py --minutes 3 --repeats 3 --write
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_restore as B  # noqa: E402

from notsofar.config import load_config  # noqa: E402
from notsofar.metrics import dnsmos, si_sdr  # noqa: E402
from notsofar.parallel import usable_cores  # noqa: E402
from notsofar.restore import degrade as D  # noqa: E402
from notsofar.restore import restore_array  # noqa: E402
from notsofar.restore.config import RestoreConfig  # noqa: E402

SR = B.SR
TITLE = "## Restoration speed on a long recording"


def recording(root: Path, minutes: float, snr_db: float) -> tuple[np.ndarray, np.ndarray]:
    """(clean, degraded) recordings of real report-split speech, ``minutes`` long."""
    utts = B.utterances(root, "report", n=10_000)
    gap = np.zeros(int(0.3 * SR), np.float32)
    parts, total, i = [], 0, 0
    while total < minutes * 60 * SR:
        parts += [utts[i % len(utts)].audio, gap]
        total += len(parts[-2]) + len(gap)
        i += 1
    clean = np.concatenate(parts)[: int(minutes * 60 * SR)]
    noise = np.resize(B.real_noise(root, "report"), len(clean))
    wet = D.reverberate(clean, B.real_rir(root))
    return clean, D.add_noise(wet, snr_db, noise=noise).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--realspeech", type=Path, default=B.REAL)
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--snr", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="replace the section in BENCHMARKS.md")
    args = ap.parse_args()

    started = dt.datetime.now(dt.UTC)
    clean, noisy = recording(args.realspeech, args.minutes, args.snr)
    dur = len(noisy) / SR
    cfgs = {
        "one pass": load_config(RestoreConfig, None, ["deepfilter.threads=1"]),
        f"pieces ({usable_cores()} cores)": load_config(RestoreConfig, None, []),
    }
    restore_array(noisy[: 10 * SR], SR, cfgs["one pass"])  # warm-up: libraries, model file
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in cfgs}
    outs: dict[str, np.ndarray] = {}
    for r in range(args.repeats):
        for name, cfg in cfgs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            outs[name] = restore_array(noisy, SR, cfg)
            times[name].append((time.perf_counter() - t0, time.process_time() - c0))
            print(f"run {r + 1} {name}: {times[name][-1][0]:.1f} s wall", flush=True)

    def ovrl(x: np.ndarray) -> float:
        return float(dnsmos(x, SR)["ovrl"])

    rows = [
        "| system | wall RTF (median) | CPU RTF (median) | wall s, each run | SI-SDR dB | "
        "DNSMOS OVRL |",
        "|---|---|---|---|---|---|",
        f"| input | - | - | - | {si_sdr(noisy, clean):.1f} | {ovrl(noisy):.2f} |",
    ]
    for name, ts in times.items():
        wall = statistics.median(t[0] for t in ts) / dur
        cpu = statistics.median(t[1] for t in ts) / dur
        each = " / ".join(f"{t[0]:.1f}" for t in ts)
        rows.append(
            f"| chain, {name} | {wall:.3f} | {cpu:.3f} | {each} | "
            f"{si_sdr(outs[name], clean):.1f} | {ovrl(outs[name]):.2f} |"
        )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    cmd = "python benchmarks/bench_restore_speed.py " + " ".join(sys.argv[1:])
    text = "\n".join(
        [
            TITLE,
            "",
            f"- Command: `{cmd}` (repo root, venv active)",
            f"- Machine: {usable_cores()} usable CPU cores "
            f"({platform.processor() or platform.machine()}); {started:%Y-%m-%d %H:%M} UTC; "
            f"git {commit}.",
            f"- Recording: {dur / 60:.1f} min of the report split's real speech (0.3 s gaps), "
            f"real RIR, real noise at {args.snr:.0f} dB; the default `restore` (`chain`: WPE, "
            "DeepFilterNet3, late-reverberation suppression, loudness as its analysis chose); "
            f"{args.repeats} alternating runs each in one process after a warm-up.",
            "",
            *rows,
            "",
        ]
    )
    print(text)
    if args.write:
        B.write_section(text, ROOT / "BENCHMARKS.md", TITLE)


if __name__ == "__main__":
    main()
