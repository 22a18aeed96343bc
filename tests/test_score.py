"""`notsofar score`: meeteval's test vectors through the CLI, a NOTSOFAR-layout dataset end to
end, agreement with meeteval, DER/JER, session bookkeeping and bad input."""

from __future__ import annotations

import csv
import dataclasses
import io as stdio
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from notsofar import io
from notsofar.config import load_config
from notsofar.data import Segment, Transcript
from notsofar.errors import NotsofarError
from notsofar.score import ScoreConfig, score
from notsofar.score.config import TcpwerConfig

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from helpers import cli  # noqa: E402
from test_io import UTTS, make_notsofar_meeting  # noqa: E402


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return cli("score", *args, cwd=cwd, timeout=120)


def stm(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def summary(path: Path, metric: str = "tcpwer") -> dict:
    return json.loads(path.read_text())["summary"][metric]


# --------------------------------------------------------------- meeteval's test vectors


def test_meeteval_vectors_through_the_cli(tmp_path):
    cases = [
        # (ref lines, hyp lines, extra args, expected summary fields)
        (
            ['Alice 0 1 "The quick brown fox jumps over the lazy dog"'],
            ['spk-1 0 1 "The kwick brown fox jump over lazy"'],
            [],
            {"errors": 4, "length": 9, "insertions": 0, "deletions": 2, "substitutions": 2},
        ),
        (['A 0 3 "a b c"'], ['X 10 13 "a b c"'], ["--collar", "5"], {"errors": 6, "length": 3}),
        (['A 0 3 "a b c"'], ['X 10 13 "a b c"'], ["--collar", "10"], {"errors": 0}),
        (
            ['A 0 2 "hello world"', 'B 2 4 "good morning"'],
            ['h1 2 4 "good morning"', 'h2 0 2 "hello word"', 'h3 5 6 "extra"'],
            [],
            {"errors": 2, "length": 4, "falarm_speaker": 1, "missed_speaker": 0},
        ),
        (['A 0 1 "a"'], ['B 1 2 "a"'], ["--collar", "0.5"], {"errors": 2}),
        (['A 0 1 "a"'], ['B 1 2 "a"'], ["--collar", "0.51"], {"errors": 0}),
    ]
    for i, (ref, hyp, args, expected) in enumerate(cases):

        def to_stm(lines):
            out = []
            for line in lines:
                spk, start, end, words = line.split(" ", 3)
                out.append(f"S 1 {spk} {start} {end} {words.strip(chr(34))}")
            return out

        r = stm(tmp_path / f"ref{i}.stm", *to_stm(ref))
        h = stm(tmp_path / f"hyp{i}.stm", *to_stm(hyp))
        proc = run_cli("-r", str(r), "-h", str(h), "-q", *args, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        got = summary(tmp_path / f"hyp{i}.score.json")
        assert {k: got[k] for k in expected} == expected, (ref, hyp, args)
        assert got["micro"] == pytest.approx(expected["errors"] / got["length"])


# --------------------------------------------------------- NOTSOFAR-layout dataset, end to end


def test_notsofar_dataset_end_to_end(tmp_path):
    root = tmp_path / "dev_set"
    make_notsofar_meeting(root, "MTG_30860", UTTS)
    make_notsofar_meeting(
        root,
        "MTG_30861",
        [{"speaker_id": "Zoe", "start_time": 1, "end_time": 3, "text": "Thanks, see you."}],
    )
    # A system's output for the multichannel track: one perfect session, one with errors.
    hyp = Transcript(
        [
            Segment("multichannel/MTG_30860_plaza_0", "spk0", 0.4, 2.1, "OK let us start"),
            Segment("multichannel/MTG_30860_plaza_0", "spk1", 2.5, 4.0, "I have three items"),
            Segment("multichannel/MTG_30861_plaza_0", "spk0", 1.0, 3.0, "thanks see"),
        ]
    )
    hyp_path = io.write(tmp_path / "exp" / "hyp.seglst.json", hyp)
    proc = run_cli(
        "-r", str(root), "-h", str(hyp_path), "--metric", "tcpwer,cpwer,tcorcwer,der,jer",
        "--html", str(tmp_path / "html"), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "multichannel track only" in proc.stderr and "Traceback" not in proc.stderr
    report = json.loads((tmp_path / "exp" / "hyp.score.json").read_text())
    tcp = report["summary"]["tcpwer"]
    # normalized: "ok let us start" / "i have three items" / "thanks see you" vs "thanks see"
    assert (tcp["errors"], tcp["length"], tcp["deletions"], tcp["num_sessions"]) == (1, 11, 1, 2)
    sessions = report["sessions"]["tcpwer"]
    assert sessions["multichannel/MTG_30860_plaza_0"]["errors"] == 0
    assert sessions["multichannel/MTG_30861_plaza_0"]["error_rate"] == pytest.approx(1 / 3)
    assert tcp["macro"] == pytest.approx((0 + 1 / 3) / 2)
    assert tcp["micro"] == pytest.approx(1 / 11)
    assert report["summary"]["cpwer"]["errors"] == 1
    assert report["summary"]["der"]["length"] > 0 and report["summary"]["jer"]["num_sessions"] == 2
    rows = list(csv.DictReader(stdio.StringIO((tmp_path / "exp" / "hyp.score.csv").read_text())))
    assert {r["session_id"] for r in rows} >= {"<macro>", "<micro>"}
    assert len([r for r in rows if not r["session_id"].startswith("<")]) == 2 * 5
    assert sorted(p.name for p in (tmp_path / "html").iterdir()) == [
        "multichannel_MTG_30860_plaza_0.html",
        "multichannel_MTG_30860_plaza_0.report.html",
        "multichannel_MTG_30861_plaza_0.html",
        "multichannel_MTG_30861_plaza_0.report.html",
    ]
    assert (
        "alignment_visualization"
        in (tmp_path / "html" / "multichannel_MTG_30861_plaza_0.html").read_text()
    )
    cfg = load_config(ScoreConfig, tmp_path / "exp" / "hyp.score.config.yaml")
    assert cfg.metrics == ("tcpwer", "cpwer", "tcorcwer", "der", "jer") and cfg.tcpwer.collar == 5


def test_notsofar_dataset_scored_with_the_official_normalization(tmp_path):
    """The CLI's tcpWER on raw NOTSOFAR-layout text equals meeteval's on the text as the official
    NOTSOFAR-1 normalizer writes it (its own outputs, from the committed vector sample)."""
    import meeteval

    lines = (REPO / "tests" / "fixtures" / "notsofar1_text_norm_sample.tsv").read_text("utf-8")
    pairs = [tuple(line.split("\t")) for line in lines.splitlines()[1:] if line]
    rng = random.Random(3)
    speakers = ["Peter", "Ann", "Zoe"]
    utts, ref, hyp = [], [], []
    sid = "multichannel/MTG_30870_plaza_0"
    t = 0.0
    for i, (raw, official) in enumerate(pairs[:40]):
        spk = speakers[i % 3]
        utts.append({"speaker_id": spk, "start_time": t, "end_time": t + 3.0, "text": raw})
        ref.append({"session_id": sid, "speaker": spk, "start_time": t, "end_time": t + 3.0,
                    "words": official})  # fmt: skip
        if i % 5 != 4:  # every fifth utterance missed; every third replaced by another sentence
            h_raw, h_official = pairs[(i + 50) % len(pairs)] if i % 3 == 1 else (raw, official)
            hs = round(t + rng.uniform(-0.5, 0.5), 2)
            hyp.append(Segment(sid, f"h{i % 3}", max(0.0, hs), hs + 3.0, h_raw))
        t += 3.5
    make_notsofar_meeting(tmp_path / "dev_set", "MTG_30870", utts)
    hyp_path = io.write(tmp_path / "exp" / "hyp.seglst.json", Transcript(hyp))
    proc = run_cli("-r", str(tmp_path / "dev_set"), "-h", str(hyp_path), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    mine = summary(tmp_path / "exp" / "hyp.score.json")

    official_hyp = [
        {**s.to_seglst(), "words": dict(pairs)[s.words]} for s in hyp
    ]  # the official normalizer's output for each hypothesis text
    theirs = meeteval.wer.tcpwer(
        meeteval.io.SegLST(ref), meeteval.io.SegLST(official_hyp), collar=5
    )[sid]
    assert (mine["errors"], mine["length"], mine["insertions"], mine["deletions"]) == (
        theirs.errors, theirs.length, theirs.insertions, theirs.deletions,
    )  # fmt: skip
    assert mine["substitutions"] == theirs.substitutions and mine["errors"] > 0


def test_hypothesis_folder_and_rttm_diarization_through_the_cli(tmp_path):
    """A transcribe-style output folder (one session per file, several formats) and RTTM DER."""
    ref = Transcript(
        [
            Segment("multichannel/M1_a", "A", 0, 4, "one two"),
            Segment("multichannel/M2_a", "B", 1, 3, "x"),
        ]
    )
    io.write(tmp_path / "ref.rttm", ref)
    io.write(tmp_path / "ref.stm", ref)
    out = tmp_path / "exp"
    for seg in ref:
        name = seg.session_id  # "multichannel/M1_a" -> exp/multichannel/M1_a.*
        t = Transcript([dataclasses.replace(seg, speaker="s0")])
        io.write(out / f"{name}.seglst.json", t)
        io.write(out / f"{name}.rttm", t)
    proc = run_cli("-r", str(tmp_path / "ref.stm"), "-h", str(out), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    tcp = summary(tmp_path / "exp.score.json")
    assert (tcp["errors"], tcp["length"], tcp["num_sessions"]) == (0, 3, 2)  # counted once
    proc = run_cli(
        "-r", str(tmp_path / "ref.rttm"), "-h", str(out / "multichannel" / "M1_a.rttm"),
        "--metric", "der,jer", "--partial", "-q", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "missing from the hypothesis" in proc.stderr  # M2_a: all missed speech
    rep = json.loads((out / "multichannel" / "M1_a.score.json").read_text())
    assert rep["sessions"]["der"]["multichannel/M1_a"]["error_rate"] == 0.0
    assert rep["sessions"]["der"]["multichannel/M2_a"]["missed_detection"] == pytest.approx(1.5)


# ------------------------------------------------------------------ agreement with meeteval


def _random_meetings(seed: int, sessions: int = 4) -> tuple[Transcript, Transcript]:
    rng = random.Random(seed)
    vocab = [
        "the",
        "a",
        "meeting",
        "slide",
        "budget",
        "plan",
        "next",
        "week",
        "okay",
        "we",
        "can't",
        "see",
        "it's",
        "3",
        "items",
    ]
    ref, hyp = [], []
    for s in range(sessions):
        t = 0.0
        for _ in range(rng.randint(5, 15)):
            spk = rng.choice("ABCD")
            words = [rng.choice(vocab) for _ in range(rng.randint(1, 8))]
            dur = 0.4 * len(words)
            ref.append(Segment(f"S{s}", spk, round(t, 2), round(t + dur, 2), " ".join(words)))
            hw = [
                w if rng.random() > 0.2 else rng.choice(vocab) for w in words if rng.random() > 0.1
            ]
            shift = rng.uniform(-2, 2)
            hs, he = max(0.0, t + shift), max(0.0, t + shift) + dur
            hyp.append(
                Segment(
                    f"S{s}", f"h{'ABCD'.index(spk) % 3}", round(hs, 2), round(he, 2), " ".join(hw)
                )
            )
            t += dur * rng.uniform(0.5, 1.2)
    return Transcript(ref), Transcript(hyp)


@pytest.mark.parametrize("normalizer", ["none", "notsofar"])
def test_numbers_identical_to_meeteval_on_the_same_normalized_inputs(normalizer):
    import meeteval

    from notsofar.normalize import get_normalizer

    ref, hyp = _random_meetings(7)
    cfg = ScoreConfig(metrics=("tcpwer", "cpwer", "tcorcwer"), normalizer=normalizer)
    report = score(ref, hyp, cfg)
    norm = get_normalizer(normalizer)

    def seglst(t):
        return meeteval.io.SegLST([{**s.to_seglst(), "words": norm(s.words)} for s in t])

    r, h = seglst(ref), seglst(hyp)
    expected = {
        "tcpwer": meeteval.wer.tcpwer(r, h, collar=5),
        "cpwer": meeteval.wer.cpwer(r, h),
        "tcorcwer": meeteval.wer.tcorcwer(r, h, collar=5),
    }
    for metric, per_session in expected.items():
        mine = {row.session_id: row for row in report.sessions if row.metric == metric}
        assert set(mine) == set(per_session)
        for sid, er in per_session.items():
            got = mine[sid]
            assert (got.errors, got.length, got.insertions, got.deletions, got.substitutions) == (
                er.errors, er.length, er.insertions, er.deletions, er.substitutions,
            )  # fmt: skip
        total = meeteval.wer.combine_error_rates(*per_session.values())
        assert report.metric(metric).micro == pytest.approx(float(total.error_rate))


def test_same_numbers_as_the_meeteval_wer_command(tmp_path):
    ref, hyp = _random_meetings(3, sessions=3)
    r = io.write(tmp_path / "ref.seglst.json", ref)
    h = io.write(tmp_path / "hyp.seglst.json", hyp)
    meeteval_wer = Path(sys.executable).parent / "meeteval-wer"
    subprocess.run(
        [str(meeteval_wer), "tcpwer", "-r", str(r), "-h", str(h), "--collar", "5"],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    theirs = json.loads((tmp_path / "hyp.seglst_tcpwer.json").read_text())
    proc = run_cli("-r", str(r), "-h", str(h), "--normalizer", "none", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    mine = summary(tmp_path / "hyp.score.json")
    assert (mine["errors"], mine["length"]) == (theirs["errors"], theirs["length"])
    assert mine["micro"] == pytest.approx(theirs["error_rate"])


# ---------------------------------------------------------------------------- DER / JER


def test_der_and_jer_with_pyannote_collar_convention():
    ref = Transcript([Segment("S", "A", 0, 10, ""), Segment("S", "B", 10, 20, "")])
    hyp = Transcript(
        [Segment("S", "x", 0, 10, ""), Segment("S", "y", 10, 15, ""), Segment("S", "x", 15, 20, "")]
    )
    no_collar = dataclasses.replace(ScoreConfig().der, collar=0.0)
    rep = score(ref, hyp, ScoreConfig(metrics=("der", "jer"), der=no_collar, jer=no_collar))
    der = rep.metric("der")
    assert (der.confusion, der.length, der.micro) == (5.0, 20.0, 0.25)
    # collar 1.0 = total width: 0.5 s each side of every reference boundary (0, 10, 10, 20) is not
    # scored: 0.5 + 1 + 0.5 = 2 s; the confusion 10-15 loses 10-10.5. (md-eval would need -c 0.5.)
    one = dataclasses.replace(no_collar, collar=1.0)
    der1 = score(ref, hyp, ScoreConfig(metrics=("der",), der=one)).metric("der")
    assert der1.length == pytest.approx(18.0) and der1.confusion == pytest.approx(4.5)
    jer = rep.metric("jer")
    assert 0 < jer.micro < 1 and jer.macro == pytest.approx(jer.micro)


# ---------------------------------------------------------------------------------- UEM


def test_uem_restricts_what_is_scored(tmp_path):
    from notsofar.io import uem as uem_io

    ref = Transcript([Segment("S", "A", 0, 2, "a b"), Segment("S", "A", 20, 22, "c d")])
    hyp = Transcript([Segment("S", "X", 0, 2, "a b")])
    assert score(ref, hyp).metric("tcpwer").errors == 2
    u = uem_io.loads("S 1 0 10\n")
    assert score(ref, hyp, uem=u).metric("tcpwer").errors == 0  # the missed words are outside
    cfg = ScoreConfig(metrics=("tcpwer", "der"), uem=str(uem_io.dump(u, tmp_path / "s.uem")))
    rep = score(ref, hyp, cfg)
    # DER: 2 s of speech in the UEM, minus the default 0.5 s (total) collar at both boundaries
    assert rep.metric("tcpwer").length == 2 and rep.metric("der").length == 1.5
    with pytest.raises(NotsofarError, match="UEM has no region for session"):
        score(ref, hyp, uem=uem_io.loads("T 1 0 10\n"))


# ---------------------------------------------------------------- sessions and bad input


def test_missing_hyp_session_is_all_deletions_with_a_warning(tmp_path):
    r = stm(tmp_path / "ref.stm", "S1 1 A 0 1 a b", "S2 1 A 0 1 c d e")
    h = stm(tmp_path / "hyp.stm", "S1 1 X 0 1 a b")
    proc = run_cli("-r", str(r), "-h", str(h), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "warning: 1 reference session(s) missing from the hypothesis" in proc.stderr
    rep = json.loads((tmp_path / "hyp.score.json").read_text())
    s2 = rep["sessions"]["tcpwer"]["S2"]
    assert (s2["deletions"], s2["errors"], s2["missed_speaker"], s2["hyp_missing"]) == (
        3,
        3,
        1,
        True,
    )
    assert rep["summary"]["tcpwer"]["micro"] == pytest.approx(3 / 5)


def test_hyp_session_without_reference(tmp_path):
    r = stm(tmp_path / "ref.stm", "S1 1 A 0 1 a b")
    h = stm(tmp_path / "hyp.stm", "S1 1 X 0 1 a b", "S9 1 X 0 1 z")
    proc = run_cli("-r", str(r), "-h", str(h), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "notsofar: error: 1 hypothesis session(s) have no reference: S9 "
        "(use --partial to score only sessions with a reference)"
    ]
    assert not (tmp_path / "hyp.score.json").exists()
    proc = run_cli("-r", str(r), "-h", str(h), "--partial", "-q", cwd=tmp_path)
    assert (
        proc.returncode == 0
        and "ignored 1 hypothesis session(s) without reference: S9" in proc.stderr
    )
    assert summary(tmp_path / "hyp.score.json")["errors"] == 0


def test_bad_input_through_the_cli_is_one_line(tmp_path):
    good = stm(tmp_path / "ref.stm", "S1 1 A 0 1 a")
    bad = stm(tmp_path / "hyp.stm", "S1 1 X 0 1 a", "S1 1 X 3 2 b")
    cases = [
        (["-r", str(good), "-h", str(bad)], "hyp.stm:2: segment S1/X [3.0-2.0]: end_time 2.0 < start_time 3.0"),
        (["-r", str(good), "-h", str(tmp_path / "nope.json")], "nope.json: no such file or folder"),
        (["-r", str(good), "-h", str(good), "--metric", "wer"], "unknown metric 'wer'"),
        (["-r", str(good), "-h", str(good), "--set", "tcpwer.colar=3"], "unknown config key 'tcpwer.colar'"),
    ]  # fmt: skip
    for args, message in cases:
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], proc.stderr


def test_score_api_errors():
    with pytest.raises(NotsofarError, match="reference has no segments"):
        score(Transcript(), Transcript())
    turns = Transcript([Segment("S", "A", 0, 1, "")])  # e.g. read from RTTM
    with pytest.raises(NotsofarError, match="reference has no words, so tcpwer cannot"):
        score(turns, turns)
    assert score(turns, turns, ScoreConfig(metrics=("der",))).metric("der").micro == 0.0
    with pytest.raises(NotsofarError, match="collar must be >= 0"):
        score(
            Transcript([Segment("S", "A", 0, 1, "a")]),
            Transcript(),
            ScoreConfig(tcpwer=TcpwerConfig(collar=-1)),
        )


# ----------------------------------------------------------------------- config and CLI


def test_default_yaml_equals_the_dataclass_defaults():
    assert load_config(ScoreConfig, REPO / "configs" / "score" / "notsofar.yaml") == ScoreConfig()


def test_cli_and_python_api_stay_in_step():
    import inspect

    from notsofar.cli.score import score_command

    params = set(inspect.signature(score_command).parameters)
    # every scalar top-level config field has a CLI option (metrics is --metric)
    for f in dataclasses.fields(ScoreConfig):
        if dataclasses.is_dataclass(
            f.default_factory if f.default_factory is not dataclasses.MISSING else None
        ):
            continue
        if f.name != "exact_times":  # an expert switch: --set exact_times=false
            assert {"metrics": "metric"}.get(f.name, f.name) in params, f.name
    assert {"ref", "hyp", "collar", "html", "out", "config", "set_", "quiet"} <= params
    assert set(inspect.signature(score).parameters) == {"ref", "hyp", "cfg", "uem", "on_session"}


def test_progress_callback_counts_every_session_and_metric():
    ref, hyp = _random_meetings(5, sessions=3)
    ticks = []
    score(ref, hyp, ScoreConfig(metrics=("tcpwer", "der")), on_session=lambda: ticks.append(1))
    assert len(ticks) == 3 * 2
