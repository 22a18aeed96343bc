"""Audio that libsndfile cannot open (AAC in M4A from phones and video calls, Matroska/WebM),
read through FFmpeg (PyAV): real LibriSpeech speech from the committed fixture, encoded here
with PyAV's own AAC encoder, then read back, streamed, transcribed and restored as a user's
recording would be. Nothing mocked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from notsofar.audio import SAMPLE_RATE, decoded, info, read, stream
from notsofar.errors import NotsofarError

sys.path.insert(0, str(Path(__file__).parent))
from helpers import load_benchmark  # noqa: E402

REAL = Path(__file__).resolve().parent / "fixtures" / "realspeech"


def _speech(rate: int = 44100) -> np.ndarray:
    """Readers 19 then 26, one sentence each (6 s), resampled to ``rate`` (a phone records
    at 44.1 or 48 kHz)."""
    import soxr

    parts = [
        sf.read(REAL / f"{n}.flac", dtype="float32")[0] for n in ("19-198-0008", "26-496-0006")
    ]
    return soxr.resample(np.concatenate(parts), SAMPLE_RATE, rate).astype(np.float32)


def _encode(path: Path, x: np.ndarray, rate: int, codec: str = "aac") -> Path:
    """``x`` (``[T]`` or ``[C, T]``) encoded with PyAV into ``path`` (container by suffix)."""
    return load_benchmark("bench_compressed").encode_pyav(path, x, rate, codec)


def test_an_m4a_recording_reads_like_its_source(tmp_path):
    """Header from the container; samples at the file's rate within AAC's loss of the source
    (time-aligned: the decoder's priming delay is searched within 100 ms; the source clipped at
    full scale, as loud recordings are); streaming gives the
    same samples as reading; a second read reuses the decoded copy."""
    x = _speech()
    # a recording clipped at full scale, as loud ones are (AAC decodes it ~2 % over full scale)
    x = np.clip(1.3 * x / np.abs(x).max(), -1.0, 1.0)
    path = _encode(tmp_path / "memo.m4a", x, 44100)
    meta = info(path)
    assert (meta.sample_rate, meta.num_channels) == (44100, 1)
    assert abs(meta.duration_s - len(x) / 44100) < 0.1
    y, sr = read(path, sample_rate=None)
    assert sr == 44100 and abs(len(y) - len(x)) < 0.1 * sr
    n = min(len(x), len(y)) - 4410
    lag = max(range(0, 4410), key=lambda d: float(np.dot(x[:20000], y[d : d + 20000])))
    err = y[lag : lag + n] - x[:n]
    assert 10 * np.log10(np.sum(x[:n] ** 2) / np.sum(err**2)) > 15  # SNR of the codec
    blocks = np.concatenate(list(stream(path, block_s=5.0, sample_rate=SAMPLE_RATE)))
    whole, _ = read(path)
    assert len(blocks) == len(whole) and np.allclose(blocks, whole, atol=1e-4)
    assert decoded(path) == decoded(path) != path
    part, _ = read(path, sample_rate=None, start_s=3.0, duration_s=2.0)
    assert np.array_equal(part, y[3 * sr : 5 * sr])


def test_a_matroska_file_cut_short_keeps_what_came_before(tmp_path):
    """A recording whose last part never reached the disk (a stream-friendly container, cut
    at 60 % of its bytes) reads up to the break; a file FFmpeg cannot read either is the
    usual one-line error."""
    x = _speech(48000)
    full = _encode(tmp_path / "call.mka", np.stack([x, 0.5 * x]), 48000)
    cut = tmp_path / "cut.mka"
    cut.write_bytes(full.read_bytes()[: int(0.6 * full.stat().st_size)])
    y, sr = read(cut, sample_rate=None)
    assert y.shape[0] == 2 and sr == 48000
    assert 0.4 * len(x) < y.shape[1] < 0.75 * len(x)
    bad = tmp_path / "noise.m4a"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(NotsofarError, match="noise.m4a: cannot read audio"):
        info(bad)


def test_transcribe_and_restore_take_an_m4a(tmp_path):
    """``notsofar transcribe memo.m4a`` recognises the readers' words; ``restore`` on a folder
    holding it writes ``memo.wav`` (soundfile writes no M4A); the decoded copies live in a
    temporary folder that is gone when the process ends."""
    from notsofar import io

    folder = tmp_path / "in"
    folder.mkdir()
    path = _encode(folder / "memo.m4a", _speech(), 44100)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    for args in (("transcribe", path, tmp_path / "out"), ("restore", folder, tmp_path / "clean")):
        proc = subprocess.run(
            [sys.executable, "-m", "notsofar.cli.main", args[0], str(args[1]), "-o", str(args[2])],
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    words = " ".join(s.words for s in io.read(tmp_path / "out" / "memo.seglst.json")).upper()
    assert "AWKWARD FIGURE" in words and "BILL ITSELF" in words
    y, sr = sf.read(tmp_path / "clean" / "memo.wav")
    assert sr == 44100 and len(y) > 5 * sr
    assert not list(scratch.glob("notsofar-decoded-*"))
