#!/usr/bin/env python
"""Speaker identification on real voices: are diarized speakers named after the right person?

    python benchmarks/bench_identify.py --set tune --sweep      # choose identify_threshold
    python benchmarks/bench_identify.py --set bench --set longcheck --write

Data: the real-voice meetings of ``benchmarks/make_real_meetings.py`` (``/work/data/realmeet``).
Each meeting gets its own folder of voice samples, a roster as a team would have it:

- every LibriSpeech reader of the set's speaker pool who holds utterances the meeting does not
  use (tune: LS19; bench: LS26, LS27; long sets: all three): two such utterances each, in a
  sub-folder named after the reader (clean read speech, while the meeting is far-field);
- ``--distractors`` (4) people who are *not* in the meeting: one-utterance LibriSpeech speakers
  of the same pool heard in other meetings of the set, one file each.

So a named speaker is either right (the reference speaker who holds most of its time is the
person named), or wrong (anyone else, distractors included); a reference speaker who has a
sample and is found by the diarizer but not named is a miss. Speakers without a sample (the
one-utterance voices, LS61, ARCTIC) must stay ``spk<k>``.

Systems: ``ours`` (the default diarizer, then naming) and ``oracle`` (the reference turns, then
naming: the naming alone). Reported: names right / wrong / missed, and pyannote.metrics'
identification error rate (IER: DER without the optimal mapping, so a wrong or missing name
costs its speaker's time) next to the DER of the same turns.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_diarize_real as bdr  # noqa: E402

READERS = {"tune": ("LS19",), "bench": ("LS26", "LS27")}
READERS["long"] = READERS["longcheck"] = ("LS19", "LS26", "LS27")
THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.78, 0.8, 0.85, 0.9)


def meeting_utterances(data: Path, split: str, name: str, made: Path | None = None) -> set[str]:
    """File names (no folder) of the utterances heard in ``name``: those of its speech list
    (``work/<set>/<name>/speech.tsv``, the candidates the simulator drew from) whose
    transcript appears in the reference's words."""
    said = " | ".join(
        s["words"] for s in json.loads((data / split / f"{name}.ref.seglst.json").read_text())
    )
    made = made or data
    tsv = made / "work" / split / name / "speech.tsv"
    if not tsv.exists():  # lw01b17_4spk: lw01_3spk with a brief speaker's turns inserted
        base = name.split("b")[0] if "b" in name else name
        tsv = next((made / "work" / split).glob(f"{base}_*/speech.tsv"))
    out = set()
    for line in tsv.read_text().splitlines():
        path, _, text = line.split("\t")
        if not text or text in said:
            out.add(Path(path).name)
    return out


def roster(
    data: Path,
    realspeech: Path,
    split: str,
    rec: Any,
    out: Path,
    distractors: int,
    made: Path | None = None,
) -> dict[str, str]:
    """Write ``out/<person>/...`` sample links for one meeting; person -> kind."""
    import soundfile as sf

    made = made or data
    used = meeting_utterances(data, split, rec.name, made)
    out.mkdir(parents=True)
    present = {s.speaker for s in rec.ref}
    people: dict[str, str] = {}
    for reader in READERS[split]:
        free = [
            p
            for p in sorted((made / "speech" / "words" / reader).glob("*.flac"))
            if p.name not in used and sf.info(str(p)).duration >= 4.0
        ]
        if len(free) < 2:
            continue
        (out / reader).mkdir()
        for p in free[:2]:
            (out / reader / p.name).symlink_to(p)
        people[reader] = "present" if reader in present else "absent"
    # one-utterance voices of the same pool heard elsewhere in the set, not in this meeting
    manifest = json.loads((data / split / "manifest.json").read_text())
    pool = sorted(
        {s for m in manifest["meetings"] for s in m["speakers"] if s not in READERS[split]}
        - present
        - {"LS61", "LS2412"}
    )
    pool = [s for s in pool if s.startswith("LS")]
    rng = np.random.default_rng(_seed(rec.name))
    for spk in rng.permutation(pool)[:distractors]:
        files = sorted((realspeech / "librispeech" / "speakers").glob(f"{spk[2:]}-*.flac"))
        if files:
            (out / f"{spk}.flac").symlink_to(files[0])
            people[str(spk)] = "absent"
    return people


def _seed(name: str) -> int:
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little") % (1 << 32)


def majority(ref: Any, hyp: Any) -> dict[str, str]:
    """Each hypothesis speaker -> the reference speaker holding most of its time."""
    out = {}
    for h in hyp.speakers:
        best, best_t = "", 0.0
        for r in ref.speakers:
            t = sum(
                max(0.0, min(a.end_time, b.end_time) - max(a.start_time, b.start_time))
                for a in hyp
                if a.speaker == h
                for b in ref
                if b.speaker == r
            )
            if t > best_t:
                best, best_t = r, t
        out[h] = best
    return out


def run(args: argparse.Namespace) -> dict:
    from notsofar.diarize import diarize_source
    from notsofar.diarize.config import DiarizeConfig
    from notsofar.diarize.identify import load_voices, narrowband, speaker_voices
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import FileSource

    cfg = DiarizeConfig()
    models = ModelCache("cpu")
    # a saved run is resumed: meetings already in it are not run again
    saved = args.save_json and args.save_json.exists()
    rows = json.loads(args.save_json.read_text())["rows"] if saved else []
    done = {(r["set"], r["name"]) for r in rows}
    tmp = Path(tempfile.mkdtemp(prefix="bench_identify_"))
    for split in args.sets:
        for rec in bdr.load_meetings(args.data, split):
            if (split, rec.name) in done:
                continue
            folder = tmp / split / rec.name
            people = roster(
                args.data, args.realspeech, split, rec, folder, args.distractors, args.made
            )
            source = FileSource(rec.audio, 0, rec.name)
            t0 = time.perf_counter()
            ours = diarize_source(source, cfg, models)
            t_diar = time.perf_counter() - t0
            for system, hyp in (("ours", ours), ("oracle", rec.ref)):
                t0 = time.perf_counter()
                emb = speaker_voices(source, hyp, cfg, models)
                voices = load_voices(folder, cfg, models, narrowband(emb, cfg))
                t_id = time.perf_counter() - t0
                sims = {
                    s: {p.name: round(float(e @ p.embedding), 4) for p in voices}
                    for s, (e, *_) in emb.items()
                }
                rows.append(
                    {
                        "set": split,
                        "name": rec.name,
                        "system": system,
                        "people": people,
                        "present": sorted(rec.ref.speakers),
                        "majority": majority(rec.ref, hyp),
                        "speakers": hyp.speakers,
                        "sims": sims,
                        "hyp": [(s.speaker, s.start_time, s.end_time) for s in hyp],
                        "identify_s": t_id,
                        "diarize_s": t_diar if system == "ours" else 0.0,
                        "duration_s": rec.duration_s,
                    }
                )
            print(f"{split} {rec.name}: {len(voices)} samples, {len(ours.speakers)} speakers")
            if args.save_json:
                args.save_json.write_text(json.dumps({"rows": rows}))
    return {"rows": [r for r in rows if r["set"] in args.sets]}


def names_at(row: dict, threshold: float) -> dict[str, str]:
    """The names :func:`notsofar.diarize.identify.match` gives at ``threshold``."""
    from notsofar.diarize.identify import Voice, match

    people = sorted(row["people"])
    voices = {
        s: (np.array([row["sims"][s][p] for p in people]), 1.0) for s in row["sims"]
    }  # similarities as coordinates against the identity: e_s . e_p = sims[s][p]
    eye = np.eye(len(people))
    found = match(voices, [Voice(p, eye[i], 1.0, ()) for i, p in enumerate(people)], threshold)
    return {s: n for s, (n, _) in found.items()}


def tally(rows: list[dict], threshold: float) -> dict[str, int]:
    t = {"right": 0, "wrong": 0, "missed": 0, "wrong_absent": 0, "nameable": 0}
    for row in rows:
        names = names_at(row, threshold)
        # reference speakers with a sample, found as some hypothesis speaker's majority
        nameable = {
            row["majority"][s]
            for s in row["speakers"]
            if row["people"].get(row["majority"][s]) == "present"
        }
        t["nameable"] += len(nameable)
        right = {n for s, n in names.items() if n == row["majority"][s]}
        t["right"] += len(right)
        for s, n in names.items():
            if n != row["majority"][s]:
                t["wrong"] += 1
                t["wrong_absent"] += row["people"][n] == "absent"
        t["missed"] += len(nameable - right)
    return t


def _grid(turns: list[tuple[str, float, float]], n: int) -> dict[str, np.ndarray]:
    """Speaker -> activity on a 10 ms grid of ``n`` frames."""
    out: dict[str, np.ndarray] = {}
    for spk, a, b in turns:
        out.setdefault(spk, np.zeros(n, bool))[int(a * 100) : int(b * 100)] = True
    return out


def named_speech(rows: list[dict], data: Path, threshold: float) -> tuple[float, float]:
    """(share of the enrolled people's reference speech labelled with their own name, share of
    the speech labelled with any person's name that is someone else's), over ``rows``, on a
    10 ms grid."""
    recs = {
        (r.group, r.name): r for s in {x["set"] for x in rows} for r in bdr.load_meetings(data, s)
    }
    own = enrolled = named = wrong = 0.0
    for row in rows:
        rec = recs[(row["set"], row["name"])]
        names = names_at(row, threshold)
        n = int(rec.duration_s * 100) + 1
        ref = _grid([(s.speaker, s.start_time, s.end_time) for s in rec.ref], n)
        hyp = _grid([(names.get(spk, spk), a, b) for spk, a, b in row["hyp"]], n)
        for person, kind in row["people"].items():
            mine = hyp.get(person, np.zeros(n, bool))
            theirs = ref.get(person, np.zeros(n, bool))
            if kind == "present":
                enrolled += theirs.sum()
                own += (mine & theirs).sum()
            named += mine.sum()
            wrong += (mine & ~theirs).sum()
    return own / max(enrolled, 1), wrong / max(named, 1)


def report(result: dict, data: Path, thresholds: tuple[float, ...]) -> list[str]:
    rows = result["rows"]
    lines = []
    for system in ("ours", "oracle"):
        rs = [r for r in rows if r["system"] == system]
        lines += [
            f"**{system}** ({len(rs)} meetings: {', '.join(sorted({r['set'] for r in rs}))})",
            "",
            "| threshold | right | wrong (of them absent people) | missed | nameable "
            "| enrolled speech named right % | named speech wrong % |",
            "|---|---|---|---|---|---|---|",
        ]
        for th in thresholds:
            t = tally(rs, th)
            right, wrong = named_speech(rs, data, th)
            lines.append(
                f"| {th:.2f} | {t['right']} | {t['wrong']} ({t['wrong_absent']}) | "
                f"{t['missed']} | {t['nameable']} | {100 * right:.1f} | {100 * wrong:.1f} |"
            )
        lines.append("")
    same, other = [], []
    for r in rows:
        if r["system"] != "oracle":
            continue
        for s, sims in r["sims"].items():
            for p, v in sims.items():
                (same if p == s else other).append(v)
    if same and other:
        lines.append(
            f"Oracle turns, cosine similarity to the samples: same person {len(same)} pairs, "
            f"min {min(same):.2f} / median {np.median(same):.2f}; other people {len(other)} "
            f"pairs, median {np.median(other):.2f} / max {max(other):.2f}."
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=bdr.DEFAULT_DATA)
    p.add_argument("--realspeech", type=Path, default=ROOT.parent / "shared" / "realspeech")
    p.add_argument("--set", dest="sets", action="append", choices=sorted(READERS))
    p.add_argument("--distractors", type=int, default=4)
    p.add_argument(
        "--made",
        type=Path,
        default=None,
        help="the make_real_meetings.py folder with work/ and speech/ (default: --data); for "
        "the telephone copies of make_telephone.py, whose meetings are the same",
    )
    p.add_argument("--sweep", action="store_true", help="every threshold of THRESHOLDS")
    p.add_argument("--save-json", type=Path)
    p.add_argument("--load-json", type=Path, help="report a saved run instead of running")
    p.add_argument("--write", action="store_true", help="replace the section in BENCHMARKS.md")
    args = p.parse_args()
    args.sets = args.sets or ["bench"]
    from notsofar.diarize.config import DiarizeConfig

    t0 = time.time()
    if args.load_json:
        result = json.loads(args.load_json.read_text())
    else:
        result = run(args)
        result["wall_s"] = time.time() - t0
        result["argv"] = sys.argv[1:]
        if args.save_json:
            args.save_json.write_text(json.dumps(result))
    default = DiarizeConfig().identify_threshold
    lines = report(result, args.data, THRESHOLDS if args.sweep else (default,))
    print("\n".join(lines))
    if args.write:
        head = [
            "## Speaker identification (`--speaker-samples`)",
            "",
            f"- Command: `python benchmarks/bench_identify.py {' '.join(result['argv'])}` "
            f"(repo root, venv active)",
            f"- Machine: {platform.machine()}, 2 cores; "
            f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; whole run "
            f"{result['wall_s']:.0f} s.",
            f"- Default `diarize.identify_threshold` {default}.",
            "",
        ]
        from bench_restore import write_section

        title = "## Speaker identification (`--speaker-samples`)"
        write_section("\n".join(head + lines) + "\n", ROOT / "BENCHMARKS.md", title)


if __name__ == "__main__":
    main()
