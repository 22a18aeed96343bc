"""Regression tests for the rough edges a new user hit (issue 14, "Defects").

Real audio (the committed fixtures) through the real default models, the CLI as a subprocess
where the defect showed there.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from notsofar.data import Segment, Transcript, Word

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CLEAN = FIXTURES / "clean_speech.wav"
TWO = FIXTURES / "two_speakers.wav"


sys.path.insert(0, str(Path(__file__).parent))
from helpers import cli  # noqa: E402

# ---- file names with spaces -----------------------------------------------------------------


def test_rttm_of_a_session_with_spaces_is_valid_and_reads_back():
    from notsofar.io import rttm

    t = Transcript([Segment("my rec", "spk 1", 0.5, 1.5, ""), Segment("my rec", "B", 2, 3, "")])
    text = rttm.dumps(t)
    assert all(len(line.split()) == 10 for line in text.splitlines()), text
    back = rttm.loads(text)
    assert back.session_ids == ["my_rec"] and sorted(back.speakers) == ["B", "spk_1"]
    assert rttm.dumps(back) == text


def test_sessions_from_names_with_spaces_keep_the_name_and_get_a_safe_id(tmp_path):
    from notsofar.pipeline.batch import find_sessions
    from notsofar.pipeline.source import FileSource

    wav = tmp_path / "my rec.wav"
    shutil.copy(CLEAN, wav)
    (session,) = find_sessions([wav])
    assert (session.name, session.session_id) == ("my rec", "my_rec")
    assert FileSource(wav, 0).name == "my_rec"


def test_folders_under_a_hidden_directory_are_searched_and_hidden_names_below_are_not(tmp_path):
    """A meeting folder under ~/.cache-like paths found no audio (every part of the absolute
    path was checked for a leading dot); restore took files inside hidden sub-folders. Both
    batch commands and the per-speaker folder now share one rule, relative to the folder."""
    from notsofar.diarize.tracks import speaker_files
    from notsofar.pipeline.batch import find_sessions
    from notsofar.restore.batch import find_inputs

    top = tmp_path / ".cache" / "meetings"
    for rel in ("a.wav", "b.flac", "sub/c.wav", ".hidden.wav", ".ipynb_checkpoints/a.wav"):
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CLEAN, top / rel)
    (top / "dir.wav").mkdir()  # a folder with an audio suffix is not a file to read
    want = [top / "a.wav", top / "b.flac", top / "sub/c.wav"]
    assert find_inputs(top) == want
    assert [s.paths for s in find_sessions([top])] == [(p,) for p in want]
    assert [s.name for s in find_sessions([top])] == ["a", "b", "sub/c"]
    (folder,) = [s for s in find_sessions([top], speakers=True) if s.speaker_files]
    assert folder.paths == (top / "a.wav", top / "b.flac")
    assert speaker_files(top) == (top / "a.wav", top / "b.flac")


def test_diarize_recognize_score_read_our_own_output_with_spaces(tmp_path):
    wav = tmp_path / "my rec.wav"
    shutil.copy(TWO, wav)
    out = tmp_path / "out"
    d = cli("diarize", str(wav), "-o", str(out))
    assert d.returncode == 0, d.stderr
    rttm = out / "my rec.rttm"
    assert all(len(line.split()) == 10 for line in rttm.read_text().splitlines())
    r = cli("recognize", str(wav), "--diarization", str(rttm), "-o", str(out))
    assert r.returncode == 0, r.stderr
    hyp = json.loads((out / "my rec.seglst.json").read_text())
    assert hyp and {s["session_id"] for s in hyp} == {"my_rec"}
    s = cli("score", "-r", str(rttm), "-h", str(out / "my rec.seglst.json"), "--metric", "der")
    assert s.returncode == 0, s.stderr
    assert "my_rec" in s.stdout + s.stderr


# ---- transcribe: temp files, config changes, the array notice, the resolved config ----------


def test_transcribe_cleans_stale_temps_redoes_changed_configs_and_says_what_ran(tmp_path):
    src = tmp_path / "m1.wav"
    shutil.copy(CLEAN, src)
    out = tmp_path / "out"
    out.mkdir()
    # what a SIGKILL while writing left behind: a half-written output and a write-test probe
    stale = [out / ".m1.seglst.json.k1l2m3.tmp.json", out / "..notsofar-write-test.a1b2.tmp"]
    for p in stale:
        p.write_text("half")
    other = out / ".m2.seglst.json.zzzz.tmp.json"  # another session's: not this run's to touch
    other.write_text("half")

    mc = ("--set", "array=notsofar_mc")
    first = cli("transcribe", str(src), "-o", str(out), *mc)
    assert first.returncode == 0, first.stderr
    assert not any(p.exists() for p in stale), "stale temporary files were left"
    assert other.exists()
    # README promises a notice when the array path cannot run
    assert "m1: mono input; array=notsofar_mc" in first.stderr
    # the resolved config shows what actually ran
    ran = yaml.safe_load((out / "m1.config.yaml").read_text())
    assert ran["array"] == "none"
    assert ran["device"] == "cpu"
    assert (
        Path(ran["asr"]["model"]).is_absolute()
        and (Path(ran["asr"]["model"]) / "model.bin").is_file()
    )
    assert ran["asr"]["cpu_threads"] > 0 and ran["asr"]["compute_type"] == "int8"
    assert ran["diarize"]["runtime"] == "onnx"  # auto, resolved to what the CPU run used
    done = json.loads((out / "m1.done.json").read_text())
    assert done["config_hash"] and done["audio"] == [str(src)]

    again = cli("transcribe", str(src), "-o", str(out), *mc)
    assert again.returncode == 0 and "skip m1 (done)" in again.stderr

    changed = cli("transcribe", str(src), "-o", str(out), *mc, "--set", "asr.beam_size=1")
    assert changed.returncode == 0, changed.stderr
    assert "redo m1: done with another config" in changed.stderr
    assert "transcribing m1" in changed.stderr
    assert json.loads((out / "m1.done.json").read_text())["config_hash"] != done["config_hash"]
    assert yaml.safe_load((out / "m1.config.yaml").read_text())["asr"]["beam_size"] == 1

    kept = cli(
        "transcribe", str(src), "-o", str(out), "--set", "asr.beam_size=3", "--resume-any-config"
    )
    assert kept.returncode == 0 and "skip m1 (done)" in kept.stderr


def test_asr_language_is_validated(tmp_path):
    proc = cli("transcribe", str(CLEAN), "-o", str(tmp_path / "o"), "--set", "asr.language=xx")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "asr.language" in lines[0] and "'xx'" in lines[0]
    from notsofar.recognize.config import check_language

    check_language("de")  # a real code passes


# ---- progress ---------------------------------------------------------------------------------


def test_progress_advances_during_the_session():
    from notsofar.config import load_config
    from notsofar.pipeline import transcribe_source
    from notsofar.pipeline.config import TranscribeConfig
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import FileSource

    cfg = load_config(TranscribeConfig, None, ["diarize.vad.block_s=5"])
    source = FileSource(TWO, 0)
    seen: list[float] = []
    transcribe_source(source, cfg, ModelCache("cpu"), seen.append)
    duration = source.duration_s
    assert seen == sorted(seen) and seen[0] == 0.0 and seen[-1] == pytest.approx(duration)
    inside = {round(t, 6) for t in seen if 0.0 < t < duration}
    assert len(inside) >= 3, f"progress only at {seen}"


# ---- outputs people read ------------------------------------------------------------------


def test_no_zero_length_words_or_segments():
    from notsofar.recognize.attribute import attribute

    words = [Word("So", 91.0, 91.2), Word("Great.", 91.22, 91.22)]
    (seg,) = attribute([words], None, "m")
    assert seg.end_time > seg.start_time
    assert all(w.end_time > w.start_time for w in seg.word_details)
    (alone,) = attribute([[Word("Great.", 91.22, 91.22)]], None, "m")
    assert alone.end_time > alone.start_time


def test_consecutive_segments_of_one_speaker_are_merged_in_readable_formats():
    from notsofar.io import subtitles, text

    t = Transcript(
        [
            Segment("m", "A", 0.0, 1.0, "so we"),
            Segment("m", "A", 1.3, 2.0, "agree"),
            Segment("m", "B", 2.5, 3.0, "yes"),
            Segment("m", "A", 3.5, 4.0, "good"),
        ]
    )
    lines = text.dumps(t).splitlines()
    assert lines == [
        "[0:00:00.000 - 0:00:02.000] A: so we agree",
        "[0:00:02.500 - 0:00:03.000] B: yes",
        "[0:00:03.500 - 0:00:04.000] A: good",
    ]
    assert subtitles.dumps_srt(t).count("-->") == 3
    assert subtitles.dumps_vtt(t).count("-->") == 3
    assert "[A] so we agree" in subtitles.dumps_srt(t)


def test_score_files_have_no_float_noise():
    from notsofar.score import MetricSummary, ScoreReport, SessionScore

    row = SessionScore("m", "der", 0.12319999999999975, 1.2319999999999975, 10.000000000000002)
    summary = MetricSummary(
        "der", 1, 0.12319999999999975, 0.12319999999999975, 1.2319999999999975, 10.0
    )
    report = ScoreReport((row,), (summary,))
    for text in (report.to_json(), report.to_csv()):
        assert "99999" not in text and "00000000" not in text, text
        assert "1.232" in text and "0.1232" in text


def test_rtf_of_a_one_sample_file():
    from notsofar.pipeline.batch import BatchReport, Outcome, Session, summary_table
    from notsofar.restore.batch import FileResult

    one = Outcome(Session("x", "x", (Path("x.wav"),)), "done", 1 / 16000, 0.4, 0, 0)
    assert one.rtf is None
    from rich.console import Console

    con = Console(record=True, width=120)
    con.print(summary_table(BatchReport([one])))
    assert "6400" not in con.export_text()
    assert FileResult("x", "y", "restored", duration_s=1 / 16000, elapsed_s=0.1).rtf is None
    assert FileResult("x", "y", "restored", duration_s=10.0, elapsed_s=1.0).rtf == 0.1


# ---- restore --------------------------------------------------------------------------------


def test_restore_warns_on_truncated_wav_and_checks_the_output_up_front(tmp_path):
    wav = tmp_path / "in.wav"
    shutil.copy(CLEAN, wav)
    data = wav.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])  # the header still promises 5 s
    out = tmp_path / "cut_out.wav"
    proc = cli("restore", str(cut), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"{cut}: file shorter than its header says (2.50 of 5.00 s)" in proc.stderr
    assert out.is_file()

    bad = cli("restore", str(wav), "-o", str(tmp_path / "out.xyz"))
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"notsofar: error: {tmp_path / 'out.xyz'}: unknown audio format '.xyz' for output "
        "(use .wav, .flac, .ogg, ...)"
    ]
    assert not list(tmp_path.glob(".out.xyz*"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    bad = cli("restore", str(wav), "-o", str(blocker / "sub" / "out.wav"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "not writable" in bad.stderr


def test_restore_redoes_outputs_of_another_config_and_cleans_its_temps(tmp_path):
    wav = tmp_path / "in.wav"
    x, sr = sf.read(CLEAN, dtype="float32")
    rng = np.random.default_rng(0)
    sf.write(wav, x + 0.02 * rng.standard_normal(len(x)).astype(np.float32), sr)
    out = tmp_path / "out" / "in.wav"
    out.parent.mkdir()
    stale = out.parent / ".in.wav.q1w2e3.tmp.wav"
    stale.write_bytes(b"half")
    first = cli("restore", str(wav), "-o", str(out))
    assert first.returncode == 0, first.stderr
    assert not stale.exists()
    again = cli("restore", str(wav), "-o", str(out))
    assert "made with another config" not in again.stderr
    assert again.stdout == "restore: 1 skipped\n"  # the summary (stdout since the cli branch)
    report = json.loads((out.parent / "restore.report.json").read_text())
    assert report[str(wav)]["status"] == "skipped"

    changed = cli("restore", str(wav), "-o", str(out), "--set", "dsp.loudness.target_dbfs=-30")
    assert changed.returncode == 0, changed.stderr
    assert "made with another config; redoing it" in changed.stderr
    report = json.loads((out.parent / "restore.report.json").read_text())
    assert report[str(wav)]["status"] == "restored"

    kept = cli("restore", str(wav), "-o", str(out), "--resume-any-config")
    assert kept.returncode == 0
    report = json.loads((out.parent / "restore.report.json").read_text())
    assert report[str(wav)]["status"] == "skipped"
