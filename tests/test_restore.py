"""Restore stage: analysis finds each degradation, the DSP backend fixes it, clean stays clean.

Speech: tests/fixtures/clean_speech.wav (an espeak-ng voice, committed), degraded inside the tests
with VoiceFixer's recipe (notsofar.restore.degrade).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from notsofar.audio import read
from notsofar.config import load_config
from notsofar.errors import NotsofarError
from notsofar.metrics import dnsmos, si_sdr
from notsofar.restore import degrade as D
from notsofar.restore import restore_array
from notsofar.restore.analyze import analyze, clipped_mask, problems
from notsofar.restore.config import DspConfig, RestoreConfig
from notsofar.restore.dsp import declip, dereverb, plan, wpe_single

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
SR = 16000


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    x, sr = read(FIX / "clean_speech.wav", SR)
    assert sr == SR
    return x


# ----------------------------------------------------------------------------- configs


@pytest.mark.parametrize("name", ["dsp", "voicefixer"])
def test_shipped_configs_load(name: str) -> None:
    cfg = load_config(RestoreConfig, ROOT / "configs" / "restore" / f"{name}.yaml")
    assert cfg.backend == name
    assert cfg.enabled is False
    assert cfg.effective_profile == "listening"


def test_asr_profile_config_and_its_default_in_front_of_transcribe() -> None:
    from notsofar.pipeline.config import TranscribeConfig

    cfg = load_config(RestoreConfig, ROOT / "configs" / "restore" / "asr.yaml")
    assert cfg.effective_profile == "asr"
    assert (cfg.asr.max_snr_db, cfg.asr.atten_lim_db) == (15.0, 12.0)
    # `transcribe --set restore.enabled=true` gets the asr profile, `notsofar restore` does not
    front = load_config(TranscribeConfig, None, ["restore.enabled=true"]).restore
    assert front.effective_profile == "asr"
    assert RestoreConfig().effective_profile == "listening"
    shipped = load_config(TranscribeConfig, ROOT / "configs" / "transcribe" / "default.yaml")
    assert shipped.restore.asr == cfg.asr
    with pytest.raises(NotsofarError, match="restore.profile"):
        load_config(RestoreConfig, None, ["profile=loud"])


def test_config_rejects_unknown_backend_and_keys(tmp_path: Path) -> None:
    with pytest.raises(NotsofarError, match="unknown backend 'magic'"):
        load_config(RestoreConfig, None, ["backend=magic"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("dsp:\n  denoise:\n    strength: 3\n")
    with pytest.raises(NotsofarError, match=r"bad.yaml: unknown config key 'dsp.denoise.strength'"):
        load_config(RestoreConfig, bad)
    with pytest.raises(NotsofarError, match="implementation"):
        load_config(RestoreConfig, None, ["dsp.dereverb.implementation=gpu"])
    with pytest.raises(NotsofarError, match="deepfilter.threads must be 0"):
        load_config(RestoreConfig, None, ["deepfilter.threads=-2"])


# ----------------------------------------------------------------------------- analysis


def test_analysis_clean_finds_nothing(clean: np.ndarray) -> None:
    d = analyze(clean, SR)
    assert problems(d) == set()
    assert d.clipping_ratio == 0.0
    assert d.snr_db > 40
    assert d.bandwidth_hz > 0.8 * SR / 2


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_analysis_estimates_snr(clean: np.ndarray, snr: float) -> None:
    d = analyze(D.add_noise(clean, snr, seed=1), SR)
    assert "noise" in problems(d)
    assert abs(d.snr_db - snr) < 7.0, d


def test_analysis_detects_reverb_not_noise_as_reverb(clean: np.ndarray) -> None:
    wet = analyze(D.reverberate(clean, D.synthetic_rir(0.9, SR, drr_db=-3.0, seed=2)), SR)
    dry_noisy = analyze(D.add_noise(clean, 10.0, seed=3), SR)
    assert "reverb" in problems(wet), wet
    assert "reverb" not in problems(dry_noisy), dry_noisy
    assert wet.t60_s > analyze(clean, SR).t60_s + 0.1


def test_long_noisy_recording_gets_its_t60_from_excerpts(clean: np.ndarray) -> None:
    """Over a minute of noisy reverberant speech, the T60 comes from a denoised copy of three
    20 s excerpts (not the whole file): near the whole file's estimate, and still telling a
    reverberant room from a dry one."""
    from notsofar.restore import analyze as A

    speech = np.tile(clean, int(np.ceil(75 * SR / len(clean))))[: 75 * SR]
    wet = D.add_noise(
        D.reverberate(speech, D.synthetic_rir(0.9, SR, drr_db=-3.0, seed=2)), 10.0, seed=5
    )
    dry = D.add_noise(speech, 10.0, seed=5)
    assert len(A._t60_input(wet, SR)) == 60 * SR  # the premise: excerpts, not all 75 s
    whole = A.estimate_t60_s(A._denoised(wet, SR), SR)
    assert abs(analyze(wet, SR).t60_s - whole) < 0.05
    assert analyze(wet, SR).t60_s > analyze(dry, SR).t60_s + 0.1


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5])
def test_analysis_detects_clipping(clean: np.ndarray, threshold: float) -> None:
    d = analyze(D.clip(clean, threshold), SR)
    assert "clipping" in problems(d)
    assert d.clipping_ratio > 0.001


@pytest.mark.parametrize("cutoff", [2000.0, 4000.0, 6000.0])
def test_analysis_estimates_bandwidth(clean: np.ndarray, cutoff: float) -> None:
    d = analyze(D.lowpass(clean, SR, cutoff), SR)
    assert "bandwidth" in problems(d)
    assert abs(d.bandwidth_hz - cutoff) < 0.25 * cutoff, d  # a filter slope, not a wall


# ----------------------------------------------------------------------------- restoration


def test_clean_passes_through_unchanged(clean: np.ndarray) -> None:
    y = restore_array(clean, SR)
    assert y.shape == clean.shape
    # no step runs: at most the peak ceiling (-1 dBFS) scales the signal
    assert si_sdr(y, clean) > 60
    assert abs(dnsmos(y, SR)["ovrl"] - dnsmos(clean, SR)["ovrl"]) <= 0.05


@pytest.mark.parametrize("snr", [15.0, 25.0])
def test_asr_profile_leaves_clean_and_mildly_noisy_speech_unchanged(
    clean: np.ndarray, snr: float
) -> None:
    cfg = RestoreConfig(profile="asr")
    np.testing.assert_array_equal(restore_array(clean, SR, cfg), clean)
    noisy = D.add_noise(clean, snr, seed=4)  # estimated SNR above 15 dB: Whisper hears it as is
    np.testing.assert_array_equal(restore_array(noisy, SR, cfg), noisy)


def test_asr_profile_reduces_noise_by_a_limited_amount(clean: np.ndarray) -> None:
    noisy = D.add_noise(clean, 5.0, seed=4)
    y = restore_array(noisy, SR, RestoreConfig(profile="asr"))

    def residue_db(z: np.ndarray) -> float:  # what is left once the clean speech is projected out
        a = np.dot(z, clean) / np.dot(clean, clean)
        return float(10 * np.log10(np.mean((z - a * clean) ** 2)))

    # measured: SI-SDR 2.0 -> 11.1 dB, residue -22.0 -> -31.8 dB (attenuation limit: 12 dB)
    assert si_sdr(y, clean) > si_sdr(noisy, clean) + 6
    assert 6 < residue_db(noisy) - residue_db(y) < 14


def test_denoise_improves_si_sdr_and_dnsmos_bak(clean: np.ndarray) -> None:
    noisy = D.add_noise(clean, 5.0, seed=4)
    y = restore_array(noisy, SR)
    assert si_sdr(y, clean) > si_sdr(noisy, clean) + 2.0
    assert dnsmos(y, SR)["bak"] > dnsmos(noisy, SR)["bak"] + 0.5


def test_dereverb_shortens_decay_and_raises_bak(clean: np.ndarray) -> None:
    wet = D.reverberate(clean, D.room_rir(0.6, SR, seed=1))
    assert "dereverb" in plan(analyze(wet, SR), DspConfig())
    y = restore_array(wet, SR)
    assert analyze(y, SR).t60_s < analyze(wet, SR).t60_s - 0.05
    assert dnsmos(y, SR)["bak"] > dnsmos(wet, SR)["bak"] + 0.1


def test_declip_lowers_clipping_ratio(clean: np.ndarray) -> None:
    clipped = D.clip(clean, 0.3)
    y = restore_array(clipped, SR)
    assert analyze(y, SR).clipping_ratio < 0.1 * analyze(clipped, SR).clipping_ratio


@pytest.mark.parametrize("level", [0.2, 0.5])
def test_declip_reduces_error_on_clipped_samples(clean: np.ndarray, level: float) -> None:
    a = level * float(np.abs(clean).max())
    clipped = np.clip(clean, -a, a)
    mask = clipped_mask(clipped)
    y = declip(clipped)
    # speech peaks are hard to guess: the cubic gets closer, but only a little (known-weak)
    assert np.abs(y - clean)[mask].mean() < 0.97 * np.abs(clipped - clean)[mask].mean()


def test_declip_recovers_a_clipped_sine() -> None:
    t = np.arange(4000) / SR
    x = (0.9 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    assert not clipped_mask(x).any()  # a smooth peak is not clipping
    c = np.clip(x, -0.6, 0.6)
    y = declip(c)
    assert not clipped_mask(y).any()
    assert np.abs(y - x).max() < 0.3 * np.abs(c - x).max()


def test_bandwidth_extension_adds_high_band(clean: np.ndarray) -> None:
    lp = D.lowpass(clean, SR, 3000.0)
    cfg = load_config(RestoreConfig, None, ["backend=dsp", "dsp.bandwidth.enabled=true"])
    assert si_sdr(restore_array(lp, SR), lp) > 60  # off by default: left as it is
    y = restore_array(lp, SR, cfg)
    assert analyze(y, SR).bandwidth_hz > analyze(lp, SR).bandwidth_hz + 1000


def test_fast_wpe_matches_nara_wpe(clean: np.ndarray) -> None:
    from notsofar.features import stft
    from notsofar.restore.dsp import stft_config

    # a little noise, as in any real recording (digital silence is ill-conditioned for both)
    wet = D.add_noise(D.reverberate(clean, D.synthetic_rir(0.7, SR, seed=5)), 40.0, seed=5)
    Y = stft(wet, stft_config(SR, DspConfig()))
    cfg = DspConfig().dereverb
    cfg.implementation = "nara"
    ref = dereverb(Y, cfg)
    fast = wpe_single(Y, cfg.taps, cfg.delay, cfg.iterations)
    assert np.linalg.norm(fast - ref) / np.linalg.norm(ref) < 0.02


# ----------------------------------------------------------------------------- shapes and rates


@pytest.mark.parametrize("sr", [8000, 22050, 44100])
def test_any_rate_same_length_no_clipping(clean: np.ndarray, sr: int) -> None:
    from notsofar.audio import resample

    x = D.add_noise(resample(clean, SR, sr), 10.0, seed=6)
    x = x / np.abs(x).max()  # touches full scale
    y = restore_array(x, sr)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.all(np.isfinite(y)) and np.abs(y).max() < 1.0


def test_multichannel_per_channel(clean: np.ndarray) -> None:
    x = np.stack([D.add_noise(clean, 5.0, seed=7), D.clip(clean, 0.3), np.zeros_like(clean)])
    y = restore_array(x, SR)
    assert y.shape == x.shape
    assert not np.any(y[2])  # a dead channel stays dead
    assert si_sdr(y[0], clean) > si_sdr(x[0], clean)


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (np.zeros(0, np.float32), "empty"),
        (np.array([0.1, np.nan] * 8000, np.float32), "NaN"),
        (np.array([0.1, np.inf] * 8000, np.float32), "infinite"),
    ],
)
def test_bad_input_one_line_errors(audio: np.ndarray, message: str) -> None:
    with pytest.raises(NotsofarError, match=message):
        restore_array(audio, SR)


def test_blocks_too_short_or_silent_pass_through(tmp_path: Path, clean: np.ndarray) -> None:
    """Streamed use (transcribe restores 60 s blocks): a short last block or silence is kept."""
    from notsofar.restore.batch import restore_file

    short = np.full(100, 0.1, np.float32)
    np.testing.assert_array_equal(restore_array(short, SR), short)
    np.testing.assert_array_equal(restore_array(np.zeros(SR, np.float32), SR), 0.0)
    # files are still checked: one-line errors, no output written
    import soundfile as sf

    for name, audio, message in (("s.wav", short, "too short"), ("z.wav", 0 * clean, "silent")):
        sf.write(tmp_path / name, audio, SR)
        r = restore_file(tmp_path / name, tmp_path / f"out_{name}", RestoreConfig())
        assert r.status == "failed" and message in (r.error or "")
        assert not (tmp_path / f"out_{name}").exists()


def test_cli_and_python_api_in_step() -> None:
    """Every ``notsofar restore`` option maps to a ``restore_paths`` parameter or a config key."""
    import inspect

    from notsofar.cli.restore import restore_command
    from notsofar.restore.batch import restore_paths

    cli = set(inspect.signature(restore_command).parameters)
    api = set(inspect.signature(restore_paths).parameters)
    # CLI name -> API parameter, or the config key it sets
    mapping = {
        "input": "input_path",
        "output": "output",
        "overwrite": "overwrite",
        "eval_ref": "reference",
        "analyze": "analyze_only",
        "sr": "cfg.sample_rate",
        "backend": "cfg.backend",
        "resume_any_config": "resume_any_config",
        "workers": "workers",
        "threads_per_worker": "threads",
        "executor": "executor",
        "scheduler": "scheduler",
        "device": "cfg.voicefixer.device",
    }
    # how results are shown / cfg built
    presentation = {"json_path", "json_", "config", "set_", "quiet"}
    assert cli == set(mapping) | presentation
    for target in mapping.values():
        if target.startswith("cfg."):
            node = RestoreConfig()
            for key in target[4:].split("."):
                assert hasattr(node, key), target
                node = getattr(node, key)
        else:
            assert target in api
    assert api - set(mapping.values()) == {"cfg", "on_result"}
