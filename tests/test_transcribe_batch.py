"""Batch behaviour of `notsofar transcribe`: resume after a kill, bad inputs, usage errors.

Real audio and the real default models, the CLI as a subprocess.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "tests" / "fixtures" / "clean_speech.wav"
#: espeak-ng fixtures: the fusion diarizer they were made for (see tests/test_transcribe.py)
CMD = [sys.executable, "-m", "notsofar.cli.main", "transcribe", "--set", "diarize.backend=fusion"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CMD, *args], capture_output=True, text=True, cwd=ROOT)


def test_resume_after_kill_is_identical_and_transcribes_nothing_twice(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(CLEAN, src / f"{name}.wav")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*CMD, str(src), "-o", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while not (out / "a.done.json").exists():
        assert proc.poll() is None, "batch ended before it could be interrupted"
        assert time.time() < deadline, "first session never finished"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = sorted(p.name for p in out.glob("*.done.json"))
    assert "c.done.json" not in done_before, "killed too late to test resuming"
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("a.*")}

    rerun = run(str(src), "-o", str(out))
    assert rerun.returncode == 0, rerun.stderr
    assert "skip a (done)" in rerun.stderr
    assert "transcribing a" not in rerun.stderr
    assert "transcribing c" in rerun.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("a.*")} == mtimes
    assert not list(out.glob(".*")), "temporary files left behind"
    # the same audio gives the same outputs, interrupted or not
    for suffix in (".txt", ".srt", ".vtt", ".rttm"):
        texts = {(out / f"{n}{suffix}").read_text().replace(f" {n} ", " X ") for n in "abc"}
        assert len(texts) == 1, suffix
    assert (out / "a.txt").read_text().strip(), "clean speech gave no words"


def test_bad_and_empty_inputs_in_one_batch(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    empty_file = tmp_path / "empty.wav"
    empty_file.write_bytes(b"")
    zero = tmp_path / "zero.wav"
    sf.write(zero, np.zeros(0, dtype=np.float32), 16000)
    silent = tmp_path / "silent.flac"
    sf.write(silent, np.zeros(8000 * 6, dtype=np.float32), 8000)  # another rate too
    out = tmp_path / "out"
    proc = run(str(corrupt), str(empty_file), str(zero), str(silent), "-o", str(out), "-q")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("notsofar: error:")]
    assert len(errors) == 2
    assert any(str(corrupt) in e for e in errors) and any(str(empty_file) in e for e in errors)
    assert "2 of 4 session(s) failed" in proc.stderr
    for name in ("zero", "silent"):  # no speech: an empty transcript, not a crash
        assert (out / f"{name}.done.json").is_file()
        assert (out / f"{name}.seglst.json").read_text().strip() == "[]"
        assert (out / f"{name}.txt").read_text() == ""
    for name in ("corrupt", "empty"):
        assert not list(out.glob(f"{name}.*")), "partial outputs of a failed session"


def test_usage_errors_are_one_line(tmp_path):
    not_a_model = tmp_path / "model"
    not_a_model.mkdir()
    (not_a_model / "config.json").write_text("{}")
    proc = run(str(CLEAN), "-o", str(tmp_path / "o1"), "--set", f"asr.model={not_a_model}")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"notsofar: error: {not_a_model}: not a CTranslate2 Whisper model directory "
        "(no model.bin); convert with ct2-transformers-converter"
    ]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run(str(CLEAN), "-o", str(blocker / "sub"))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and str(blocker / "sub") in proc.stderr
    proc = run(str(CLEAN), "-o", str(tmp_path / "o2"), "--set", "diarize.bogus=1")
    assert proc.returncode == 2 and "unknown config key 'diarize.bogus'" in proc.stderr
    proc = run(str(tmp_path / "missing.wav"), "-o", str(tmp_path / "o3"))
    assert proc.returncode == 2 and "missing.wav: input not found" in proc.stderr
    mc = ROOT / "tests" / "fixtures" / "mc_two_speakers.flac"
    proc = run(str(mc), "-o", str(tmp_path / "o4"), "--set", "channel=9", "-q")
    assert proc.returncode == 1
    assert "channel 9 out of range: the file has 7 channel(s)" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o4").exists() or not list((tmp_path / "o4").iterdir())
