#!/usr/bin/env python
"""Telephone versions of the real-speech benchmark data, for `bench_diarize_real.py`.

    python benchmarks/make_real_meetings.py --set both                 # once (real voices)
    python benchmarks/make_telephone.py --data /work/data/realmeet \\
        --realspeech ../shared/realspeech --out /work/data/realmeet_tel
    python benchmarks/bench_diarize_real.py --set bench --skip-tcpwer --skip-mc \\
        --data /work/data/realmeet_tel --realspeech /work/data/realmeet_tel/realspeech

Every single-channel meeting of ``--data`` (``tune/`` and ``bench/``, with its manifest and
references) and every AMI excerpt of ``--realspeech/ami`` (with ``ami.rttm`` / ``ami.uem``) goes
through :func:`notsofar.restore.degrade.telephone` (300-3400 Hz, 8 kHz, G.711 mu-law) into
``--out``, same names, 8 kHz (meetings as mu-law WAV, AMI as FLAC). The 7-channel files are
left out (a telephone call has one channel), so run the benchmark with ``--skip-mc``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from notsofar.restore.degrade import telephone  # noqa: E402


def convert(src: Path, dst: Path) -> None:
    """``src`` through the telephone line into ``dst``: mu-law WAV, or for a ``.flac`` name the
    decoded samples as 16-bit FLAC (lossless: mu-law decodes to 14-bit values)."""
    x, sr = sf.read(src, dtype="float32", always_2d=True)
    y, rate = telephone(x[:, 0], sr)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(dst, y, rate, subtype="PCM_16" if dst.suffix == ".flac" else "ULAW")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="make_real_meetings.py output")
    p.add_argument("--realspeech", type=Path, required=True, help="../shared/realspeech")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    n = 0
    for split in ("tune", "bench"):
        src = args.data / split
        if not (src / "manifest.json").is_file():
            continue
        for f in sorted(src.iterdir()):
            if f.name.endswith(".7ch.wav"):
                continue
            if f.suffix == ".wav":
                convert(f, args.out / split / f.name)
                n += 1
            elif f.is_file():
                (args.out / split).mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, args.out / split / f.name)
    ami = args.realspeech / "ami"
    for f in sorted(ami.glob("*.flac")):
        if "." in f.stem:  # the lhotse snippet with its own cuts, not an RTTM excerpt
            continue
        convert(f, args.out / "realspeech" / "ami" / f.name)
        n += 1
    for name in ("ami.rttm", "ami.uem"):
        shutil.copy2(ami / name, args.out / "realspeech" / "ami" / name)
    print(f"{n} recordings -> {args.out}")


if __name__ == "__main__":
    main()
