#!/usr/bin/env python
"""What a compressed recording costs: the real-voice bench meetings as WAV vs as M4A (AAC).

    python benchmarks/make_real_meetings.py --set bench              # once (real voices)
    python benchmarks/bench_compressed.py --out /work/scratch/compressed

Phones and video-call tools save AAC in M4A/MP4, which notsofar reads through FFmpeg
(:func:`notsofar.audio.decoded`). Each single-channel bench meeting (``<name>.wav``, mic 0 of
the array) is encoded with PyAV's AAC encoder into ``--out`` as

- ``m4a-64k``: 44.1 kHz, 64 kbit/s (a phone's voice memo),
- ``m4a-24k``: 16 kHz, 24 kbit/s (a low-bitrate meeting recording),

and every version goes through the CLI as a user runs it (a fresh process per recording):
``diarize`` on all meetings, ``transcribe`` on the meetings with words. Scored with the helpers of
``bench_diarize_real.py``: DER (collar 0 and pyannote 0.5, overlap scored, mean of meetings),
speaker count, tcpWER (collar 5 s, NOTSOFAR normalizer, pooled).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_diarize_real as bdr  # noqa: E402

#: version name -> (sample rate, bit rate); None: the WAV itself
VERSIONS: dict[str, tuple[int, int] | None] = {
    "wav": None,
    "m4a-64k": (44100, 64000),
    "m4a-24k": (16000, 24000),
}


#: AAC encoder delay (samples at the encoding rate)
PRIMING = 1024


def encode(src: Path, dst: Path, rate: int, bit_rate: int) -> Path:
    """``src`` (mono) as AAC in M4A at ``rate`` Hz and ``bit_rate`` bit/s."""
    import av
    import soundfile as sf
    import soxr

    x, sr = sf.read(src, dtype="float32")
    x = soxr.resample(x, sr, rate).astype(np.float32) if sr != rate else x
    # the encoder puts 1024 samples of priming in front; phones' and FFmpeg's M4A files carry an
    # edit list that the decoder trims them with, PyAV's muxer writes none: start the source
    # that much later (our meetings open with silence) so the decoded file lines up as theirs do
    x = x[PRIMING:]
    dst.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(dst), "w") as c:
        st = c.add_stream("aac", rate=rate, layout="mono")
        st.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in st.encode(frame):
            c.mux(packet)
        for packet in st.encode(None):
            c.mux(packet)
    return dst


def cli(*args: str) -> float:
    """Run ``notsofar ARGS -q``; wall seconds."""
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


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=bdr.DEFAULT_DATA, help="make_real_meetings.py")
    p.add_argument("--set", dest="split", choices=("tune", "bench"), default="bench")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--versions", default=",".join(VERSIONS))
    args = p.parse_args()

    from notsofar import io

    recs = bdr.load_meetings(args.data, args.split)
    rows = []
    for version in args.versions.split(","):
        out = args.out / version
        turns, words, wall = {}, {}, 0.0
        for r in recs:
            audio = r.audio
            if VERSIONS[version] is not None:
                audio = encode(r.audio, out / "audio" / f"{r.name}.m4a", *VERSIONS[version])
            wall += cli("diarize", str(audio), "-o", str(out / "diar"))
            turns[r.name] = io.read(out / "diar" / f"{r.name}.rttm")
            if r.has_words:
                (out / "words" / f"{r.name}.done.json").unlink(missing_ok=True)
                cli("transcribe", str(audio), "-o", str(out / "words"))
                words[r.name] = io.read(out / "words" / f"{r.name}.seglst.json")
        _, der0, _ = bdr.diarization_scores(recs, turns, 0.0)
        _, der5, _ = bdr.diarization_scores(recs, turns, 0.5)
        exact, n, worst = bdr.count_errors(recs, turns)
        _, tcp = bdr.tcpwer_scores([r for r in recs if r.has_words], words)
        rows.append((version, der0, der5, exact, n, worst, tcp, wall))
        print(
            f"{version}: DER {der0:.3f}/{der5:.3f} count {exact}/{n} tcpWER {tcp:.3f}", flush=True
        )
    print()
    print(
        "| version | DER c0 % | DER c0.5 % | count exact | max count diff | tcpWER % | diarize wall s |"
    )
    print("|---|---|---|---|---|---|---|")
    for version, der0, der5, exact, n, worst, tcp, wall in rows:
        print(
            f"| {version} | {100 * der0:.1f} | {100 * der5:.1f} | {exact}/{n} | {worst} "
            f"| {100 * tcp:.1f} | {wall:.0f} |"
        )


if __name__ == "__main__":
    main()
