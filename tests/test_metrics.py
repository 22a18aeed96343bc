"""Quality metrics: DNSMOS from speechmos' shipped ONNX models, PESQ-WB, STOI, SI-SDR, LSD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from notsofar.audio import read, resample
from notsofar.errors import NotsofarError
from notsofar.metrics import align, dnsmos, lsd, pesq_wb, reference_metrics, si_sdr, stoi
from notsofar.restore import degrade as D

FIX = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
SR = 16000


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return read(FIX / "clean_speech.wav", SR)[0]


def test_dnsmos_ranks_clean_above_noisy_offline(clean: np.ndarray) -> None:
    import speechmos

    from notsofar.metrics.dnsmos import _model_dir

    # the models come from inside the installed package (nothing fetched)
    assert Path(speechmos.__file__).parent in _model_dir().parents
    c = dnsmos(clean, SR)
    n = dnsmos(D.add_noise(clean, 0.0, seed=1), SR)
    assert set(c) == {"sig", "bak", "ovrl", "p808"}
    assert c["bak"] > n["bak"] + 1.0
    assert c["ovrl"] > n["ovrl"] + 0.5
    assert all(1.0 <= v <= 5.0 for v in c.values())


def test_dnsmos_any_rate_and_level(clean: np.ndarray) -> None:
    a = dnsmos(clean, SR)["ovrl"]
    b = dnsmos(resample(clean, SR, 48000) * 1.5, 48000)["ovrl"]  # above full scale: rescaled
    assert abs(a - b) < 0.15


def test_si_sdr_and_lsd(clean: np.ndarray) -> None:
    noisy = D.add_noise(clean, 10.0, seed=2)
    assert si_sdr(clean, clean) > 100
    snr = 10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean((noisy - clean) ** 2))
    assert abs(si_sdr(noisy, clean) - snr) < 0.5  # with additive noise SI-SDR is the SNR
    assert si_sdr(0.3 * clean, clean) > 100  # scale-invariant
    assert lsd(clean, clean, SR) == pytest.approx(0.0, abs=1e-6)
    assert lsd(noisy, clean, SR) > lsd(D.add_noise(clean, 30.0, seed=2), clean, SR)


def test_pesq_and_stoi_order(clean: np.ndarray) -> None:
    noisy = D.add_noise(clean, 5.0, seed=3)
    assert pesq_wb(clean, clean, SR) > 4.0
    assert pesq_wb(noisy, clean, SR) < 2.5
    assert stoi(clean, clean, SR) > 0.99
    assert stoi(noisy, clean, SR) < stoi(clean, clean, SR)


def test_align_recovers_shift_and_rate(clean: np.ndarray) -> None:
    shifted = np.concatenate([np.zeros(800, np.float32), clean[:-800]])
    ref44 = resample(clean, SR, 44100)
    aligned = align(shifted, ref44, SR, reference_rate=44100)
    assert aligned.shape == shifted.shape
    assert si_sdr(shifted, aligned) > 25
    m = reference_metrics(shifted, ref44, SR, reference_rate=44100)
    assert m["pesq_wb"] > 4.0 and m["stoi"] > 0.95


def test_align_rejects_another_recording(clean: np.ndarray) -> None:
    with pytest.raises(NotsofarError, match="not the same recording"):
        align(clean, np.tile(clean, 3), SR, path="ref.wav")
    with pytest.raises(NotsofarError, match="silent"):
        align(clean, np.zeros_like(clean), SR)
