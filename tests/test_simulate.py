"""notsofar simulate and its building blocks, on real (embedded espeak) speech and real rooms.

Small configs keep it fast: few seats per room, one room per shard, 2-4 examples of 10 s.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from notsofar.arrays import BUILTIN
from notsofar.config import load_config
from notsofar.errors import NotsofarError
from notsofar.simulate.config import SimulateConfig

sys.path.insert(0, str(Path(__file__).parent))
from helpers import cli  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OFFICIAL = ROOT.parent / "shared" / "notsofar1_css_train_sample"
ARRAY = BUILTIN["notsofar_mc"]
SMALL = [
    "rirs.seats=3",
    "rirs.rooms_per_shard=1",
    "rirs.num_rooms=4",
    "output.examples_per_shard=2",
]


@pytest.fixture(scope="module", autouse=True)
def _shared_room_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests share simulated rooms (as users can with rirs.cache_dir): each is computed once."""
    SMALL.append(f"rirs.cache_dir={tmp_path_factory.mktemp('rooms')}")
    yield
    SMALL.pop()


def small_cfg(*extra: str) -> SimulateConfig:
    return load_config(SimulateConfig, None, [*SMALL, *extra])


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return cli("simulate", *args, timeout=300)


@pytest.mark.parametrize("name", ["css", "meeting"])
def test_config_files_load(name: str) -> None:
    cfg = load_config(SimulateConfig, ROOT / "configs" / "simulate" / f"{name}.yaml")
    assert cfg.mix.mode == name


def test_config_rejects_bad_ranges(tmp_path: Path) -> None:
    with pytest.raises(NotsofarError, match="low > high"):
        load_config(SimulateConfig, None, ["noise.snr_db=[20, 5]"])
    with pytest.raises(NotsofarError, match="unknown config key 'mix.bogus'"):
        load_config(SimulateConfig, None, ["mix.bogus=1"])


# ---- building blocks ----------------------------------------------------------------------


def test_diffuse_noise_has_the_sinc_coherence_of_the_array() -> None:
    from notsofar.simulate.noise import diffuse_coherence, diffuse_noise, measured_coherence

    x = diffuse_noise(ARRAY, 16000 * 25, np.random.default_rng(0))
    f = np.fft.rfftfreq(512, 1 / 16000)
    for i, j in [(1, 4), (0, 1), (1, 2)]:  # opposite (8.5 cm), centre-ring, neighbours
        target = diffuse_coherence(ARRAY, f)[:, i, j]
        got = measured_coherence(x, i, j)
        assert np.max(np.abs(got - target)) < 0.08, (i, j)
    # independent channels would have ~0 coherence where the diffuse field has ~0.9
    low = (f > 100) & (f < 600)
    assert np.mean(measured_coherence(x, 1, 4)[low]) > 0.7


def test_long_diffuse_noise_is_blockwise_but_stationary() -> None:
    from notsofar.simulate import noise as nz

    x = nz.diffuse_noise(ARRAY, nz.BLOCK_SAMPLES + 50_000, np.random.default_rng(1))
    assert x.shape == (7, nz.BLOCK_SAMPLES + 50_000)
    edge = x[:, nz.BLOCK_SAMPLES - 2000 : nz.BLOCK_SAMPLES + 2000]
    assert 0.5 < np.mean(edge**2) / np.mean(x**2) < 2.0  # no dip or bump at the crossfade


def test_rirs_carry_the_array_geometry() -> None:
    from notsofar.arrays import SPEED_OF_SOUND
    from notsofar.simulate.rooms import compute_rirs, early_part, sample_room

    room = sample_room(np.random.default_rng(3), 2, (0.4, 0.4))
    h = compute_rirs(room, ARRAY, 16000, max_length_s=0.5)
    assert h.shape[:2] == (2, 7) and h.shape[2] <= 8000
    peaks = np.argmax(np.abs(h), axis=-1)
    max_lag = ARRAY.max_distance_m / SPEED_OF_SOUND * 16000
    assert np.all(np.ptp(peaks, axis=1) <= max_lag + 2)  # direct path reaches all mics together
    d = [np.linalg.norm(np.subtract(s, room.array_center_m)) for s in room.sources_m]
    assert (peaks[0, 0] < peaks[1, 0]) == (d[0] < d[1])  # the nearer seat is heard first
    e = early_part(h)
    assert np.all(e[..., : peaks.min()] == h[..., : peaks.min()])
    assert np.sum(e**2) < np.sum(h**2)


def test_batched_convolution_equals_per_pair_fftconvolve() -> None:
    from notsofar.simulate.convolve import convolve_sources, naive_convolve

    rng = np.random.default_rng(0)
    src = rng.standard_normal((3, 4000)).astype(np.float32)
    h = rng.standard_normal((3, 7, 300)).astype(np.float32)
    (fast,) = convolve_sources(src, [h])
    np.testing.assert_allclose(fast, naive_convolve(src, h), atol=2e-4)
    # a requested length beyond the FFT size keeps the whole tail and pads with silence
    (long,) = convolve_sources(src[:1, :1000], [h[:1, :2, :100]], 5000)
    assert long.shape == (1, 2, 5000)
    np.testing.assert_allclose(
        long, naive_convolve(src[:1, :1000], h[:1, :2, :100], 5000), atol=2e-4
    )


def test_active_span_convolution_equals_the_full_one() -> None:
    """Overlap-save blocks over the speakers' active spans give the full images."""
    from notsofar.simulate.convolve import (
        block_fft_size,
        convolve_active,
        naive_convolve,
        rir_spectrum,
    )
    from notsofar.simulate.rooms import early_part

    rng = np.random.default_rng(0)
    t, rir_len = 40000, 1200
    n = block_fft_size(rir_len)
    dry = np.zeros((5, t), dtype=np.float32)
    dry[0, 300:5000] = rng.standard_normal(4700)  # within one block
    dry[1, 2000:35000] = rng.standard_normal(33000)  # many blocks, a partial last one
    dry[2, 39500:] = rng.standard_normal(500)  # rings past the end: cut at t
    dry[3, :100] = rng.standard_normal(100)  # starts at the first sample
    dry[3, 20000:20050] = rng.standard_normal(50)  # silent blocks between its two bursts
    # dry[4] stays silent
    h = (rng.standard_normal((5, 7, rir_len)) * np.exp(-np.arange(rir_len) / 300)).astype("f4")
    e = early_part(h, 20.0, 16000)
    assert (t - 2000) // (n - rir_len + 1) >= 8  # the test exercises many blocks

    def spectra(j: int) -> np.ndarray:
        return rir_spectrum(np.stack([h[j], e[j]]), n)

    buffers: dict = {}
    full, early = convolve_active(dry, spectra, n, rir_len, t, buffers)
    np.testing.assert_allclose(full, naive_convolve(dry, h), atol=5e-4)
    np.testing.assert_allclose(early, naive_convolve(dry, e), atol=5e-4)
    assert not np.any(full[4]) and not np.any(full[0, :, :300])
    # the reused output buffer: stale samples outside the new spans are zeroed
    moved = np.roll(dry, 3000, axis=1)
    moved[:, :3000] = 0
    moved[0] = 0
    peaks, total = np.full(2, 9.0, dtype=np.float32), np.full((7, t), 9.0, dtype=np.float32)
    full2, early2 = convolve_active(moved, spectra, n, rir_len, t, buffers, peaks, total)
    assert np.shares_memory(full2, buffers["images"])
    np.testing.assert_allclose(full2, naive_convolve(moved, h), atol=5e-4)
    # what the writer needs, taken block by block: exactly what a pass over the images finds
    assert total.tobytes() == full2.sum(axis=0).tobytes()
    assert peaks.tolist() == [float(np.abs(full2).max()), float(np.abs(early2).max())]
    with pytest.raises(ValueError, match="does not exceed"):
        convolve_active(dry, spectra, rir_len - 1, rir_len, t)


def test_known_peaks_give_the_scales_a_search_would() -> None:
    """A column's peak handed to the writer gives the scale a search of the column would."""
    from notsofar.simulate.css_format import encode_example

    rng = np.random.default_rng(3)
    cols = {"mixture": (rng.standard_normal((1600, 7)) * 0.2).astype(np.float32)}
    cols["gt_noise"] = (rng.standard_normal((1600, 7)) * 0.01).astype(np.float32)
    searched, _ = encode_example("x", cols)
    peak = float(np.abs(cols["mixture"]).max())
    known, _ = encode_example("x", cols, {"mixture": peak})
    assert known == searched
    told, _ = encode_example("x", cols, {"mixture": peak / 2})  # the peak given is used
    assert told["columns"]["mixture_scale"] != searched["columns"]["mixture_scale"]


def test_simd_padded_transforms_equal_plain_scipy_fft() -> None:
    from scipy import fft

    from notsofar.simulate.convolve import irfft_rows, rfft_rows, spectrum_buffer

    rng = np.random.default_rng(0)
    for rows in (1, 3, 7):  # batches padded to a multiple of 4 rows inside
        x = rng.standard_normal((rows, 1000)).astype(np.float32)
        spec = rfft_rows(x, 1200)
        assert spec.shape == (rows, 601) and spec.dtype == np.complex64
        np.testing.assert_array_equal(spec, fft.rfft(x, n=1200, axis=-1))
        buf = spectrum_buffer(rows, 1200)
        buf[:rows] = spec
        np.testing.assert_allclose(irfft_rows(buf, rows, 1200, 1000), x, atol=1e-5)


def test_quantize_of_a_transposed_view_equals_that_of_a_contiguous_copy() -> None:
    """Blockwise (several blocks, a partial last one), with reused scratch, into a given
    array: the same int16 values as one plain rint(x * scale)."""
    from notsofar.simulate.css_format import QUANTIZE_ROWS, quantize

    rng = np.random.default_rng(0)
    t = 2 * QUANTIZE_ROWS + 1000
    scratch: dict = {}
    for _ in range(2):  # the second call reuses the first one's scratch
        images = (rng.standard_normal((3, 7, t)) * 0.1).astype(np.float32)  # [spks, mics, T]
        view = images.transpose(2, 1, 0)  # the stored [T, mics, spks] layout
        out = np.empty(view.shape, dtype="<i2")
        q, s = quantize(view, scratch, "images", out=out)
        q0, s0 = quantize(np.ascontiguousarray(view))
        assert q is out and s == s0 and q.flags.c_contiguous and q.shape == (t, 7, 3)
        np.testing.assert_array_equal(q, q0)
        np.testing.assert_array_equal(q, np.rint(view * np.float32(s)).astype("<i2"))
        assert np.max(np.abs(q / s - view)) <= 0.5 / s + 1e-7


def test_workers_keep_freed_memory_on_glibc() -> None:
    """mallopt is applied (Linux/glibc) or skipped without error (elsewhere), once per process."""
    code = "from notsofar.simulate.system import keep_freed_memory as k; print(k(), k())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    import platform

    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert out.stdout.split() == ([str(glibc)] * 2)


class _Tones:
    """An utterance source of tones of fixed lengths (no espeak needed)."""

    def draw(self, k: int, rng: np.random.Generator):
        from notsofar.simulate.meeting import Utterance

        n = int(rng.integers(16000, 48000))
        return Utterance(f"s{k}", f"u{k}", np.sin(np.arange(n) * 0.05 * (k + 1)).astype("f4"))

    def draw_backchannel(self, k: int, rng: np.random.Generator):
        from notsofar.simulate.meeting import Utterance

        return Utterance(f"s{k}", "yeah", np.ones(4000, dtype="f4") * 0.1)


def test_meeting_layout_turns_overlaps_and_no_self_overlap() -> None:
    from notsofar.simulate.meeting import LayoutConfig, layout_meeting, render_meeting

    rng = np.random.default_rng(0)
    cfg = LayoutConfig(duration_s=60, overlap_prob=0.5, backchannel_prob=0.5)
    pl = layout_meeting(_Tones(), 3, rng, cfg)
    assert {p.speaker_index for p in pl} == {0, 1, 2}
    assert any(p.backchannel for p in pl)
    for k in range(3):
        mine = sorted((p.start_sample, p.end_sample) for p in pl if p.speaker_index == k)
        assert all(a[1] <= b[0] for a, b in zip(mine, mine[1:], strict=False))
    assert max(p.end_sample for p in pl) <= 60 * 16000
    rirs = np.zeros((3, 7, 1), dtype=np.float32)
    rirs[:, :, 0] = 1
    m = render_meeting(pl, ["a", "b", "c"], rirs, rng, 10.0, "s", 60 * 16000)
    assert m.params["overlap_ratio"] > 0.02
    assert len(m.transcript) == len(pl)
    seg = m.transcript[0]
    first = min(pl, key=lambda p: p.start_sample)
    assert seg.start_time == round(first.start_sample / 16000, 3)
    np.testing.assert_allclose(m.mixture, m.images.sum(0) + m.noise, atol=1e-5)


def test_css_format_round_trip(tmp_path: Path) -> None:
    from notsofar.simulate.css_format import iter_shard, quantize, write_shard

    rng = np.random.default_rng(0)
    mix = (rng.standard_normal((1600, 7)) * 0.1).astype(np.float32)
    act = rng.integers(-1, 2, size=(1600, 3)).astype(np.int8)
    write_shard(
        tmp_path / "s.tar",
        [("ex_0", {"mixture": mix, "gt_spk_activity_scores": act}, {"rttm": b"x\n"})],
    )
    [(ex_id, cols, extra)] = list(iter_shard(tmp_path / "s.tar"))
    assert ex_id == "ex_0" and extra == {"rttm": b"x\n"}
    _, scale = quantize(mix)
    assert np.max(np.abs(cols["mixture"] - mix)) <= 0.5 / scale + 1e-7
    np.testing.assert_array_equal(cols["gt_spk_activity_scores"], act)


def test_shard_bytes_do_not_depend_on_the_write_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Direct I/O and fallocate (on by default on Linux), each turned off as where the system
    refuses it, change no byte; all of them give what the tarfile module writes."""
    import io
    import tarfile

    from notsofar.simulate import css_format, system

    rng = np.random.default_rng(0)
    images = (rng.standard_normal((3, 7, 1600)) * 0.1).astype(np.float32)
    act = rng.integers(-1, 2, size=(1600, 3)).astype(np.int8)
    examples = [
        (
            f"ex_{i}",
            {
                "mixture": images[i].T,
                "gt_spk_reverb": images.transpose(2, 1, 0),
                "gt_spk_activity_scores": act[: 1600 - i],  # odd sizes: padding
            },
            {"rttm": b"x" * (i + 1)},
        )
        for i in range(3)
    ]
    css_format.write_shard(tmp_path / "a.tar", examples)
    monkeypatch.setattr(system.DirectFile, "enabled", False)  # through the page cache
    css_format.write_shard(tmp_path / "b.tar", examples)
    monkeypatch.setattr(system.Reserver, "_fallocate", False)  # no block reservation either
    css_format.write_shard(tmp_path / "c.tar", examples)
    a = (tmp_path / "a.tar").read_bytes()
    assert a == (tmp_path / "b.tar").read_bytes() == (tmp_path / "c.tar").read_bytes()
    # the same members written by the tarfile module give the same bytes
    ref = io.BytesIO()
    with (
        tarfile.open(fileobj=ref, mode="w", format=tarfile.GNU_FORMAT) as tar,
        tarfile.open(tmp_path / "a.tar") as ours,
    ):
        for m in ours.getmembers():
            tar.addfile(m, ours.extractfile(m))
    assert ref.getvalue() == a
    got = {ex_id: cols for ex_id, cols, _ in css_format.iter_shard(tmp_path / "b.tar")}
    assert list(got) == ["ex_0", "ex_1", "ex_2"]  # buffers reused between examples: no mix-up
    for i in range(3):
        np.testing.assert_allclose(got[f"ex_{i}"]["mixture"], images[i].T, atol=1e-4)
        np.testing.assert_array_equal(got[f"ex_{i}"]["gt_spk_activity_scores"], act[: 1600 - i])


@pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="no direct I/O on this system")
def test_refused_direct_writes_fall_back_and_a_full_disk_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system that refuses a direct write (EINVAL) gets the same bytes buffered; a write
    failing on the writer thread (a full disk) is one error naming the shard, nothing left.
    Both failures are faked at the os boundary: a test cannot make them on demand."""
    import errno
    import fcntl

    from notsofar.simulate import css_format, system

    rng = np.random.default_rng(1)
    mix = (rng.standard_normal((3000, 7)) * 0.1).astype(np.float32)
    examples = [(f"ex_{i}", {"mixture": mix[i:]}, {}) for i in range(3)]
    css_format.write_shard(tmp_path / "a.tar", examples)
    write = os.write
    refused = []

    def refuse_direct(fd: int, data: bytes) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused.append(fd)
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return write(fd, data)

    monkeypatch.setattr(os, "write", refuse_direct)
    css_format.write_shard(tmp_path / "b.tar", examples)
    monkeypatch.setattr(os, "write", write)
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    assert len(refused) <= 1  # once refused, the file stays buffered

    def full(self: system.Reserver, offset: int, length: int) -> None:
        if offset > 0:  # the first example fits, the second does not
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(system.Reserver, "__call__", full)
    with pytest.raises(NotsofarError, match="cannot write shard: No space left") as e:
        css_format.write_shard(tmp_path / "c.tar", examples)
    assert "c.tar" in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar", "b.tar"]


@pytest.mark.skipif(not OFFICIAL.exists(), reason="external data: ../shared sample not present")
def test_reads_the_official_notsofar1_example() -> None:
    from notsofar.simulate.css_format import read_folder

    [(ex_id, cols)] = list(read_folder(OFFICIAL, missing_ok=True))
    assert ex_id.startswith("0000_Libri")
    assert cols["mixture"].shape == (160000, 7) and cols["mixture"].dtype == np.float32
    assert cols["gt_noise"].shape == (160000, 7)
    assert set(np.unique(cols["gt_spk_activity_scores"])) <= {-1, 0, 1}
    assert 0.01 < float(np.max(np.abs(cols["mixture"]))) < 1.0
    with pytest.raises(NotsofarError, match="listed but has no data"):
        list(read_folder(OFFICIAL))


# ---- the stage: shards, reproducibility, resume, executors --------------------------------


def test_simulate_verify_reproduce_and_resume(tmp_path: Path) -> None:
    from notsofar.simulate import simulate
    from notsofar.simulate.css_format import iter_shard
    from notsofar.simulate.verify import verify

    cfg = small_cfg("mix.num_speakers_weights=[0.0, 0.0, 1.0]")
    hours = 4 * 10 / 3600  # 4 examples in 2 shards
    a = simulate(cfg, tmp_path / "a", hours)
    assert a.exit_code == 0 and len(a.made) == 2 and not a.skipped
    rep = verify(tmp_path / "a")
    assert rep.problems == [] and rep.examples == 4 and rep.seconds == 40.0
    ex = [c for _, c, _ in iter_shard(tmp_path / "a" / "shards" / "shard-000000.tar")]
    assert ex[0]["mixture"].shape == (160000, 7)
    assert ex[0]["gt_spk_reverb"].shape == (160000, 7, 3)
    assert ex[0]["gt_spk_direct_early_echoes"].shape == (160000, 7, 3)
    assert (ex[0]["gt_spk_activity_scores"] == 1).any(axis=0).all()  # 3 speakers each speak
    # early (direct + 50 ms) images hold less energy than the full reverberant ones
    assert np.sum(ex[0]["gt_spk_direct_early_echoes"] ** 2) < np.sum(ex[0]["gt_spk_reverb"] ** 2)

    # same seed, another folder: byte-identical shards
    simulate(cfg, tmp_path / "b", hours)
    for i in range(2):
        name = f"shards/shard-{i:06d}.tar"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()

    # a "killed" run: shard 1 missing, a stray temporary file left; the re-run remakes only it
    (tmp_path / "b" / "shards" / "shard-000001.tar").unlink()
    (tmp_path / "b" / "shards" / ".shard-000001.tar.x.tmp.tar").write_bytes(b"half")
    r = simulate(cfg, tmp_path / "b", hours)
    assert r.skipped == [0] and [m["shard"] for m in r.made] == [1]
    assert (tmp_path / "b" / "shards" / "shard-000001.tar").read_bytes() == (
        tmp_path / "a" / "shards" / "shard-000001.tar"
    ).read_bytes()

    # more hours in the same folder: the plan grows, the existing shards are kept as they are
    r = simulate(cfg, tmp_path / "b", 5 * 10 / 3600)
    assert r.skipped == [0, 1] and [m["shard"] for m in r.made] == [2]
    assert verify(tmp_path / "b").examples == 5

    # another seed in the same folder is refused, nothing touched
    with pytest.raises(NotsofarError, match="different simulation"):
        simulate(dataclasses.replace(cfg, seed=1), tmp_path / "b", hours)

    # verify catches a corrupted shard (mixture no longer = speech + noise)
    bad = tmp_path / "a" / "shards" / "shard-000000.tar"
    data = bytearray(bad.read_bytes())
    pos = data.index(b"shard-000000_00000.mixture") + 512 + 20000  # inside the mixture data
    data[pos : pos + 64] = bytes(64)
    bad.write_bytes(bytes(data))
    assert any("mixture != sum" in p for p in verify(tmp_path / "a").problems)


@pytest.mark.parametrize("level", ["[-30.0, -25.0]", "[-3.0, -3.0]"])  # the second clips
def test_example_peaks_are_the_columns_peaks(tmp_path: Path, level: str) -> None:
    """The peaks an example hands the writer (taken while its images were made, then through
    the anti-clipping gain) are its columns' largest absolute values, to the bit."""
    from notsofar.simulate import engine
    from notsofar.simulate.sources import load_corpus

    cfg = small_cfg("mix.num_speakers_weights=[0.0, 0.0, 1.0]", f"speech.level_dbfs={level}")
    w = engine._worker(cfg, tmp_path, load_corpus(cfg.speech.source))
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0, 0]))
    cols, _ = engine.make_css_example(w, rng, engine.shard_rooms(cfg, 0))
    assert set(cols["peaks"]) == {"mixture", "reverb", "early"}
    for name, peak in cols["peaks"].items():
        assert peak == float(np.abs(cols[name]).max()) > 0, name
    clipped = abs(float(np.abs(cols["mixture"]).max()) - 0.95) < 1e-6
    assert clipped == (level == "[-3.0, -3.0]")


def test_manifest_is_a_lhotse_cutset_and_loads_audio(tmp_path: Path) -> None:
    from lhotse import CutSet

    from notsofar.simulate import load_cuts, simulate
    from notsofar.simulate.sources import read_manifest

    simulate(small_cfg(), tmp_path, 2 * 10 / 3600)
    ours = read_manifest(tmp_path / "manifest.jsonl.gz")
    cuts = CutSet.from_file(tmp_path / "manifest.jsonl.gz")
    assert [c.id for c in cuts] == [c["id"] for c in ours]
    cuts = load_cuts(tmp_path)  # shards are relative to the folder: anchored there
    cut = next(iter(cuts))
    assert cut.num_channels == 7 and cut.duration == 10.0
    assert "snr_db" in cut.custom["params"]
    audio = cut.load_audio()  # runs the command source: extracts the mixture from the tar
    assert audio.shape == (7, 160000) and np.max(np.abs(audio)) > 0.01
    # like the official set, every example keeps max_speakers (3) slots; absent ones are silent
    from notsofar.simulate.css_format import iter_shard

    for c, (_, cols, _) in zip(
        ours, iter_shard(tmp_path / "shards" / "shard-000000.tar"), strict=False
    ):
        k = c["custom"]["params"]["num_speakers"]
        assert cols["gt_spk_reverb"].shape == (160000, 7, 3)
        assert not np.any(cols["gt_spk_reverb"][:, :, k:])
        assert np.all(cols["gt_spk_activity_scores"][:, k:] == -1)


def test_output_is_relocatable(tmp_path: Path) -> None:
    """Issue 14: the same seed in two folders gives byte-identical trees (manifests included),
    and a set moved elsewhere still loads with lhotse: plain ``CutSet.from_file`` run from the
    set's folder, and :func:`load_cuts` from anywhere."""
    from notsofar.simulate import load_cuts

    sets = [a for s in SMALL for a in ("--set", s)]
    for out in (tmp_path / "a", tmp_path / "b" / "deeper"):
        r = run_cli("-o", str(out), "--hours", str(2 * 10 / 3600), *sets, "-q")
        assert r.returncode == 0, r.stderr
    a, b = tmp_path / "a", tmp_path / "b" / "deeper"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert Path("manifest.jsonl.gz") in files and Path("shards/shard-000000.tar") in files
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert str(tmp_path).encode() not in gzip.decompress((a / "manifest.jsonl.gz").read_bytes())

    moved = tmp_path / "cluster" / "sim"
    moved.parent.mkdir()
    a.rename(moved)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    plain = subprocess.run(
        [
            sys.executable,
            "-c",
            "from lhotse import CutSet; c = next(iter(CutSet.from_file('manifest.jsonl.gz')));"
            "print(c.load_audio().shape)",
        ],
        cwd=moved,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "(7, 160000)"
    audio = next(iter(load_cuts(moved))).load_audio()  # from this test's working directory
    assert audio.shape == (7, 160000) and np.abs(audio).max() > 0.01


def test_meeting_mode_writes_references(tmp_path: Path) -> None:
    from notsofar.data import Transcript
    from notsofar.simulate import simulate
    from notsofar.simulate.css_format import iter_shard

    cfg = small_cfg(
        "mix.mode=meeting", "mix.meeting_s=30", "mix.meeting_speakers=[3, 3]", "rirs.seats=4"
    )
    simulate(cfg, tmp_path, 30 / 3600)
    [(ex_id, cols, extra)] = list(iter_shard(tmp_path / "shards" / "shard-000000.tar"))
    ref = Transcript.from_seglst(json.loads(extra["seglst.json"]))
    assert len(ref.speakers) == 3 and ref.session_ids == [ex_id]
    assert all(0 <= s.start_time < s.end_time <= 30.0 for s in ref)
    assert extra["rttm"].decode().count("SPEAKER") == len(ref)
    assert cols["gt_spk_reverb"].shape == (30 * 16000, 7, 3)


def test_dask_local_cluster_and_process_pool(tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    from notsofar.simulate import simulate
    from notsofar.simulate.verify import verify

    cfg = small_cfg()
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        r = simulate(
            cfg, tmp_path / "d", 4 * 10 / 3600, executor="dask", scheduler=cluster.scheduler_address
        )
    assert r.exit_code == 0 and sorted(m["shard"] for m in r.made) == [0, 1]
    assert verify(tmp_path / "d").problems == []
    # same bytes as a local process pool of 2 workers
    r = simulate(cfg, tmp_path / "l", 4 * 10 / 3600, workers=2)
    assert r.exit_code == 0 and len(r.made) == 2
    for i in range(2):
        name = f"shards/shard-{i:06d}.tar"
        assert (tmp_path / "d" / name).read_bytes() == (tmp_path / "l" / name).read_bytes()


# ---- other sources ------------------------------------------------------------------------


def _mini_librispeech(root: Path) -> Path:
    from notsofar.simulate.sources import EMBEDDED_DIR, load_corpus

    corpus = load_corpus("embedded")
    for k, item in enumerate(corpus.items[:6]):
        spk = f"{100 + k % 3}"
        d = root / spk / "1"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{spk}-1-{k:04d}.flac").write_bytes(
            (EMBEDDED_DIR / Path(item.path).name).read_bytes()
        )
        with (d / f"{spk}-1.trans.txt").open("a") as f:
            f.write(f"{spk}-1-{k:04d} {item.text.upper()}\n")
    return root


def test_librispeech_measured_rirs_and_recorded_noise(tmp_path: Path) -> None:
    from notsofar.simulate import simulate, with_sources
    from notsofar.simulate.rooms import compute_rirs, sample_room
    from notsofar.simulate.verify import verify

    libri = _mini_librispeech(tmp_path / "libri")
    rirs_dir = tmp_path / "atfs"
    rirs_dir.mkdir()
    h = compute_rirs(sample_room(np.random.default_rng(0), 3, (0.3, 0.3)), ARRAY, 48000, 0.3)
    for k in range(3):  # measured ATFs may come at any rate: 48 kHz, resampled on load
        sf.write(rirs_dir / f"pos{k}.wav", h[k].T, 48000, subtype="FLOAT")
    # an editor's hidden copy (one channel: taken as an IR it would stop the run) is not an IR
    (rirs_dir / ".ipynb_checkpoints").mkdir()
    sf.write(rirs_dir / ".ipynb_checkpoints" / "pos0-checkpoint.wav", h[0][0], 48000)
    noise = tmp_path / "noise.wav"
    sf.write(noise, np.random.default_rng(0).standard_normal(16000 * 5) * 0.1, 16000)
    cfg = with_sources(small_cfg(), speech=str(libri), rirs=str(rirs_dir), noise=str(noise))
    r = simulate(cfg, tmp_path / "out", 2 * 10 / 3600)
    assert r.exit_code == 0
    assert verify(tmp_path / "out").problems == []
    lines = gzip.decompress((tmp_path / "out" / "manifest.jsonl.gz").read_bytes()).splitlines()
    cut = json.loads(lines[0])
    assert cut["custom"]["params"]["noise"] == "noise.wav"
    assert all(f.startswith("pos") for f in cut["custom"]["params"]["rir_files"])
    speakers = {s["speaker"] for s in cut["supervisions"]}
    assert speakers <= {"100", "101", "102"}


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    from notsofar.simulate import simulate, with_sources

    # transcript line without audio
    libri = _mini_librispeech(tmp_path / "libri")
    trans = next(libri.rglob("*.trans.txt"))
    with trans.open("a") as f:
        f.write("100-1-9999 NO SUCH FILE\n")
    with pytest.raises(NotsofarError, match=r"trans\.txt:\d+: transcript line for '100-1-9999'"):
        simulate(with_sources(small_cfg(), speech=str(libri)), tmp_path / "o1", 0.01)
    # empty corpus
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotsofarError, match="no utterances"):
        simulate(with_sources(small_cfg(), speech=str(tmp_path / "empty")), tmp_path / "o2", 0.01)
    # RIRs with mixed channel counts / sample rates
    atfs = tmp_path / "atfs"
    atfs.mkdir()
    sf.write(atfs / "a.wav", np.ones((100, 7)) * 0.1, 16000)
    sf.write(atfs / "b.wav", np.ones((100, 4)) * 0.1, 16000)
    with pytest.raises(NotsofarError, match=r"b\.wav: impulse response has 4 channel"):
        simulate(with_sources(small_cfg(), rirs=str(atfs)), tmp_path / "o3", 0.01)
    (atfs / "b.wav").unlink()
    sf.write(atfs / "c.wav", np.ones((100, 7)) * 0.1, 48000)
    with pytest.raises(NotsofarError, match=r"c\.wav: impulse response sample rate 48000"):
        simulate(with_sources(small_cfg(), rirs=str(atfs)), tmp_path / "o4", 0.01)
    (atfs / "c.wav").unlink()
    sf.write(atfs / "z.wav", np.zeros((100, 7)), 16000)  # silent IR: fails its shard only
    r = simulate(with_sources(small_cfg(), rirs=str(atfs)), tmp_path / "o5", 4 * 10 / 3600)
    assert r.exit_code == 1 and any("silent" in e for _, e in r.failed)
    assert not list((tmp_path / "o5" / "shards").glob("*.tar")) or r.made
    with pytest.raises(NotsofarError, match="positive"):
        simulate(small_cfg(), tmp_path / "o6", 0.0)


def test_dry_run_wall_time_counts_workers_beyond_the_cores_as_sharing_them() -> None:
    from rich.console import Console

    from notsofar.simulate import DryRun, make_plan_only
    from notsofar.simulate.report import print_dry_run

    d = DryRun(make_plan_only(small_cfg(), 1000), 0.05, 18_000_000)  # 360,000 examples: 5 h
    assert d.core_hours == pytest.approx(5.0)
    for workers, cores, want in [(16, 2, "wall at 16 worker(s) on 2 cores"), (2, 8, "2 worker(s)")]:
        con = Console(record=True, width=200)
        print_dry_run(con, d, workers, cores)
        text = con.export_text()
        assert want in text and f">= {5.0 / min(workers, cores):,.2f} h" in text, text


def test_cli_end_to_end_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    sets = [a for s in SMALL for a in ("--set", s)]
    r = run_cli("--hours", str(2 * 10 / 3600), "-o", str(out), "-q", *sets)
    assert r.returncode == 0, r.stderr
    assert (out / "simulate.config.yaml").exists() and (out / "manifest.jsonl.gz").exists()
    r = run_cli("--verify", str(out))
    assert r.returncode == 0 and "OK" in r.stdout  # results on stdout, progress on stderr
    r = run_cli("--verify", str(out), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["examples"] == 2
    r = run_cli("--hours", "1000", "--dry-run", "--workers", "16", *sets)
    assert r.returncode == 0 and "360,000" in r.stdout, r.stderr
    r = run_cli("--hours", "1000", "--dry-run", "--workers", "16", "--json", *sets)
    assert r.returncode == 0 and json.loads(r.stdout)["examples"] == 360_000, r.stderr
    r = run_cli("--hours", str(2 * 10 / 3600), "-o", str(out), "--json", *sets)
    assert r.returncode == 0 and json.loads(r.stdout)["shards_skipped"] == 1, r.stderr
    for args, msg in [
        (["--hours", "0", "-o", str(tmp_path / "x")], "--hours must be a positive number"),
        (
            ["--speech", str(tmp_path / "nope"), "-o", str(tmp_path / "x")],
            "speech source not found",
        ),
        (["--verify", str(tmp_path)], "no plan.json"),
        (["--hours", "0.01"], "--out/-o is required"),
    ]:
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert msg in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.splitlines()) == 1, r.stderr


def test_cli_and_python_api_stay_in_step() -> None:
    import inspect

    from notsofar.cli.simulate import simulate_command
    from notsofar.simulate import simulate, with_sources

    cli = set(inspect.signature(simulate_command).parameters)
    api = set(inspect.signature(simulate).parameters) - {"cfg", "on_shard", "out_dir"}
    shortcuts = set(inspect.signature(with_sources).parameters) - {"cfg"}
    assert api <= cli and shortcuts <= cli
    assert cli - api - shortcuts == {
        "out", "dry_run", "verify", "config", "set_", "json_", "quiet"
    }  # fmt: skip


def _lhotse_corpus_with_alignments(path: Path) -> Path:
    """A lhotse cut manifest over the embedded utterances, with word alignments spread evenly
    over each utterance (real alignments would come from a forced aligner)."""
    from lhotse import CutSet, MonoCut, Recording, SupervisionSegment
    from lhotse.supervision import AlignmentItem

    from notsofar.simulate.sources import load_corpus

    cuts = []
    for k, item in enumerate(load_corpus("embedded").items[:9]):
        rec = Recording.from_file(item.path, recording_id=f"r{k}")
        words = item.text.split()
        step = rec.duration / len(words)
        ali = [
            AlignmentItem(w, round(i * step, 3), round(step * 0.9, 3)) for i, w in enumerate(words)
        ]
        sup = SupervisionSegment(
            f"s{k}",
            rec.id,
            0.0,
            rec.duration,
            text=item.text,
            speaker=item.speaker,
            alignment={"word": ali},
        )
        cuts.append(MonoCut(f"c{k}", 0.0, rec.duration, 0, recording=rec, supervisions=[sup]))
    CutSet.from_cuts(cuts).to_file(path)
    return path


def test_lhotse_corpus_word_alignments_reach_the_references(tmp_path: Path) -> None:
    from lhotse import CutSet

    from notsofar.data import Transcript
    from notsofar.simulate import simulate, with_sources
    from notsofar.simulate.css_format import iter_shard

    manifest = _lhotse_corpus_with_alignments(tmp_path / "cuts.jsonl.gz")
    cfg = with_sources(
        small_cfg("mix.meeting_s=20", "mix.meeting_speakers=[2, 2]"),
        speech=str(manifest),
        mode="meeting",
    )
    simulate(cfg, tmp_path / "m", 20 / 3600)
    [(_, _, extra)] = list(iter_shard(tmp_path / "m" / "shards" / "shard-000000.tar"))
    ref = Transcript.from_seglst(json.loads(extra["seglst.json"]))
    seg = ref[0]
    assert seg.word_details is not None and len(seg.word_details) == len(seg.words.split())
    assert seg.start_time <= seg.word_details[0].start_time < seg.word_details[-1].end_time
    assert seg.word_details[-1].end_time <= seg.end_time + 0.01

    css = with_sources(small_cfg(), speech=str(manifest), mode="css")
    simulate(css, tmp_path / "c", 2 * 10 / 3600)
    sups = [
        s for c in CutSet.from_file(tmp_path / "c" / "manifest.jsonl.gz") for s in c.supervisions
    ]
    aligned = [s for s in sups if s.alignment]
    assert aligned and all(len(s.alignment["word"]) == len(s.text.split()) for s in aligned)
    for s in aligned:
        assert all(s.start - 0.01 <= a.start <= s.end + 0.01 for a in s.alignment["word"])


def test_room_cache_is_shared_and_keyed_by_what_defines_a_room(tmp_path: Path) -> None:
    from notsofar.simulate.engine import Worker
    from notsofar.simulate.sources import load_corpus

    corpus = load_corpus("embedded")
    cache = f"rirs.cache_dir={tmp_path / 'rooms'}"
    a = Worker(small_cfg(cache), tmp_path / "a", corpus)
    b = Worker(small_cfg(cache, "output.examples_per_shard=7"), tmp_path / "b", corpus)
    c = Worker(small_cfg(cache, "rirs.seats=4"), tmp_path / "c", corpus)
    assert a.room_key == b.room_key != c.room_key
    rirs, _ = a.room(0)
    assert len(list((tmp_path / "rooms").glob(f"room-{a.room_key}-*.npy"))) == 1
    again, _ = b.room(0)  # read from the shared cache
    np.testing.assert_array_equal(rirs, again)


def test_resume_remakes_a_truncated_shard_and_removes_its_stale_temps(tmp_path: Path) -> None:
    """A tar cut short (full disk, partial copy) with its manifest still there is made again;
    the cut keeps whole tar records, so only the structure check can notice it."""
    import tarfile

    from notsofar.simulate import simulate

    cfg = small_cfg()
    hours = 2 * 10 / 3600  # 2 examples in 1 shard
    first = simulate(cfg, tmp_path, hours)
    assert first.exit_code == 0 and [m["shard"] for m in first.made] == [0]
    tar = tmp_path / "shards" / "shard-000000.tar"
    whole = tar.read_bytes()
    keep = (len(whole) // 2) // tarfile.RECORDSIZE * tarfile.RECORDSIZE
    tar.write_bytes(whole[:keep])
    stale = tmp_path / "shards" / ".shard-000000.tar.k1l2.tmp.tar"
    stale.write_bytes(b"half")

    again = simulate(cfg, tmp_path, hours)
    assert again.skipped == [] and [m["shard"] for m in again.made] == [0]
    assert tar.read_bytes() == whole
    assert not stale.exists()
    assert simulate(cfg, tmp_path, hours).skipped == [0]
