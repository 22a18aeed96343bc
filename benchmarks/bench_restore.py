"""Restoration benchmark on real speech: every backend and baseline side by side, one run.

Clean real utterances (``realspeech/``: LibriSpeech readers, CMU ARCTIC, LibriSpeech's other
speakers) are degraded one way at a time and in combination, then restored by each system; the
result is scored against the clean utterance.

- Splits: the real speakers are divided into a ``tune`` split (settings were chosen on it) and a
  ``report`` split (the numbers in BENCHMARKS.md); real noise is split in time the same way.
- Degradations: real noise (Speech Commands ``doing_the_dishes``, freesound 573577) at 0/5/10/20
  dB SNR; reverberation by simulated rooms (pyroomacoustics, T60 0.4-1.0 s) and by a real room
  (the RIR estimated from realspeech's time-aligned clean/reverberant LibriSpeech pair); hard
  clipping at 0.1-0.3 of the peak; low-pass to 2/4/6 kHz (the data is 16 kHz, so 8 kHz is the
  full band); MP3 at ~22 kbps (libsndfile's LAME encoder); and ``combined``: reverberation (sim or
  real) + low-pass 2-6 kHz + real noise 0-20 dB, the VoiceFixer setting.
- Systems: ``input`` (unprocessed), ``noisereduce`` (spectral gating, defaults), ``df3``
  (DeepFilterNet3 alone, full strength), and our backends/profiles: ``dsp``, ``deepfilter``,
  ``chain``, ``asr`` (and ``voicefixer`` when its checkpoints are in the cache).
- Metrics: DNSMOS P.835 SIG/BAK/OVRL, PESQ-WB, STOI, SI-SDR, LSD against the clean utterance, and
  the WER of Whisper tiny.en (``notsofar.recognize``, normalized text); CPU RTF per system.

Run from the repo root with the venv active (wrap in ``flock /tmp/notsofar-cpu.lock``)::

    python benchmarks/bench_restore.py --split report --per-type 2 --write   # BENCHMARKS.md
    python benchmarks/bench_restore.py --split tune --types combined --systems df3 chain \\
        --variant nowpe:chain.wpe=false --per-type 3                           # tuning
"""

from __future__ import annotations

import argparse
import datetime as dt
import io as _io
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from notsofar.audio import read  # noqa: E402
from notsofar.restore import degrade as D  # noqa: E402
from notsofar.restore import restore_array  # noqa: E402
from notsofar.restore.config import RestoreConfig  # noqa: E402

SR = 16000
REAL = Path("/work/shared/realspeech")
#: speakers per split (speech.tsv's speaker field); the two never share a voice.
SPLITS = {
    "tune": ("LS26", "ARCTIC_axb", "LS61"),
    "report": ("LS19", "LS27", "ARCTIC_aew", "LS2412"),
}
TYPES = [
    "clean",
    "noise0",
    "noise5",
    "noise10",
    "noise20",
    "reverb_sim",
    "reverb_real",
    "clip",
    "bw2k",
    "bw4k",
    "bw6k",
    "mp3",
    "combined",
]
SYSTEMS = ["input", "noisereduce", "df3", "dsp", "deepfilter", "chain", "asr", "voicefixer"]


@dataclass
class Utt:
    uid: str
    speaker: str
    text: str
    audio: np.ndarray


def utterances(root: Path, split: str, n: int, seed: int = 0) -> list[Utt]:
    """``n`` utterances of 3-8 s from the split's speakers, round-robin over speakers."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    by_spk: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS[split]}
    for line in (root / "speech.tsv").read_text().splitlines():
        path, spk, text = line.split("\t")
        if spk in by_spk and 3.0 <= sf.info(str(root / path)).duration <= 8.0:
            by_spk[spk].append((path, text))
    for v in by_spk.values():
        rng.shuffle(v)
    out: list[Utt] = []
    i = 0
    while len(out) < n and any(by_spk.values()):
        spk = SPLITS[split][i % len(SPLITS[split])]
        i += 1
        if by_spk[spk]:
            path, text = by_spk[spk].pop()
            x = read(root / path, SR)[0]
            out.append(
                Utt(Path(path).stem, spk, text, (0.3 * x / np.max(np.abs(x))).astype(np.float32))
            )
    return out


def real_noise(root: Path, split: str) -> np.ndarray:
    """The split's real noise: first/second half of doing_the_dishes (+ freesound for report)."""
    dishes = read(root / "noise" / "doing_the_dishes.flac", SR)[0]
    half = len(dishes) // 2
    if split == "tune":
        return dishes[:half]
    return np.concatenate([dishes[half:], read(root / "noise" / "freesound_573577.flac", SR)[0]])


def real_rir(root: Path, length_s: float = 0.8) -> np.ndarray:
    """The RIR of realspeech's clean/reverberant pair by regularized spectral division."""
    c = read(root / "pairs" / "1088-134315-0000.clean.flac", SR)[0].astype(np.float64)
    r = read(root / "pairs" / "1088-134315-0000.reverb.flac", SR)[0].astype(np.float64)
    n = len(c) + len(r)
    C, R = np.fft.rfft(c, n), np.fft.rfft(r, n)
    H = R * np.conj(C) / (np.abs(C) ** 2 + 1e-3 * np.mean(np.abs(C) ** 2))
    h = np.fft.irfft(H, n)[: int(length_s * SR)]
    return h / np.max(np.abs(h))


def mp3(x: np.ndarray) -> np.ndarray:
    import soundfile as sf

    buf = _io.BytesIO()
    sf.write(buf, x, SR, format="MP3", compression_level=0.99)
    buf.seek(0)
    y = sf.read(buf, dtype="float32")[0]
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]


def degrade(
    x: np.ndarray, kind: str, rng: np.random.Generator, noise: np.ndarray, rir: np.ndarray
) -> tuple[np.ndarray, str]:
    """One degradation of ``kind``; returns (audio, parameters)."""
    seed = int(rng.integers(1 << 30))

    def noisy(y: np.ndarray, snr: float) -> np.ndarray:
        start = int(rng.integers(0, max(1, len(noise) - len(y))))
        seg = np.resize(noise[start:], len(y))
        return D.add_noise(y, snr, noise=seg)

    if kind == "clean":
        return x, "-"
    if kind.startswith("noise"):
        snr = float(kind[5:])
        return noisy(x, snr), f"real noise {snr:.0f} dB"
    if kind == "reverb_sim":
        t60 = rng.uniform(0.4, 1.0)
        return D.reverberate(x, D.room_rir(t60, SR, seed=seed)), f"room T60 {t60:.2f} s"
    if kind == "reverb_real":
        return D.reverberate(x, rir), "real RIR"
    if kind == "clip":
        th = rng.uniform(0.1, 0.3)
        return D.clip(x, th), f"clip {th:.2f}"
    if kind.startswith("bw"):
        fc = float(kind[2:-1]) * 1000
        return D.lowpass(x, SR, fc), f"low-pass {fc / 1000:.0f} kHz"
    if kind == "mp3":
        return mp3(x), "MP3 ~22 kbps"
    # combined: the VoiceFixer setting
    sim = bool(rng.integers(2))
    t60 = rng.uniform(0.4, 1.0)
    h = D.room_rir(t60, SR, seed=seed) if sim else rir
    fc = float(rng.choice([2000, 4000, 6000]))
    snr = rng.uniform(0, 20)
    y = noisy(D.lowpass(D.reverberate(x, h), SR, fc), snr)
    where = f"room T60 {t60:.2f}" if sim else "real RIR"
    return y, f"{where}, lp {fc / 1000:.0f}k, {snr:.0f} dB"


# --------------------------------------------------------------------------- systems


def _cfg(sets: list[str]) -> RestoreConfig:
    from notsofar.config import load_config

    return load_config(RestoreConfig, None, sets)


def systems(names: list[str], variants: dict[str, list[str]]) -> dict[str, Callable]:
    """name -> f(x) for the requested systems (unavailable ones are left out with a note)."""
    out: dict[str, Callable] = {}
    for name in names:
        if name == "input":
            out[name] = lambda x: x
        elif name == "noisereduce":

            def nr(x: np.ndarray) -> np.ndarray:
                import noisereduce

                return np.asarray(noisereduce.reduce_noise(y=x, sr=SR), np.float32)

            out[name] = nr
        elif name == "df3":

            def df3(x: np.ndarray) -> np.ndarray:
                from notsofar.restore.deepfilter import enhance

                return enhance(x, SR)

            out[name] = df3
        elif name == "asr":
            c = _cfg(["profile=asr"])
            out[name] = lambda x, c=c: restore_array(x, SR, c)
        else:
            c = _cfg([f"backend={name}", "profile=listening"])
            if name == "voicefixer":
                try:
                    from notsofar.restore import check_backend

                    check_backend(c)
                except Exception as e:  # noqa: BLE001 (no weights: measured without it)
                    print(f"voicefixer left out: {e}", file=sys.stderr)
                    continue
            out[name] = lambda x, c=c: restore_array(x, SR, c)
    for label, sets in variants.items():
        c = _cfg(["profile=listening", *sets])
        out[label] = lambda x, c=c: restore_array(x, SR, c)
    return out


# --------------------------------------------------------------------------- metrics


def word_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(edit distance in words, reference length) after notsofar's text normalization."""
    from notsofar.normalize import normalize

    r, h = normalize(ref).split(), normalize(hyp).split()
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)], len(r)


class Scorer:
    def __init__(self, wer: bool) -> None:
        self.models = None
        if wer:
            from notsofar.pipeline.models import ModelCache

            self.models = ModelCache("cpu", 2)

    def __call__(self, y: np.ndarray, utt: Utt) -> dict[str, float]:
        from notsofar.metrics import dnsmos, reference_metrics

        m = dnsmos(y, SR)
        r = reference_metrics(y, utt.audio, SR)
        out = {"sig": m["sig"], "bak": m["bak"], "ovrl": m["ovrl"], **r}
        if self.models is not None:
            from notsofar.recognize import recognize

            hyp = " ".join(s.words for s in recognize(y, SR, models=self.models))
            out["err"], out["len"] = word_errors(utt.text, hyp)
        return out


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> list[dict]:
    root = args.data
    utts = utterances(root, args.split, args.per_type * len(args.types), seed=args.seed)
    noise, rir = real_noise(root, args.split), real_rir(root)
    variants = {k: v.split(",") for k, v in (s.split(":", 1) for s in args.variant)}
    fns = systems(args.systems, variants)
    score = Scorer(not args.no_wer)
    # warm-up: imports, model loads and first-call costs are not part of an item's time
    short = Utt("warm-up", "", utts[0].text, utts[0].audio[: 2 * SR])
    warm = D.add_noise(short.audio, 10.0)
    for f in fns.values():
        f(warm)
    score(warm, short)
    rng = np.random.default_rng(args.seed)
    rows = []
    k = 0
    for kind in args.types:
        for _ in range(args.per_type):
            utt = utts[k % len(utts)]
            k += 1
            x, params = degrade(utt.audio, kind, rng, noise, rir)
            dur = len(x) / SR
            row = {"type": kind, "params": params, "uid": utt.uid, "dur": dur, "sys": {}}
            for name, f in fns.items():
                c0 = time.process_time()
                y = np.asarray(f(x), np.float32)
                cpu = time.process_time() - c0
                row["sys"][name] = {**score(y, utt), "rtf": cpu / dur}
            rows.append(row)
            if args.save_json:  # after every item: an interrupted run keeps what it measured
                import json

                args.save_json.write_text(
                    json.dumps(
                        {
                            "rows": rows,
                            "wall_s": float("nan"),
                            "split": args.split,
                            "per_type": args.per_type,
                            "argv": sys.argv[1:],
                        }
                    )
                )
            print(
                f"{kind:11s} {utt.uid:22s} {params:34s} "
                + " ".join(
                    f"{n} {m['ovrl']:.2f}/{m['pesq_wb']:.2f}" for n, m in row["sys"].items()
                ),
                flush=True,
            )
    return rows


def agg(rows: list[dict], name: str, key: str) -> float:
    if key == "wer":
        e = sum(r["sys"][name].get("err", 0) for r in rows)
        n = sum(r["sys"][name].get("len", 0) for r in rows)
        return 100 * e / n if n else float("nan")
    if key == "rtf":
        return sum(r["sys"][name]["rtf"] * r["dur"] for r in rows) / sum(r["dur"] for r in rows)
    v = [r["sys"][name][key] for r in rows if np.isfinite(r["sys"][name][key])]
    return float(np.mean(v)) if v else float("nan")


KEYS = [
    ("ovrl", "OVRL", 2),
    ("sig", "SIG", 2),
    ("bak", "BAK", 2),
    ("pesq_wb", "PESQ-WB", 2),
    ("stoi", "STOI", 2),
    ("si_sdr", "SI-SDR", 1),
    ("lsd", "LSD", 2),
    ("wer", "WER %", 1),
    ("rtf", "CPU RTF", 3),
]


def tables(rows: list[dict]) -> list[str]:
    names = list(rows[0]["sys"])
    out = []
    groups = [(t, [r for r in rows if r["type"] == t]) for t in TYPES]
    groups = [(t, rs) for t, rs in groups if rs]
    for key, label, nd in KEYS:
        if key == "wer" and "err" not in rows[0]["sys"][names[0]]:
            continue
        out += [
            f"**{label}**",
            "",
            "| degradation | n | " + " | ".join(names) + " |",
            "|---|---|" + "---|" * len(names),
        ]
        for t, rs in groups:
            vals = [agg(rs, n, key) for n in names]
            out.append(f"| {t} | {len(rs)} | " + " | ".join(f"{v:.{nd}f}" for v in vals) + " |")
        out.append("")
    return out


def verdicts(rows: list[dict], default: str) -> list[str]:
    def ok(flag: bool) -> str:
        return "met" if flag else "**missed**"

    def of(t: str) -> list[dict]:
        return [r for r in rows if r["type"] == t]

    if default not in rows[0]["sys"]:
        return [f"- (`{default}` was not run: no target verdicts.)"]
    lines = []
    comb = of("combined")
    if comb:
        o, i = agg(comb, default, "ovrl"), agg(comb, "input", "ovrl")
        lines.append(
            f"- Combined degradations, `{default}`: mean OVRL {o:.2f} (target >= 3.0: "
            f"{ok(o >= 3.0)}), gain {o - i:+.2f} over the input {i:.2f} (target >= +0.8: "
            f"{ok(o - i >= 0.8)})."
        )
    single = [t for t in TYPES if t not in ("clean", "combined") and of(t)]
    if "df3" in rows[0]["sys"]:
        below = [
            t for t in single if agg(of(t), default, "ovrl") < agg(of(t), "df3", "ovrl") - 1e-9
        ]
        lines.append(
            f"- Single degradations, OVRL at least DeepFilterNet3-alone's: "
            f"{ok(not below)}" + (f" (below on {', '.join(below)})" if below else "") + "."
        )
    worse = [t for t in single if agg(of(t), default, "pesq_wb") < agg(of(t), "input", "pesq_wb")]
    lines.append(
        f"- Single degradations, PESQ-WB not below the input's: {ok(not worse)}"
        + (f" (below on {', '.join(worse)})" if worse else "")
        + "."
    )
    if of("clean"):
        loss = agg(of("clean"), "input", "ovrl") - agg(of("clean"), default, "ovrl")
        lines.append(
            f"- Clean speech OVRL change {-loss:+.3f} (target: loses <= 0.05: {ok(loss <= 0.05)})."
        )
    if "err" in rows[0]["sys"]["input"]:
        parts, good = [], True
        for t in ("noise0", "noise5", "noise10", "noise20"):
            if not of(t):
                continue
            a, b = agg(of(t), "input", "wer"), agg(of(t), default, "wer")
            need = b <= a if float(t[5:]) >= 10 else b < a
            good &= need
            parts.append(f"{t} {a:.1f} -> {b:.1f} %")
        if parts:
            lines.append(
                f"- Whisper tiny.en WER, input -> `{default}`: {', '.join(parts)} (target: "
                f"not worse at >= 10 dB, better below: {ok(good)})."
            )
    r = agg(rows, default, "rtf")
    lines.append(f"- CPU RTF of `{default}`, all items: {r:.3f} (target <= 0.1: {ok(r <= 0.1)}).")
    return lines


def tcpwer_check(meetings: list[Path], work: Path) -> list[str]:
    """``notsofar transcribe`` with restore off and on, scored with ``notsofar score``.

    ``meetings`` are folders from benchmarks/make_meetings.py (``sc.wav`` + ``ref.seglst.json``).
    Returns markdown lines with per-meeting and pooled tcpWER.
    """
    import json

    (work / "in").mkdir(parents=True, exist_ok=True)
    (work / "ref").mkdir(exist_ok=True)
    for m in meetings:
        sid = json.loads((m / "ref.seglst.json").read_text())[0]["session_id"]
        shutil.copy(m / "sc.wav", work / "in" / f"{sid}.wav")
        shutil.copy(m / "ref.seglst.json", work / "ref" / f"{sid}.seglst.json")
    result = {}
    for mode in ("off", "on"):
        out, hyp = work / f"out_{mode}", work / f"hyp_{mode}"
        flag = "true" if mode == "on" else "false"
        subprocess.run(
            [
                "notsofar",
                "transcribe",
                str(work / "in"),
                "-o",
                str(out),
                "-q",
                "--set",
                f"restore.enabled={flag}",
            ],
            check=True,
        )
        hyp.mkdir(exist_ok=True)
        for f in out.glob("*.seglst.json"):
            shutil.copy(f, hyp / f.name)
        # the report lands beside the hypothesis folder: <hyp>.score.json
        subprocess.run(
            ["notsofar", "score", "-r", str(work / "ref"), "-h", str(hyp), "-q"], check=True
        )
        result[mode] = json.loads((work / f"hyp_{mode}.score.json").read_text())
    return _tcpwer_lines(result, meetings)


def _tcpwer_lines(result: dict, meetings: list[Path]) -> list[str]:
    def rates(report: dict) -> tuple[dict[str, float], float]:
        per = {k: v["error_rate"] for k, v in report["sessions"]["tcpwer"].items()}
        summary = report["summary"]["tcpwer"]
        return per, summary["errors"] / summary["length"]

    off, pooled_off = rates(result["off"])
    on, pooled_on = rates(result["on"])
    detail = ", ".join(
        f"{k} {100 * off[k]:.1f} -> {100 * on.get(k, float('nan')):.1f}" for k in sorted(off)
    )
    verdict = "not worse" if pooled_on <= pooled_off else "**worse**"
    return [
        f"- tcpWER (collar 5 s, `notsofar transcribe` single-channel `sc.wav`, restore off -> on "
        "with `--set restore.enabled=true`, i.e. the `asr` profile: DeepFilterNet3 limited to "
        "12 dB attenuation on 60 s blocks whose estimated SNR is below 15 dB, diarization on the "
        f"original audio; {len(meetings)} far-field benchmark meetings from make_meetings.py): "
        f"{detail}; pooled {100 * pooled_off:.1f} % -> {100 * pooled_on:.1f} % ({verdict}; "
        "target: not worse).",
        "- What was tuned where: the `asr` profile (which steps, the 15 dB gate, the 12 dB limit) "
        "was chosen on 6 separate 2-minute tuning meetings (`DEV_MEETINGS` in this script: "
        "make_meetings.py's generator under other names, so other seeds; SNR 5-18 dB, RT60 "
        "0.35-0.65 s), never on the 7 benchmark meetings. Oracle-diarization tcpWER pooled over "
        "them (exploratory run 2026-11-25 17:10-17:35 UTC, 2121 words; reproduce with "
        "`python benchmarks/bench_restore.py --tune-asr bench_out/dev_restore`): off 45.8 %, "
        "listening-profile WPE + MMSE-LSA at a -10 dB floor without the gate 50.8 % (at 5 dB "
        "SNR 64.5 -> 97.7 %), DeepFilterNet3 limited to 12 dB on every block 44.0 %, the same only "
        "below 15 dB estimated SNR (the `asr` profile) 42.2 %. With the full pipeline on the "
        "first tuning meeting: off 32.9 %, listening defaults 50.2 %, MMSE-LSA with its gate "
        "alone 40.2 %, WPE alone 31.7 % (late-reverb suppression and deep suppression cost the "
        "most words).",
    ]


#: tuning meetings for the `asr` profile: make_meetings.py's generator under other names (so
#: other seeds), 2 minutes each; never the benchmark meetings.
DEV_MEETINGS = (
    ("dev01_3spk", 3, 2.0, 0.45, 12.0),
    ("dev02_4spk", 4, 2.0, 0.60, 7.0),
    ("dev03_2spk", 2, 2.0, 0.35, 18.0),
    ("dev04_5spk", 5, 2.0, 0.65, 5.0),
    ("dev05_3spk", 3, 2.0, 0.50, 10.0),
    ("dev07_2spk", 2, 2.0, 0.60, 8.0),
)
#: restore settings compared on the tuning meetings (None: restore off).
ASR_VARIANTS: dict[str, list[str] | None] = {
    "off": None,
    "listening (dsp defaults)": ["profile=listening"],
    "WPE only": [
        "profile=listening",
        "dsp.denoise.enabled=false",
        "dsp.dereverb.late_reverb=false",
        "dsp.dereverb.wpe_min_snr_db=-100",
    ],
    "WPE + MMSE-LSA -10 dB, no gate": [
        "profile=listening",
        "dsp.denoise.gate=false",
        "dsp.denoise.min_gain_db=-10",
        "dsp.dereverb.late_reverb=false",
        "dsp.dereverb.wpe_min_snr_db=-100",
    ],
    "DeepFilterNet3 12 dB, every block": ["profile=asr", "asr.max_snr_db=100"],
    "asr profile (12 dB, SNR < 15 dB)": ["profile=asr"],
}


def tune_asr(out: Path) -> None:
    """Oracle-diarization tcpWER of Whisper on restored audio, per setting, on the tuning set.

    Oracle diarization (the reference turns) keeps diarization errors out of the comparison;
    restore runs on 60 s blocks as in ``transcribe``.
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from make_meetings import make_one

    from notsofar import io
    from notsofar.config import load_config
    from notsofar.pipeline.config import TranscribeConfig
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import ArraySource
    from notsofar.recognize import recognize_source
    from notsofar.score import score
    from notsofar.score.config import ScoreConfig

    cfg = TranscribeConfig()
    models = ModelCache(cfg.device, cfg.asr.cpu_threads)
    totals: dict[str, list[int]] = {k: [0, 0] for k in ASR_VARIANTS}
    for name, spk, minutes, rt60, snr in DEV_MEETINGS:
        make_one(out, name, spk, minutes, rt60, snr, 1000 + sum(map(ord, name)))
        ref = io.read(out / name / "ref.seglst.json").with_session_id(name)
        x, sr = read(out / name / "sc.wav", 16000)
        turns = ref.map(
            lambda s: s.__class__(s.session_id, s.speaker, s.start_time, s.end_time, "")
        )
        for label, sets in ASR_VARIANTS.items():
            y = x
            if sets is not None:
                rc = load_config(RestoreConfig, None, sets)
                y = np.concatenate(
                    [restore_array(x[i : i + 60 * sr], sr, rc) for i in range(0, len(x), 60 * sr)]
                )
            hyp = recognize_source(ArraySource(y, name), turns, cfg.asr, models)
            m = score(ref, hyp, ScoreConfig(metrics=("tcpwer",))).metric("tcpwer")
            totals[label][0] += m.errors
            totals[label][1] += m.length
            print(f"{name} (SNR {snr:.0f} dB) {label}: {100 * m.micro:.1f} %", flush=True)
    print("\n| setting | oracle-diarization tcpWER, tuning meetings pooled |\n|---|---|")
    for label, (e, n) in totals.items():
        print(f"| {label} | {100 * e / max(n, 1):.1f} % ({e}/{n}) |")


def section(rows: list[dict], args: argparse.Namespace, wall_s: float) -> str:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    total = sum(r["dur"] for r in rows)
    spk = ", ".join(SPLITS[args.split])
    cmd = " ".join(sys.argv[1:])
    lines = [
        "## Restoration",
        "",
        "`notsofar restore` on real speech, every system on the same degraded items in one run "
        "(benchmarks/bench_restore.py; its docstring describes data, degradations and systems).",
        "",
        f"- Command: `python benchmarks/bench_restore.py {cmd}` (repo root, venv active; "
        "normally under `flock /tmp/notsofar-cpu.lock`)",
        f"- Machine: 2 CPU cores ({cpu}), shared with other jobs; date {now}; "
        f"whole run {wall_s:.0f} s wall.",
        f"- Data: `{args.split}` split (speakers {spk}"
        + (
            "; settings were chosen on it"
            if args.split == "tune"
            else ": never used to choose settings"
        )
        + "), "
        f"{args.per_type} items per degradation, {len(rows)} items, {total:.0f} s of 16 kHz audio; "
        "real noise from the split's own part of the noise recordings.",
        "- Systems: `input` unprocessed; `noisereduce` defaults; `df3` DeepFilterNet3 alone "
        "(full strength); `dsp`, `deepfilter`, `chain` backends (listening profile); `asr` "
        "profile (the `transcribe` front end). `voicefixer` runs only where its checkpoints are "
        "in the cache (not on this machine: no network).",
        "- Metrics: DNSMOS P.835 (speechmos), PESQ-WB, STOI, SI-SDR (dB), LSD against the clean "
        "utterance; WER of Whisper tiny.en (pooled, notsofar normalization); CPU RTF = process "
        "CPU time / audio duration after a warm-up.",
        "",
        *tables(rows),
        *verdicts(rows, args.default),
        "",
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path, title: str = "## Restoration") -> None:
    """Replace (or append) only the ``title`` section of BENCHMARKS.md with ``text`` (which
    starts with that title)."""
    from notsofar.io.atomic import write_text

    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, s in enumerate(lines) if s.strip() == title), None)
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        new = (
            "".join(lines[:start])
            + text
            + ("\n" if end < len(lines) else "")
            + "".join(lines[end:])
        )
    write_text(path, new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=sorted(SPLITS), default="report")
    ap.add_argument("--per-type", type=int, default=2, help="items per degradation type")
    ap.add_argument("--types", nargs="+", default=TYPES, choices=TYPES)
    ap.add_argument("--systems", nargs="+", default=SYSTEMS, choices=SYSTEMS)
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:a.b=c,d.e=f",
        help="an extra system: the listening profile with these config overrides (tuning)",
    )
    ap.add_argument("--default", default="chain", help="system the targets are checked for")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-wer", action="store_true", help="skip Whisper (faster)")
    ap.add_argument("--data", type=Path, default=REAL, help="the realspeech folder")
    ap.add_argument("--write", action="store_true", help="write BENCHMARKS.md's section")
    ap.add_argument("--save-json", type=Path, default=None, help="also save the raw rows here")
    ap.add_argument("--render", type=Path, default=None, help="only render saved rows (JSON)")
    ap.add_argument(
        "--rename", nargs="*", default=[], metavar="OLD=NEW", help="rename systems (--render)"
    )
    ap.add_argument(
        "--tcpwer",
        type=Path,
        nargs="*",
        default=None,
        help="meeting folders (bench_out/meetings/<name>): tcpWER with restore off/on",
    )
    ap.add_argument(
        "--tune-asr",
        type=Path,
        default=None,
        metavar="DIR",
        help="only compare restore settings for ASR on the tuning meetings (made in DIR)",
    )
    args = ap.parse_args()
    if args.tune_asr:
        tune_asr(args.tune_asr)
        return
    if args.tcpwer:
        with tempfile.TemporaryDirectory() as d:
            print("\n".join(tcpwer_check(list(args.tcpwer), Path(d))))
        return
    if not (args.data / "speech.tsv").is_file():
        sys.exit(f"bench_restore: no realspeech data at {args.data} (--data)")
    if args.render:
        import json

        saved = json.loads(args.render.read_text())
        rows, wall_s = saved["rows"], saved["wall_s"]
        for pair in args.rename:  # e.g. a tuning variant that became the default
            old, new = pair.split("=")
            for r in rows:
                r["sys"] = {(new if k == old else k): v for k, v in r["sys"].items() if k != new}
        for k in ("split", "per_type"):
            setattr(args, k, saved[k])
        sys.argv = [sys.argv[0], *saved["argv"]]
    else:
        t0 = time.perf_counter()
        rows = run(args)
        wall_s = time.perf_counter() - t0
        if args.save_json:
            import json

            args.save_json.write_text(
                json.dumps(
                    {
                        "rows": rows,
                        "wall_s": wall_s,
                        "split": args.split,
                        "per_type": args.per_type,
                        "argv": sys.argv[1:],
                    }
                )
            )
    text = section(rows, args, wall_s)
    print(text)
    if args.write:
        write_section(text, ROOT / "BENCHMARKS.md")


if __name__ == "__main__":
    main()
