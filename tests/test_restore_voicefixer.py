"""VoiceFixer backend: official module tree, official checkpoint layout, no downloads.

The official weights are not redistributable here and may not be downloaded, so the loading path
is tested with checkpoints written in the official containers (flat ``generator.*`` state dict
for vf.ckpt; ``{"generator": ...}`` with weight_g/weight_v keys for the vocoder) from a seeded
random model: the same files a user would drop in, with other numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from notsofar.config import load_config
from notsofar.errors import NotsofarError
from notsofar.restore import check_backend, restore_array
from notsofar.restore.config import RestoreConfig

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ckpt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from notsofar.restore.voicefixer import VoiceFixerModel, official_state_dicts

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("vf")
    analysis, vocoder = official_state_dicts(VoiceFixerModel())
    # the official vf.ckpt also holds the frozen STFT/mel buffers; they are recomputed
    analysis["f_helper.stft.conv_real.weight"] = torch.zeros(1025, 1, 2048)
    analysis["mel.fb"] = torch.zeros(1025, 128)
    torch.save(analysis, d / "vf.ckpt")
    torch.save(vocoder, d / "model.ckpt-1490000_trimed.pt")
    return d


def _cfg(d: Path | None) -> RestoreConfig:
    sets = ["backend=voicefixer"] + ([f"voicefixer.checkpoint_dir={d}"] if d else [])
    return load_config(RestoreConfig, ROOT / "configs" / "restore" / "voicefixer.yaml", sets)


def test_official_key_names() -> None:
    from notsofar.restore.voicefixer import VoiceFixerModel, official_state_dicts

    analysis, vocoder = official_state_dicts(VoiceFixerModel())
    # names from the official restorer/model.py and vocoder/model/generator.py
    for key in (
        "generator.denoiser.1.weight",
        "generator.denoiser.7.gru.weight_ih_l0_reverse",
        "generator.unet.encoder_block1.conv_block1.bn1.running_mean",
        "generator.unet.decoder_block6.conv_block2.shortcut.weight",
        "generator.unet.after_conv2.bias",
    ):
        assert key in analysis, key
    for key in (
        "condnet.8.weight_g",
        "generator.1.weight_v",
        "generator.3.layer.weight_g",
        "generator.4.layers.7.1.weight_v",
        "generator.16.bias",
    ):
        assert key in vocoder["generator"], key
    assert analysis["generator.unet.encoder_block1.conv_block1.conv1.weight"].shape[1] == 2


def test_missing_checkpoints_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no checkpoint_dir: the voicefixer package's cache is searched (empty here)
    monkeypatch.setenv("NOTSOFAR_VOICEFIXER_CACHE", str(tmp_path / "cache"))
    with pytest.raises(NotsofarError, match=r"vf\.ckpt.*model\.ckpt-1490000_trimed\.pt") as e:
        check_backend(_cfg(None))
    assert "\n" not in str(e.value) and "checkpoint_dir" in str(e.value)
    assert "notsofar models pull voicefixer" in str(e.value)
    (tmp_path / "vf.ckpt").write_bytes(b"")
    with pytest.raises(NotsofarError, match="missing model.ckpt-1490000_trimed.pt"):
        check_backend(_cfg(tmp_path))


def test_loads_official_layout_and_restores(ckpt_dir: Path) -> None:
    cfg = _cfg(ckpt_dir)
    check_backend(cfg)
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(8000)).astype(np.float32)  # 0.5 s at 16 kHz
    y = restore_array(x, 16000, cfg)
    assert y.shape == x.shape and np.all(np.isfinite(y)) and np.abs(y).max() < 1.0


def test_layout_mismatch_is_a_clear_error(ckpt_dir: Path, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from notsofar.restore.voicefixer import VocoderGenerator, load_vocoder_state

    model = SimpleNamespace(vocoder=VocoderGenerator())  # only the vocoder is loaded here

    state = torch.load(ckpt_dir / "model.ckpt-1490000_trimed.pt", weights_only=True)
    del state["generator"]["condnet.0.bias"]
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(NotsofarError, match=r"does not match.*condnet\.0\.bias"):
        load_vocoder_state(model, tmp_path / "bad.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(NotsofarError, match="cannot load checkpoint"):
        load_vocoder_state(model, tmp_path / "junk.pt")
