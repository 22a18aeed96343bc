#!/usr/bin/env python
"""Diarization on real speech: ours vs today's diarizer vs senko vs one speaker vs oracle.

    python benchmarks/bench_diarize_real.py --set both --write       # the BENCHMARKS.md figures
    python benchmarks/bench_diarize_real.py --set tune --only meetings --skip-tcpwer \\
        --ours "diarize.backend=pyannote"                              # iterate on the tuning set

Data: the 12 AMI excerpts of ``realspeech/ami`` (headset mix, real meetings; RTTM + UEM, no
words), scored **pooled** (total error / total speech: several hold under 2 s of speech), and
the real-voice meetings of ``benchmarks/make_real_meetings.py`` (``--data``, split by speaker
into ``tune`` and ``bench``), scored per meeting and as a mean.

Systems, side by side in one run (same machine, same load):

- ``ours``: ``notsofar diarize`` with configs/diarize/default.yaml plus ``--ours`` overrides
  (``KEY=VALUE``, ``diarize.`` prefix optional; keys of other sections go to ``transcribe``
  only) or ``--ours-config``. Without overrides it is the same as ``today`` and runs once.
- ``today``: the current diarizer, default config with ``backend=fusion``; ``--today-ref REF``
  runs the diarizer of a git commit instead (exported to a temporary folder, one subprocess).
- ``senko``: senko's own CPU pipeline as installed (Silero VAD, CAM++, spectral clustering;
  its ``merged_segments``, what ``senko`` users get).
- ``one``: one speaker over our VAD's speech regions. ``oracle``: the reference (DER 0).

Metrics (notsofar.score, i.e. pyannote.metrics / meeteval): DER with collar 0 and with
pyannote ``collar=0.5`` (0.25 s each side), overlap scored; JER (collar 0); estimated vs true
speaker count (exact, and largest absolute difference). tcpWER (collar 5 s, NOTSOFAR
normalizer) on the meetings with words, through ``transcribe`` with our diarization, through
``recognize --diarization REF`` (oracle) and ``recognize`` without diarization (one speaker).
Multi-channel: ``transcribe`` on the 7-channel file with ``array=notsofar_mc`` vs the
single-channel path, on the far-field meetings (DER on all, tcpWER where there are words).

Hypotheses are kept in ``--out`` (``<set>/<system>/<name>.rttm``, transcripts as SegLST);
``--reuse senko,one,oracle`` (the default) reads those baselines from there when present, so
iterating on ``ours`` does not rerun them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REALSPEECH = REPO.parent / "shared" / "realspeech"
DEFAULT_DATA = Path("/work/data/realmeet")
SECTION = "## Diarization on real speech"
SYSTEMS = ("ours", "today", "senko", "one", "oracle")


# ---- data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """One scored recording: its audio, reference turns (words when known) and scored span."""

    name: str
    group: str  # ami | tune | bench
    audio: Path
    ref: Any  # Transcript, session_id = name
    start_s: float
    end_s: float
    audio_7ch: Path | None = None
    has_words: bool = False
    condition: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def load_ami(realspeech: Path) -> list[Recording]:
    """The 12 AMI excerpts with their RTTM and UEM (scored as they are)."""
    from notsofar.io import rttm, uem

    folder = realspeech / "ami"
    ref = rttm.load(folder / "ami.rttm")
    regions = uem.load(folder / "ami.uem").as_dict()
    by = ref.groupby("session_id")
    out = []
    for name, (a, b) in regions.items():
        from notsofar.data import Transcript

        out.append(
            Recording(name, "ami", folder / f"{name}.flac", by.get(name, Transcript()), a, b)
        )
    return out


def load_meetings(data: Path, split: str, only: Sequence[str] = ()) -> list[Recording]:
    """The real-voice meetings of ``split`` from their ``manifest.json``."""
    from notsofar.audio import info
    from notsofar.data import Transcript

    folder = data / split
    manifest = folder / "manifest.json"
    if not manifest.exists():
        raise SystemExit(
            f"error: {manifest}: not found (make it with benchmarks/make_real_meetings.py)"
        )
    out = []
    for m in json.loads(manifest.read_text())["meetings"]:
        if only and m["name"] not in only:
            continue
        ref = Transcript.from_seglst(json.loads((folder / m["ref_seglst"]).read_text()))
        end = info(folder / m["audio"]).duration_s
        out.append(
            Recording(
                m["name"],
                split,
                folder / m["audio"],
                ref.with_session_id(m["name"]),
                0.0,
                end,
                folder / m["audio_7ch"] if m.get("audio_7ch") else None,
                bool(m["has_words"]),
                m["condition"],
            )
        )
    return out


# ---- scoring helpers ----------------------------------------------------------------------


def uem_of(recs: Iterable[Recording]) -> Any:
    """A :class:`~notsofar.io.uem.Uem` holding each recording's scored span."""
    from notsofar.io.uem import Uem, UemRegion

    return Uem(tuple(UemRegion(r.name, r.start_s, r.end_s) for r in recs))


def diarization_scores(
    recs: Sequence[Recording], hyps: dict[str, Any], collar: float
) -> tuple[dict[str, float | None], float | None, float | None]:
    """DER per recording, their mean, and the pooled DER (total error / total speech), all
    with pyannote ``collar`` (total width), overlapped speech scored.

    >>> from notsofar.data import Segment, Transcript
    >>> ref = Transcript([Segment("a", "A", 0, 10, ""), Segment("a", "B", 10, 12, "")])
    >>> rec = Recording("a", "x", Path("a.wav"), ref, 0.0, 20.0)
    >>> hyp = Transcript([Segment("a", "s1", 0, 12, "")])
    >>> per, mean, pooled = diarization_scores([rec], {"a": hyp}, 0.0)
    >>> round(per["a"], 4), round(pooled, 4)
    (0.1667, 0.1667)
    """
    from notsofar.score import ScoreConfig
    from notsofar.score.config import DiarizationMetricConfig

    report = _score_diar(recs, hyps, ScoreConfig(("der",), der=DiarizationMetricConfig(collar)))
    per = {r.session_id: r.error_rate for r in report.sessions}
    s = report.metric("der")
    return per, s.macro, s.micro


def jer_scores(
    recs: Sequence[Recording], hyps: dict[str, Any]
) -> tuple[dict[str, float | None], float | None]:
    """JER (collar 0) per recording and its mean."""
    from notsofar.score import ScoreConfig
    from notsofar.score.config import DiarizationMetricConfig

    report = _score_diar(recs, hyps, ScoreConfig(("jer",), jer=DiarizationMetricConfig(0.0)))
    return {r.session_id: r.error_rate for r in report.sessions}, report.metric("jer").macro


def _score_diar(recs: Sequence[Recording], hyps: dict[str, Any], cfg: Any) -> Any:
    from notsofar.data import Transcript
    from notsofar.score import score

    scored = [r for r in recs if len(r.ref)]
    ref = Transcript([s for r in scored for s in r.ref])
    hyp = Transcript(
        [s for r in scored for s in hyps.get(r.name, Transcript()).with_session_id(r.name)]
    )
    return score(ref, hyp, cfg, uem=uem_of(scored))


def speaker_count(t: Any, start_s: float = 0.0, end_s: float = float("inf")) -> int:
    """Number of speakers with any speech inside ``[start_s, end_s)``.

    >>> from notsofar.data import Segment, Transcript
    >>> speaker_count(Transcript([Segment("a", "A", 0, 1, ""), Segment("a", "B", 40, 41, "")]),
    ...               0.0, 30.0)
    1
    """
    return len({s.speaker for s in t if s.end_time > start_s and s.start_time < end_s})


def count_errors(recs: Sequence[Recording], hyps: dict[str, Any]) -> tuple[int, int, int]:
    """(recordings whose speaker count is exact, recordings, largest absolute difference).

    >>> from notsofar.data import Segment, Transcript
    >>> ref = Transcript([Segment("a", "A", 0, 1, ""), Segment("a", "B", 1, 2, "")])
    >>> rec = Recording("a", "x", Path("a.wav"), ref, 0.0, 2.0)
    >>> count_errors([rec], {"a": Transcript([Segment("a", "s", 0, 2, "")])})
    (0, 1, 1)
    """
    from notsofar.data import Transcript

    diffs = [
        speaker_count(hyps.get(r.name, Transcript()), r.start_s, r.end_s)
        - speaker_count(r.ref, r.start_s, r.end_s)
        for r in recs
    ]
    return sum(d == 0 for d in diffs), len(diffs), max((abs(d) for d in diffs), default=0)


def tcpwer_scores(
    recs: Sequence[Recording], hyps: dict[str, Any]
) -> tuple[dict[str, float | None], float | None]:
    """tcpWER (collar 5 s, NOTSOFAR normalizer) per meeting and pooled over them."""
    from notsofar.data import Transcript
    from notsofar.score import ScoreConfig, score

    ref = Transcript([s for r in recs for s in r.ref])
    hyp = Transcript(
        [s for r in recs for s in hyps.get(r.name, Transcript()).with_session_id(r.name)]
    )
    report = score(ref, hyp, ScoreConfig(("tcpwer",)))
    return {r.session_id: r.error_rate for r in report.sessions}, report.metric("tcpwer").micro


# ---- systems ------------------------------------------------------------------------------


def split_overrides(sets: Sequence[str]) -> tuple[list[str], list[str]]:
    """(diarize overrides without the ``diarize.`` prefix, other ``transcribe`` overrides).

    >>> split_overrides(["diarize.backend=x", "threshold=0.5", "asr.beam_size=1"])
    (['backend=x', 'threshold=0.5'], ['asr.beam_size=1'])
    """
    transcribe_only = ("asr.", "restore.", "enhance.", "channel=", "array=", "device=")
    diar, other = [], []
    for s in sets:
        if s.startswith("diarize."):
            diar.append(s[len("diarize.") :])
        elif s.startswith(transcribe_only):
            other.append(s)
        else:
            diar.append(s)
    return diar, other


def turns_from(regions: Iterable[tuple[float, float]], name: str, speaker: str = "spk0") -> Any:
    from notsofar.data import Segment, Transcript

    return Transcript(Segment(name, speaker, round(a, 3), round(b, 3), "") for a, b in regions)


class Runner:
    """Runs the systems on recordings, keeps their outputs, and times them."""

    def __init__(self, args: argparse.Namespace) -> None:
        from notsofar.config import load_config
        from notsofar.diarize.config import DiarizeConfig
        from notsofar.pipeline.config import TranscribeConfig
        from notsofar.pipeline.models import ModelCache

        self.args = args
        self.out: Path = args.out
        diar_sets, trans_sets = split_overrides(args.ours)
        cfg_path = args.ours_config or REPO / "configs" / "diarize" / "default.yaml"
        self.ours_cfg = load_config(DiarizeConfig, cfg_path, diar_sets)
        self.today_cfg = load_config(
            DiarizeConfig, REPO / "configs" / "diarize" / "default.yaml", ["backend=fusion"]
        )
        tcfg = load_config(
            TranscribeConfig, REPO / "configs" / "transcribe" / "default.yaml", trans_sets
        )
        self.transcribe_cfg = dataclasses.replace(tcfg, diarize=self.ours_cfg)
        self.same = self.ours_cfg == self.today_cfg and not args.today_ref
        self.models = ModelCache("cpu")
        self.seconds: dict[str, float] = {}
        self.audio_s: dict[str, float] = {}
        self._senko: Any = None
        self._memo: dict[tuple[str, str, str], Any] = {}

    def _path(self, group: str, system: str, name: str, suffix: str = ".rttm") -> Path:
        return self.out / group / system / f"{name}{suffix}"

    def _timed(self, system: str, rec: Recording, fn: Any) -> Any:
        t0 = time.perf_counter()
        out = fn()
        self.seconds[system] = self.seconds.get(system, 0.0) + time.perf_counter() - t0
        self.audio_s[system] = self.audio_s.get(system, 0.0) + rec.duration_s
        return out

    def diarize(self, system: str, recs: Sequence[Recording]) -> dict[str, Any]:
        """Hypothesis turns of ``system`` for every recording (read back when reused)."""
        from notsofar import io

        if system == "oracle":
            return {r.name: r.ref for r in recs}
        if system == "ours" and self.same:
            return self.diarize("today", recs)
        if system == "today" and self.args.today_ref:
            return self._today_ref(recs)
        reuse = system in self.args.reuse
        run = {
            "ours": self._ours,
            "today": self._today,
            "senko": self._senko_run,
            "one": self._one,
        }[system]
        out = {}
        for r in recs:
            path = self._path(r.group, system, r.name)
            if (r.group, f"turns-{system}", r.name) in self._memo:
                out[r.name] = self._memo[(r.group, f"turns-{system}", r.name)]
                continue
            if reuse and path.exists():
                out[r.name] = io.read(path).with_session_id(r.name)
                continue
            t = self._timed(system, r, lambda r=r: run(r)).with_session_id(r.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            io.write(path, t)
            out[r.name] = self._memo[(r.group, f"turns-{system}", r.name)] = t
            _log(f"{system:6s} {r.group}/{r.name}: {len(t.speakers)} speaker(s)")
        return out

    def _source(self, r: Recording) -> Any:
        from notsofar.pipeline.source import FileSource

        return FileSource(r.audio, 0, name=r.name)

    def _ours(self, r: Recording) -> Any:
        from notsofar.diarize import diarize_source

        return diarize_source(self._source(r), self.ours_cfg, self.models)

    def _today(self, r: Recording) -> Any:
        from notsofar.diarize import diarize_source

        return diarize_source(self._source(r), self.today_cfg, self.models)

    def _one(self, r: Recording) -> Any:
        from notsofar.vad import VadConfig, source_regions

        return turns_from(source_regions(self._source(r), VadConfig()), r.name)

    def _senko_run(self, r: Recording) -> Any:
        from notsofar.audio import read
        from notsofar.data import Segment, Transcript

        if self._senko is None:
            import senko

            self._senko = senko.Diarizer(device="cpu", vad="silero", warmup=False, quiet=True)
        x, _ = read(r.audio, sample_rate=16000, channel=0)
        res = self._senko.diarize_samples(x, 16000, source_name=r.name)
        segs = (res or {}).get("merged_segments", [])
        return Transcript(
            Segment(
                r.name, s["speaker"], round(float(s["start"]), 3), round(float(s["end"]), 3), ""
            )
            for s in segs
            if float(s["end"]) > float(s["start"])
        )

    def _today_ref(self, recs: Sequence[Recording]) -> dict[str, Any]:
        """Today's diarizer as of git ``--today-ref``: exported, run in one subprocess."""
        from notsofar import io

        todo = [r for r in recs if not self._path(r.group, "today", r.name).exists()]
        if todo:
            with tempfile.TemporaryDirectory() as tmp:
                archive = subprocess.run(
                    ["git", "-C", str(REPO), "archive", self.args.today_ref],
                    capture_output=True,
                    check=True,
                ).stdout
                subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
                jobs = [
                    [str(r.audio), r.name, str(self._path(r.group, "today", r.name))] for r in todo
                ]
                script = (
                    "import json,sys,time\n"
                    "from notsofar import io\n"
                    "from notsofar.config import load_config\n"
                    "from notsofar.diarize import diarize_source\n"
                    "from notsofar.diarize.config import DiarizeConfig\n"
                    "from notsofar.pipeline.models import ModelCache\n"
                    "from notsofar.pipeline.source import FileSource\n"
                    "cfg = load_config(DiarizeConfig, 'configs/diarize/default.yaml')\n"
                    "m = ModelCache('cpu')\n"
                    "for audio, name, out in json.loads(sys.argv[1]):\n"
                    "    t0 = time.perf_counter()\n"
                    "    t = diarize_source(FileSource(audio, 0, name=name), cfg, m)\n"
                    "    io.write(out, t)\n"
                    "    print(name, time.perf_counter() - t0, flush=True)\n"
                )
                env = {**os.environ, "PYTHONPATH": tmp}
                proc = subprocess.run(
                    [sys.executable, "-c", script, json.dumps(jobs)],
                    cwd=tmp,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                if proc.returncode != 0:
                    raise SystemExit(f"error: --today-ref run failed: {proc.stderr[-2000:]}")
                for line in proc.stdout.splitlines():
                    name, sec = line.rsplit(" ", 1)
                    rec = next(r for r in todo if r.name == name)
                    self.seconds["today"] = self.seconds.get("today", 0.0) + float(sec)
                    self.audio_s["today"] = self.audio_s.get("today", 0.0) + rec.duration_s
        return {
            r.name: io.read(self._path(r.group, "today", r.name)).with_session_id(r.name)
            for r in recs
        }

    # -- words
    def transcribe(self, system: str, recs: Sequence[Recording]) -> dict[str, Any]:
        """Speaker-attributed words: ``ours`` (transcribe), ``oracle`` (recognize --diarization
        REF), ``one`` (recognize without diarization), ``mc`` (transcribe, 7 channels)."""
        from notsofar import io

        out = {}
        for r in recs:
            path = self._path(r.group, f"words-{system}", r.name, ".seglst.json")
            if (r.group, system, r.name) in self._memo:
                out[r.name] = self._memo[(r.group, system, r.name)]
                continue
            if system in self.args.reuse and path.exists():
                out[r.name] = io.read(path).with_session_id(r.name)
                continue
            t = self._timed(f"words-{system}", r, lambda r=r: self._words(system, r))
            path.parent.mkdir(parents=True, exist_ok=True)
            io.write(path, t.transcript.with_session_id(r.name))
            if t.diarization is not None:
                io.write(path.with_suffix("").with_suffix(".rttm"), t.diarization)
            out[r.name] = t.transcript.with_session_id(r.name)
            self._memo[(r.group, system, r.name)] = out[r.name]
            _log(f"words-{system} {r.group}/{r.name}: {t.transcript.num_words} word(s)")
        return out

    def mc_diarization(self, recs: Sequence[Recording]) -> dict[str, Any]:
        from notsofar import io

        return {
            r.name: io.read(
                self._path(r.group, "words-mc", r.name, ".seglst.json")
                .with_suffix("")
                .with_suffix(".rttm")
            ).with_session_id(r.name)
            for r in recs
        }

    def _words(self, system: str, r: Recording) -> Any:
        from notsofar.pipeline import Result
        from notsofar.pipeline.batch import Session, transcribe_session
        from notsofar.recognize import recognize_source

        if system in ("ours", "mc"):
            cfg = self.transcribe_cfg
            paths: tuple[Path, ...] = (r.audio,)
            if system == "mc":
                assert r.audio_7ch is not None
                cfg = dataclasses.replace(cfg, array="notsofar_mc")
                paths = (r.audio_7ch,)
            session = Session(r.name, r.name, paths)
            return transcribe_session(session, cfg, self.models, self.out, lambda m: None)
        turns = None
        if system == "oracle":
            turns = r.ref.map(lambda s: dataclasses.replace(s, words="", word_details=None))
        t = recognize_source(self._source(r), turns, self.transcribe_cfg.asr, self.models)
        return Result(t, None, r.duration_s)  # type: ignore[arg-type]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---- report -------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def evaluate(runner: Runner, recs: Sequence[Recording], systems: Sequence[str]) -> dict:
    """Diarization metrics of every system on ``recs``: per recording and aggregated."""
    res: dict[str, Any] = {}
    for system in systems:
        hyps = runner.diarize(system, recs)
        per0, mean0, pool0 = diarization_scores(recs, hyps, 0.0)
        per5, mean5, pool5 = diarization_scores(recs, hyps, 0.5)
        perj, meanj = jer_scores(recs, hyps)
        exact, n, maxd = count_errors(recs, hyps)
        from notsofar.data import Transcript

        res[system] = {
            "der0": per0,
            "der5": per5,
            "jer": perj,
            "mean_der0": mean0,
            "mean_der5": mean5,
            "pooled_der0": pool0,
            "pooled_der5": pool5,
            "mean_jer": meanj,
            "count_exact": exact,
            "count_n": n,
            "count_maxdiff": maxd,
            "hyp_count": {
                r.name: speaker_count(hyps.get(r.name, Transcript()), r.start_s, r.end_s)
                for r in recs
            },
        }
    return res


def summary_table(title: str, res: dict, pooled: bool) -> list[str]:
    kind = "pooled over recordings" if pooled else "mean of meetings"
    lines = [
        f"**{title}** (DER {kind}; JER mean)",
        "",
        "| system | DER c0 % | DER c0.5 % | JER % | count exact | max count diff |",
        "|---|---|---|---|---|---|",
    ]
    for system, m in res.items():
        d0 = m["pooled_der0" if pooled else "mean_der0"]
        d5 = m["pooled_der5" if pooled else "mean_der5"]
        lines.append(
            f"| {system} | {_pct(d0)} | {_pct(d5)} | {_pct(m['mean_jer'])} | "
            f"{m['count_exact']}/{m['count_n']} | {m['count_maxdiff']} |"
        )
    return lines + [""]


def per_recording_table(recs: Sequence[Recording], res: dict) -> list[str]:
    systems = [s for s in res if s != "oracle"]
    head = "| meeting | cond | spk | " + " | ".join(f"{s} DER c0/c0.5 (spk)" for s in systems)
    lines = [head + " |", "|---|---|---|" + "---|" * len(systems)]
    for r in recs:
        cells = []
        for s in systems:
            m = res[s]
            cells.append(
                f"{_pct(m['der0'].get(r.name))}/{_pct(m['der5'].get(r.name))} "
                f"({m['hyp_count'][r.name]})"
            )
        ref_n = speaker_count(r.ref, r.start_s, r.end_s)
        lines.append(f"| {r.name} | {r.condition} | {ref_n} | " + " | ".join(cells) + " |")
    return lines + [""]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--realspeech", type=Path, default=DEFAULT_REALSPEECH)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="make_real_meetings.py output")
    p.add_argument(
        "--set",
        dest="which",
        choices=("tune", "bench", "both", "long", "longcheck", "bench2", "bench3", "bench4"),
        default="bench",
        help="long / longcheck: the 10-25 min meetings of make_real_meetings.py --set long",
    )
    p.add_argument("--only", choices=("ami", "meetings", "all"), default="all")
    p.add_argument("--meetings", nargs="*", default=[], help="only these meeting names")
    p.add_argument(
        "--systems", default=",".join(SYSTEMS), help="comma list of " + ",".join(SYSTEMS)
    )
    p.add_argument("--ours", nargs="*", default=[], help="KEY=VALUE overrides for ours")
    p.add_argument("--ours-config", type=Path, default=None, help="diarize YAML for ours")
    p.add_argument("--today-ref", default=None, help="git ref whose diarizer is 'today'")
    p.add_argument("--skip-tcpwer", action="store_true")
    p.add_argument("--skip-mc", action="store_true")
    p.add_argument("--reuse", default="senko,one,oracle", help="systems read back from --out")
    p.add_argument("--out", type=Path, default=REPO / "bench_out" / "diarize_real")
    p.add_argument("--write", action="store_true", help="replace the section in BENCHMARKS.md")
    p.add_argument("--note", default="", help="a line on the run's conditions for BENCHMARKS.md")
    args = p.parse_args()
    args.reuse = {s for s in args.reuse.split(",") if s}
    systems = [s for s in args.systems.split(",") if s]
    bad = [s for s in systems if s not in SYSTEMS]
    if bad:
        p.error(f"unknown system(s): {', '.join(bad)}")
    if not (args.realspeech / "ami").is_dir() and args.only != "meetings":
        p.error(f"{args.realspeech}: no ami/ folder (pass --realspeech)")

    t_start = time.perf_counter()
    runner = Runner(args)
    if runner.same and "ours" in systems and "today" in systems:
        systems.remove("ours")
        _log("ours = today (no --ours overrides): run once, reported as today")
    ours = " ".join(args.ours) or "no overrides"
    if args.ours_config:
        ours = f"{args.ours_config} {ours}"
    today = f"git {args.today_ref}" if args.today_ref else "default config, backend fusion"
    same = " (the same as today: reported as today; tcpWER/MC columns use it)"
    preamble = [
        f"ours = `notsofar diarize` with {ours}{same if runner.same else ''}; today = {today}.",
        "",
    ]
    blocks: dict[str, list[str]] = {}
    results: dict[str, Any] = {}
    if args.only in ("ami", "all"):
        ami = load_ami(args.realspeech)
        res = evaluate(runner, ami, systems)
        results["ami"] = res
        blocks[BLOCKS["ami"]] = summary_table("12 excerpts of 30 s, headset mix", res, pooled=True)
    splits = {"both": ("tune", "bench")}.get(args.which, (args.which,))
    if args.only in ("meetings", "all"):
        for split in splits:
            recs = load_meetings(args.data, split, args.meetings)
            res = evaluate(runner, recs, systems)
            results[split] = res
            lines = summary_table(f"{len(recs)} meetings", res, pooled=False)
            lines += per_recording_table(recs, res)
            if not args.skip_tcpwer:
                lines += words_section(runner, recs, split, results)
            if not args.skip_mc:
                lines += mc_section(runner, recs, split, results, res)
            blocks[BLOCKS[split]] = lines
    wall = time.perf_counter() - t_start
    tail = timing_lines(runner, wall)
    print("\n".join(preamble))
    for title, lines in blocks.items():
        print(f"### {title}\n\n" + "\n".join(lines))
    print("\n".join(tail))
    out_json = args.out / "results.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    if args.write:
        path = REPO / "BENCHMARKS.md"
        old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
        run = run_lines(args.note) + preamble
        new = merge_section(old, {t: run + lines + tail for t, lines in blocks.items()})
        from notsofar.io.atomic import write_text

        write_text(path, new)
        _log(f"wrote {', '.join(blocks)} in {path}")


def words_section(
    runner: Runner, recs: Sequence[Recording], split: str, results: dict
) -> list[str]:
    words = [r for r in recs if r.has_words]
    if not words:
        return []
    rows = {}
    for system in ("ours", "oracle", "one"):
        hyps = runner.transcribe(system, words)
        rows[system] = tcpwer_scores(words, hyps)
    results[f"{split}_tcpwer"] = rows
    label = {"ours": "ours (transcribe)", "oracle": "oracle diarization", "one": "one speaker"}
    lines = [
        f"**tcpWER %, {split} meetings with words** (collar 5 s; pooled over meetings)",
        "",
        "| meeting | " + " | ".join(label[s] for s in rows) + " |",
        "|---|" + "---|" * len(rows),
    ]
    for r in words:
        lines.append(
            f"| {r.name} | " + " | ".join(_pct(rows[s][0].get(r.name)) for s in rows) + " |"
        )
    lines.append("| **pooled** | " + " | ".join(f"**{_pct(rows[s][1])}**" for s in rows) + " |")
    return lines + [""]


def mc_section(
    runner: Runner, recs: Sequence[Recording], split: str, results: dict, res: dict
) -> list[str]:
    far = [r for r in recs if r.condition == "far" and r.audio_7ch is not None]
    if not far:
        return []
    runner.transcribe("mc", far)
    hyps = runner.mc_diarization(far)
    per_mc, mean_mc, _ = diarization_scores(far, hyps, 0.5)
    sc_hyps = runner.diarize("ours", far)  # today's when ours has no overrides
    per_sc, mean_sc, _ = diarization_scores(far, sc_hyps, 0.5)
    words = [r for r in far if r.has_words]
    wer_sc: dict = {}
    wer_mc: dict = {}
    pooled_sc = pooled_mc = None
    if words and f"{split}_tcpwer" in results:
        wer_sc, pooled_sc = tcpwer_scores(words, runner.transcribe("ours", words))
        wer_mc, pooled_mc = tcpwer_scores(words, runner.transcribe("mc", words))
    exact, n, maxd = count_errors(far, hyps)
    results[f"{split}_mc"] = {"der5": per_mc, "mean_der5": mean_mc, "tcpwer": wer_mc}
    lines = [
        f"**Multi-channel vs single-channel, {split} far-field meetings** "
        f"(DER c0.5 %, tcpWER %; speakers found)",
        "",
        "| meeting | DER SC | DER MC | tcpWER SC | tcpWER MC | spk ref / SC / MC |",
        "|---|---|---|---|---|---|",
    ]
    for r in far:
        lines.append(
            f"| {r.name} | {_pct(per_sc.get(r.name))} | {_pct(per_mc.get(r.name))} | "
            f"{_pct(wer_sc.get(r.name))} | {_pct(wer_mc.get(r.name))} | "
            f"{speaker_count(r.ref)} / {speaker_count(sc_hyps[r.name])} / "
            f"{speaker_count(hyps[r.name])} |"
        )
    lines.append(
        f"| **mean DER / pooled tcpWER** | **{_pct(mean_sc)}** | **{_pct(mean_mc)}** | "
        f"**{_pct(pooled_sc)}** | **{_pct(pooled_mc)}** | MC count exact {exact}/{n}, "
        f"max diff {maxd} |"
    )
    return lines + [""]


def timing_lines(runner: Runner, wall: float) -> list[str]:
    parts = [
        f"{s} RTF {runner.seconds[s] / runner.audio_s[s]:.3f}"
        for s in runner.seconds
        if runner.audio_s.get(s)
    ]
    return [
        "Wall time per system over the audio it processed (this run only; reused outputs not "
        "timed; a shared 2-core machine): " + (", ".join(parts) or "all reused") + f". "
        f"Whole run {wall / 60:.1f} min.",
        "",
    ]


#: subsection titles of the BENCHMARKS.md section, in their order
BLOCKS = {
    "ami": "AMI excerpts (pooled)",
    "bench": "Real-voice meetings, bench set",
    "bench2": "Real-voice meetings, second bench set (held out)",
    "bench3": "Real-voice meetings, third bench set (held out)",
    "bench4": "Real-voice meetings, fourth bench set (held out)",
    "tune": "Real-voice meetings, tune set",
    "long": "Long real-voice meetings (10-25 min), long set",
    "longcheck": "Long real-voice meetings (10-25 min), check set",
}
INTRO = (
    "Real people: the 12 AMI excerpts of `../shared/realspeech/ami` (RTTM + UEM as shipped, "
    "scored pooled: total error / total speech) and the real-voice meetings of "
    "`benchmarks/make_real_meetings.py` (real LibriSpeech/ARCTIC voices split by speaker into a "
    "tune and a bench set; 7-mic simulated rooms, real recorded noise; mic 0 for single-channel). "
    "Written by `benchmarks/bench_diarize_real.py --write`, one subsection per data set (a run "
    "replaces the subsections it measured). DER by pyannote.metrics through notsofar.score: c0 = "
    "no collar, c0.5 = pyannote collar 0.5 (0.25 s each side); overlapped speech scored; JER "
    "collar 0; count = speakers found vs true. Systems: today = `notsofar diarize` default "
    "(backend fusion); senko = senko's CPU pipeline as installed (Silero VAD, CAM++, spectral "
    "clustering; its merged segments); one = one speaker over our VAD; oracle = the reference. "
    "tcpWER: collar 5 s, NOTSOFAR normalizer, `transcribe` (tiny.en) vs `recognize "
    "--diarization REF` vs `recognize` without diarization."
)


def run_lines(note: str = "") -> list[str]:
    """Command, machine, date and commit of this run (and a note on its conditions)."""
    cmd = "python benchmarks/bench_diarize_real.py " + " ".join(
        shlex.quote(a) for a in sys.argv[1:]
    )
    cpu = platform.processor() or platform.machine()
    return [
        f"- Command: `{cmd}`",
        f"- Machine: {os.cpu_count()} CPU cores ({cpu}), shared with other jobs; "
        f"date {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC; git {_git_head()}.",
        *([f"- {note}"] if note else []),
        "",
    ]


def merge_section(old: str, blocks: dict[str, list[str]]) -> str:
    """``old`` BENCHMARKS.md text with the section's subsections in ``blocks`` replaced (or
    added, in :data:`BLOCKS` order); other subsections and sections are kept.

    >>> text = merge_section("# B\\n\\n## Other\\n\\nx\\n", {BLOCKS["tune"]: ["t1"]})
    >>> text = merge_section(text, {BLOCKS["ami"]: ["a1"]})
    >>> text = merge_section(text, {BLOCKS["tune"]: ["t2"]})
    >>> [line for line in text.splitlines() if line and line[0] in "#at"]
    ['# B', '## Other', '## Diarization on real speech', '### AMI excerpts (pooled)', 'a1', \
'### Real-voice meetings, tune set', 't2']
    """
    subs: dict[str, str] = {}
    before, after = old.rstrip() + "\n", ""
    if SECTION in old:
        before, _, rest = old.partition(SECTION)
        nxt = rest.find("\n## ")
        body, after = (rest[:nxt], rest[nxt + 1 :]) if nxt >= 0 else (rest, "")
        for part in body.split("\n### ")[1:]:
            title, _, content = part.partition("\n")
            subs[title.strip()] = content.strip("\n")
    for title, lines in blocks.items():
        subs[title] = "\n".join(lines).strip("\n")
    order = [t for t in BLOCKS.values() if t in subs] + [
        t for t in subs if t not in BLOCKS.values()
    ]
    body = "".join(f"### {t}\n\n{subs[t]}\n\n" for t in order)
    section = f"{SECTION}\n\n{INTRO}\n\n{body}"
    return before.rstrip() + "\n\n" + section.rstrip() + "\n" + ("\n" + after if after else "")


def _git_head() -> str:
    r = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return r.stdout.strip() or "?"


if __name__ == "__main__":
    main()
