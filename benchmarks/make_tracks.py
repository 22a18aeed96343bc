#!/usr/bin/env python
"""Real-voice meetings recorded one close microphone per speaker (headsets, per-guest tracks,
a call recorded one party per channel), for ``transcribe --channel speakers`` / ``auto``.

    python benchmarks/make_tracks.py --set bench --out /work/data/realtracks

The meetings of ``make_real_meetings.py`` (same specs, seeds and speakers, so the same turns and
rooms: the far-field ``<name>.wav`` of that set is the same meeting heard from the array) are
simulated again with every speaker's images in the shard. Channel ``k`` (speakers in sorted
reference order) holds speaker ``k``'s direct path and early echoes at the array's first
microphone, scaled to -20 dBFS over their speech; every other speaker's full reverberant image,
and the late reverberation of the wearer's own voice (a diffuse field reaches every microphone
alike), ``leak_db`` lower (drawn per meeting, 15-25 dB: a headset or a phone hybrid's
crosstalk); and the room's noise 25-35 dB below the speech. Written per meeting in ``OUT/<set>/``:
``<name>.tracks.wav`` (one channel per speaker, PCM 16), ``<name>.ref.rttm``,
``<name>.ref.seglst.json`` (as in the meeting set) and ``manifest.json`` (channel -> speaker,
leak and noise levels). Seeded; existing meetings are skipped unless ``--force``.

Sources and licences: ``../shared/realspeech`` (see its README).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_real_meetings as mrm  # noqa: E402

SR = mrm.SR
COLUMNS = ("mixture", "gt_spk_direct_early_echoes", "gt_spk_reverb", "gt_noise")


def _speech_rms(x: np.ndarray, mask: np.ndarray) -> float:
    sel = x[mask[: len(x)]] if mask.any() else x
    return float(np.sqrt(np.mean(sel.astype(np.float64) ** 2)) + 1e-12)


def _order(reverb: np.ndarray, ref: object, labels: list[str]) -> list[int]:
    """Which image column belongs to each reference speaker (by speech activity overlap)."""
    from scipy.optimize import linear_sum_assignment

    hop = SR // 100
    n = reverb.shape[0] // hop
    e = (reverb[: n * hop, :].reshape(n, hop, -1) ** 2).mean(axis=1)
    db = 10 * np.log10(e + 1e-12)
    active = db > (db.max(axis=0, keepdims=True) - 35)
    overlap = np.zeros((len(labels), reverb.shape[1]))
    for i, lab in enumerate(labels):
        m = np.zeros(n, dtype=bool)
        for s in ref:
            if s.speaker == lab:
                m[int(s.start_time * 100) : int(s.end_time * 100)] = True
        overlap[i] = (active & m[:, None]).sum(axis=0)
    rows, cols = linear_sum_assignment(-overlap)
    return [int(c) for _, c in sorted(zip(rows, cols, strict=True))]


def tracks_of(shard: Path, seed: int) -> tuple[np.ndarray, list[str], dict]:
    """``[S, T]`` close-microphone tracks of one simulated meeting, speaker labels, levels."""
    from notsofar.data import Transcript
    from notsofar.simulate.css_format import iter_shard

    ((_, cols, extra),) = list(iter_shard(shard))
    ref = Transcript.from_seglst(json.loads(extra["seglst.json"]))
    labels = sorted(ref.speakers)
    early = np.asarray(cols["gt_spk_direct_early_echoes"], dtype=np.float32)[:, 0, :]
    reverb = np.asarray(cols["gt_spk_reverb"], dtype=np.float32)[:, 0, :]
    noise = np.asarray(cols["gt_noise"], dtype=np.float32)[:, 0]
    order = _order(reverb, ref, labels)
    rng = np.random.default_rng(seed + 1000)
    leak_db = float(rng.uniform(15.0, 25.0))
    snr_db = float(rng.uniform(25.0, 35.0))
    target = 10 ** (-20 / 20)
    masks = []
    for lab in labels:
        m = np.zeros(len(noise), dtype=bool)
        for s in ref:
            if s.speaker == lab:
                m[int(s.start_time * SR) : int(s.end_time * SR)] = True
        masks.append(m)
    g_own = [target / _speech_rms(early[:, order[i]], masks[i]) for i in range(len(labels))]
    g_far = [target / _speech_rms(reverb[:, order[i]], masks[i]) for i in range(len(labels))]
    noise = noise * (target * 10 ** (-snr_db / 20) / _speech_rms(noise, np.ones(len(noise), bool)))
    leak = 10 ** (-leak_db / 20)
    out = []
    for k in range(len(labels)):
        own = g_own[k] * early[:, order[k]]
        # the room's late reverberation of the wearer's own voice reaches their microphone as
        # it reaches the others' (a diffuse field): at the crosstalk level, like the others
        late = g_far[k] * (reverb[:, order[k]] - early[:, order[k]])
        others = sum(g_far[j] * reverb[:, order[j]] for j in range(len(labels)) if j != k)
        out.append(own + leak * (late + others) + noise)
    out = np.stack(out)
    peak = np.abs(out).max()
    if peak > 0.99:
        out *= 0.99 / peak
    return out, labels, {"leak_db": round(leak_db, 2), "noise_db": round(-snr_db, 2)}


def make_set(realspeech: Path, meetings: Path, out: Path, split: str, force: bool) -> Path:
    from notsofar.audio import write
    from notsofar.io.atomic import write_text

    dest = out / split
    dest.mkdir(parents=True, exist_ok=True)
    items = mrm.prepare_speech(realspeech, meetings, split)
    pool = sorted(s for s in items if s not in mrm.WORD_SPEAKERS[split])
    entries = []
    for spec in mrm._specs(split):
        wav = dest / f"{spec.name}.tracks.wav"
        info_path = dest / f"{spec.name}.tracks.json"
        if force or not (wav.exists() and info_path.exists()):
            speakers = mrm._pick_speakers(spec, pool)
            shard = mrm.simulate_meeting(
                spec, speakers, items, realspeech / "noise", out / "work" / split, COLUMNS
            )
            x, labels, levels = tracks_of(shard, spec.seed)
            shutil.rmtree(shard.parent.parent)
            write(wav, x, SR, subtype="PCM_16")
            write_text(info_path, json.dumps({"channels": labels, **levels}, indent=1) + "\n")
            state = "made"
        else:
            state = "exists, skipped"
        for suffix in (".ref.rttm", ".ref.seglst.json"):
            src = meetings / split / f"{spec.name}{suffix}"
            if src.exists():
                shutil.copy(src, dest / src.name)
        info = json.loads(info_path.read_text())
        entries.append({"name": spec.name, "kind": spec.kind, "condition": spec.condition, **info})
        tracks, leak = len(info["channels"]), info["leak_db"]
        print(
            f"{split}/{spec.name}: {tracks} tracks, leak {leak} dB: {state}",
            flush=True,
        )
    write_text(
        dest / "manifest.json", json.dumps({"set": split, "meetings": entries}, indent=1) + "\n"
    )
    return dest


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--set", dest="split", choices=("tune", "bench"), default="bench")
    p.add_argument("--realspeech", type=Path, default=mrm.DEFAULT_REALSPEECH)
    p.add_argument(
        "--meetings",
        type=Path,
        default=mrm.DEFAULT_OUT,
        help="make_real_meetings.py's --out (references; prepared speech)",
    )
    p.add_argument("--out", type=Path, default=Path("/work/data/realtracks"))
    p.add_argument("--force", action="store_true")
    args = p.parse_args()
    make_set(args.realspeech, args.meetings, args.out, args.split, args.force)


if __name__ == "__main__":
    main()
