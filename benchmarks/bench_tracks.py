#!/usr/bin/env python
"""One close microphone per speaker: ``transcribe`` / ``diarize`` on the tracks of
``make_tracks.py`` against the same meetings through the diarizer.

    python benchmarks/bench_tracks.py --set bench --tracks /work/data/realtracks \\
        --meetings /work/data/realmeet --out /work/scratch/bench_tracks

Systems, each through the CLI as a user runs it (a fresh process per recording):

- ``tracks``: the tracks file with the default ``channel: auto`` (two channels: recognised as
  one speaker per channel) or ``--channel speakers`` (three or more);
- ``files``: the same tracks as one file per speaker in a folder (written into ``--out``,
  each named after its reference speaker), ``--channel speakers`` on the folder: a video
  call's separate recording of every participant; it should read as ``tracks`` does;
- ``tracks-mix``: the same file with ``--channel mix``: the close microphones averaged, then
  the diarizer (what a user gets who mixes their tracks down);
- ``array``: the meeting's far-field single channel (``make_real_meetings.py``'s
  ``<name>.wav``: mic 0 of the array) through the default path.

Scored per meeting: DER (pyannote.metrics through ``notsofar score``, collar 0 and 0.25 s per
side, overlap scored), speaker count; on meetings with words tcpWER (collar 5 s, NOTSOFAR
normalizer) of ``transcribe``. ``--crosstalk`` runs ``tracks`` with other ``crosstalk_db``
values (diarization only; for choosing it on the tune set).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str) -> float:
    """Run ``notsofar ARGS -q`` in a fresh process; wall seconds (a one-line error on failure)."""
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "notsofar.cli.main", *args, "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        raise RuntimeError(f"notsofar {' '.join(args)}: {r.stderr.strip()[-1500:]}")
    return time.perf_counter() - t0


def _der(ref: Path, hyp: Path) -> tuple[float, float, int]:
    """DER with collar 0 and pyannote collar 0.5 (overlap scored), and the speakers found."""
    from notsofar import io
    from notsofar.score import score
    from notsofar.score.config import DiarizationMetricConfig, ScoreConfig

    r, h = io.read(ref), io.read(hyp).with_session_id(io.read(ref)[0].session_id)
    d0, d5 = (
        score(r, h, ScoreConfig(("der",), der=DiarizationMetricConfig(c))).metric("der").micro
        for c in (0.0, 0.5)
    )
    return float(d0), float(d5), len(h.speakers)


def _split(tracks: Path, speakers: list[str], folder: Path) -> Path:
    """The tracks file as one file per speaker in ``folder``, named after them."""
    import soundfile as sf

    x, sr = sf.read(tracks, dtype="float32", always_2d=True)
    folder.mkdir(parents=True, exist_ok=True)
    for k, spk in enumerate(speakers):
        sf.write(folder / f"{spk}.flac", x[:, k], sr, subtype="PCM_16")
    return folder


def _tcpwer(ref: Path, hyp: Path) -> tuple[int, int]:
    from notsofar import io
    from notsofar.score import score
    from notsofar.score.config import ScoreConfig

    m = score(io.read(ref), io.read(hyp), ScoreConfig(metrics=("tcpwer",))).metric("tcpwer")
    return int(m.errors), int(m.length)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--set", dest="split", choices=("tune", "bench"), default="bench")
    p.add_argument("--tracks", type=Path, default=Path("/work/data/realtracks"))
    p.add_argument("--meetings", type=Path, default=Path("/work/data/realmeet"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--systems", default="tracks,files,tracks-mix,array")
    p.add_argument("--crosstalk", default="", help="extra crosstalk_db values, e.g. 6,15")
    p.add_argument("--skip-words", action="store_true", help="diarization only")
    p.add_argument("--save-json", type=Path)
    args = p.parse_args()

    manifest = json.loads((args.tracks / args.split / "manifest.json").read_text())
    systems = [s for s in args.systems.split(",") if s]
    systems += [f"tracks@{v}" for v in args.crosstalk.split(",") if v]
    rows: dict[str, dict[str, dict]] = {s: {} for s in systems}
    for m in manifest["meetings"]:
        name, n = m["name"], len(m["channels"])
        ref_rttm = args.tracks / args.split / f"{name}.ref.rttm"
        ref_seg = args.tracks / args.split / f"{name}.ref.seglst.json"
        for system in systems:
            out = args.out / args.split / system.replace("@", "_")
            if system == "files":
                audio = _split(
                    args.tracks / args.split / f"{name}.tracks.wav",
                    m["channels"],
                    out / "split" / name,
                )
                extra = ["--channel", "speakers"]
            elif system.startswith("tracks"):
                audio = args.tracks / args.split / f"{name}.tracks.wav"
                extra = ["--channel", "mix"] if system == "tracks-mix" else []
                if system != "tracks-mix" and n > 2:
                    extra = ["--channel", "speakers"]
                if "@" in system:
                    extra += ["--set", f"crosstalk_db={system.split('@')[1]}"]
            else:
                audio = args.meetings / args.split / f"{name}.wav"
                extra = []
            wall = cli("diarize", str(audio), "-o", str(out / "diar"), *extra)
            d0, d5, found = _der(ref_rttm, out / "diar" / f"{name}.rttm")
            row = {"der0": d0, "der5": d5, "spk": found, "ref_spk": n, "diar_s": wall}
            if m["kind"] == "words" and not args.skip_words and "@" not in system:
                (out / "words" / f"{name}.done.json").unlink(missing_ok=True)
                row["asr_s"] = cli("transcribe", str(audio), "-o", str(out / "words"), *extra)
                row["tcp"] = _tcpwer(ref_seg, out / "words" / f"{name}.seglst.json")
            rows[system][name] = row
            tcp = f" tcpWER {row['tcp'][0]}/{row['tcp'][1]}" if "tcp" in row else ""
            print(
                f"{system:12s} {name}: DER {d0:.3f}/{d5:.3f} spk {found}/{n}{tcp} ({wall:.1f} s)",
                flush=True,
            )
    print()
    print("| system | DER c0 % | DER c0.5 % | count exact | max count diff | tcpWER % (words) |")
    print("|---|---|---|---|---|---|")
    for system, per in rows.items():
        d0 = 100 * sum(r["der0"] for r in per.values()) / len(per)
        d5 = 100 * sum(r["der5"] for r in per.values()) / len(per)
        exact = sum(r["spk"] == r["ref_spk"] for r in per.values())
        off = max(abs(r["spk"] - r["ref_spk"]) for r in per.values())
        errs = sum(r["tcp"][0] for r in per.values() if "tcp" in r)
        total = sum(r["tcp"][1] for r in per.values() if "tcp" in r)
        tcp = f"{100 * errs / total:.1f}" if total else "-"
        print(f"| {system} | {d0:.1f} | {d5:.1f} | {exact}/{len(per)} | {off} | {tcp} |")
    if args.save_json:
        args.save_json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
