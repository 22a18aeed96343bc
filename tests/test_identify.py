"""Speaker identification (``--speaker-samples``): diarized speakers named after voice samples.

Real voices only: two LibriVox readers of the committed real-speech fixture take turns; each
person's sample is a *different* utterance of theirs, and a third reader's sample is a
distractor who never speaks. The real models run (segmentation-3.0 and CAM++ on ONNX Runtime).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from notsofar import io
from notsofar.audio import SAMPLE_RATE
from notsofar.data import Segment, Transcript
from notsofar.errors import NotsofarError

sys.path.insert(0, str(Path(__file__).parent))
from helpers import cli  # noqa: E402

REAL = Path(__file__).resolve().parent / "fixtures" / "realspeech"


@pytest.fixture(scope="module")
def meeting(tmp_path_factory) -> tuple[Path, list[tuple[str, float, float]]]:
    """LS19 (F), LS26 (M), LS19 again: one utterance each turn, 0.6 s apart."""
    folder = tmp_path_factory.mktemp("identify")
    parts, ref, t = [np.zeros(int(0.5 * SAMPLE_RATE), np.float32)], [], 0.5
    for who, name in (("LS19", "19-198-0008"), ("LS26", "26-496-0006"), ("LS19", "19-198-0008")):
        x, sr = sf.read(REAL / f"{name}.flac", dtype="float32")
        assert sr == SAMPLE_RATE
        parts += [x, np.zeros(int(0.6 * SAMPLE_RATE), np.float32)]
        ref.append((who, t, t + len(x) / sr))
        t += len(x) / sr + 0.6
    path = folder / "call.wav"
    sf.write(path, np.concatenate(parts), SAMPLE_RATE)
    return path, ref


def samples(folder: Path, people: dict[str, str]) -> Path:
    """``folder`` with ``name -> fixture utterance`` samples; a name with ``/`` is a sub-folder
    (``Denny/x`` puts the utterance into ``Denny/``)."""
    for name, utt in people.items():
        dest = folder / f"{name}.flac"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REAL / f"{utt}.flac", dest)
    return folder


def speaker_at(turns: Transcript, t: float) -> set[str]:
    return {s.speaker for s in turns if s.start_time <= t <= s.end_time}


def test_speakers_take_the_names_of_their_samples_cli_equals_api(meeting, tmp_path):
    """Other utterances of the two readers name them; the third reader's sample (who never
    speaks) names nobody; a person's sub-folder is one person. CLI and API agree."""
    from notsofar import io
    from notsofar.audio import read
    from notsofar.diarize import diarize

    audio, ref = meeting
    folder = samples(
        tmp_path / "team",
        {"Kara": "19-198-0037", "Denny/b": "26-496-0026", "Sean": "27-124992-0064"},
    )
    out = tmp_path / "out"
    r = cli("diarize", audio, "-o", out, "--num-speakers", "2", "--speaker-samples", folder)
    assert r.returncode == 0, r.stderr
    turns = io.read(out / "call.rttm")
    assert sorted(turns.speakers) == ["Denny", "Kara"]
    for who, a, b in ref:
        assert speaker_at(turns, (a + b) / 2) == {"Kara" if who == "LS19" else "Denny"}
    assert "recognised from 3 voice samples" in r.stderr and "Kara" in r.stderr
    resolved = (out / "call.diarize.config.yaml").read_text()
    assert str(folder.resolve()) in resolved
    x, sr = read(audio)
    api = diarize(x, sr, num_speakers=2, speaker_samples=folder, session_id="call")

    def rows(t: Transcript) -> list[tuple[str, float, float]]:
        return [(s.speaker, round(s.start_time, 2), round(s.end_time, 2)) for s in t]

    assert rows(api) == rows(turns)


def test_a_voice_without_a_sample_keeps_its_label(meeting, tmp_path):
    """Samples of LS19 and of a reader who is absent: LS26 must not take the absent one's name."""
    from notsofar.audio import read
    from notsofar.diarize import diarize

    audio, ref = meeting
    folder = samples(tmp_path / "team", {"Kara": "19-198-0037", "Sean": "27-124992-0064"})
    x, sr = read(audio)
    turns = diarize(x, sr, num_speakers=2, speaker_samples=folder)
    assert "Kara" in turns.speakers and "Sean" not in turns.speakers
    (other,) = set(turns.speakers) - {"Kara"}
    assert other.startswith("spk")
    assert speaker_at(turns, (ref[1][1] + ref[1][2]) / 2) == {other}


def test_transcribe_names_the_words(meeting, tmp_path):
    """``transcribe --speaker-samples``: the words carry the person's name."""
    audio, ref = meeting
    folder = samples(tmp_path / "team", {"Kara": "19-198-0037", "Denny": "26-496-0026"})
    out = tmp_path / "out"
    r = cli("transcribe", audio, "-o", out, "--num-speakers", "2", "--speaker-samples", folder)
    assert r.returncode == 0, r.stderr
    segs = json.loads((out / "call.seglst.json").read_text())
    assert {s["speaker"] for s in segs} == {"Kara", "Denny"}
    second = [s for s in segs if ref[1][1] <= (s["start_time"] + s["end_time"]) / 2 <= ref[1][2]]
    assert second and {s["speaker"] for s in second} == {"Denny"}
    assert "Denny" in (out / "call.txt").read_text()


def test_bad_samples_are_one_line_errors_before_any_output(meeting, tmp_path):
    audio, _ = meeting
    out = tmp_path / "out"
    missing = cli("diarize", audio, "-o", out, "--speaker-samples", tmp_path / "nope")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert "nope" in missing.stderr and "not found" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = cli("transcribe", audio, "-o", out, "--speaker-samples", tmp_path / "empty")
    assert empty.returncode != 0 and "no audio files" in empty.stderr
    # a sample that holds no speech: named in the error, and nothing written
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    sf.write(quiet / "Ghost.wav", np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    r = cli("diarize", audio, "-o", out, "--speaker-samples", quiet)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "Ghost.wav" in r.stderr and "speech" in r.stderr
    assert not list(out.glob("call*"))


def test_solo_spans_cap_and_rename():
    from notsofar.diarize.identify import _cap, rename, sample_files, solo_spans

    t = Transcript(
        [Segment("m", "A", 0.0, 4.0, ""), Segment("m", "B", 3.0, 5.0, "")]
        + [Segment("m", "A", 4.8, 9.0, ""), Segment("m", "B", 6.0, 6.3, "")]
    )
    # A alone: 0-3, 5-6, 6.3-9 (4.0-4.8 overlaps B; pieces under 0.5 s dropped)
    assert solo_spans(t, "A") == [(0.0, 3.0), (5.0, 6.0), (6.3, 9.0)]
    assert solo_spans(t, "B") == [(4.0, 4.8)]
    capped = _cap([(0.0, 3.0), (5.0, 6.0), (6.3, 9.0)], 4.0)
    assert np.allclose(capped, [(0.0, 3.0), (6.3, 7.3)])
    renamed = rename(t, {"A": "Ann"})
    assert renamed.speakers == ["Ann", "B"] and len(renamed) == 4
    with pytest.raises(NotsofarError, match="must be a folder"):
        sample_files(REAL / "19-198-0008.flac")


def test_match_leaves_weak_and_surplus_speakers_unnamed():
    from notsofar.diarize.identify import Voice, match

    e = np.eye(4)
    people = [Voice("ann", e[0], 5.0, ()), Voice("bo", e[1], 5.0, ())]
    voices = {"spk0": (e[0], 9.0), "spk1": (0.6 * e[0] + 0.8 * e[1], 9.0), "spk2": (e[2], 9.0)}
    # spk1 is closer to ann than to bo, but ann is spk0's: the one-to-one pairing gives it bo
    assert match(voices, people, 0.5) == {"spk0": ("ann", 1.0), "spk1": ("bo", 0.8)}
    assert match(voices, people, 0.9) == {"spk0": ("ann", 1.0)}
    assert match({}, people, 0.5) == {} and match(voices, [], 0.5) == {}


def test_one_microphone_per_speaker_names_each_channel(meeting, tmp_path):
    """A call recorded one party per channel: each speaker's voice comes from their own
    channel, and the channel's speaker takes the matching sample's name."""
    from notsofar import io

    audio, ref = meeting
    x, sr = sf.read(audio, dtype="float32")
    stereo = np.zeros((len(x), 2), np.float32)
    for who, a, b in ref:  # LS19 on the left, LS26 on the right, a faint leak across
        i, j = int(a * sr), int(b * sr)
        k = 0 if who == "LS19" else 1
        stereo[i:j, k] = x[i:j]
        stereo[i:j, 1 - k] = 0.02 * x[i:j]
    call = tmp_path / "phone.wav"
    sf.write(call, stereo, sr)
    folder = samples(tmp_path / "team", {"Kara": "19-198-0037", "Denny": "26-496-0026"})
    r = cli("diarize", call, "-o", tmp_path / "out", "--speaker-samples", folder)
    assert r.returncode == 0, r.stderr
    assert "one speaker per channel" in r.stderr
    turns = io.read(tmp_path / "out" / "phone.rttm")
    assert sorted(turns.speakers) == ["Denny", "Kara"]
    assert speaker_at(turns, (ref[1][1] + ref[1][2]) / 2) == {"Denny"}


def test_multichannel_path_names_speakers_from_their_enhanced_streams(tmp_path):
    """The 7-channel path (GSS + MVDR per speaker): a speaker's voice is taken from their own
    enhanced stream. Plumbing check on the committed 7-channel fixture (espeak voices, so the
    sample is cut from the recording itself: channel 0 where only one voice talks)."""
    fixtures = Path(__file__).resolve().parent / "fixtures"
    x, sr = sf.read(fixtures / "mc_two_speakers.flac", dtype="float32")
    team = tmp_path / "team"
    team.mkdir()
    sf.write(team / "Ann.wav", x[int(3.4 * sr) : int(5.5 * sr), 0], sr)  # spk_f2_us alone
    out = tmp_path / "out"
    r = cli(
        "transcribe", fixtures / "mc_two_speakers.flac", "-o", out, "--set", "array=notsofar_mc",
        "--set", "diarize.backend=fusion", "--speaker-samples", team,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    segs = json.loads((out / "mc_two_speakers.seglst.json").read_text())
    who = {w.strip(".,?!"): s["speaker"] for s in segs for w in s["words"].lower().split()}
    assert who.get("users") == "Ann" and who.get("weekly") not in (None, "Ann"), segs
    # `notsofar diarize` with the geometry names the front end's speakers too (from the
    # reference channel: it has no enhanced streams)
    r = cli(
        "diarize", fixtures / "mc_two_speakers.flac", "-o", tmp_path / "d",
        "--set", "array=notsofar_mc", "--set", "diarize.backend=fusion", "--speaker-samples", team,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    turns = list(io.read(tmp_path / "d" / "mc_two_speakers.rttm"))
    assert [s.speaker for s in turns if s.start_time < 4.5 < s.end_time] == ["Ann"], turns
    assert {s.speaker for s in turns if s.start_time < 7.0 < s.end_time} != {"Ann"}, turns


def test_a_telephone_call_is_compared_through_the_line(meeting, tmp_path):
    """The same two readers through a telephone line (300-3400 Hz, 8 kHz mu-law), wideband
    samples: CAM++ scores a person's wideband sample low against their voice on a call, so the
    samples are compared through the same band; without that nobody is named."""
    from notsofar.audio import read, resample
    from notsofar.diarize import diarize
    from notsofar.diarize.config import DiarizeConfig
    from notsofar.restore.degrade import telephone

    audio, ref = meeting
    x, sr = read(audio)
    tel, rate = telephone(x, sr)
    call = resample(tel, rate, SAMPLE_RATE)
    folder = samples(tmp_path / "team", {"Kara": "19-198-0037", "Denny": "26-496-0026"})
    # one threshold for both ways, so that only the comparison through the line differs
    same = {"identify_threshold": 0.72, "identify_narrowband_threshold": 0.72}
    on = diarize(call, SAMPLE_RATE, DiarizeConfig(**same), num_speakers=2, speaker_samples=folder)
    assert speaker_at(on, (ref[1][1] + ref[1][2]) / 2) == {"Denny"}
    assert speaker_at(on, (ref[0][1] + ref[0][2]) / 2) == {"Kara"}
    off = DiarizeConfig(narrowband_gap_db=0.0, **same)  # no telephone handling at all
    plain = diarize(call, SAMPLE_RATE, off, num_speakers=2, speaker_samples=folder)
    assert all(s.startswith("spk") for s in plain.speakers), plain.speakers
