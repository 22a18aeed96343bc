"""``notsofar restore`` as a user runs it: a subprocess, real files, exit codes, resumability."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from notsofar.audio import read
from notsofar.restore import degrade as D

FIX = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
SR = 16000


def run_inproc(*args: str | Path) -> subprocess.CompletedProcess:
    """The same command through Typer's runner, in this process (no start-up cost)."""
    from typer.testing import CliRunner

    from notsofar.cli.main import app

    r = CliRunner().invoke(app, ["restore", *map(str, args)])
    return subprocess.CompletedProcess(args, r.exit_code, r.stdout, r.stderr)


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "notsofar.cli.main", "restore", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("restore_cli")
    clean = read(FIX / "clean_speech.wav", SR)[0]
    noisy = D.add_noise(clean, 5.0, seed=1)
    out = {"clean": d / "clean.wav", "noisy": d / "noisy.wav"}
    sf.write(out["clean"], clean, SR)
    sf.write(out["noisy"], noisy, SR, subtype="PCM_24")
    batch = d / "batch"
    (batch / "sub").mkdir(parents=True)
    sf.write(batch / "a.flac", np.stack([noisy, D.clip(clean, 0.3)], axis=1), SR)
    sf.write(batch / "sub" / "b.ogg", D.lowpass(clean, SR, 3000.0), SR)
    (batch / "broken.wav").write_bytes(b"RIFF....not audio")
    sf.write(batch / "silent.wav", np.zeros(SR, np.float32), SR)
    out["batch"] = batch
    return out


def test_single_file_eval_and_sr(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.flac"
    report = tmp_path / "report.json"
    r = run(files["noisy"], "-o", out, "--eval", files["clean"], "--sr", 8000, "--report", report)
    assert r.returncode == 0, r.stderr
    info = sf.info(str(out))
    assert info.samplerate == 8000 and info.frames == 5 * 8000
    y, _ = sf.read(str(out))
    assert np.abs(y).max() < 1.0
    item = json.loads(report.read_text())[str(files["noisy"])]
    m = item["metrics"]
    assert m["output"]["si_sdr"] > m["input"]["si_sdr"]
    assert m["output"]["bak"] > m["input"]["bak"]
    assert "deepfilter" in item["steps"][0]  # the default chain's denoiser
    assert (tmp_path / "restore.config.yaml").exists()
    assert not (tmp_path / "restore.report.json").exists()  # --report chose another place
    assert "pesq_wb" in r.stdout and "pesq_wb" not in r.stderr  # metrics table: a result


def test_analyze_prints_json(files: dict[str, Path]) -> None:
    r = run_inproc(files["noisy"], "--analyze", "-q", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)[str(files["noisy"])]
    assert data["status"] == "analyzed"
    assert 0 < data["analysis"][0]["snr_db"] < 15


def test_analyze_table_is_a_result_on_stdout(files: dict[str, Path]) -> None:
    r = run(files["noisy"], "--analyze")
    assert r.returncode == 0, r.stderr
    assert "Degradation analysis" in r.stdout and "restore: 1 analyzed" in r.stdout
    assert "analysis" not in r.stderr and "{" not in r.stdout  # no JSON without --json


def test_batch_resumable_lists_failures(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "restored"
    r = run(files["batch"], "-o", out)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("notsofar: error:")]
    assert len(errors) == 2
    assert any("broken.wav" in e for e in errors) and any("silent" in e for e in errors)
    a, sr = sf.read(str(out / "a.flac"))
    assert a.shape == (5 * SR, 2) and sr == SR  # per-channel, same length
    assert (out / "sub" / "b.ogg").exists()
    report = json.loads((out / "restore.report.json").read_text())
    assert report[str(files["batch"] / "a.flac")]["analysis"][1]["clipping_ratio"] > 0.001
    assert not (out / "broken.wav").exists()
    assert not list(out.rglob(".*.tmp*"))  # no partial files
    mtime = (out / "a.flac").stat().st_mtime_ns
    again = run(files["batch"], "-o", out, "--report", tmp_path / "r.json")
    assert again.returncode == 1
    status = {
        Path(k).name: v["status"] for k, v in json.loads((tmp_path / "r.json").read_text()).items()
    }
    assert status["a.flac"] == "skipped" and status["b.ogg"] == "skipped"
    assert (out / "a.flac").stat().st_mtime_ns == mtime


def test_usage_errors_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    r = run_inproc(files["noisy"])
    assert r.returncode == 2 and "nothing to do" in r.stderr
    r = run_inproc(tmp_path / "missing.wav", "-o", tmp_path / "x.wav")
    assert r.returncode == 2 and "not found" in r.stderr
    r = run_inproc(files["noisy"], "-o", tmp_path / "x.wav", "--backend", "voicefixer")
    assert r.returncode == 2 and "vf.ckpt" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.wav").exists()
    short = tmp_path / "short.wav"
    sf.write(short, np.full(50, 0.1, np.float32), SR)
    r = run_inproc(short, "-o", tmp_path / "y.wav")
    assert r.returncode == 1 and "too short" in r.stderr


@pytest.mark.slow  # align() is unit-tested in test_metrics.py; this is the CLI end to end
def test_eval_mismatched_reference(files: dict[str, Path], tmp_path: Path) -> None:
    long_ref = tmp_path / "long.wav"
    sf.write(long_ref, np.tile(read(files["clean"], SR)[0], 4), SR)
    r = run(files["noisy"], "-o", tmp_path / "o.wav", "--eval", long_ref)
    assert r.returncode == 1 and "not the same recording" in r.stderr
    # a reference at another rate is resampled and aligned
    ref44 = tmp_path / "ref44.wav"
    sf.write(ref44, read(files["clean"], 44100)[0], 44100)
    r = run(files["noisy"], "-o", tmp_path / "o2.wav", "--eval", ref44)
    assert r.returncode == 0, r.stderr
