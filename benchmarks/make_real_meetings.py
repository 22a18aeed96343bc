#!/usr/bin/env python
"""Real-voice meetings: real people's speech laid out as meetings by ``notsofar simulate``.

    python benchmarks/make_real_meetings.py                       # tune and bench sets
    python benchmarks/make_real_meetings.py --set tune --out DIR --realspeech DIR

Source: ``../shared/realspeech`` (LibriSpeech readers, CMU ARCTIC, 251 one-utterance
LibriSpeech speakers, real recorded noise; see its README for licences). Speakers are split
**by speaker** into a tuning set and a benchmark set, so no voice of the benchmark is heard
while tuning:

- ``tune``: transcribed LS19, LS61, ARCTIC_aew, and one half of the 251 speakers;
- ``bench``: transcribed LS26, LS27, LS2412, ARCTIC_axb, and the other half
  (the 251 are sorted by sex then id and dealt alternately; the 251 also hold utterances of
  readers 19, 26 and 27: those are left out, the readers being in the sets already).

Two kinds of meeting:

- ``words``: whole transcribed utterances (leading/trailing silence trimmed), so the reference
  has every word and tcpWER can be scored. Only a few transcribed speakers exist, so these
  have 2-4 speakers and the one-to-three-utterance speakers repeat their utterances.
- ``voices``: diarization only (no words in the reference): each utterance is cut at its pauses
  into chunks of 0.5-10 s (about a third of them under 2.5 s: short, backchannel-like turns), so
  2-6 speakers take turns with varied turn lengths.

Two more sets check long recordings (15-25 min, where a stray piece of a known voice is
likelier to stay a speaker of its own), outside the tune/bench split of speakers since only
the three LibriSpeech readers hold that much speech: ``long`` (6 meetings of 3-5 speakers,
voices from the tune pool, on which the long-recording rules were chosen, plus 4 with a
genuinely brief fourth speaker: two turns of one LibriSpeech utterance inserted into pauses of
``lw01``/``lw02``, 8-17 s in all, to measure what those rules cost) and ``longcheck`` (4 more,
voices from the bench pool, run once after the choice).

Three more sets are held out for later choices: ``bench2``, ``bench3`` and ``bench4`` (20
diarization-only meetings each, 2-6 speakers, 1.5-3 min, from the bench pool with new seeds).
``bench2`` was made 2026-12-07 after the mixture rule's settings were fixed on the tuning
meetings and the AMI excerpts, and run once; ``bench3`` the same day, after bench2 had been
looked into; ``bench4`` on 2026-12-08, first read by the run that re-measured the diarizer on a
rebuilt data folder.

Each meeting is made by ``notsofar simulate --mode meeting`` (configs/simulate/meeting.yaml)
from a TSV (``path<TAB>speaker<TAB>text``) listing exactly its speakers' prepared utterances,
in a simulated room (near: RT60 0.15-0.3 s, 0.5-1 m; far: RT60 0.4-0.8 s, 1.2-2.5 m) with the
real recorded noise of realspeech/noise, on the 7-mic NOTSOFAR array. Written per meeting, in
``OUT/<set>/``: ``<name>.wav`` (one channel: mic 0 of the array), ``<name>.7ch.wav`` (all 7),
``<name>.ref.rttm``, ``<name>.ref.seglst.json`` (session/file id = name), and ``manifest.json``
for the set. Everything is seeded: the same realspeech folder gives the same files. A meeting
whose files exist is skipped; ``--force`` remakes.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from notsofar.data import Transcript

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REALSPEECH = REPO.parent / "shared" / "realspeech"
DEFAULT_OUT = Path("/work/data/realmeet")
SR = 16000

#: transcribed speakers (speech.tsv) of each split
WORD_SPEAKERS = {
    "tune": ("LS19", "LS61", "ARCTIC_aew"),
    "bench": ("LS26", "LS27", "LS2412", "ARCTIC_axb"),
}
#: readers whose utterances also appear among the 251 one-utterance speakers
READER_IDS = ("19", "26", "27", "61", "2412")

#: acoustic conditions: rt60_s, distance_m, snr_db ranges
CONDITIONS = {
    "near": ((0.15, 0.3), (0.5, 1.0), (15.0, 30.0)),
    "far": ((0.4, 0.8), (1.2, 2.5), (5.0, 15.0)),
}


@dataclass(frozen=True)
class MeetingSpec:
    """One meeting: its name, kind, speakers (None: drawn from the split's pool), length."""

    name: str
    kind: str  # words | voices
    num_speakers: int
    minutes: float
    condition: str  # near | far
    seed: int
    speakers: tuple[str, ...] | None = None
    overlap_prob: float = 0.35


#: the long-recording sets: which speaker pool their ``voices`` meetings draw from
LONG_SETS = {"long": "tune", "longcheck": "bench"}
#: further short sets: which split's speakers (pool and transcribed readers) they draw from
FRESH_SETS = {"bench2": "bench", "bench3": "bench", "bench4": "bench"}
#: ``long`` meetings with a brief fourth speaker: (base meeting, LibriSpeech utterance)
BRIEF = (
    ("lw01_3spk", "198-126831-0000"),
    ("lw02_3spk", "8770-295462-0000"),
    ("lw01_3spk", "4640-19187-0000"),
    ("lw02_3spk", "7278-104730-0000"),
)


def _long_specs(split: str) -> list[MeetingSpec]:
    readers = ("LS19", "LS26", "LS27")
    if split == "long":
        return [
            MeetingSpec("lw01_3spk", "words", 3, 15.0, "near", 9001, readers),
            MeetingSpec("lw02_3spk", "words", 3, 15.0, "far", 9002, readers),
            MeetingSpec("lw03_4spk", "words", 4, 20.0, "near", 9003, (*readers, "ARCTIC_aew")),
            MeetingSpec(
                "lw04_4spk", "words", 4, 20.0, "far", 9004, ("LS26", "LS27", "LS19", "ARCTIC_axb")
            ),
            MeetingSpec("lv05_5spk", "voices", 5, 15.0, "far", 9005, None, 0.35),
            MeetingSpec("lv06_4spk", "voices", 4, 15.0, "near", 9006, None, 0.35),
        ]
    return [
        MeetingSpec(
            "cw01_4spk", "words", 4, 12.0, "far", 9101, ("LS26", "LS27", "LS2412", "ARCTIC_axb")
        ),
        MeetingSpec("cv02_6spk", "voices", 6, 20.0, "near", 9102, None, 0.35),
        MeetingSpec("cv03_3spk", "voices", 3, 10.0, "far", 9103, None, 0.3),
        MeetingSpec("cw04_3spk", "words", 3, 25.0, "near", 9104, ("LS19", "LS61", "ARCTIC_aew")),
    ]


def _specs(split: str) -> list[MeetingSpec]:
    """The meetings of a split: bench 5 with words and 10 diarization-only, tune 12 and 30;
    seeds differ per split."""
    if split in LONG_SETS:
        return _long_specs(split)
    if split in FRESH_SETS:
        n = int(split.removeprefix("bench"))  # bench2: r2v01..., seeds 7700...; bench3: 7800...
        return [
            MeetingSpec(
                f"r{n}v{i + 1:02d}_{2 + i % 5}spk",
                "voices",
                2 + i % 5,
                (1.5, 2.0, 2.5, 3.0)[i % 4],
                "far" if (i // 5) % 2 == 0 else "near",
                7500 + 100 * n + i,
                None,
                (0.3, 0.4, 0.5)[i % 3],
            )
            for i in range(20)
        ]
    base = 7100 if split == "tune" else 7300
    p = "rt" if split == "tune" else "rb"
    if split == "tune":
        words = [
            ("LS19", "ARCTIC_aew"),
            ("LS19", "LS61"),
            ("LS19", "LS61", "ARCTIC_aew"),
            ("LS19", "ARCTIC_aew", "LS61"),
        ]
    else:
        words = [
            ("LS26", "LS27"),
            ("LS27", "ARCTIC_axb"),
            ("LS26", "LS2412"),
            ("LS26", "LS27", "ARCTIC_axb"),
            ("LS26", "LS27", "ARCTIC_axb", "LS2412"),
        ]
    out = []
    for i, spk in enumerate(words):
        cond = "near" if i % 2 == 0 else "far"
        minutes = (1.0, 1.5, 2.0, 1.5, 2.5)[i]
        out.append(
            MeetingSpec(
                f"{p}w{i + 1:02d}_{len(spk)}spk", "words", len(spk), minutes, cond, base + i, spk
            )
        )
    counts = (2, 3, 4, 5, 6, 2, 3, 4, 5, 6)
    minutes = (1.0, 1.5, 2.0, 2.5, 3.0, 1.5, 2.0, 2.5, 3.0, 2.0)
    for i, (k, m) in enumerate(zip(counts, minutes, strict=True)):
        cond = "far" if i % 2 == 0 else "near"
        ov = (0.3, 0.4, 0.5)[i % 3]
        out.append(
            MeetingSpec(f"{p}v{i + 1:02d}_{k}spk", "voices", k, m, cond, base + 50 + i, None, ov)
        )
    if split == "tune":
        # 8 more with words, for choosing ASR settings on real voices (4 could not separate
        # them): the same three transcribed tuning speakers, other utterances and rooms
        combos = [("LS19", "LS61"), ("ARCTIC_aew", "LS61"), ("LS61", "LS19", "ARCTIC_aew")]
        for i in range(8):
            spk = combos[i % 3]
            cond = "far" if i % 2 == 0 else "near"
            m = (1.5, 2.0, 2.5)[i % 3]
            name = f"{p}w{i + 5:02d}_{len(spk)}spk"
            out.append(MeetingSpec(name, "words", len(spk), m, cond, base + 120 + i, spk))
        # 20 more for choosing settings: 14 meetings could not separate neighbouring settings
        # (exact counts moved 4-8/14 between them), most of all on 5-6 speakers
        for i in range(20):
            k = 2 + i % 5
            m = (1.5, 2.0, 2.5, 3.0)[i % 4]
            cond = "far" if (i // 5) % 2 == 0 else "near"
            ov = (0.3, 0.4, 0.5)[i % 3]
            name = f"{p}v{i + 11:02d}_{k}spk"
            out.append(MeetingSpec(name, "voices", k, m, cond, base + 150 + i, None, ov))
    return out


# ---- speech preparation -------------------------------------------------------------------


def _frames_db(x: np.ndarray, hop: int = SR // 100) -> np.ndarray:
    n = len(x) // hop
    e = (x[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1)
    return 10 * np.log10(e + 1e-12)


def speech_regions(
    x: np.ndarray, min_pause_s: float = 0.25, rel_db: float = 35.0
) -> list[tuple[int, int]]:
    """Sample ranges of speech in a clean utterance, split at pauses of ``min_pause_s`` or more.

    A 10 ms frame is speech when within ``rel_db`` of the utterance's 95th-percentile level.

    >>> t = np.arange(SR) / SR
    >>> x = np.concatenate([np.zeros(SR // 2), np.sin(2 * np.pi * 200 * t), np.zeros(SR // 2)])
    >>> speech_regions(x.astype(np.float32))
    [(8000, 24000)]
    """
    hop = SR // 100
    db = _frames_db(x, hop)
    if db.size == 0:
        return []
    on = db > np.percentile(db, 95) - rel_db
    regions: list[list[int]] = []
    gap = int(min_pause_s * 100)
    for f in np.flatnonzero(on):
        if regions and f - regions[-1][1] <= gap:
            regions[-1][1] = f + 1
        else:
            regions.append([int(f), int(f) + 1])
    return [(a * hop, b * hop) for a, b in regions if b - a >= 15]  # >= 150 ms


def trimmed(x: np.ndarray, margin_s: float = 0.1) -> np.ndarray:
    """The utterance without its leading and trailing silence (``margin_s`` kept each side);
    frames 25 dB under the loud ones count as silence (LibriSpeech's noise floor lies 30-40 dB
    down, so 35 dB would keep it)."""
    r = speech_regions(x, rel_db=25.0)
    if not r:
        return x
    m = int(margin_s * SR)
    return x[max(0, r[0][0] - m) : min(len(x), r[-1][1] + m)]


def chunks(x: np.ndarray, rng: np.random.Generator, margin_s: float = 0.1) -> list[np.ndarray]:
    """Cut an utterance at its pauses into turns: about a third short (target 1.5 s), the rest
    3-10 s; a phrase is never cut inside. Pauses here are 120 ms at 25 dB below the loud
    frames: LibriSpeech readers rarely pause longer inside an utterance."""
    r = speech_regions(x, min_pause_s=0.12, rel_db=25.0)
    m = int(margin_s * SR)
    out = []
    i = 0
    while i < len(r):
        target = 1.5 if rng.random() < 0.35 else float(rng.uniform(3.0, 10.0))
        j = i
        while j + 1 < len(r) and (r[j + 1][1] - r[i][0]) / SR <= target:
            j += 1
        a, b = max(0, r[i][0] - m), min(len(x), r[j][1] + m)
        if (b - a) / SR >= 0.5:
            out.append(x[a:b])
        i = j + 1
    return out


def _read(path: Path) -> np.ndarray:
    from notsofar.audio import read

    x, _ = read(path, sample_rate=SR, channel="mix")
    return np.asarray(x, dtype=np.float32)


def _write_flac(path: Path, x: np.ndarray) -> None:
    from notsofar.audio import write

    if not path.exists():
        write(path, x, SR, subtype="PCM_16")


def _sexes(realspeech: Path) -> dict[str, str]:
    out = {}
    for line in (realspeech / "librispeech" / "SPEAKERS.TXT").read_text().splitlines():
        if line.startswith(";") or "|" not in line:
            continue
        f = [c.strip() for c in line.split("|")]
        out[f[0]] = f[1]
    return out


def speaker_pools(realspeech: Path) -> dict[str, list[Path]]:
    """The 251 one-utterance speakers' files, minus the readers', dealt into tune / bench."""
    sexes = _sexes(realspeech)
    files = sorted((realspeech / "librispeech" / "speakers").glob("*.flac"))
    files = [f for f in files if f.name.split("-")[0] not in READER_IDS]
    files.sort(key=lambda f: (sexes.get(f.name.split("-")[0], "?"), int(f.name.split("-")[0])))
    return {"tune": files[0::2], "bench": files[1::2]}


def word_items(realspeech: Path) -> dict[str, list[tuple[Path, str]]]:
    """Transcribed utterances by speaker from ``speech.tsv``: (audio path, text)."""
    out: dict[str, list[tuple[Path, str]]] = {}
    text = (realspeech / "speech.tsv").read_text(encoding="utf-8")
    for row in csv.reader(text.splitlines(), delimiter="\t"):
        if len(row) >= 3 and not row[0].startswith("#"):
            out.setdefault(row[1], []).append((realspeech / row[0], row[2]))
    return out


def prepare_words(
    realspeech: Path, out: Path, speakers: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    """Transcribed utterances of ``speakers`` with leading/trailing silence trimmed, written as
    FLAC under ``out/speech/words/``; returns speaker -> [(path, text)]."""
    items: dict[str, list[tuple[str, str]]] = {}
    words = word_items(realspeech)
    for spk in speakers:
        for path, text in words[spk]:
            dst = out / "speech" / "words" / spk / (path.stem + ".flac")
            if not dst.exists():
                _write_flac(dst, trimmed(_read(path)))
            items.setdefault(spk, []).append((str(dst), text))
    return items


def prepare_speech(realspeech: Path, out: Path, split: str) -> dict[str, list[tuple[str, str]]]:
    """Trimmed transcribed utterances and chunked voices of a split, written as FLAC under
    ``out/speech/``; returns speaker -> [(path, text)] (text '' for chunks)."""
    items = prepare_words(realspeech, out, WORD_SPEAKERS[split])
    for path in speaker_pools(realspeech)[split]:
        spk = "LS" + path.name.split("-")[0]
        seed = int(path.name.split("-")[0]) * 1000 + 17
        for n, c in enumerate(chunks(_read(path), np.random.default_rng(seed))):
            dst = out / "speech" / "chunks" / spk / f"{path.stem}_c{n:02d}.flac"
            _write_flac(dst, c)
            items.setdefault(spk, []).append((str(dst), ""))
    return items


# ---- meetings -----------------------------------------------------------------------------


def _pick_speakers(spec: MeetingSpec, pool: list[str]) -> tuple[str, ...]:
    if spec.speakers is not None:
        return spec.speakers
    rng = np.random.default_rng(spec.seed)
    return tuple(pool[int(i)] for i in rng.choice(len(pool), size=spec.num_speakers, replace=False))


def simulate_meeting(
    spec: MeetingSpec,
    speakers: tuple[str, ...],
    items: dict[str, list[tuple[str, str]]],
    noise: Path | None,
    work: Path,
    columns: Sequence[str] = ("mixture",),
) -> Path:
    """Run ``notsofar simulate --mode meeting`` for one meeting; returns its shard.

    ``noise``: recorded noise (file or folder); None uses generated diffuse noise. ``columns``:
    what the shard holds (the speakers' images too for ``make_tracks.py``; the same seed gives
    the same meeting whatever is written)."""
    folder = work / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    tsv = folder / "speech.tsv"
    lines = [f"{p}\t{s}\t{t}\n" for s in speakers for p, t in items[s]]
    tsv.write_text("".join(lines), encoding="utf-8")
    rt60, dist, snr = CONDITIONS[spec.condition]
    seconds = spec.minutes * 60.0
    sets = {
        "mix.meeting_s": seconds,
        "mix.meeting_speakers": [spec.num_speakers, spec.num_speakers],
        "mix.overlap_prob": spec.overlap_prob,
        "mix.pause_s": [0.1, 0.9],
        "mix.overlap_s": [0.5, 2.5],
        "rirs.rt60_s": list(rt60),
        "rirs.distance_m": list(dist),
        "rirs.num_rooms": 20,
        "rirs.cache_dir": str(work.parent / "rir_cache"),
        "noise.snr_db": list(snr),
        "output.examples_per_shard": 1,
        "output.columns": list(columns),
    }
    cmd = [sys.executable, "-c", "from notsofar.cli.main import main; main()", "simulate"]
    cmd += ["--config", str(REPO / "configs" / "simulate" / "meeting.yaml")]
    cmd += ["--mode", "meeting", "--speech", str(tsv), "--out", str(folder / "sim")]
    cmd += ["--noise", str(noise) if noise else "diffuse", "--seed", str(spec.seed)]
    cmd += ["--hours", repr(seconds / 3600), "--quiet"]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={json.dumps(v)}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"simulate failed for {spec.name}: {r.stderr.strip()[-2000:]}")
    shards = sorted((folder / "sim" / "shards").glob("*.tar"))
    if len(shards) != 1:
        raise RuntimeError(f"{spec.name}: expected one shard, found {len(shards)}")
    return shards[0]


def export_meeting(shard: Path, name: str, dest: Path) -> dict:
    """Write the meeting's audio and references from its shard; returns its manifest entry."""
    from notsofar.audio import write
    from notsofar.data import Transcript
    from notsofar.io.atomic import write_text
    from notsofar.simulate.css_format import iter_shard
    from notsofar.simulate.meeting import to_rttm
    from notsofar.simulate.sources import read_manifest

    ((ex_id, cols, extra),) = list(iter_shard(shard))
    mix = np.asarray(cols["mixture"], dtype=np.float32).T  # [C, T]
    ref = Transcript.from_seglst(json.loads(extra["seglst.json"])).with_session_id(name)
    write(dest / f"{name}.7ch.wav", mix, SR, subtype="PCM_16")
    write(dest / f"{name}.wav", mix[0], SR, subtype="PCM_16")
    write_text(dest / f"{name}.ref.seglst.json", ref.to_json())
    write_text(dest / f"{name}.ref.rttm", to_rttm(ref))
    (cut,) = read_manifest(shard.with_suffix(".jsonl.gz"))
    p = cut["custom"]["params"]
    keep = ("snr_db", "rt60_s", "room_dims_m", "noise", "speaker_gains_db")
    return {k: p[k] for k in keep if k in p}


def make_split(realspeech: Path, out: Path, split: str, force: bool, only: list[str]) -> Path:
    """Make (or complete) one split; returns its folder."""
    from notsofar.data import Transcript
    from notsofar.io.atomic import write_text
    from notsofar.simulate.meeting import overlap_ratio

    dest = out / split
    dest.mkdir(parents=True, exist_ok=True)
    if split in LONG_SETS:
        # every transcribed speaker, and the chunked voices of one pool
        voices = prepare_speech(realspeech, out, LONG_SETS[split])
        words = prepare_words(realspeech, out, sum(WORD_SPEAKERS.values(), ()))
        pool = sorted(s for s in voices if s not in words)
        items = {**voices, **words}
    else:
        speakers_of = FRESH_SETS.get(split, split)
        items = prepare_speech(realspeech, out, speakers_of)
        pool = sorted(s for s in items if s not in WORD_SPEAKERS[speakers_of])
    entries = []
    for spec in _specs(split):
        speakers = _pick_speakers(spec, pool)
        files = {
            "audio": f"{spec.name}.wav",
            "audio_7ch": f"{spec.name}.7ch.wav",
            "ref_rttm": f"{spec.name}.ref.rttm",
            "ref_seglst": f"{spec.name}.ref.seglst.json",
        }
        sim = dest / f"{spec.name}.sim.json"
        done = sim.exists() and all((dest / f).exists() for f in files.values())
        selected = not only or spec.name in only
        if not selected and not done:
            continue
        t0 = time.perf_counter()
        if selected and (force or not done):
            noise = realspeech / "noise"
            shard = simulate_meeting(spec, speakers, items, noise, out / "work" / split)
            write_text(sim, json.dumps(export_meeting(shard, spec.name, dest), indent=1) + "\n")
            shutil.rmtree(shard.parent.parent)  # the shard (~25 MB) is not needed any more
            state = f"made in {time.perf_counter() - t0:.1f} s"
        else:
            state = "exists, skipped"
        ref = Transcript.from_seglst(json.loads((dest / files["ref_seglst"]).read_text()))
        act = _activity(ref)
        entry = {
            "name": spec.name,
            **{k: v for k, v in asdict(spec).items() if k not in ("name", "speakers")},
            "speakers": sorted({s.speaker for s in ref}),
            "rt60_s": list(CONDITIONS[spec.condition][0]),
            "distance_m": list(CONDITIONS[spec.condition][1]),
            "snr_db": list(CONDITIONS[spec.condition][2]),
            "duration_s": spec.minutes * 60.0,
            "speech_s": round(float(act.any(axis=0).sum()) / 100, 2),
            "overlap_ratio": round(overlap_ratio(act), 4),
            "num_segments": len(ref),
            "has_words": spec.kind == "words",
            "simulated": json.loads(sim.read_text()),
            **files,
        }
        entries.append(entry)
        print(
            f"{split}/{spec.name}: {len(entry['speakers'])} speakers ({spec.kind}, "
            f"{spec.condition}), {spec.minutes} min, overlap {entry['overlap_ratio']:.2f}: {state}",
            flush=True,
        )
    if split == "long":
        entries += [
            brief_speaker_meeting(realspeech, dest, base, utt, force, only) for base, utt in BRIEF
        ]
        entries = [e for e in entries if e is not None]
    manifest = {
        "set": split,
        "sample_rate": SR,
        "realspeech": str(realspeech),
        "word_speakers": list(
            WORD_SPEAKERS.get(FRESH_SETS.get(split, split), sum(WORD_SPEAKERS.values(), ()))
        ),
        "meetings": entries,
    }
    write_text(dest / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    return dest


def brief_speaker_meeting(
    realspeech: Path, dest: Path, base: str, utterance: str, force: bool, only: list[str]
) -> dict | None:
    """``base`` with a brief fourth speaker: one LibriSpeech utterance (reverberated with a
    simulated room response of the kind the long meetings use), cut in two at the pause
    nearest its middle, the pieces inserted into the first pauses after 300 s and 600 s, each with 0.3 s of real recorded noise at the
    meeting's noise floor around it, at the level of the meeting's speech. Returns its
    manifest entry (None when not selected and not made)."""
    from notsofar.audio import read, write
    from notsofar.data import Segment, Transcript
    from notsofar.io.atomic import write_text
    from notsofar.simulate.meeting import to_rttm
    from notsofar.simulate.rooms import compute_rirs, sample_room

    x, _ = read(dest / f"{base}.wav", sample_rate=SR)
    ref = Transcript.from_seglst(json.loads((dest / f"{base}.ref.seglst.json").read_text()))
    u = trimmed(_read(realspeech / "librispeech" / "speakers" / f"{utterance}.flac"))
    name = f"{base[:4]}b{round(len(u) / SR):02d}_4spk"
    selected = not only or name in only
    if not (dest / f"{name}.wav").exists() and not selected:
        return None
    if force or not (dest / f"{name}.wav").exists():
        rng = np.random.default_rng(int(utterance.split("-")[0]))
        cond = "near" if base == "lw01_3spk" else "far"
        rt60, dist, _ = CONDITIONS[cond]
        room = sample_room(rng, 1, rt60_range_s=rt60, distance_range_m=dist)
        h = compute_rirs(room, max_length_s=0.5)[0, 0]
        # two turns: the utterance cut at the pause nearest its middle, each reverberated
        # (its 0.5 s tail kept in the audio, not in the turn)
        bounds = [b for _, b in speech_regions(u, min_pause_s=0.12, rel_db=25.0)[:-1]]
        cut = min(bounds, key=lambda b: abs(b - len(u) // 2), default=len(u) // 2)
        dry = (u[:cut], u[cut:])
        wets = [np.convolve(d, h)[: len(d) + SR // 2].astype(np.float32) for d in dry]
        # at the level of the meeting's speech: RMS over its reference turns
        talk = np.zeros(len(x), dtype=bool)
        for s in ref:
            talk[int(s.start_time * SR) : int(s.end_time * SR)] = True
        rms = lambda y: float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))  # noqa: E731
        gain = rms(x[talk]) / max(rms(np.concatenate(dry)), 1e-9)
        noise = _read(realspeech / "noise" / "doing_the_dishes.flac")
        floor = np.percentile(10 ** (_frames_db(x) / 20), 10)
        pad = int(0.3 * SR)
        y, shift, extra = x, 0.0, []
        for d, piece, after in zip(dry, wets, (300.0, 600.0), strict=True):
            # times in the meeting as it stands, earlier insertions included
            ends = sorted(s.end_time for s in ref if s.end_time > after + shift)
            free = [e for e in ends if not any(s.start_time < e < s.end_time for s in ref)]
            if not free:
                raise SystemExit(f"error: {base}: no pause after {after:g} s to insert into")
            t = free[0] + 0.2
            seg = noise[rng.integers(0, len(noise) - len(piece) - 2 * pad) :][
                : len(piece) + 2 * pad
            ]
            seg = seg / (np.sqrt(np.mean(seg**2)) + 1e-9) * floor
            seg[pad : pad + len(piece)] += gain * piece
            k = int(round(t * SR))
            y = np.concatenate([y[:k], seg, y[k:]])
            extra.append((t + 0.3, len(d) / SR))
            moved = len(seg) / SR
            shift += moved
            ref = Transcript(
                [
                    s
                    if s.start_time < t
                    else dataclasses.replace(
                        s, start_time=s.start_time + moved, end_time=s.end_time + moved
                    )
                    for s in ref
                ]
            )
        brief = [Segment(name, f"LS{utterance.split('-')[0]}", a, a + d, "") for a, d in extra]
        ref = Transcript(sorted([*ref, *brief], key=lambda s: s.start_time)).with_session_id(name)
        write(dest / f"{name}.wav", y, SR, subtype="PCM_16")
        write_text(dest / f"{name}.ref.seglst.json", ref.to_json())
        write_text(dest / f"{name}.ref.rttm", to_rttm(ref))
    ref = Transcript.from_seglst(json.loads((dest / f"{name}.ref.seglst.json").read_text()))
    act = _activity(ref)
    return {
        "name": name,
        "kind": "words",
        "num_speakers": 4,
        "condition": "near" if base == "lw01_3spk" else "far",
        "speakers": sorted({s.speaker for s in ref}),
        "brief_speaker_s": round(len(u) / SR, 2),
        "base": base,
        "speech_s": round(float(act.any(axis=0).sum()) / 100, 2),
        "num_segments": len(ref),
        "has_words": False,
        "audio": f"{name}.wav",
        "audio_7ch": None,
        "ref_rttm": f"{name}.ref.rttm",
        "ref_seglst": f"{name}.ref.seglst.json",
    }


def _activity(ref: Transcript) -> np.ndarray:
    """[S, frames] 10 ms activity of a reference (for its overlap ratio and speech time)."""
    names = sorted({s.speaker for s in ref})
    end = max((s.end_time for s in ref), default=0.0)
    act = np.zeros((max(1, len(names)), int(end * 100) + 1), dtype=bool)
    for s in ref:
        act[names.index(s.speaker), int(s.start_time * 100) : int(s.end_time * 100)] = True
    return act


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realspeech", type=Path, default=DEFAULT_REALSPEECH)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--set",
        dest="which",
        choices=("tune", "bench", "all", *LONG_SETS, *FRESH_SETS),
        default="all",
    )
    parser.add_argument("--only", nargs="*", default=[], help="make only these meeting names")
    parser.add_argument("--force", action="store_true", help="remake meetings that exist")
    args = parser.parse_args()
    if not (args.realspeech / "speech.tsv").exists():
        parser.exit(2, f"error: {args.realspeech}: no speech.tsv (not a realspeech folder)\n")
    for split in ("tune", "bench") if args.which == "all" else (args.which,):
        make_split(args.realspeech.resolve(), args.out, split, args.force, args.only)


if __name__ == "__main__":
    main()
