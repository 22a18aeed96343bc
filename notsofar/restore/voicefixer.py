"""VoiceFixer (Liu et al., 2022) as a restore backend: the published 44.1 kHz architecture.

Analysis: magnitude STFT (2048 / hop 441) -> 128-band HTK mel -> a BN-MLP + bidirectional-GRU mask
network ("denoiser") -> a ResUNet on [log mel, log masked mel] whose output is added to the
masked log mel. Synthesis: the TFGAN-style mel-to-waveform vocoder (cond-net, 4 transposed-conv
upsamplers 7x7x3x3 = hop 441, dilated residual stacks).

Module and parameter names follow the official code (``voicefixer/restorer/model.py``,
``model_kqq_bn.py``, ``modules.py``, ``vocoder/model/generator.py``, ``modules.py``) so the
official checkpoints load with ``load_state_dict(strict=True)``:

- ``vf.ckpt``: a flat state dict of the official ``VoiceFixer`` module; its ``generator.*``
  entries load strictly into :class:`Generator`. Other entries (the frozen STFT/mel buffers,
  which are recomputed here) are ignored.
- ``model.ckpt-1490000_trimed.pt``: ``{"generator": state_dict}`` of the vocoder, with
  old-style weight-norm keys (``weight_g``/``weight_v``), loaded strictly into :class:`Vocoder`.

Nothing is downloaded at run time: the files are read from ``voicefixer.checkpoint_dir``, or
else from the voicefixer package's cache (``~/.cache/voicefixer``), which
``notsofar models pull voicefixer`` fills (:mod:`notsofar.restore.pull`).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrizations, parametrize

from notsofar.errors import NotsofarError
from notsofar.restore.config import RestoreConfig, VoiceFixerConfig

SAMPLE_RATE = 44100
N_FFT = 2048
HOP = 441
N_MELS = 128

ANALYSIS_URL = "https://zenodo.org/record/5600188/files/vf.ckpt"
VOCODER_URL = "https://zenodo.org/record/5469951/files/model.ckpt-1490000_trimed.pt"


# =========================================================================== analysis module


def to_log(x: torch.Tensor) -> torch.Tensor:
    return torch.log10(torch.clip(x, min=1e-8))


def from_log(x: torch.Tensor) -> torch.Tensor:
    return 10 ** torch.clip(x, max=5)


class BN_GRU(nn.Module):  # noqa: N801 (official name, part of the checkpoint layout)
    """BatchNorm over the single channel, then a (bi)GRU over time: ``[B, 1, T, F]``."""

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        layer: int = 1,
        bidirectional: bool = False,
        batchnorm: bool = True,
    ) -> None:
        super().__init__()
        self.batchnorm = batchnorm
        if batchnorm:
            self.bn = nn.BatchNorm2d(1)
        self.gru = nn.GRU(
            input_size=input_dim,
            hidden_size=hidden_dim,
            num_layers=layer,
            bidirectional=bidirectional,
            batch_first=True,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.batchnorm:
            x = self.bn(x)
        out, _ = self.gru(x.squeeze(1))
        return out.unsqueeze(1)


class ConvBlockRes(nn.Module):
    def __init__(
        self, in_channels: int, out_channels: int, size: int = 3, momentum: float = 0.01
    ) -> None:
        super().__init__()
        pad = size // 2
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, (size, size), padding=(pad, pad), bias=False
        )
        self.bn1 = nn.BatchNorm2d(in_channels, momentum=momentum)
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, (size, size), padding=(pad, pad), bias=False
        )
        self.bn2 = nn.BatchNorm2d(out_channels, momentum=momentum)
        self.is_shortcut = in_channels != out_channels
        if self.is_shortcut:
            self.shortcut = nn.Conv2d(in_channels, out_channels, (1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.leaky_relu(self.bn1(x), negative_slope=0.01))
        h = self.conv2(F.leaky_relu(self.bn2(h), negative_slope=0.01))
        return (self.shortcut(x) if self.is_shortcut else x) + h


class EncoderBlockRes(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, momentum: float = 0.01) -> None:
        super().__init__()
        self.conv_block1 = ConvBlockRes(in_channels, out_channels, 3, momentum)
        self.conv_block2 = ConvBlockRes(out_channels, out_channels, 3, momentum)
        self.conv_block3 = ConvBlockRes(out_channels, out_channels, 3, momentum)
        self.conv_block4 = ConvBlockRes(out_channels, out_channels, 3, momentum)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.conv_block4(self.conv_block3(self.conv_block2(self.conv_block1(x))))
        return F.avg_pool2d(e, kernel_size=(2, 2)), e


class DecoderBlockRes(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, momentum: float = 0.01) -> None:
        super().__init__()
        self.conv1 = nn.ConvTranspose2d(
            in_channels, out_channels, (3, 3), stride=(2, 2), bias=False
        )
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv_block2 = ConvBlockRes(out_channels * 2, out_channels, 3, momentum)
        self.conv_block3 = ConvBlockRes(out_channels, out_channels, 3, momentum)
        self.conv_block4 = ConvBlockRes(out_channels, out_channels, 3, momentum)
        self.conv_block5 = ConvBlockRes(out_channels, out_channels, 3, momentum)

    def forward(self, x: torch.Tensor, concat: torch.Tensor) -> torch.Tensor:
        x = self.conv1(F.relu(self.bn1(x)))[:, :, :-1, :]  # prune the time axis
        x = torch.cat((x, concat), dim=1)
        return self.conv_block5(self.conv_block4(self.conv_block3(self.conv_block2(x))))


class UNetResComplex_100Mb(nn.Module):  # noqa: N801 (official name)
    """The ResUNet of VoiceFixer's analysis module (6 encoder / 6 decoder blocks)."""

    def __init__(self, channels: int, nsrc: int = 1) -> None:
        super().__init__()
        self.downsample_ratio = 2**6
        widths = [channels * nsrc, 32, 64, 128, 256, 384, 384]
        for i in range(6):
            setattr(self, f"encoder_block{i + 1}", EncoderBlockRes(widths[i], widths[i + 1]))
        self.conv_block7 = ConvBlockRes(384, 384, 3)
        dec = [(384, 384), (384, 384), (384, 256), (256, 128), (128, 64), (64, 32)]
        for i, (a, b) in enumerate(dec):
            setattr(self, f"decoder_block{i + 1}", DecoderBlockRes(a, b))
        self.after_conv_block1 = ConvBlockRes(32, 32, 3)
        self.after_conv2 = nn.Conv2d(32, 1, (1, 1))

    def forward(self, sp: torch.Tensor) -> dict[str, torch.Tensor]:
        origin_len = sp.shape[2]
        pad_len = int(math.ceil(origin_len / self.downsample_ratio)) * self.downsample_ratio
        x = F.pad(sp, pad=(0, 0, 0, pad_len - origin_len))
        x = x[..., : x.shape[-1] - 1]
        skips = []
        for i in range(6):
            x, e = getattr(self, f"encoder_block{i + 1}")(x)
            skips.append(e)
        x = self.conv_block7(x)
        for i in range(6):
            x = getattr(self, f"decoder_block{i + 1}")(x, skips[5 - i])
        x = self.after_conv2(self.after_conv_block1(x))
        x = F.pad(x, pad=(0, 1))[:, :, :origin_len, :]
        return {"mel": x}


class Generator(nn.Module):
    """VoiceFixer's analysis network: mel mask ("denoiser") + ResUNet restoration in log mel."""

    def __init__(self, n_mel: int = N_MELS, channels: int = 2) -> None:
        super().__init__()
        # index layout of nn.Sequential is part of the checkpoint keys: keep it
        self.denoiser = nn.Sequential(
            nn.BatchNorm2d(1),
            nn.Linear(n_mel, n_mel * 2),
            nn.ReLU(inplace=True),
            nn.BatchNorm2d(1),
            nn.Linear(n_mel * 2, n_mel * 4),
            nn.Dropout(0.5),
            nn.ReLU(inplace=True),
            BN_GRU(n_mel * 4, n_mel * 2, layer=2, bidirectional=True),
            BN_GRU(n_mel * 4, n_mel * 2, layer=2, bidirectional=True),
            nn.BatchNorm2d(1),
            nn.ReLU(inplace=True),
            nn.Linear(n_mel * 4, n_mel * 4),
            nn.Dropout(0.5),
            nn.BatchNorm2d(1),
            nn.ReLU(inplace=True),
            nn.Linear(n_mel * 4, n_mel),
            nn.Sigmoid(),
        )
        self.unet = UNetResComplex_100Mb(channels=channels)

    def forward(self, mel_orig: torch.Tensor) -> dict[str, torch.Tensor]:
        """``mel_orig``: linear-amplitude mel ``[B, 1, T, n_mel]`` -> restored log10 mel."""
        clean = self.denoiser(mel_orig) * mel_orig
        x = to_log(clean)
        unet_out = self.unet(torch.cat([to_log(mel_orig), x], dim=1))["mel"]
        return {"mel": unet_out + x, "clean": clean}


def melscale_fbanks(
    n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int
) -> torch.Tensor:
    """HTK triangular filterbank ``[n_freqs, n_mels]`` (norm None), as VoiceFixer's MelScale."""
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_min = 2595.0 * math.log10(1.0 + f_min / 700.0)
    m_max = 2595.0 * math.log10(1.0 + f_max / 700.0)
    f_pts = 700.0 * (10 ** (torch.linspace(m_min, m_max, n_mels + 2) / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.min(down, up), min=0.0)


# =========================================================================== vocoder


def _wn(module: nn.Module) -> nn.Module:
    # parametrized weight norm loads the official old-style weight_g/weight_v keys too
    return parametrizations.weight_norm(module)


class UpsampleNet(nn.Module):
    def __init__(self, input_size: int, output_size: int, upsample_factor: int) -> None:
        super().__init__()
        self.upsample_factor = upsample_factor
        # unused at inference (the official config has no skip), but part of the checkpoint
        self.skip_conv = nn.Conv1d(input_size, output_size, kernel_size=1)
        self.layer = _wn(
            nn.ConvTranspose1d(
                input_size,
                output_size,
                upsample_factor * 2,
                upsample_factor,
                padding=upsample_factor // 2 + upsample_factor % 2,
                output_padding=upsample_factor % 2,
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x + torch.sin(x))


class ResStack(nn.Module):
    def __init__(self, channel: int, kernel_size: int = 3, depth: int = 8) -> None:
        super().__init__()

        def pad(k: int, d: int) -> int:
            return int((k * d - d) / 2)

        self.layers = nn.ModuleList(
            [
                nn.Sequential(
                    nn.LeakyReLU(),
                    _wn(
                        nn.Conv1d(
                            channel,
                            channel,
                            kernel_size,
                            dilation=3 ** (i % 10),
                            padding=pad(kernel_size, 3 ** (i % 10)),
                        )
                    ),
                    nn.LeakyReLU(),
                    _wn(
                        nn.Conv1d(
                            channel, channel, kernel_size, dilation=1, padding=pad(kernel_size, 1)
                        )
                    ),
                )
                for i in range(depth)
            ]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = x + layer(x)
        return x


class VocoderGenerator(nn.Module):
    """The 44.1 kHz VoiceFixer vocoder generator (official ``vocoder/model/generator.py``)."""

    def __init__(
        self,
        in_channels: int = N_MELS,
        cond_channels: int = 512,
        channels: int = 1024,
        upsample_scales: tuple[int, ...] = (7, 7, 3, 3),
        resstack_depth: int = 8,
    ) -> None:
        super().__init__()
        cond: list[nn.Module] = []
        for i in range(5):
            cond += [
                _wn(
                    nn.Conv1d(
                        in_channels if i == 0 else cond_channels,
                        cond_channels,
                        kernel_size=3,
                        padding=1,
                    )
                ),
                nn.ELU(),
            ]
        self.condnet = nn.Sequential(*cond)
        act = nn.LeakyReLU(0.2, True)
        layers: list[nn.Module] = [
            nn.ReflectionPad1d(3),
            _wn(nn.Conv1d(cond_channels, channels, kernel_size=7)),
            act,
        ]
        c = channels
        for s in upsample_scales:
            layers += [UpsampleNet(c, c // 2, s), ResStack(c // 2, 3, resstack_depth), act]
            c //= 2
        layers += [nn.ReflectionPad1d(3), _wn(nn.Conv1d(c, 1, kernel_size=7)), nn.Tanh()]
        self.generator = nn.Sequential(*layers)

    def forward(self, conditions: torch.Tensor) -> torch.Tensor:
        return self.generator(self.condnet(conditions))

    def remove_weight_norm(self) -> None:
        """Fold the weight norm into plain weights (faster inference)."""
        for m in self.modules():
            if parametrize.is_parametrized(m, "weight"):
                parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)


# mel weighting and normalization of the official vocoder (vocoder/config.py, model/util.py)
_MIN_DB, _MAX_ABS, _MIN_LEVEL_DB = -115.0, 4.0, -100.0


def _mel_weight() -> torch.Tensor:
    x = torch.linspace(1, N_MELS, steps=N_MELS)
    return 18.8927416350036 * torch.exp(0.0269863588184314 * x)


def vocoder_input(mel: torch.Tensor) -> torch.Tensor:
    """Linear mel ``[B, 1, T, 128]`` -> normalized dB conditions ``[B, 128, T + pad]``."""
    mel = mel / _mel_weight()[None, None, None, :].to(mel)
    min_level = 10 ** (_MIN_LEVEL_DB / 20)
    db = 20 * torch.log10(torch.clamp(mel.abs(), min=min_level)) - 20.0
    norm = torch.clip(2 * _MAX_ABS * ((db - _MIN_DB) / -_MIN_DB) - _MAX_ABS, -_MAX_ABS, _MAX_ABS)
    cond = norm[:, 0].transpose(1, 2)
    pad_tail = cond.size(-1) % 2 + 4
    return torch.cat([cond, torch.full((cond.size(0), N_MELS, pad_tail), -4.0).to(cond)], -1)


# =========================================================================== the pipeline


class VoiceFixerModel(nn.Module):
    """Analysis generator + vocoder with VoiceFixer's 44.1 kHz front end."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = Generator(N_MELS, channels=2)
        self.vocoder = VocoderGenerator()
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        self.register_buffer(
            "fb",
            melscale_fbanks(N_FFT // 2 + 1, 0.0, SAMPLE_RATE / 2, N_MELS, SAMPLE_RATE),
            persistent=False,
        )

    def mel(self, wav: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` -> linear mel ``[B, 1, frames, 128]`` (reflect-padded centred STFT)."""
        spec = torch.stft(
            wav,
            N_FFT,
            HOP,
            N_FFT,
            self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        ).abs()  # [B, F, frames]
        return torch.matmul(spec.transpose(1, 2), self.fb)[:, None]

    @torch.no_grad()
    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """Restore ``[B, T]`` 44.1 kHz audio; returns ``[B, T]``."""
        n = wav.shape[-1]
        mel = self.mel(wav)
        restored = from_log(self.generator(mel)["mel"])
        out = self.vocoder(vocoder_input(restored))[:, 0]
        # centre-trim to the input length, as the official _trim_center does
        diff = out.shape[-1] - n
        if diff > 0:
            out = out[:, diff // 2 : diff // 2 + n]
        elif diff < 0:
            out = F.pad(out, (0, -diff))
        return out


def checkpoint_paths(cfg: VoiceFixerConfig) -> tuple[Path, Path]:
    """The two checkpoint files; a one-line error says which are missing and how to get them.

    With ``checkpoint_dir`` unset, the voicefixer package's own cache is used
    (``~/.cache/voicefixer/analysis_module/checkpoints/vf.ckpt`` and
    ``~/.cache/voicefixer/synthesis_module/44100/model.ckpt-1490000_trimed.pt``), which is where
    ``notsofar models pull voicefixer`` puts them.
    """
    from notsofar.restore.weights import cached_paths

    if cfg.checkpoint_dir:
        d = Path(cfg.checkpoint_dir).expanduser()
        paths = (d / cfg.analysis_checkpoint, d / cfg.vocoder_checkpoint)
        where: Path = d
    else:
        cached = cached_paths()
        paths = (cached["analysis"], cached["vocoder"])
        where = paths[0].parents[2]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise NotsofarError(
            f"missing {', '.join(missing)}: the voicefixer backend needs {paths[0].name} "
            f"(analysis module, {ANALYSIS_URL}) and {paths[1].name} (vocoder, {VOCODER_URL}); "
            "run `notsofar models pull voicefixer` or set voicefixer.checkpoint_dir to a "
            "folder holding both",
            path=where,
        )
    return paths


def check(cfg: RestoreConfig) -> None:
    """Raise the one-line missing-checkpoint error before any file is processed."""
    checkpoint_paths(cfg.voicefixer)


def _torch_load(path: Path) -> Any:
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 (older checkpoints pickle more than tensors)
        pass
    try:
        # the user named this local file explicitly (as the official loader does, untrusted
        # pickles are the user's call); only reached when the tensor-only load refused it
        return torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001
        raise NotsofarError(f"cannot load checkpoint: {type(e).__name__}: {e}", path=path) from None


def load_analysis_state(model: VoiceFixerModel, path: Path) -> None:
    """Load ``vf.ckpt`` (flat official state dict, or a Lightning ``{"state_dict": ...}``)."""
    obj = _torch_load(path)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise NotsofarError("not a VoiceFixer analysis checkpoint (no state dict)", path=path)
    sub = {k[len("generator.") :]: v for k, v in obj.items() if k.startswith("generator.")}
    if not sub:
        raise NotsofarError("not a VoiceFixer analysis checkpoint (no generator.* keys)", path=path)
    _load_strict(model.generator, sub, path)


def load_vocoder_state(model: VoiceFixerModel, path: Path) -> None:
    """Load ``model.ckpt-1490000_trimed.pt`` (``{"generator": state_dict}``)."""
    obj = _torch_load(path)
    if isinstance(obj, dict) and "generator" in obj and isinstance(obj["generator"], dict):
        obj = obj["generator"]
    if not isinstance(obj, dict):
        raise NotsofarError("not a VoiceFixer vocoder checkpoint (no state dict)", path=path)
    _load_strict(model.vocoder, obj, path)


def _load_strict(module: nn.Module, state: dict[str, Any], path: Path) -> None:
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:3])[:300]
        raise NotsofarError(
            f"checkpoint does not match the VoiceFixer layout: {detail}", path=path
        ) from None


@lru_cache(maxsize=2)
def load_model(analysis: str, vocoder: str, device: str = "cpu") -> VoiceFixerModel:
    """Build the model and load both official checkpoints (cached per process)."""
    model = VoiceFixerModel()
    load_analysis_state(model, Path(analysis))
    load_vocoder_state(model, Path(vocoder))
    model.vocoder.remove_weight_norm()
    model.eval()
    try:
        return model.to(device)
    except (RuntimeError, AssertionError) as e:
        raise NotsofarError(f"voicefixer.device {device!r} is not usable: {e}") from None


def restore_mono(x: np.ndarray, sample_rate: int, cfg: RestoreConfig) -> np.ndarray:
    """Restore one channel with VoiceFixer (44.1 kHz inside; back to ``sample_rate``)."""
    from notsofar.audio import resample

    vf = cfg.voicefixer
    analysis, vocoder = checkpoint_paths(vf)
    torch.set_num_threads(max(1, vf.torch_threads))
    model = load_model(str(analysis), str(vocoder), vf.device)
    wav = resample(np.asarray(x, np.float32), sample_rate, SAMPLE_RATE)
    seg = max(HOP * 8, int(vf.chunk_s * SAMPLE_RATE))
    out = []
    for start in range(0, len(wav), seg):
        chunk = torch.from_numpy(np.ascontiguousarray(wav[start : start + seg]))[None]
        y = model(chunk.to(vf.device))[0].cpu().numpy()
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        out.append(y / peak if peak > 1.0 else y)
    y = np.concatenate(out) if out else wav
    return resample(y.astype(np.float32), SAMPLE_RATE, sample_rate)


def official_state_dicts(model: VoiceFixerModel) -> tuple[dict[str, Any], dict[str, Any]]:
    """``model``'s weights in the official containers: ``(vf.ckpt dict, vocoder ckpt dict)``.

    The analysis dict is flat with ``generator.*`` keys; the vocoder dict is
    ``{"generator": ...}`` with old-style ``weight_g``/``weight_v`` weight-norm keys (the layout
    of ``model.ckpt-1490000_trimed.pt``). Used to test the loading path without the real files.
    """
    analysis = {f"generator.{k}": v for k, v in model.generator.state_dict().items()}
    voc = {}
    for k, v in model.vocoder.state_dict().items():
        k = k.replace("parametrizations.weight.original0", "weight_g")
        k = k.replace("parametrizations.weight.original1", "weight_v")
        voc[k] = v
    return analysis, {"generator": voc}
