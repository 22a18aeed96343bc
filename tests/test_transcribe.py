"""`notsofar transcribe` end to end: real fixture meetings, real default models, CLI subprocess.

One batch transcription (the example meeting and the two-speaker fixture) is shared by the
tests of this module; bounds were measured once (meeting: tcpWER 0.27, DER 0.05; two_speakers:
tcpWER 0.10, DER 0.00) and are kept with a margin, tight enough that a diarizer that merges or
splits speakers, or a broken recognizer, fails them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from notsofar import io
from notsofar.pipeline.config import OUTPUTS

ROOT = Path(__file__).resolve().parents[1]
MEETING = ROOT / "examples" / "meeting" / "meeting.wav"
TWO = ROOT / "tests" / "fixtures" / "two_speakers.wav"
REFS = {
    "meeting": ROOT / "examples" / "meeting" / "meeting.ref.seglst.json",
    "two_speakers": ROOT / "tests" / "fixtures" / "two_speakers.ref.seglst.json",
}
#: (max tcpWER, max DER) per session
BOUNDS = {"meeting": (0.40, 0.15), "two_speakers": (0.25, 0.10)}


#: the espeak-ng fixtures run the sliding-window fusion diarizer they were made for (the default
#: pyannote segmentation hears two synthetic voices as one speaker; real voices are tested in
#: tests/test_diarize_pyannote.py)
FUSION = ("--set", "diarize.backend=fusion")


def notsofar(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "notsofar.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        **kw,
    )


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("transcribe")
    proc = notsofar("transcribe", str(MEETING), str(TWO), "-o", str(out), *FUSION)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_outputs_complete(batch):
    out, proc = batch
    for name in REFS:
        for suffix in (*OUTPUTS, ".done.json", ".config.yaml"):
            assert (out / f"{name}{suffix}").is_file(), f"{name}{suffix} missing"
    assert "transcribing meeting" in proc.stderr
    assert "RTF" in proc.stdout and "RTF" not in proc.stderr  # the summary table: a result
    assert not list(out.glob(".*tmp*")), "temporary files left behind"


@pytest.mark.parametrize("name", sorted(REFS))
def test_speaker_count_and_scores(batch, name):
    from notsofar.score import score
    from notsofar.score.config import ScoreConfig

    out, _ = batch
    ref = io.read(REFS[name])
    hyp = io.read(out / f"{name}.seglst.json")
    assert len(set(hyp.speakers)) == len(set(ref.speakers))
    turns = io.read(out / f"{name}.rttm")
    assert len(set(turns.speakers)) == len(set(ref.speakers))
    report = score(ref, hyp, ScoreConfig(metrics=("tcpwer", "der")))
    tcpwer, der = report.metric("tcpwer").micro, report.metric("der").micro
    max_wer, max_der = BOUNDS[name]
    assert tcpwer <= max_wer, f"{name}: tcpWER {tcpwer:.3f} > {max_wer}"
    assert der <= max_der, f"{name}: DER {der:.3f} > {max_der}"


def test_formats_read_back_consistently(batch):
    out, _ = batch
    seglst = io.read(out / "meeting.seglst.json")
    assert seglst.session_ids == ["meeting"]
    assert all(s.word_details and len(s.word_details) == len(s.words.split()) for s in seglst)
    from notsofar.io import subtitles, text
    from notsofar.io._text import merge_turns

    for suffix in (".srt", ".vtt", ".txt"):
        back = io.read(out / f"meeting{suffix}")
        # consecutive segments of one speaker share a line / cue in the formats people read
        if suffix == ".txt":
            turns = merge_turns(seglst, text.MERGE_GAP_S)
        else:
            turns = merge_turns(seglst, subtitles.CUE_GAP_S, subtitles.CUE_MAX_S)
        assert [(s.speaker, s.words) for s in back] == [(s.speaker, s.words) for s in turns]
        for a, b in zip(back, turns, strict=True):
            assert abs(a.start_time - b.start_time) < 1e-3
            assert abs(a.end_time - b.end_time) < 1e-3
        # writing what was read gives the same file
        assert (
            io.module_for(out / f"x{suffix}").dumps(back) == (out / f"meeting{suffix}").read_text()
        )
    words = json.loads((out / "meeting.words.json").read_text())
    assert len(words) == seglst.num_words
    assert all(0.0 <= w["confidence"] <= 1.0 and w["start_time"] <= w["end_time"] for w in words)
    assert [w["start_time"] for w in words] == sorted(w["start_time"] for w in words)


def test_rerun_skips_finished_sessions(batch):
    out, _ = batch
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    proc = notsofar("transcribe", str(MEETING), str(TWO), "-o", str(out), *FUSION)
    assert proc.returncode == 0, proc.stderr
    assert "skip meeting (done)" in proc.stderr and "skip two_speakers (done)" in proc.stderr
    assert "transcribing" not in proc.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_restore_in_front_of_whisper_keeps_the_diarization(batch, tmp_path):
    """``--set restore.enabled=true``: Whisper hears the restored audio; VAD and the speaker
    encoder still read the original (diarizing restored audio cost tcpWER in the benchmark), so
    the speaker turns equal those of the plain run and the words stay within the bound."""
    from notsofar.score import ScoreConfig, score

    out, _ = batch
    proc = notsofar(
        "transcribe", str(TWO), "-o", str(tmp_path), "--set", "restore.enabled=true", *FUSION
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "two_speakers.rttm").read_text() == (out / "two_speakers.rttm").read_text()
    assert "restore" in (tmp_path / "two_speakers.config.yaml").read_text()
    assert not list(tmp_path.glob(".*")), "temporary restored audio left behind"
    report = score(
        io.read(REFS["two_speakers"]), io.read(tmp_path / "two_speakers.seglst.json"), ScoreConfig()
    )
    assert report.metric("tcpwer").micro <= BOUNDS["two_speakers"][0]


def test_stereo_call_keeps_both_parties(tmp_path):
    """A call recorded one party per channel (two real LibriSpeech readers, the committed
    fixture): by default (``channel: auto``) each party is taken from their own channel, so both
    parties' words come out on two speakers; ``--channel mix`` averages the two (both parties'
    words, through the diarizer); ``--channel 0`` still picks the first party alone."""
    import numpy as np
    import soundfile as sf

    real = ROOT / "tests" / "fixtures" / "realspeech"
    a, sr = sf.read(real / "19-198-0008.flac", dtype="float32")
    b, _ = sf.read(real / "26-496-0006.flac", dtype="float32")
    call = np.zeros((len(a) + len(b) + sr, 2), np.float32)
    call[: len(a), 0] = a
    call[len(a) + sr // 2 : len(a) + sr // 2 + len(b), 1] = b
    path = tmp_path / "call.wav"
    sf.write(path, call, sr)
    words = {}
    said = {
        "auto": "one speaker per channel",
        "mix": "their average",
        "first": "channel 0",
    }
    for name, extra in (("auto", ()), ("mix", ("--channel", "mix")), ("first", ("--channel", "0"))):
        proc = notsofar("transcribe", str(path), "-o", str(tmp_path / name), *extra)
        assert proc.returncode == 0, proc.stderr
        assert said[name] in proc.stderr
        t = io.read(tmp_path / name / "call.seglst.json")
        words[name] = [(s.start_time, s.words.lower(), s.speaker) for s in t]
    first_half = len(a) / sr + 0.25
    for name in ("auto", "mix"):
        assert any(t < first_half and "figure" in w for t, w, _ in words[name])
        assert any(t > first_half and w for t, w, _ in words[name])
    assert {spk for t, _, spk in words["auto"] if t < first_half} == {"spk0"}
    assert {spk for t, _, spk in words["auto"] if t > first_half} == {"spk1"}
    assert all(t < first_half for t, _, _ in words["first"])


def test_a_recording_without_speech_says_so(tmp_path):
    """No speech found is not an error, but the user hears why the outputs are empty and what
    to try when people do talk in it (quietly: Silero's threshold)."""
    import numpy as np
    import soundfile as sf

    quiet = tmp_path / "room_tone.wav"
    noise = 10 ** (-60 / 20) * np.random.default_rng(0).standard_normal(16000 * 4)
    sf.write(quiet, noise.astype(np.float32), 16000)
    for command in ("transcribe", "diarize"):
        proc = notsofar(command, str(quiet), "-o", str(tmp_path / command))
        assert proc.returncode == 0, proc.stderr
        said = " ".join(proc.stderr.split())  # the progress console may wrap the line
        assert "no speech found (VAD: silero, threshold 0.35)" in said, proc.stderr
        assert "diarize.vad.threshold=0.2" in said, proc.stderr
    assert io.read(tmp_path / "transcribe" / "room_tone.seglst.json") == io.read(
        tmp_path / "diarize" / "room_tone.rttm"
    )


def test_no_speech_is_said_on_the_multichannel_and_per_speaker_paths(tmp_path):
    """The same notice when a 7-channel array recording (the multi-channel front end) or a
    one-microphone-per-speaker recording holds no speech; before, both gave 0 speakers
    silently. The Python APIs hand it to ``notice``."""
    import numpy as np
    import soundfile as sf

    from notsofar.diarize import diarize
    from notsofar.pipeline import transcribe
    from notsofar.vad import VadConfig, no_speech_note

    rng = np.random.default_rng(0)
    seven = tmp_path / "array_tone.wav"
    sf.write(seven, (1e-3 * rng.standard_normal((16000 * 4, 7))).astype(np.float32), 16000)
    stereo = 1e-3 * rng.standard_normal((2, 16000 * 4))
    sf.write(tmp_path / "call_tone.wav", stereo.T.astype(np.float32), 16000)
    runs = [
        ("transcribe", seven, "--set", "array=notsofar_mc"),
        ("transcribe", tmp_path / "call_tone.wav", "--channel", "speakers"),
        ("diarize", tmp_path / "call_tone.wav", "--channel", "speakers"),
    ]
    for command, path, *options in runs:
        proc = notsofar(command, str(path), "-o", str(tmp_path / command), *options)
        assert proc.returncode == 0, proc.stderr
        said = " ".join(proc.stderr.split())
        assert f"{path.stem}: no speech found (VAD: silero" in said, (command, proc.stderr)
    for api in (diarize, transcribe):
        notes: list[str] = []
        assert len(api(stereo, 16000, channel="speakers", notice=notes.append)) == 0
        assert notes[0].startswith("one speaker per channel (2 channels"), (api, notes)
        assert notes[1].startswith("no speech found"), (api, notes)
    notes = []
    assert len(transcribe(stereo[0], 16000, notice=notes.append)) == 0
    assert notes == [no_speech_note(VadConfig())]
