"""Real-voice meetings (benchmarks/make_real_meetings.py) from the committed real-speech fixture.

The builder runs the real ``notsofar simulate --mode meeting`` (a subprocess) on real LibriSpeech
voices; the checks look at the audio it wrote against the reference it wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "realspeech"


sys.path.insert(0, str(Path(__file__).parent))
from helpers import load_benchmark  # noqa: E402

mrm = load_benchmark("make_real_meetings")


def test_fixture_is_small_real_speech_with_transcripts() -> None:
    from notsofar.audio import info

    rows = [line.split("\t") for line in (FIXTURE / "speech.tsv").read_text().splitlines()]
    assert len(rows) == 6 and {r[1] for r in rows} == {"LS19", "LS26", "LS27"}
    assert sum((FIXTURE / r[0]).stat().st_size for r in rows) < 400_000
    for path, _, text in rows:
        i = info(FIXTURE / path)
        assert i.sample_rate == 16000 and 2.0 < i.duration_s < 4.5 and text.isupper()
    assert "CC BY 4.0" in (FIXTURE / "README.md").read_text()


def test_speech_regions_trim_and_chunks_on_real_speech() -> None:
    x = mrm._read(FIXTURE / "19-198-0037.flac")
    regions = mrm.speech_regions(x, rel_db=25.0)
    assert regions and regions[0][0] > 0 and regions[-1][1] < len(x)
    assert all(a < b for a, b in regions)
    t = mrm.trimmed(x)
    assert 0.5 * len(x) < len(t) < len(x)  # LibriSpeech keeps some silence at both ends
    assert _is_slice(x, t) and np.max(np.abs(t)) == np.max(np.abs(x))  # no speech lost
    pieces = mrm.chunks(x, np.random.default_rng(0))
    assert pieces and all(len(c) >= 0.5 * mrm.SR for c in pieces)
    assert sum(len(c) for c in pieces) <= len(x)
    assert all(_is_slice(x, c) for c in pieces)


def _is_slice(x: np.ndarray, c: np.ndarray) -> bool:
    """Whether ``c`` is a contiguous excerpt of ``x``."""
    k = int(np.argmax(np.abs(c)))
    return any(
        np.array_equal(x[h - k : h - k + len(c)], c) for h in np.flatnonzero(x == c[k]) if h >= k
    )


def _build(tmp: Path) -> Path:
    items = mrm.prepare_words(FIXTURE, tmp, ("LS19", "LS26"))
    spec = mrm.MeetingSpec("tiny_2spk", "words", 2, 0.25, "near", 11, ("LS19", "LS26"), 0.5)
    shard = mrm.simulate_meeting(spec, spec.speakers, items, None, tmp / "work")
    dest = tmp / "out"
    dest.mkdir()
    mrm.export_meeting(shard, spec.name, dest)
    return dest


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("a"))


def test_tiny_meeting_has_audio_and_references_that_agree(tiny: Path) -> None:
    from notsofar import io
    from notsofar.audio import read

    mc, sr = read(tiny / "tiny_2spk.7ch.wav")
    sc, _ = read(tiny / "tiny_2spk.wav")
    assert sr == 16000 and mc.shape[0] == 7 and mc.shape[-1] == sc.shape[-1] == 15 * sr
    np.testing.assert_allclose(sc, mc[0], atol=1e-4)
    ref = io.read(tiny / "tiny_2spk.ref.seglst.json")
    rttm = io.read(tiny / "tiny_2spk.ref.rttm")
    assert set(ref.speakers) == set(rttm.speakers) == {"LS19", "LS26"}
    assert ref.session_ids == ["tiny_2spk"] and len(ref) == len(rttm) >= 3
    texts = {line.split("\t")[2] for line in (FIXTURE / "speech.tsv").read_text().splitlines()}
    assert all(s.words in texts for s in ref)  # whole utterances: every word is known
    assert all(0 <= s.start_time < s.end_time <= 15.0 for s in ref)
    # the reference says where people speak: the audio is much louder there than elsewhere
    active = np.zeros(sc.shape[-1], dtype=bool)
    for s in ref:
        active[int(s.start_time * sr) : int(s.end_time * sr)] = True
    assert active.mean() < 0.95
    speech = np.sqrt(np.mean(sc[active] ** 2))
    rest = np.sqrt(np.mean(sc[~active] ** 2))
    assert speech > 4 * rest


def test_tiny_meeting_is_reproducible(tiny: Path, tmp_path: Path) -> None:
    again = _build(tmp_path)

    def digest(folder: Path) -> dict[str, str]:
        return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    assert digest(again) == digest(tiny)


def test_speaker_split_is_disjoint_when_shared_data_is_present() -> None:
    realspeech = Path(os.environ.get("NOTSOFAR_SHARED", ROOT.parent / "shared")) / "realspeech"
    if not (realspeech / "speech.tsv").exists():
        pytest.skip("external data: ../shared/realspeech not present")
    pools = mrm.speaker_pools(realspeech)
    ids = {k: {p.name.split("-")[0] for p in v} for k, v in pools.items()}
    assert not ids["tune"] & ids["bench"]
    assert not (ids["tune"] | ids["bench"]) & set(mrm.READER_IDS)
    assert abs(len(ids["tune"]) - len(ids["bench"])) <= 1
    assert not set(mrm.WORD_SPEAKERS["tune"]) & set(mrm.WORD_SPEAKERS["bench"])
    names = [s.name for split in ("tune", "bench") for s in mrm._specs(split)]
    assert len(names) == len(set(names))
    assert json.dumps(mrm.CONDITIONS)  # plain data, recorded in the manifest


def test_telephone_copies_of_meetings_and_ami(tmp_path: Path, monkeypatch) -> None:
    """benchmarks/make_telephone.py on a tiny layout built from the real-speech fixture: every
    single-channel recording comes out at 8 kHz and telephone-band, the 7-channel file is left
    out, manifests and references are copied as they are."""
    import soundfile as sf

    from notsofar.audio import resample
    from notsofar.features import band_gap_db, kaldi_fbank

    tel = load_benchmark("make_telephone")
    x, sr = sf.read(FIXTURE / "19-198-0008.flac", dtype="float32")
    data, shared = tmp_path / "data", tmp_path / "realspeech"
    (data / "bench").mkdir(parents=True)
    (shared / "ami").mkdir(parents=True)
    sf.write(data / "bench" / "m1.wav", x, sr)
    sf.write(data / "bench" / "m1.7ch.wav", np.stack([x] * 7, axis=1), sr)
    (data / "bench" / "manifest.json").write_text('{"set": "bench"}')
    (data / "bench" / "m1.ref.rttm").write_text("SPEAKER m1 1 0.0 1.0 <NA> <NA> A <NA> <NA>\n")
    sf.write(shared / "ami" / "trn00.flac", x, sr)
    (shared / "ami" / "ami.rttm").write_text("SPEAKER trn00 1 0.0 1.0 <NA> <NA> A <NA> <NA>\n")
    (shared / "ami" / "ami.uem").write_text("trn00 NA 0.000 2.000\n")
    out = tmp_path / "tel"
    argv = ["make_telephone", "--data", str(data), "--realspeech", str(shared), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv)
    tel.main()
    assert not (out / "bench" / "m1.7ch.wav").exists()
    assert (out / "bench" / "manifest.json").read_text() == '{"set": "bench"}'
    assert (out / "realspeech" / "ami" / "ami.uem").is_file()
    for path in (out / "bench" / "m1.wav", out / "realspeech" / "ami" / "trn00.flac"):
        y, rate = sf.read(path, dtype="float32")
        assert rate == 8000 and abs(len(y) / rate - len(x) / sr) < 0.01
        gap, _ = band_gap_db(kaldi_fbank(resample(y, rate, 16000)))
        assert gap > 40.0


def test_brief_speaker_is_inserted_into_pauses_of_a_long_meeting(tmp_path: Path) -> None:
    """``brief_speaker_meeting`` (the ``long`` set's meetings with a brief fourth speaker): a
    real utterance, cut in two at a pause, goes into the first pauses after 300 s and 600 s; the
    reference gains the new speaker's two turns and every later turn moves by what was
    inserted; the base meeting's audio is kept around the insertions. The base meeting and the
    noise file here are stand-ins (a quiet 11-minute track with two real utterances placed in
    it; white noise where the set uses recorded noise)."""
    import soundfile as sf

    from notsofar import io
    from notsofar.data import Segment, Transcript
    from notsofar.simulate.meeting import to_rttm

    sr = mrm.SR
    rng = np.random.default_rng(0)
    base = (0.001 * rng.standard_normal(660 * sr)).astype(np.float32)
    u = mrm._read(FIXTURE / "19-198-0008.flac")
    turns = [(10.0, "LS19"), (298.0, "LS26"), (601.0, "LS19"), (640.0, "LS26")]
    for t, _ in turns:
        base[int(t * sr) : int(t * sr) + len(u)] += u
    ref = Transcript(
        [Segment("lw01_3spk", s, t, t + len(u) / sr, "") for t, s in turns]
    ).with_session_id("lw01_3spk")
    dest, shared = tmp_path / "long", tmp_path / "realspeech"
    dest.mkdir()
    (shared / "librispeech" / "speakers").mkdir(parents=True)
    (shared / "noise").mkdir()
    sf.write(dest / "lw01_3spk.wav", base, sr, subtype="PCM_16")
    (dest / "lw01_3spk.ref.seglst.json").write_text(ref.to_json())
    (dest / "lw01_3spk.ref.rttm").write_text(to_rttm(ref))
    brief = mrm._read(FIXTURE / "27-124992-0064.flac")
    sf.write(shared / "librispeech" / "speakers" / "27-124992-0064.flac", brief, sr)
    sf.write(shared / "noise" / "doing_the_dishes.flac", rng.standard_normal(20 * sr) * 0.01, sr)

    entry = mrm.brief_speaker_meeting(shared, dest, "lw01_3spk", "27-124992-0064", False, [])
    assert entry is not None and entry["speakers"] == ["LS19", "LS26", "LS27"]
    name = entry["name"]
    out = io.read(dest / f"{name}.ref.seglst.json")
    assert set(io.read(dest / f"{name}.ref.rttm").speakers) == {"LS19", "LS26", "LS27"}
    new = sorted((s for s in out if s.speaker == "LS27"), key=lambda s: s.start_time)
    assert len(new) == 2 and 300.0 < new[0].start_time < 310.0 < 600.0 < new[1].start_time
    spoken = sum(s.duration for s in new)
    assert abs(spoken - len(mrm.trimmed(brief)) / sr) < 0.01
    y, _ = sf.read(dest / f"{name}.wav", dtype="float32")
    inserted = (len(y) - len(base)) / sr
    assert abs(inserted - (spoken + 2 * (0.6 + 0.5))) < 0.01  # noise pads, reverb tails
    first = new[0].duration + 0.6 + 0.5
    moved = sorted((s for s in out if s.speaker != "LS27"), key=lambda s: s.start_time)
    shifts = [s.start_time - t for s, (t, _) in zip(moved, turns, strict=True)]
    np.testing.assert_allclose(shifts, [0.0, 0.0, first, inserted], atol=0.01)
    assert new[1].start_time > moved[2].end_time  # after the turn that ends past 600 s
    # the base audio is still there, shifted after the insertions; the new voice is loud
    a = int(round(moved[-1].start_time * sr))
    np.testing.assert_allclose(y[a : a + sr], base[640 * sr : 641 * sr], atol=1e-4)
    b = int(new[0].start_time * sr)
    level = np.sqrt(np.mean(y[b : b + int(new[0].duration * sr)] ** 2))
    assert level > 10 * 0.001


def test_close_talk_tracks_are_the_same_meeting(tiny: Path, tmp_path: Path) -> None:
    """``make_tracks.py``: the tiny meeting simulated again with every speaker's images is the
    same meeting (its mixture equals the one exported before), and its tracks hold one speaker
    per channel: on each speaker's turns their own channel is the louder by about the drawn
    crosstalk (15-25 dB)."""
    from notsofar import io
    from notsofar.audio import read
    from notsofar.simulate.css_format import iter_shard

    tracks = load_benchmark("make_tracks")
    items = mrm.prepare_words(FIXTURE, tmp_path, ("LS19", "LS26"))
    spec = mrm.MeetingSpec("tiny_2spk", "words", 2, 0.25, "near", 11, ("LS19", "LS26"), 0.5)
    shard = mrm.simulate_meeting(
        spec, spec.speakers, items, None, tmp_path / "work", tracks.COLUMNS
    )
    ((_, cols, _),) = list(iter_shard(shard))
    sc, _ = read(tiny / "tiny_2spk.wav")
    np.testing.assert_allclose(np.asarray(cols["mixture"])[:, 0], sc, atol=1e-4)
    x, labels, levels = tracks.tracks_of(shard, spec.seed)
    assert labels == ["LS19", "LS26"] and x.shape == (2, len(sc))
    assert 15.0 <= levels["leak_db"] <= 25.0
    ref = io.read(tiny / "tiny_2spk.ref.seglst.json")
    for k, spk in enumerate(labels):
        alone = np.zeros(x.shape[1], dtype=bool)
        for s in ref:
            alone[int(s.start_time * 16000) : int(s.end_time * 16000)] = s.speaker == spk
        for s in ref:  # not where the other one talks too
            if s.speaker != spk:
                alone[int(s.start_time * 16000) : int(s.end_time * 16000)] = False
        own, other = (10 * np.log10(np.mean(x[c, alone] ** 2)) for c in (k, 1 - k))
        assert own - other > 10.0, (spk, own, other)
