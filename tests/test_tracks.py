"""One close microphone per speaker (notsofar.diarize.tracks, notsofar.pipeline.tracks): a
stereo call recorded one party per channel, built from the committed real-speech fixture (two
LibriSpeech readers taking turns, one overlap), with each voice leaking into the other channel
as a headset or a phone hybrid lets it. Real voices through the real VAD and Whisper; nothing
mocked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from notsofar.audio import SAMPLE_RATE
from notsofar.diarize.tracks import channel_levels, is_per_speaker

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests" / "fixtures" / "realspeech"
TEXT = {
    line.split("\t")[0].split(".")[0]: line.split("\t")[2].strip()
    for line in (REAL / "speech.tsv").read_text().splitlines()
}


def _trimmed(x: np.ndarray) -> np.ndarray:
    """The utterance without its leading and trailing silence (100 ms frames 25 dB below its
    loudest; these recordings' noise floor lies 30-38 dB below), so that the reference turns
    hold speech from end to end."""
    hop = SAMPLE_RATE // 10
    frames = x[: len(x) // hop * hop].reshape(-1, hop)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.nonzero(db > db.max() - 25)[0]
    return x[loud[0] * hop : (loud[-1] + 1) * hop]


def _call(leak_db: float = -20.0) -> tuple[np.ndarray, list[tuple[str, float, float, str]]]:
    """``[2, T]``: reader 19 on channel 0, reader 26 on channel 1 (recorded 6 dB quieter),
    four turns, the last 0.8 s over the one before; each voice also reaches the other channel
    ``leak_db`` lower and 5 ms later; a little noise on both. Returns the audio and the
    reference turns ``(speaker, start, end, words)``."""
    order = ["19-198-0008", "26-496-0006", "19-198-0037", "26-496-0026"]
    gaps = [0.6, 0.5, -0.8]
    out = np.zeros((2, int(40 * SAMPLE_RATE)), np.float32)
    leak, delay = 10 ** (leak_db / 20), int(0.005 * SAMPLE_RATE)
    t, ref = 0.5, []
    for i, name in enumerate(order):
        x, sr = sf.read(REAL / f"{name}.flac", dtype="float32")
        x = _trimmed(x)
        k = 0 if name.startswith("19") else 1
        gain = 1.0 if k == 0 else 0.5
        a = int(t * sr)
        out[k, a : a + len(x)] += gain * x
        out[1 - k, a + delay : a + delay + len(x)] += gain * leak * x
        ref.append((f"LS{name[:2]}", t, t + len(x) / sr, TEXT[name]))
        t += len(x) / sr + (gaps[i] if i < len(gaps) else 0.0)
    out += 1e-4 * np.random.default_rng(0).standard_normal(out.shape).astype(np.float32)
    return out[:, : int((t + 0.5) * SAMPLE_RATE)], ref


def _write(path: Path, x: np.ndarray) -> Path:
    sf.write(path, x.T, SAMPLE_RATE, subtype="PCM_16")
    return path


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "notsofar.cli.main", *args], capture_output=True, text=True
    )


def test_a_call_recorded_one_party_per_channel_is_recognised(tmp_path):
    """``auto`` sends the two-party stereo call down the per-channel path; a mono recording
    saved as stereo, and a stereo pair of a room's microphones (two mics of the 7-mic array
    fixture, 4 cm apart), are not: their channels never differ by 10 dB."""
    x, _ = _call()
    assert is_per_speaker(channel_levels(_write(tmp_path / "call.wav", x)))
    mono = x.mean(axis=0)
    assert not is_per_speaker(channel_levels(_write(tmp_path / "dup.wav", np.stack([mono] * 2))))
    mc, sr = sf.read(ROOT / "tests" / "fixtures" / "mc_two_speakers.flac", dtype="float32")
    sf.write(tmp_path / "pair.wav", mc[:, :2], sr)
    assert not is_per_speaker(channel_levels(tmp_path / "pair.wav"))
    # a leak as loud as the voice itself (no separation at all) is not one party per channel
    loud, _ = _call(leak_db=-1.0)
    assert not is_per_speaker(channel_levels(_write(tmp_path / "loud.wav", loud)))


def test_diarize_takes_each_speaker_from_their_own_channel(tmp_path):
    """``notsofar diarize`` on the stereo call: two speakers, spk0 = channel 0 (reader 19),
    turns within a few hundred ms of the reference, the leaked voice not taken for the other
    channel's speaker, and both speakers during the 0.8 s overlap."""
    from notsofar import io

    x, ref = _call()
    path = _write(tmp_path / "call.wav", x)
    proc = _cli("diarize", str(path), "-o", str(tmp_path / "out"), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "one speaker per channel" in json.loads(proc.stdout)["notes"][0]
    hyp = io.read(tmp_path / "out" / "call.rttm")
    assert hyp.speakers == ["spk0", "spk1"]
    for spk, a, b, _ in ref:
        mine = [s for s in hyp if s.speaker == ("spk0" if spk == "LS19" else "spk1")]
        other = [s for s in hyp if s.speaker != ("spk0" if spk == "LS19" else "spk1")]
        covered = sum(max(0.0, min(b, s.end_time) - max(a, s.start_time)) for s in mine)
        assert covered > 0.9 * (b - a), (spk, a, b)
        # the other channel's speaker holds at most the overlap with their own turn
        if (a, b) != (ref[3][1], ref[3][2]) and (a, b) != (ref[2][1], ref[2][2]):
            leaked = sum(max(0.0, min(b, s.end_time) - max(a, s.start_time)) for s in other)
            assert leaked < 0.3, (spk, a, b, leaked)
    a, b = ref[3][1], ref[2][2]  # the overlap
    assert {s.speaker for s in hyp if s.start_time < b - 0.2 and s.end_time > a + 0.2} == {
        "spk0",
        "spk1",
    }


def test_transcribe_reads_each_party_from_their_own_channel(tmp_path):
    """``notsofar transcribe`` on the stereo call: each reader's words on their own speaker,
    tcpWER against the reference low (the overlapped words too), and ``--channel mix`` still
    takes the average through the diarizer (no per-channel note)."""
    from notsofar import io
    from notsofar.data import Segment, Transcript
    from notsofar.score import score
    from notsofar.score.config import ScoreConfig

    x, ref = _call()
    path = _write(tmp_path / "call.wav", x)
    proc = _cli("transcribe", str(path), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "call: one speaker per channel" in proc.stderr
    hyp = io.read(tmp_path / "out" / "call.seglst.json")
    assert hyp.speakers == ["spk0", "spk1"]
    reference = Transcript(Segment("call", spk, a, b, words) for spk, a, b, words in ref)
    report = score(reference, hyp, ScoreConfig(metrics=("tcpwer", "der")))
    assert report.metric("tcpwer").micro < 0.15
    assert report.metric("der").micro < 0.1
    said = {s: " ".join(seg.words for seg in hyp if seg.speaker == s).upper() for s in hyp.speakers}
    assert "AWKWARD" in said["spk0"] and "MANUFACTURERS" in said["spk1"]
    proc = _cli("transcribe", str(path), "-o", str(tmp_path / "mix"), "--channel", "mix")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "one speaker per channel" not in proc.stderr


def test_three_headsets_need_channel_speakers(tmp_path):
    """Three readers (19, 26, 27), one headset each, 18 dB of crosstalk: ``--channel
    speakers`` gives each their own turns; ``auto`` on three channels keeps channel 0 as
    before (an array without its geometry is not one speaker per channel)."""
    from notsofar import io

    names = ["19-198-0008", "26-496-0006", "27-124992-0064", "19-198-0037"]
    parts = [_trimmed(sf.read(REAL / f"{n}.flac", dtype="float32")[0]) for n in names]
    out = np.zeros((3, sum(len(x) for x in parts) + SAMPLE_RATE * 3), np.float32)
    ref, t = [], 0.3
    for n, x in zip(names, parts, strict=True):
        k = {"19": 0, "26": 1, "27": 2}[n[:2]]
        a = int(t * SAMPLE_RATE)
        for c in range(3):
            out[c, a : a + len(x)] += x * (1.0 if c == k else 10 ** (-18 / 20))
        ref.append((k, t, t + len(x) / SAMPLE_RATE))
        t += len(x) / SAMPLE_RATE + 0.5
    out += 1e-4 * np.random.default_rng(1).standard_normal(out.shape).astype(np.float32)
    path = _write(tmp_path / "three.wav", out)
    proc = _cli("diarize", str(path), "-o", str(tmp_path / "out"), "--channel", "speakers")
    assert proc.returncode == 0, proc.stderr[-2000:]
    hyp = io.read(tmp_path / "out" / "three.rttm")
    assert hyp.speakers == ["spk0", "spk1", "spk2"]
    for k, a, b in ref:
        mine = sum(
            max(0.0, min(b, s.end_time) - max(a, s.start_time))
            for s in hyp
            if s.speaker == f"spk{k}"
        )
        others = sum(
            max(0.0, min(b, s.end_time) - max(a, s.start_time))
            for s in hyp
            if s.speaker != f"spk{k}"
        )
        assert mine > 0.9 * (b - a) and others < 0.3, (k, a, b, mine, others)
    proc = _cli("diarize", str(path), "-o", str(tmp_path / "auto"), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["notes"] == []


def test_the_python_api_takes_the_same_path():
    """``notsofar.diarize.diarize`` and ``notsofar.pipeline.transcribe`` on the call as an array
    (44.1 kHz, resampled): ``auto`` finds one speaker per channel as the CLI does, each reader's
    words on their own speaker; ``channel="speakers"`` on mono audio is a NotsofarError."""
    import soxr

    from notsofar.diarize import diarize
    from notsofar.errors import NotsofarError
    from notsofar.pipeline import transcribe
    from notsofar.pipeline.models import ModelCache

    x, ref = _call()
    y = soxr.resample(x.T, SAMPLE_RATE, 44100).T
    models = ModelCache("cpu")
    turns = diarize(y, 44100, models=models, session_id="call")
    assert turns.speakers == ["spk0", "spk1"]
    first = [s for s in turns if s.speaker == "spk0"]
    assert sum(
        min(ref[0][2], s.end_time) - max(ref[0][1], s.start_time)
        for s in first
        if s.start_time < ref[0][2]
    ) > 0.9 * (ref[0][2] - ref[0][1])
    words = transcribe(y, 44100, models=models, session_id="call")
    said = {s: " ".join(g.words for g in words if g.speaker == s).upper() for s in words.speakers}
    assert "AWKWARD" in said["spk0"] and "MANUFACTURERS" in said["spk1"]
    assert "AWKWARD" not in said["spk1"] and "MANUFACTURERS" not in said["spk0"]
    with pytest.raises(NotsofarError, match="one channel per speaker"):
        diarize(x.mean(axis=0), SAMPLE_RATE, channel="speakers", models=models)


@pytest.mark.parametrize("command", ["diarize", "transcribe"])
def test_speakers_channel_on_a_mono_file_is_a_one_line_error(tmp_path, command):
    x, _ = _call()
    path = tmp_path / "mono.wav"
    sf.write(path, x.mean(axis=0), SAMPLE_RATE)
    proc = _cli(command, str(path), "-o", str(tmp_path / "out"), "--channel", "speakers")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "mono.wav" in proc.stderr and "one channel per speaker" in proc.stderr
    assert not list((tmp_path / "out").glob("mono.*")) if (tmp_path / "out").exists() else True


def _folder(root: Path, x: np.ndarray, names: tuple[str, str]) -> Path:
    """The call's two channels as one file per party in ``root`` (the second as FLAC)."""
    root.mkdir(parents=True)
    sf.write(root / names[0], x[0], SAMPLE_RATE, subtype="PCM_16")
    sf.write(root / names[1], x[1], SAMPLE_RATE, subtype="PCM_16")
    return root


def test_a_folder_of_one_file_per_speaker_is_one_recording(tmp_path):
    """``diarize --channel speakers`` on a folder holding each party's own file (as a video
    call records every participant separately) finds the turns the stereo file of the same two
    channels gives, each speaker named after their file."""
    from notsofar import io

    x, _ = _call()
    stereo = _write(tmp_path / "call.wav", x)
    folder = _folder(tmp_path / "call 2", x, ("Alice.wav", "Bob Jones.flac"))
    (folder / "notes.txt").write_text("not audio")
    for src, out in ((stereo, "a"), (folder, "b")):
        proc = _cli("diarize", str(src), "-o", str(tmp_path / out), "--channel", "speakers")
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert "one speaker per file (2 files" in proc.stderr
    by_channel = io.read(tmp_path / "a" / "call.rttm")
    by_file = io.read(tmp_path / "b" / "call 2.rttm")
    assert by_file.speakers == ["Alice", "Bob_Jones"]
    rename = {"spk0": "Alice", "spk1": "Bob_Jones"}
    assert [(rename[s.speaker], s.start_time, s.end_time) for s in by_channel] == [
        (s.speaker, s.start_time, s.end_time) for s in by_file
    ]
    assert {s.session_id for s in by_file} == {"call_2"}


def test_transcribe_takes_folders_of_one_file_per_speaker(tmp_path):
    """``transcribe --channel speakers`` on a folder of meetings: each sub-folder of
    per-participant files is one session (named by its path), each party's words on their
    own named speaker; a shorter file (a participant who left early) is read to its end, a
    stereo one averaged; a lone stereo file beside them keeps its channels as speakers;
    ``--html`` pages play the folder's files together."""
    from notsofar import io

    x, ref = _call()
    root = tmp_path / "meetings"
    _folder(root / "mon", x, ("ana.wav", "ben.flac"))
    # tuesday: ben's file stops after his first turn; ana's is stereo (a binaural headset)
    short = x.copy()
    cut = int((ref[1][2] + 0.3) * SAMPLE_RATE)
    _folder(root / "tue", short, ("ana.wav", "ben.wav"))
    sf.write(root / "tue" / "ben.wav", short[1, :cut], SAMPLE_RATE, subtype="PCM_16")
    sf.write(root / "tue" / "ana.wav", np.stack([x[0], 0.8 * x[0]], axis=1), SAMPLE_RATE)
    _write(root / "call.wav", x)
    out = tmp_path / "out"
    proc = _cli("transcribe", str(root), "-o", str(out), "--channel", "speakers", "--html")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'id="audio-data"' in (out / "mon.report.html").read_text()
    mon = io.read(tmp_path / "out" / "mon.seglst.json")
    tue = io.read(tmp_path / "out" / "tue.seglst.json")
    call = io.read(tmp_path / "out" / "call.seglst.json")
    assert mon.speakers == ["ana", "ben"] and call.speakers == ["spk0", "spk1"]
    said = {s: " ".join(g.words for g in mon if g.speaker == s).upper() for s in mon.speakers}
    assert "AWKWARD" in said["ana"] and "MANUFACTURERS" in said["ben"]
    assert "AWKWARD" not in said["ben"] and "MANUFACTURERS" not in said["ana"]
    # ben said nothing after his file ended; ana's last turn is still there
    assert max(s.end_time for s in tue if s.speaker == "ben") <= cut / SAMPLE_RATE + 0.3
    assert max(s.end_time for s in tue if s.speaker == "ana") > ref[3][1]
    done = json.loads((tmp_path / "out" / "mon.done.json").read_text())
    assert [Path(p).name for p in done["audio"]] == ["ana.wav", "ben.flac"]


def test_a_folder_with_one_audio_file_is_a_one_line_error(tmp_path):
    x, _ = _call()
    folder = tmp_path / "solo"
    folder.mkdir()
    sf.write(folder / "ana.wav", x[0], SAMPLE_RATE)
    proc = _cli("diarize", str(folder), "-o", str(tmp_path / "out"), "--channel", "speakers")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "solo" in proc.stderr and "one audio file per speaker; found 1" in proc.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_the_report_page_plays_every_speakers_file(tmp_path):
    """The page of a folder session embeds the sum of its files (read at the same times):
    decoded back, it lasts as long as the longest file and holds each party's voice in their
    own turns, the second party's file ending early included."""
    from notsofar.report.audio import encode_audio

    x, ref = _call()
    folder = _folder(tmp_path / "m", x, ("ana.wav", "ben.wav"))
    end = int((ref[1][2] + 0.3) * SAMPLE_RATE)  # ben's file stops after his first turn
    sf.write(folder / "ben.wav", x[1, :end], SAMPLE_RATE, subtype="PCM_16")
    ogg = tmp_path / "page.ogg"
    ogg.write_bytes(encode_audio((folder / "ana.wav", folder / "ben.wav")))
    y, sr = sf.read(ogg, dtype="float32")
    assert abs(len(y) / sr - x.shape[1] / SAMPLE_RATE) < 0.1

    def rms_db(sig: np.ndarray, rate: int, a: float, b: float) -> float:
        return 10 * np.log10(np.mean(sig[int(a * rate) : int(b * rate)] ** 2) + 1e-12)

    for _, a, b, _ in ref[:3]:  # ana, ben, ana: each as loud in the mix as in their own file
        own = max(rms_db(x[k], SAMPLE_RATE, a, b) for k in (0, 1))
        assert abs(rms_db(y, sr, a, b) - own) < 3.0, (a, b)


def test_folder_sessions_are_found_and_sized(tmp_path):
    """``find_sessions`` with ``speakers``: the input folder's own files are one session named
    after it, each sub-folder of two or more files another, a lone file stays a session of its
    own; a folder session lasts as long as its longest file (progress and ETA), whichever file
    sorts first."""
    from notsofar.pipeline.batch import find_sessions, session_duration

    root = tmp_path / "call"
    (root / "day2").mkdir(parents=True)
    tone = np.zeros(SAMPLE_RATE, np.float32)
    sf.write(root / "a_left_early.wav", tone, SAMPLE_RATE)
    sf.write(root / "b_stayed.flac", np.tile(tone, 3), SAMPLE_RATE)
    sf.write(root / "day2" / "x.wav", tone, SAMPLE_RATE)
    sf.write(root / "day2" / "y.wav", tone, SAMPLE_RATE)
    (root / "solo").mkdir()
    sf.write(root / "solo" / "memo.wav", tone, SAMPLE_RATE)
    found = {s.name: s for s in find_sessions([root], speakers=True)}
    assert sorted(found) == ["call", "day2", "solo/memo"]
    assert found["call"].speaker_files and not found["solo/memo"].speaker_files
    assert session_duration(found["call"]) == pytest.approx(3.0)
    assert [s.name for s in find_sessions([root])] == [
        "a_left_early", "b_stayed", "day2/x", "day2/y", "solo/memo",
    ]  # fmt: skip
