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
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_diarize_real as bdr  # noqa: E402
from bench_tracks import cli  # noqa: E402

#: version name -> (sample rate, bit rate); None: the WAV itself
VERSIONS: dict[str, tuple[int, int] | None] = {
    "wav": None,
    "m4a-64k": (44100, 64000),
    "m4a-24k": (16000, 24000),
}


#: AAC encoder delay (samples at the encoding rate)
PRIMING = 1024


def encode_pyav(
    path: Path, x: np.ndarray, rate: int, codec: str = "aac", bit_rate: int = 0
) -> Path:
    """``x`` (``[T]`` or ``[C, T]``, float) encoded with PyAV into ``path`` (the container by its
    suffix; ``bit_rate`` 0: the encoder's default)."""
    import av

    x = np.atleast_2d(x)
    layout = "mono" if len(x) == 1 else "stereo"
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        st = c.add_stream(codec, rate=rate, layout=layout)
        if bit_rate:
            st.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(x.T.reshape(1, -1)), format="flt", layout=layout
        )
        frame.sample_rate = rate
        for packet in st.encode(frame):
            c.mux(packet)
        for packet in st.encode(None):
            c.mux(packet)
    return path


def encode(src: Path, dst: Path, rate: int, bit_rate: int) -> Path:
    """``src`` (mono) as AAC in M4A at ``rate`` Hz and ``bit_rate`` bit/s."""
    import soundfile as sf
    import soxr

    x, sr = sf.read(src, dtype="float32")
    x = soxr.resample(x, sr, rate).astype(np.float32) if sr != rate else x
    # the encoder puts 1024 samples of priming in front; phones' and FFmpeg's M4A files carry an
    # edit list that the decoder trims them with, PyAV's muxer writes none: start the source
    # that much later (our meetings open with silence) so the decoded file lines up as theirs do
    return encode_pyav(dst, x[PRIMING:], rate, "aac", bit_rate)


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
    head = "| version | DER c0 % | DER c0.5 % | count exact | max count diff | tcpWER % |"
    print(head + " diarize wall s |")
    print("|---|---|---|---|---|---|---|")
    for version, der0, der5, exact, n, worst, tcp, wall in rows:
        print(
            f"| {version} | {100 * der0:.1f} | {100 * der5:.1f} | {exact}/{n} | {worst} "
            f"| {100 * tcp:.1f} | {wall:.0f} |"
        )


if __name__ == "__main__":
    main()
