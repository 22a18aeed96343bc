"""The multi-channel path end to end: ``notsofar enhance`` and ``notsofar transcribe`` on the
7-channel fixture (two espeak voices at two seats, RT60 0.45 s, 15 dB diffuse noise), with the
real models (resemblyzer, faster-whisper tiny.en) and the CLI run as a subprocess.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from notsofar.enhance.doa import angular_distance

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
MC = FIXTURES / "mc_two_speakers.flac"
#: the seats' azimuths as seen from the array (from fixtures.params.json)
SEATS = {"spk_m7_us": 1.9, "spk_f2_us": 295.7}


sys.path.insert(0, str(Path(__file__).parent))
from helpers import cli as run_cli  # noqa: E402


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_enhance_cli_writes_one_stream_per_speaker(tmp_path):
    """A batch of a bad folder and the fixture: the bad one is reported, the fixture enhanced."""
    out = tmp_path / "out"
    ref = FIXTURES / "mc_two_speakers.ref.rttm"
    empty = tmp_path / "mc_empty"
    empty.mkdir()
    p = run_cli(
        "enhance", str(empty), str(MC), "-o", str(out), "--diarization", str(ref), "--json",
        "--device", "cpu",
    )  # fmt: skip
    assert p.returncode == 1, p.stderr  # some inputs failed, the batch went on
    assert "mc_empty: folder has no ch0.wav .. chN.wav channel files" in p.stderr
    folder = out / "mc_two_speakers"
    summary = {Path(s["input"]).name: s for s in json.loads(p.stdout)}  # stdout: only the JSON
    assert summary["mc_empty"]["status"] == "failed"
    assert len(summary[MC.name]["outputs"]) == len(SEATS)
    info = json.loads((folder / "enhance.json").read_text())
    assert sorted(info["speakers"]) == sorted(SEATS)
    for spk, azimuth in SEATS.items():
        x, sr = sf.read(folder / f"{spk}.wav", dtype="float32")
        assert sr == 16000 and x.ndim == 1 and len(x) == 12 * 16000
        assert float(angular_distance(info["directions_deg"][spk], azimuth)) <= 15
    # each stream holds its speaker's turns and is silent where only the other one talks
    m7, _ = sf.read(folder / "spk_m7_us.wav", dtype="float32")
    assert np.abs(m7[int(6.3 * 16000) : int(8.8 * 16000)]).max() > 0.01
    assert np.abs(m7[int(3.6 * 16000) : int(5.4 * 16000)]).max() == 0.0
    assert (folder / "diarization.rttm").read_text().count("SPEAKER") == 3
    assert (out / "enhance.config.yaml").is_file()


def test_enhance_cli_bad_inputs_are_one_line_errors(tmp_path):
    mono = FIXTURES / "two_speakers.wav"
    p = run_cli("enhance", str(mono), "-o", str(tmp_path))
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "Traceback" not in p.stderr
    assert "1 channel(s) but array 'notsofar_mc' has 7 microphones" in p.stderr
    p = run_cli("enhance", str(MC), "-o", str(tmp_path), "--set", "wpe.taps=0")
    assert p.returncode == 2 and "taps >= 1" in p.stderr


def test_cli_and_python_api_stay_in_step():
    from notsofar.cli.enhance import enhance_command
    from notsofar.enhance.run import enhance_file

    cli = set(inspect.signature(enhance_command).parameters)
    api = set(inspect.signature(enhance_file).parameters)
    # CLI name -> API name; config/--set/--array build ``cfg``; quiet/json are presentation
    mapping = {"inputs": "path", "out": "out_dir", "diarization": "diarization", "device": "device"}
    assert {mapping[c] for c in cli if c in mapping} <= api
    assert cli - set(mapping) == {"array", "config", "set_", "quiet", "json_"}
    assert "cfg" in api


def test_transcribe_multichannel_cli_end_to_end(tmp_path):
    """``notsofar transcribe x_7ch.flac --set array=notsofar_mc``: words per separated speaker."""
    p = run_cli(
        "transcribe",
        str(MC),
        "--set",
        "array=notsofar_mc",
        "-o",
        str(tmp_path),
        "-q",
        "--set",
        "diarize.backend=fusion",
    )
    assert p.returncode == 0, p.stderr
    hyp = json.loads((tmp_path / "mc_two_speakers.seglst.json").read_text())
    ref = json.loads((FIXTURES / "mc_two_speakers.ref.seglst.json").read_text())
    ref_words = [w for s in ref for w in words_of(s["words"])]
    hyp_words = [w for s in hyp for w in words_of(s["words"])]
    recall = sum(min(hyp_words.count(w), ref_words.count(w)) for w in set(ref_words))
    # the first utterance is the fragile one: its end overlaps the second voice, and when the
    # diarizer cuts its turn early GSS can lose words there; the other two come out whole
    assert recall >= 0.6 * len(ref_words), hyp
    who = {w: s["speaker"] for s in hyp for w in words_of(s["words"])}
    assert who["approach"] == who["users"] != who["weekly"] == who["meeting"]
    # two voices, two speakers: with one WPE iteration the diarizer split one of them
    assert len({s["speaker"] for s in hyp}) == 2, hyp
    # the Python API with the same config runs the same front end on the samples (it used to
    # ignore cfg.array and transcribe channel 0 alone)
    from notsofar import io
    from notsofar.audio import read
    from notsofar.config import load_config
    from notsofar.pipeline import TranscribeConfig, transcribe

    cfg = load_config(TranscribeConfig, None, ["array=notsofar_mc", "diarize.backend=fusion"])
    x, sr = read(MC, sample_rate=None)
    notes: list[str] = []
    before = x.copy()
    api = transcribe(x, sr, cfg, session_id="mc_two_speakers", notice=notes.append)
    assert np.array_equal(x, before)  # the caller's samples are left alone (WPE runs in place)
    cli = io.read(tmp_path / "mc_two_speakers.seglst.json")
    assert [(s.speaker, s.start_time, s.end_time, s.words) for s in api] == [
        (s.speaker, s.start_time, s.end_time, s.words) for s in cli
    ]
    assert x.shape[0] == 7 and not any("single-channel" in n for n in notes), notes
    # `notsofar diarize` with the geometry gives the turns the front end separated by (it used
    # to diarize channel 0 alone), and so does notsofar.enhance.diarize_array on the samples
    from notsofar.diarize import diarize
    from notsofar.enhance import EnhanceConfig, diarize_array
    from notsofar.errors import NotsofarError

    d = run_cli(
        "diarize", str(MC), "-o", str(tmp_path / "d"), "-q",
        "--set", "array=notsofar_mc", "--set", "diarize.backend=fusion",
    )  # fmt: skip
    assert d.returncode == 0, d.stderr
    turns = io.read(tmp_path / "d" / "mc_two_speakers.rttm")
    assert turns == io.read(tmp_path / "mc_two_speakers.rttm")
    assert [s.speaker for s in turns.sorted()] == ["spk0", "spk1", "spk0"]  # first appearance
    ecfg = EnhanceConfig(array="notsofar_mc")
    assert diarize_array(x, sr, ecfg, cfg.diarize, session_id="mc_two_speakers")[0] == turns
    assert diarize(x, sr, cfg.diarize, session_id="mc_two_speakers") != turns  # channel 0
    with pytest.raises(NotsofarError, match="diarize_array"):  # not channel 0 in silence
        diarize(x, sr, cfg, session_id="mc_two_speakers")
    # one channel of it ([1, T]) with the geometry: the single-channel path, saying so, as
    # `notsofar diarize` does on a mono file (it used to raise as for seven channels)
    said: list[str] = []
    one = diarize(x[:1], sr, cfg, session_id="mc_two_speakers", notice=said.append)
    assert one == diarize(x[0], sr, cfg.diarize, session_id="mc_two_speakers")
    assert said == ["mono input; array=notsofar_mc needs several channels, using the "
                    "single-channel path"]  # fmt: skip
    # a NOTSOFAR mc_<device>/ folder of 7 channel files implies the geometry, as for transcribe
    device = tmp_path / "mc_plaza_0"
    device.mkdir()
    for c in range(7):
        sf.write(device / f"ch{c}.wav", x[c], sr)
    d = run_cli("diarize", str(device), "-o", str(tmp_path / "f"), "-q", "--set", "backend=fusion")
    assert d.returncode == 0, d.stderr
    folder = io.read(tmp_path / "f" / "mc_plaza_0.rttm")
    assert folder == turns.with_session_id("mc_plaza_0")
    # a mono file with a geometry: the single-channel path, saying so (as transcribe does)
    mono = run_cli("diarize", str(FIXTURES / "clean_speech.wav"), "-o", str(tmp_path / "m"),
                   "--set", "array=notsofar_mc")  # fmt: skip
    assert mono.returncode == 0, mono.stderr
    assert "mono input; array=notsofar_mc needs several channels" in " ".join(mono.stderr.split())


@pytest.mark.slow
def test_mono_input_takes_the_single_channel_path():
    from notsofar.enhance.pipeline import transcribe_multichannel
    from notsofar.pipeline import TranscribeConfig

    notes: list[str] = []
    result = transcribe_multichannel(
        FIXTURES / "clean_speech.wav",
        TranscribeConfig(array="notsofar_mc", device="cpu"),
        session_id="clean_speech",
        notice=notes.append,
    )
    assert notes == ["clean_speech: mono input; using the single-channel path"]
    assert "office" in words_of(" ".join(s.words for s in result.transcript))


def test_transcribe_api_on_one_channel_with_a_geometry_says_so():
    """``transcribe()`` on ``[1, T]`` or ``[T]`` samples with ``cfg.array``: the single-channel
    path with the notice `notsofar transcribe` prints for a mono file (it was silent)."""
    from notsofar.audio import read
    from notsofar.pipeline import TranscribeConfig, transcribe

    x, sr = read(FIXTURES / "clean_speech.wav", sample_rate=None)
    cfg = TranscribeConfig(array="notsofar_mc", device="cpu")
    for samples in (x[None, :], x):
        notes: list[str] = []
        out = transcribe(samples, sr, cfg, session_id="clean_speech", notice=notes.append)
        assert any("mono input; array=notsofar_mc" in n for n in notes), notes
        assert "office" in words_of(" ".join(s.words for s in out))


@pytest.mark.slow
def test_unknown_geometry_takes_the_single_channel_path():
    from notsofar.enhance.pipeline import transcribe_multichannel
    from notsofar.pipeline import TranscribeConfig

    notes: list[str] = []
    result = transcribe_multichannel(
        MC, TranscribeConfig(array="octagon", device="cpu"), notice=notes.append
    )
    assert len(notes) == 1 and "unknown array 'octagon'" in notes[0]
    assert "weekly" in words_of(" ".join(s.words for s in result.transcript))


def test_channel_folder_is_one_transcribe_session(tmp_path):
    """``notsofar transcribe mc_plaza_0/``: the ch0..ch6 files form one multi-channel session."""
    from notsofar.pipeline.batch import find_sessions

    x, sr = sf.read(MC, dtype="float32")
    folder = tmp_path / "mc_plaza_0"
    folder.mkdir()
    for c in range(x.shape[1]):
        sf.write(folder / f"ch{c}.wav", x[:, c], sr)
    (sessions,) = find_sessions([folder])
    assert sessions.name == "mc_plaza_0"
    assert [p.name for p in sessions.paths] == [f"ch{c}.wav" for c in range(7)]
    # a 7-channel NOTSOFAR device folder implies the device's geometry: the MC path by default
    assert sessions.array == "notsofar_mc"
    (folder / "ch6.wav").unlink()
    (five,) = find_sessions([folder])
    assert five.array is None  # not the NOTSOFAR device: geometry unknown, single-channel path


def test_notsofar_dataset_mc_sessions_take_the_mc_path_by_default(tmp_path):
    """``notsofar transcribe /data/notsofar/dev_set``: MC sessions use the MC path, SC the SC path."""
    from notsofar.pipeline.batch import find_sessions
    from tests.test_io import UTTS, make_notsofar_meeting

    make_notsofar_meeting(tmp_path / "dev_set" / "MTG", "MTG_30860", UTTS)
    by_id = {s.session_id: s for s in find_sessions([tmp_path / "dev_set"])}
    assert by_id["multichannel/MTG_30860_plaza_0"].array == "notsofar_mc"
    assert len(by_id["multichannel/MTG_30860_plaza_0"].paths) == 7
    assert by_id["singlechannel/MTG_30860_rockfall_1"].array is None


def test_separated_streams_decode_with_their_own_temperatures(monkeypatch):
    """``asr.separated_temperatures``: the speaker streams of the multi-channel path reach
    faster-whisper with it (default: each window decoded once), the single-channel setting
    otherwise (a spy wraps the real ``WhisperModel.transcribe``; real models, real fixture)."""
    import dataclasses

    from faster_whisper import WhisperModel

    from notsofar.enhance.pipeline import transcribe_multichannel
    from notsofar.pipeline import TranscribeConfig
    from notsofar.pipeline.models import ModelCache

    seen: list = []
    real = WhisperModel.transcribe

    def spy(self, audio, **kw):
        seen.append(kw["temperature"])
        return real(self, audio, **kw)

    monkeypatch.setattr(WhisperModel, "transcribe", spy)
    cfg = TranscribeConfig(array="notsofar_mc")
    models = ModelCache("cpu")
    result = transcribe_multichannel(MC, cfg, models, notice=lambda m: None)
    assert result.transcript.num_words > 5
    assert seen and all(t == [0.0] for t in seen), seen
    seen.clear()
    same = dataclasses.replace(cfg, asr=dataclasses.replace(cfg.asr, separated_temperatures=None))
    transcribe_multichannel(MC, same, models, notice=lambda m: None)
    assert seen and all(t == list(cfg.asr.temperatures) for t in seen), seen
