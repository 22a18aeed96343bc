"""Multi-channel DSP blocks on simulated rooms: DOA, WPE, GSS + MVDR, channel checks, config.

Sources are synthetic speech (tests/fixtures/clean_speech.wav: an espeak-ng voice, anechoic;
the DSP blocks' geometry is what is checked) rendered through
image-method room responses of the NOTSOFAR array (pyroomacoustics, via notsofar.simulate),
so the true direction, the clean image and the early (direct + 50 ms) part are known exactly.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from notsofar.arrays import BUILTIN, load_array
from notsofar.config import load_config
from notsofar.data import Segment, Transcript
from notsofar.enhance.channels import check_channels, read_multichannel
from notsofar.enhance.config import EnhanceConfig, SeparationConfig, WPEConfig
from notsofar.enhance.doa import SRPPhat, angular_distance, gcc_phat
from notsofar.errors import NotsofarError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SR = 16000
GEOM = BUILTIN["notsofar_mc"]
STFT = EnhanceConfig().stft
CENTER = (3.0, 2.5, 0.75)


def sisdr(est: np.ndarray, ref: np.ndarray) -> float:
    a = np.dot(est, ref) / np.dot(ref, ref)
    e = a * ref
    return float(10 * np.log10(np.sum(e**2) / np.sum((est - e) ** 2)))


def seat(azimuth_deg: float, distance_m: float) -> tuple[float, float, float]:
    a = math.radians(azimuth_deg)
    return (CENTER[0] + distance_m * math.cos(a), CENTER[1] + distance_m * math.sin(a), 1.2)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    s, sr = sf.read(FIXTURES / "clean_speech.wav", dtype="float32")
    assert sr == SR
    return s[int(1.3 * SR) : int(4.2 * SR)]  # the spoken part (2.9 s)


@pytest.fixture(scope="module")
def two_sources(speech):
    """Target at 30 deg / 1.5 m from 0.5 s, interferer at 200 deg / 1.2 m from 2.0 s; RT60 0.5."""
    from notsofar.simulate.convolve import convolve_sources
    from notsofar.simulate.rooms import RoomSpec, compute_rirs

    room = RoomSpec((6.0, 5.0, 2.8), 0.5, CENTER, (seat(30, 1.5), seat(200, 1.2)))
    rirs = compute_rirs(room, GEOM)
    n = 6 * SR
    dry = np.zeros((2, n), np.float32)
    dry[0, int(0.5 * SR) : int(0.5 * SR) + len(speech)] = speech
    dry[1, int(2.0 * SR) : int(2.0 * SR) + len(speech)] = speech[::-1]  # speech-like, different
    (images,) = convolve_sources(dry, [rirs], n)
    noise = np.random.default_rng(0).standard_normal((7, n)).astype(np.float32)
    mixture = images.sum(0) + 0.003 * noise
    diar = Transcript(
        [
            Segment("sim", "A", 0.5, 0.5 + len(speech) / SR, ""),
            Segment("sim", "B", 2.0, 2.0 + len(speech) / SR, ""),
        ]
    )
    return mixture, images, diar


# ---------------------------------------------------------------------------------- DOA


def test_gcc_phat_pair_delay_matches_geometry(two_sources):
    _, images, _ = two_sources
    # mics 1 (+x) and 4 (-x): a source at 30 deg reaches mic 1 first, by d*cos(30)/c (elevated)
    tau = gcc_phat(images[0, 4], images[0, 1], SR, max_tau_s=0.085 / 343)
    el = math.atan2(1.2 - 0.75, 1.5)
    expected = 0.085 * math.cos(math.radians(30)) * math.cos(el) / 343
    assert tau == pytest.approx(expected, abs=0.5 / SR)


@pytest.mark.parametrize("source, azimuth", [(0, 30.0), (1, 200.0)])
def test_srp_phat_finds_the_azimuth(two_sources, source, azimuth):
    _, images, _ = two_sources
    srp = SRPPhat(GEOM, STFT)
    assert float(angular_distance(srp.doa(images[source]), azimuth)) <= 15.0


def test_srp_phat_bin_selection_finds_the_talker_beside_a_fan(speech):
    """A stationary broadband noise source (a fan, a projector) fills every bin; PHAT weighs each
    bin alike, so with every bin each window points at the fan even 10 dB under the talker. The
    bins the talker dominates (``bin_snr_db``) point at the talker."""
    from notsofar.features import stft
    from notsofar.simulate.convolve import convolve_sources
    from notsofar.simulate.rooms import RoomSpec, compute_rirs

    room = RoomSpec((6.0, 5.0, 2.8), 0.6, CENTER, (seat(30, 1.8), seat(200, 1.5)))
    n = len(speech)
    dry = np.stack([speech, np.random.default_rng(2).standard_normal(n).astype(np.float32)])
    (images,) = convolve_sources(dry, [compute_rirs(room, GEOM)], n)
    talker, fan = images
    for snr_db in (10.0, 0.0):
        gain = math.sqrt(np.mean(talker[0] ** 2) / np.mean(fan[0] ** 2) / 10 ** (snr_db / 10))
        X = stft(talker + gain * fan, STFT)
        per = int(0.5 * SR / STFT.hop_length)  # 0.5-s windows
        windows = [(a, a + per) for a in range(0, X.shape[-1] - per + 1, per)]
        found = {}
        for bins in (None, 15.0):
            srp = SRPPhat(GEOM, STFT, bin_snr_db=bins)
            az = srp.azimuths[np.argmax(srp.windows(X, windows), axis=1)]
            found[bins] = float(np.mean(angular_distance(az, 30.0) <= 15.0))
        assert found[None] < 0.2, (snr_db, found)  # the premise: every bin finds the fan
        assert found[15.0] >= 0.8, (snr_db, found)


def test_spatial_diarize_splits_and_merges_by_direction():
    from notsofar.enhance.config import SpatialConfig
    from notsofar.enhance.spatial import spatial_diarize
    from notsofar.io import read

    audio = read_multichannel(FIXTURES / "mc_two_speakers.flac")
    ref = read(FIXTURES / "mc_two_speakers.ref.rttm")
    cfg = SpatialConfig(split_min_s=1.0)
    # one cluster holding both seats -> split in two, matching the reference speakers
    merged = ref.map(lambda s: Segment(s.session_id, "X", s.start_time, s.end_time, ""))
    off = SpatialConfig(split=False, split_min_s=1.0)
    assert spatial_diarize(audio, SR, merged, GEOM, off, STFT)[0].speakers == ["X"]
    out, dirs = spatial_diarize(audio, SR, merged, GEOM, cfg, STFT)
    assert len(out.speakers) == 2
    by_ref = {s.speaker: o.speaker for s, o in zip(ref.sorted(), out.sorted(), strict=True)}
    assert by_ref["spk_m7_us"] != by_ref["spk_f2_us"]
    assert float(angular_distance(dirs[by_ref["spk_m7_us"]], 1.9)) <= 15  # true seat azimuths
    assert float(angular_distance(dirs[by_ref["spk_f2_us"]], 295.7)) <= 15
    # one voice split over two clusters at the same seat -> merged back
    split = Transcript(
        Segment(
            s.session_id,
            s.speaker + ("_b" if s.start_time > 6 else ""),
            s.start_time,
            s.end_time,
            "",
        )
        for s in ref
    )
    out, _ = spatial_diarize(audio, SR, split, GEOM, cfg, STFT)
    labels = [s.speaker for s in out.sorted()]
    assert len(set(labels)) == 2 and labels[0] == labels[2] != labels[1]


def test_spatial_diarize_reseats_a_confused_turn():
    """The voice diarizer gave the end of one talker's turn to the other talker, who sits 66
    degrees away: those windows point at the first talker's seat, so ``reseat`` gives them
    back; the rest stays as it was."""
    from notsofar.enhance.config import SpatialConfig
    from notsofar.enhance.spatial import spatial_diarize
    from notsofar.io import read

    audio = read_multichannel(FIXTURES / "mc_two_speakers.flac")
    ref = read(FIXTURES / "mc_two_speakers.ref.rttm").sorted()
    m7, f2 = "spk_m7_us", "spk_f2_us"
    turn = next(s for s in ref if s.speaker == f2)  # 2.28-5.51 s, alone after 3.32 s
    confused = Transcript(
        [s for s in ref if s is not turn]
        + [
            Segment(turn.session_id, f2, turn.start_time, 4.0, ""),
            Segment(turn.session_id, m7, 4.0, turn.end_time, ""),
        ]
    )

    def speaker_at(t: Transcript, time: float) -> set[str]:
        return {s.speaker for s in t if s.start_time <= time < s.end_time}

    cfg = SpatialConfig(split=False)  # the reseat alone, not the split by seat
    kept, _ = spatial_diarize(audio, SR, confused, GEOM, replace(cfg, reseat=False), STFT)
    assert speaker_at(kept, 5.0) == {m7}
    out, _ = spatial_diarize(audio, SR, confused, GEOM, cfg, STFT)
    assert speaker_at(out, 4.5) == speaker_at(out, 5.0) == {f2}
    for time, who in [(1.5, {m7}), (2.8, {m7, f2}), (3.8, {f2}), (7.0, {m7})]:
        assert speaker_at(out, time) == who, time


# ---------------------------------------------------------------------------------- WPE


def test_wpe_matches_nara_wpe():
    from nara_wpe.wpe import wpe

    from notsofar.enhance.wpe import wpe_stft

    rng = np.random.default_rng(1)
    Y = (rng.standard_normal((65, 4, 300)) + 1j * rng.standard_normal((65, 4, 300))).astype(
        np.complex64
    )
    ref = wpe(Y, taps=5, delay=3, iterations=2, statistics_mode="full")
    ours = wpe_stft(Y, 5, 3, 2)
    assert np.max(np.abs(ours - ref)) <= 1e-4 * np.max(np.abs(ref))


@pytest.fixture(scope="module")
def reverberant(speech) -> tuple[np.ndarray, np.ndarray]:
    """A talker in a room with RT60 0.8 s: the 7 channels and the early (direct + 50 ms) image
    of the first."""
    from notsofar.simulate.convolve import convolve_sources
    from notsofar.simulate.rooms import RoomSpec, compute_rirs, early_part

    room = RoomSpec((6.0, 5.0, 2.8), 0.8, CENTER, (seat(20, 1.6),))
    rirs = compute_rirs(room, GEOM)
    # 1 s of silence at the end keeps the reverberant tail (the images are as long as the input)
    dry = np.concatenate([speech, speech[::-1], speech, np.zeros(SR, np.float32)])
    rev, early = convolve_sources(dry[None], [rirs, early_part(rirs, 50.0, SR)])
    noise = np.random.default_rng(0).standard_normal(rev[0].shape).astype(np.float32)
    rev = rev[0] + 0.003 * np.std(rev) * noise  # a -50 dB noise floor, as any recording has
    return rev, early[0, 0]


def test_wpe_reduces_reverberation(reverberant):
    """SI-SDR against the direct path + 50 ms early reflections rises after WPE (RT60 0.8 s)."""
    from notsofar.enhance.wpe import dereverberate

    rev, early = reverberant
    before = sisdr(rev[0], early)
    whole = dereverberate(rev, SR, WPEConfig(taps=10, iterations=3, block_s=60.0), STFT)
    gain_whole = sisdr(whole[0], early) - before
    assert gain_whole > 1.5
    # blockwise (2 blocks of ~5 s, crossfaded over 1 s) still helps. Each block has half the
    # statistics, so it gains less; the margin is relative because the simulated room (and so
    # the absolute gain) moves with the pyroomacoustics/scipy versions (1.0-1.4 dB seen).
    blocks = dereverberate(rev, SR, WPEConfig(taps=10, iterations=3, block_s=5.0, overlap_s=1.0))
    assert blocks.shape == rev.shape and np.all(np.isfinite(blocks))
    assert sisdr(blocks[0], early) - before > max(0.5, 0.4 * gain_whole)


def test_wpe_statistics_from_every_third_frame(reverberant):
    """``stats_stride``: the prediction filter from every third frame's statistics (a third of
    WPE's dominant cost) dereverberates about as well as from every frame."""
    from notsofar.enhance.wpe import dereverberate

    rev, early = reverberant
    before = sisdr(rev[0], early)
    gains = {}
    for stride in (1, 3):
        cfg = WPEConfig(stats_stride=stride, block_s=60.0)
        gains[stride] = sisdr(dereverberate(rev, SR, cfg, STFT)[0], early) - before
    assert gains[1] > 0.5, gains  # 1.3 dB here; the simulated room moves with versions
    assert gains[3] >= 0.8 * gains[1], gains


def test_wpe_blocks_crossfade_exactly(monkeypatch):
    """With an identity block processor the blockwise overlap-add gives back the input."""
    import notsofar.enhance.wpe as wpe_mod

    monkeypatch.setattr(wpe_mod, "wpe_block", lambda x, cfg, stft_cfg: x.copy())
    x = np.random.default_rng(0).standard_normal((3, 5 * SR + 123)).astype(np.float32)
    y = wpe_mod.dereverberate(x, SR, WPEConfig(block_s=1.6, overlap_s=0.3))
    assert np.max(np.abs(y - x)) < 1e-5
    z = x.copy()
    wpe_mod.dereverberate(z, SR, WPEConfig(block_s=1.6, overlap_s=0.3), inplace=True)
    assert np.max(np.abs(z - x)) < 1e-5


# ---------------------------------------------------------------------------------- GSS


def test_gss_mvdr_improves_si_sdr_of_the_target(two_sources):
    from notsofar.enhance.separation import separate_gss

    mixture, images, diar = two_sources
    target = images[0, 0]
    before = sisdr(mixture[0], target)
    cfg = SeparationConfig(mask_floor=1.0, output_margin_s=0.5)
    out = separate_gss(mixture, SR, diar, cfg, STFT)
    enhanced = out["A"].render(mixture.shape[-1])
    assert sisdr(enhanced, target) > before + 2.0
    # and it is the target that comes out, not the interferer
    assert sisdr(enhanced, target) > sisdr(enhanced, images[1, 0]) + 5.0


def test_cacgmm_masks_follow_activity(two_sources):
    from notsofar.enhance.separation import cacgmm_masks
    from notsofar.features import stft

    mixture, _, _ = two_sources
    Y = stft(mixture, STFT)
    n = Y.shape[-1]
    act = np.ones((3, n), np.float32)
    act[1, : n // 2] = 0  # class 1 is silent in the first half
    masks = cacgmm_masks(Y, act, iterations=3)
    assert masks.shape == (3, Y.shape[1], n)
    assert np.allclose(masks.sum(axis=0), 1.0, atol=1e-4)
    assert masks[1, :, : n // 2].max() == 0.0


def test_outer_product_features_are_exact():
    """The real z z^H features rebuild the outer products and give z^H A z as inner products."""
    import torch

    from notsofar.enhance.separation import (
        _from_features,
        _outer_features,
        _quadratic_coefficients,
    )

    g = torch.Generator().manual_seed(3)
    Z = torch.randn(4, 7, 9, dtype=torch.complex64, generator=g)  # [F, C, n]
    P = _outer_features(Z)
    assert P.shape == (4, 49, 9) and P.dtype == torch.float32
    outer = Z.permute(0, 2, 1)[..., :, None] * Z.permute(0, 2, 1)[..., None, :].conj()
    assert torch.allclose(_from_features(P.transpose(1, 2), 7), outer, atol=1e-5)
    A = torch.randn(4, 7, 7, dtype=torch.complex64, generator=g)
    A = A + A.mH  # Hermitian
    quad = torch.einsum("fcn,fcd,fdn->fn", Z.conj(), A, Z).real
    assert torch.allclose(torch.bmm(_quadratic_coefficients(A)[:, None], P)[:, 0], quad, atol=1e-4)


def test_cacgmm_covariances_are_the_posterior_weighted_sums(two_sources):
    """MVDR statistics from the fit equal explicit gamma-weighted y y^H sums on the EM frames."""
    from notsofar.enhance.separation import cacgmm_fit
    from notsofar.features import stft

    mixture, _, _ = two_sources
    Y = stft(mixture, STFT)  # [C, F, N]
    act = np.ones((3, Y.shape[-1]), np.float32)
    act[0, Y.shape[-1] // 2 :] = 0
    fit = cacgmm_fit(Y, act, iterations=2, fit_stride=2)
    phi_s, phi_n = fit.covariances([0, 1])
    gamma = fit.gamma.numpy()  # [F, K, n] on frames 0, 2, 4, ...
    Yf = Y[:, :, ::2].transpose(1, 0, 2).astype(np.complex128)  # [F, C, n]
    for j, k in enumerate([0, 1]):
        for w, phi in ((gamma[:, k], phi_s[j]), (1 - gamma[:, k], phi_n[j])):
            want = np.einsum("fn,fcn,fdn->fcd", w, Yf, Yf.conj()) / w.sum(-1)[:, None, None]
            scale = np.abs(want).max(axis=(1, 2), keepdims=True)
            assert np.abs(phi - want).max() / scale.max() < 1e-4


def test_single_speaker_turns_skip_gss(two_sources):
    """``single_speaker: reference``: a turn nobody overlaps is the reference channel as is;
    an overlapped turn still gets GSS, which brings out its own source."""
    from notsofar.enhance.separation import overlapped_turns, separate_gss

    mixture, images, diar = two_sources
    cfg = SeparationConfig(output_margin_s=0.2, single_speaker="reference")
    # B moved after A's end: no overlap, no GSS anywhere
    apart = Transcript([diar[0], Segment("sim", "B", 3.6, 5.9, "")])
    assert len(overlapped_turns(apart)) == 0
    out = separate_gss(mixture, SR, apart, cfg, STFT)
    for seg in apart:
        ((start, x),) = out[seg.speaker].pieces
        assert start == int((seg.start_time - 0.2) * SR)
        assert np.array_equal(x, mixture[0, start : start + len(x)])
    # the fixture's turns overlap (2.0 - 3.4 s): both go through GSS, as with single_speaker=gss
    # (the same block: their span; outside it, the margins come from the reference channel)
    assert len(overlapped_turns(diar)) == 2
    fast = separate_gss(mixture, SR, diar, cfg, STFT)["A"].render(mixture.shape[-1])
    full = separate_gss(mixture, SR, diar, SeparationConfig(output_margin_s=0.2), STFT)
    a, b = int(diar[0].start_time * SR), int(diar[1].end_time * SR)
    assert np.allclose(fast[a:b], full["A"].render(mixture.shape[-1])[a:b], atol=1e-4)
    assert np.array_equal(fast[a - 100 : a], mixture[0, a - 100 : a])
    assert sisdr(fast, images[0, 0]) > sisdr(mixture[0], images[0, 0]) + 2.0


# ---------------------------------------------------------------------------------- channels


def test_dead_and_duplicate_channels_are_dropped(two_sources):
    from notsofar.enhance import prepare_array

    mixture = two_sources[0].copy()
    mixture[3] = 1e-6 * np.random.default_rng(2).standard_normal(mixture.shape[-1])
    mixture[5] = mixture[2]
    notes: list[str] = []
    prep = prepare_array(mixture, SR, EnhanceConfig(), "sim", notes.append)
    assert prep.report.kept == (0, 1, 2, 4, 6)
    assert prep.geometry.num_channels == 5 and prep.audio.shape[0] == 5
    assert prep.geometry.positions[3] == GEOM.positions[4]
    assert any("channel 3 dropped: dead" in n for n in notes)
    assert any("channel 5 dropped: duplicate of channel 2" in n for n in notes)


def test_healthy_array_keeps_every_channel(two_sources):
    assert check_channels(two_sources[0], SR).kept == tuple(range(7))


def test_geometry_mismatch_and_nan_are_one_line_errors(two_sources):
    from notsofar.enhance import prepare_array

    with pytest.raises(NotsofarError, match="5 channel.*'notsofar_mc' has 7 microphones"):
        prepare_array(two_sources[0][:5], SR, EnhanceConfig(), "x.wav")
    bad = two_sources[0].copy()
    bad[2, 100] = np.nan
    with pytest.raises(NotsofarError, match="NaN"):
        prepare_array(bad, SR, EnhanceConfig(), "x.wav")
    silent = np.zeros((7, SR), np.float32)
    with pytest.raises(NotsofarError, match="healthy channel"):
        prepare_array(silent, SR, EnhanceConfig(), "x.wav")


def test_channel_folder_reading_and_errors(tmp_path, two_sources):
    mixture = two_sources[0]
    folder = tmp_path / "mc_plaza_0"
    folder.mkdir()
    for c in range(7):
        sf.write(folder / f"ch{c}.wav", mixture[c], SR, subtype="FLOAT")
    from notsofar.enhance.channels import is_channel_folder

    assert is_channel_folder(folder) and not is_channel_folder(FIXTURES)
    x = read_multichannel(folder)
    assert x.shape == mixture.shape and np.allclose(x, mixture)
    half = read_multichannel(folder, dtype="float16")  # the long-meeting storage
    assert half.dtype == np.float16 and np.allclose(half, mixture, rtol=1e-3, atol=1e-4)
    sf.write(folder / "ch3.wav", mixture[3, :-100], SR, subtype="FLOAT")
    with pytest.raises(NotsofarError, match="ch3.wav: length .* differs"):
        read_multichannel(folder)
    sf.write(folder / "ch3.wav", mixture[3, ::2], SR // 2, subtype="FLOAT")
    with pytest.raises(NotsofarError, match="ch3.wav: sample rate 8000 Hz differs"):
        read_multichannel(folder)
    (folder / "ch3.wav").unlink()
    with pytest.raises(NotsofarError, match="ch3 is missing"):
        read_multichannel(folder)
    nan = mixture[0].copy()
    nan[5] = np.nan
    sf.write(folder / "ch3.wav", nan, SR, subtype="FLOAT")
    with pytest.raises(NotsofarError, match="ch3.wav: audio contains NaN"):
        read_multichannel(folder)


# ---------------------------------------------------------------------------------- config


def test_default_yaml_loads_into_enhance_config():
    cfg = load_config(EnhanceConfig, ROOT / "configs" / "enhance" / "default.yaml")
    assert cfg == EnhanceConfig()
    assert load_array(cfg.array).num_channels == 7


def test_bad_config_values_are_rejected(tmp_path):
    with pytest.raises(NotsofarError, match="unknown backend 'beamformit'"):
        load_config(EnhanceConfig, None, ["separation.backend=beamformit"])
    with pytest.raises(NotsofarError, match="unknown config key 'wpe.tap'"):
        load_config(EnhanceConfig, None, ["wpe.tap=3"])
    with pytest.raises(NotsofarError, match="split_min_tight <= 1, got 1.5"):
        load_config(EnhanceConfig, None, ["spatial.split_min_tight=1.5"])
    with pytest.raises(NotsofarError, match="stats_stride >= 1 are required"):
        load_config(EnhanceConfig, None, ["wpe.stats_stride=0"])
    with pytest.raises(NotsofarError, match="unknown array 'octagon'"):
        from notsofar.enhance import prepare_array

        prepare_array(np.zeros((7, 10), np.float32), SR, EnhanceConfig(array="octagon"))
