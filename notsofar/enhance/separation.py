"""Guided source separation (GSS): cACGMM with diarization priors, then MVDR per speaker.

As in CHiME-6/7/8 GSS (Boeddeker et al. 2018; pb_bss): the normalised multi-channel STFT vector
``z = y / |y|`` of every time-frequency bin is modelled by a complex angular central Gaussian
mixture, one class per speaker plus one noise class. The diarization gives each class a
time-varying activity that gates its prior, so EM only explains a frame by the speakers that
talk in it. The resulting masks give speech and interference spatial covariance matrices, from
which a Souden MVDR beamformer (Souden et al. 2010) extracts each speaker, followed by a
mask postfilter with a floor.

Speech is processed in blocks of at most ``max_block_s`` with ``context_s`` on both sides for
the statistics, so memory is bounded by one block, whatever the meeting length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from notsofar.data import Transcript
from notsofar.enhance.config import SeparationConfig
from notsofar.features import FeatureConfig, istft, stft


@dataclass(frozen=True)
class SpeakerPieces:
    """Enhanced audio of one speaker: ``(start_sample, samples)`` pieces, zero elsewhere."""

    speaker: str
    pieces: tuple[tuple[int, np.ndarray], ...]

    def render(self, num_samples: int) -> np.ndarray:
        """The speaker's full-length stream (silence outside its pieces)."""
        out = np.zeros(num_samples, dtype=np.float32)
        for start, x in self.pieces:
            n = min(len(x), num_samples - start)
            out[start : start + n] = x[:n]
        return out


# --------------------------------------------------------------------------------------------
# cACGMM


def cacgmm_masks(
    Y: np.ndarray,
    activity: np.ndarray,
    iterations: int = 10,
    eps: float = 1e-10,
    fit_stride: int = 1,
) -> np.ndarray:
    """Class posteriors ``[K, F, N]`` of a cACGMM fitted to STFT ``Y [C, F, N]``.

    ``activity [K, N]`` (0/1 or soft) gates the time-varying prior of each class (the last class
    is usually noise, active everywhere); the per-frequency mixture weights are re-estimated
    (pb_bss ``CACGMMTrainer`` with ``source_activity_mask``, ``weight_constant_axis=-1``).
    With ``fit_stride`` > 1 EM runs on every ``fit_stride``-th frame (neighbouring 8 ms frames
    are nearly redundant) and one final E step gives the posteriors of all frames.
    Batched over frequencies in torch (complex batched matmul is much faster there than numpy).
    """
    import torch

    C, F, N = Y.shape
    K = activity.shape[0]
    Yt = torch.from_numpy(np.ascontiguousarray(Y.transpose(1, 0, 2))).to(torch.complex64)
    Z_all = Yt / Yt.abs().pow(2).sum(dim=1, keepdim=True).sqrt().clamp_min(eps)  # [F, C, N]
    act_all = torch.from_numpy(activity.astype(np.float32))[:, None, :]  # [K, 1, N]
    Z = Z_all[:, :, ::fit_stride].contiguous()
    act = act_all[:, :, ::fit_stride]
    n = Z.shape[-1]
    Z_h = Z.conj().transpose(-1, -2).contiguous()  # [F, n, C]
    gamma = act.expand(K, F, n).clone()
    gamma /= gamma.sum(dim=0, keepdim=True).clamp_min(eps)
    quad = torch.ones(K, F, n)
    eye = torch.eye(C, dtype=torch.complex64)
    logdet = torch.empty(K, F)
    whiten = torch.empty(K, F, C, C, dtype=torch.complex64)  # L^-1 with B = L L^H

    def e_step(Zx: torch.Tensor, act_x: torch.Tensor, log_pi: torch.Tensor) -> torch.Tensor:
        # z^H B^-1 z = |L^-1 z|^2 (a batched matmul, then a real square-sum)
        q = torch.stack(
            [torch.view_as_real(torch.bmm(whiten[k], Zx)).square().sum((-1, 1)) for k in range(K)]
        ).clamp_min(eps)  # [K, F, n]
        log_p = log_pi + act_x.clamp_min(eps).log() - logdet[..., None] - C * q.log()
        log_p = log_p - log_p.max(dim=0, keepdim=True).values
        g = log_p.exp() * (act_x > 0).float()
        return g / g.sum(dim=0, keepdim=True).clamp_min(eps), q

    log_pi = torch.zeros(K, F, 1)
    for _ in range(iterations):
        # M step, one class at a time: [F, C, n]-sized temporaries whatever the speaker count
        log_pi = gamma.mean(dim=-1, keepdim=True).clamp_min(eps).log()  # [K, F, 1]
        for k in range(K):
            w = (gamma[k] / quad[k]).to(torch.complex64)  # [F, n]
            B = torch.bmm(Z * w[:, None, :], Z_h)  # [F, C, C]
            B = B * (C / gamma[k].sum(dim=-1).clamp_min(eps))[:, None, None]
            B = 0.5 * (B + B.conj().transpose(-1, -2))
            tr = torch.diagonal(B, dim1=-2, dim2=-1).real.sum(-1)[:, None, None]
            B = B / tr.clamp_min(eps) * C + 1e-4 * eye  # scale-free: fix trace, floor eigvals
            L = torch.linalg.cholesky(B)
            logdet[k] = 2 * torch.diagonal(L, dim1=-2, dim2=-1).real.log().sum(-1)
            whiten[k] = torch.linalg.inv(L)
        gamma, quad = e_step(Z, act, log_pi)
    if fit_stride > 1:
        gamma, _ = e_step(Z_all, act_all, log_pi)
    return gamma.numpy().astype(np.float32)


# --------------------------------------------------------------------------------------------
# MVDR


def spatial_covariance(Y: np.ndarray, mask: np.ndarray, eps: float = 1e-10) -> np.ndarray:
    """Mask-weighted spatial covariance ``[F, C, C]`` of ``Y [C, F, N]`` with ``mask [F, N]``."""
    Yf = Y.transpose(1, 0, 2)  # [F, C, N]
    phi = (Yf * mask[:, None, :]) @ np.conj(Yf).swapaxes(-1, -2)
    return phi / np.maximum(mask.sum(axis=-1), eps)[:, None, None]


def souden_mvdr(
    phi_s: np.ndarray, phi_n: np.ndarray, reference: int | None = None, load: float = 1e-6
) -> tuple[np.ndarray, int]:
    """Souden MVDR weights ``[F, C]``: ``W = (Phi_n^-1 Phi_s) / tr(Phi_n^-1 Phi_s) u_ref``.

    With ``reference=None`` the reference microphone maximising the output SNR is chosen.
    """
    F, C, _ = phi_n.shape
    tr = np.real(np.trace(phi_n, axis1=-2, axis2=-1))[:, None, None]
    phi_n = phi_n + load * np.maximum(tr, 1e-10) / C * np.eye(C)
    num = np.linalg.solve(phi_n, phi_s)  # [F, C, C]
    W_all = num / np.maximum(np.real(np.trace(num, axis1=-2, axis2=-1)), 1e-10)[:, None, None]
    if reference is None:
        # output SNR per candidate reference column (Erdogan et al. 2016)
        s = np.real(np.einsum("fcr,fcd,fdr->r", np.conj(W_all), phi_s, W_all))
        n = np.real(np.einsum("fcr,fcd,fdr->r", np.conj(W_all), phi_n, W_all))
        reference = int(np.argmax(s / np.maximum(n, 1e-20)))
    return W_all[:, :, reference], reference


# --------------------------------------------------------------------------------------------
# block planning and the two backends


def _speech_blocks(
    diarization: Transcript, num_samples: int, sr: int, max_block_s: float
) -> list[tuple[int, int]]:
    """Cover all speech with blocks of at most ``max_block_s``, packing nearby turns together.

    Consecutive turns share a block while it stays within ``max_block_s`` (short silences
    inside a block cost less than the context every extra block carries); a single longer
    stretch of speech is cut into equal parts.
    """
    spans = sorted((s.start_time, s.end_time) for s in diarization)
    regions: list[list[float]] = []
    for a, b in spans:  # overlapping/adjacent turns first become one region
        if regions and a <= regions[-1][1] + 0.1:
            regions[-1][1] = max(regions[-1][1], b)
        else:
            regions.append([a, b])
    pieces: list[tuple[float, float]] = []
    for a, b in regions:
        n = max(1, int(np.ceil((b - a) / max_block_s)))
        edges = np.linspace(a, b, n + 1)
        pieces.extend((float(edges[k]), float(edges[k + 1])) for k in range(n))
    packed: list[list[float]] = []
    for a, b in pieces:
        if packed and b - packed[-1][0] <= max_block_s:
            packed[-1][1] = b
        else:
            packed.append([a, b])
    blocks = []
    for a, b in packed:
        s0, s1 = max(0, int(a * sr)), min(num_samples, int(np.ceil(b * sr)))
        if s1 > s0:
            blocks.append((s0, s1))
    return blocks


def _activity(
    diarization: Transcript,
    speakers: list[str],
    t0: float,
    n_frames: int,
    hop_s: float,
    margin_s: float,
) -> np.ndarray:
    times = t0 + np.arange(n_frames) * hop_s
    act = np.zeros((len(speakers), n_frames), dtype=np.float32)
    index = {s: k for k, s in enumerate(speakers)}
    for seg in diarization:
        if seg.speaker in index:
            on = (times >= seg.start_time - margin_s) & (times <= seg.end_time + margin_s)
            act[index[seg.speaker], on] = 1.0
    return act


SeparateFn = Callable[..., dict[str, SpeakerPieces]]


def separate_gss(
    audio: np.ndarray,
    sample_rate: int,
    diarization: Transcript,
    cfg: SeparationConfig,
    stft_cfg: FeatureConfig,
    reference_channel: int = 0,
    progress: Callable[[float], None] | None = None,
) -> dict[str, SpeakerPieces]:
    """Per-speaker enhanced audio by blockwise GSS (cACGMM) + Souden MVDR + mask postfilter."""
    num = audio.shape[-1]
    hop_s = stft_cfg.hop_length / sample_rate
    speakers = diarization.speakers
    pieces: dict[str, list[tuple[int, np.ndarray]]] = {s: [] for s in speakers}
    blocks = _speech_blocks(diarization, num, sample_rate, cfg.max_block_s)
    ctx = int(cfg.context_s * sample_rate)
    margin = int(cfg.output_margin_s * sample_rate)
    for bi, (b0, b1) in enumerate(blocks):
        c0, c1 = max(0, b0 - ctx), min(num, b1 + ctx)
        t0, t1 = c0 / sample_rate, c1 / sample_rate
        here = [
            s
            for s in speakers
            if any(x.end_time > t0 and x.start_time < t1 for x in diarization if x.speaker == s)
        ]
        core = [
            s
            for s in here
            if any(
                x.end_time > b0 / sample_rate and x.start_time < b1 / sample_rate
                for x in diarization
                if x.speaker == s
            )
        ]
        Y = stft(audio[:, c0:c1], stft_cfg)  # [C, F, N]
        n_frames = Y.shape[-1]
        act = _activity(diarization, here, t0, n_frames, hop_s, cfg.activity_margin_s)
        act = np.concatenate([act, np.ones((1, n_frames), np.float32)])  # noise class
        masks = cacgmm_masks(Y, act, cfg.iterations, fit_stride=cfg.fit_stride)
        ref = None if cfg.select_reference else reference_channel
        for s in core:
            k = here.index(s)
            target = masks[k]
            phi_s = spatial_covariance(Y, target)
            phi_n = spatial_covariance(Y, 1.0 - target)
            w, _ = souden_mvdr(phi_s, phi_n, ref)
            S = np.einsum("fc,cfn->fn", np.conj(w), Y)
            if cfg.mask_floor < 1.0:
                S = S * np.maximum(target, cfg.mask_floor)
            x = istft(S, stft_cfg, length=c1 - c0)
            for seg in diarization:
                if seg.speaker != s:
                    continue
                a = max(b0, int(seg.start_time * sample_rate) - margin)
                b = min(b1, int(seg.end_time * sample_rate) + margin)
                if b > a:
                    pieces[s].append((a, x[a - c0 : b - c0].copy()))
        if progress is not None:
            progress((bi + 1) / len(blocks))
    return {s: SpeakerPieces(s, tuple(p)) for s, p in pieces.items()}


def separate_reference(
    audio: np.ndarray,
    sample_rate: int,
    diarization: Transcript,
    cfg: SeparationConfig,
    stft_cfg: FeatureConfig,
    reference_channel: int = 0,
    progress: Callable[[float], None] | None = None,
) -> dict[str, SpeakerPieces]:
    """No separation: each speaker's segments cut from the reference channel (an ablation)."""
    margin = int(cfg.output_margin_s * sample_rate)
    num = audio.shape[-1]
    out = {}
    for s, group in diarization.groupby("speaker").items():
        ps = []
        for seg in group:
            a = max(0, int(seg.start_time * sample_rate) - margin)
            b = min(num, int(seg.end_time * sample_rate) + margin)
            if b > a:
                ps.append((a, audio[reference_channel, a:b].copy()))
        out[s] = SpeakerPieces(s, tuple(ps))
    if progress is not None:
        progress(1.0)
    return out


#: separation backends by name (``separation.backend``)
BACKENDS: dict[str, SeparateFn] = {"gss": separate_gss, "reference": separate_reference}
