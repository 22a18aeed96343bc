"""The committed example meeting and test fixtures: formats, sizes, and references that match
the audio (speech energy where the reference says someone speaks, near-silence elsewhere)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from notsofar.data import Transcript

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
EXAMPLE = ROOT / "examples" / "meeting"

CASES = [
    # file, channels, (min, max) seconds, speakers
    (EXAMPLE / "meeting.wav", 1, (40, 55), 3),
    (FIX / "two_speakers.wav", 1, (14, 16), 2),
    (FIX / "mc_two_speakers.flac", 7, (11, 13), 2),
    (FIX / "clean_speech.wav", 1, (4.5, 5.5), 1),
]


def _ref(audio: Path) -> Transcript:
    stem = audio.name.rsplit(".", 1)[0]
    return Transcript.from_seglst(
        json.loads((audio.parent / f"{stem}.ref.seglst.json").read_text())
    )


@pytest.mark.parametrize(("path", "channels", "seconds", "speakers"), CASES, ids=lambda c: str(c))
def test_fixture_audio_and_reference(
    path: Path, channels: int, seconds: tuple[float, float], speakers: int
) -> None:
    info = sf.info(str(path))
    assert info.samplerate == 16000 and info.channels == channels
    assert info.subtype == "PCM_16"
    assert seconds[0] <= info.duration <= seconds[1]
    ref = _ref(path)
    stem = path.name.rsplit(".", 1)[0]
    assert ref.session_ids == [stem] and len(ref.speakers) == speakers
    assert all(0 <= s.start_time < s.end_time <= info.duration for s in ref)
    assert all(s.words and not any(ch.isdigit() for ch in s.words) for s in ref)
    rttm = (path.parent / f"{stem}.ref.rttm").read_text().splitlines()
    assert len(rttm) == len(ref)
    for line, seg in zip(rttm, ref.sorted(), strict=True):
        f = line.split()
        assert f[0] == "SPEAKER" and f[1] == stem and f[7] == seg.speaker
        assert abs(float(f[3]) - seg.start_time) < 1e-3

    x, _ = sf.read(str(path), dtype="float32", always_2d=True)
    x = x[:, 0]
    mask = np.zeros(len(x), dtype=bool)
    for s in ref:
        mask[int(s.start_time * 16000) : int(s.end_time * 16000)] = True
    speech = float(np.mean(x[mask] ** 2))
    # gaps: skip 0.6 s after each utterance (reverberant tail)
    tail = mask.copy()
    for s in ref:
        tail[int(s.end_time * 16000) : int((s.end_time + 0.6) * 16000)] = True
    gaps = x[~tail]
    if gaps.size > 8000:
        assert 10 * np.log10(speech / (float(np.mean(gaps**2)) + 1e-12)) > 10


def test_fixture_sizes_stay_small() -> None:
    assert sum(p.stat().st_size for p in FIX.glob("*")) < 3_000_000
    assert (EXAMPLE / "meeting.wav").stat().st_size <= 2_000_000


def test_multichannel_fixture_is_spatial_not_copied() -> None:
    x, _ = sf.read(str(FIX / "mc_two_speakers.flac"), dtype="float32", always_2d=True)
    c = np.corrcoef(x.T)
    # neighbouring mics 4.25 cm apart: strongly but not perfectly correlated
    assert 0.3 < c[1, 2] < 0.999
    assert not np.allclose(x[:, 0], x[:, 1])


def test_overlap_in_the_example_and_mc_fixture() -> None:
    for path in (EXAMPLE / "meeting.wav", FIX / "mc_two_speakers.flac"):
        segs = sorted(_ref(path), key=lambda s: s.start_time)
        overlaps = [
            a
            for a, b in zip(segs, segs[1:], strict=False)
            if b.start_time < a.end_time and a.speaker != b.speaker
        ]
        assert overlaps, path


@pytest.mark.slow
def test_make_fixtures_regenerates_identical_files(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng (a development tool) is not installed")
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_fixtures.py"), "--root", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for p in [c[0] for c in CASES]:
        rel = p.relative_to(ROOT)
        assert (tmp_path / rel).read_bytes() == p.read_bytes(), rel
