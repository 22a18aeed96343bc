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

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from notsofar.data import Segment, Transcript
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


def _outer_features(Z: Any) -> Any:
    """Real features ``[F, C*C, n]`` of the outer products ``z z^H`` of ``Z [F, C, n]``.

    A Hermitian ``C x C`` matrix has ``C*C`` real degrees of freedom: the diagonal, and the real
    and imaginary parts of the upper triangle. With ``P = z z^H`` in this form, both EM sums of the
    cACGMM are real matrix products over it: ``sum_n w_n P_n`` (M step) and
    ``z^H A z = <coef(A), P>`` (E step, see :func:`_quadratic_coefficients`), for all classes at
    once, instead of a complex ``C x C`` product per class and frame.
    """
    import torch

    F, C, n = Z.shape
    iu = torch.triu_indices(C, C, 1)
    m = iu.shape[1]
    out = torch.empty(F, C * C, n)  # filled in place: no concatenated copy
    torch.add(Z.real.square(), Z.imag.square(), out=out[:, :C])
    off = Z[:, iu[0]] * Z[:, iu[1]].conj()  # [F, C(C-1)/2, n]
    out[:, C : C + m] = off.real
    out[:, C + m :] = off.imag
    return out


def _from_features(feat: Any, C: int) -> Any:
    """Hermitian matrices ``[..., C, C]`` from their :func:`_outer_features` form ``[..., C*C]``."""
    import torch

    re_idx, im_idx, sign = _hermitian_index(C)
    padded = torch.cat([feat, feat.new_zeros(*feat.shape[:-1], 1)], dim=-1)
    out = torch.complex(padded[..., re_idx], padded[..., im_idx] * sign)
    return out.reshape(*feat.shape[:-1], C, C)


@functools.cache
def _hermitian_index(C: int) -> tuple[Any, Any, Any]:
    import torch

    iu = torch.triu_indices(C, C, 1)
    m = iu.shape[1]
    # where each entry's real / imaginary part sits in the features (index C*C: a zero)
    re_idx = torch.empty(C, C, dtype=torch.long)
    im_idx = torch.full((C, C), C * C, dtype=torch.long)
    sign = torch.ones(C, C)
    re_idx[torch.arange(C), torch.arange(C)] = torch.arange(C)
    re_idx[iu[0], iu[1]] = re_idx[iu[1], iu[0]] = C + torch.arange(m)
    im_idx[iu[0], iu[1]] = im_idx[iu[1], iu[0]] = C + m + torch.arange(m)
    sign[iu[1], iu[0]] = -1.0
    return re_idx.flatten(), im_idx.flatten(), sign.flatten()


def _quadratic_coefficients(A: Any) -> Any:
    """``coef [..., C*C]`` with ``z^H A z = <coef, features(z z^H)>`` for Hermitian ``A``.

    ``z^H A z = sum_cd A_cd conj(P_cd)``; a pair ``c < d`` contributes
    ``2 (Re A_cd Re P_cd + Im A_cd Im P_cd)``.
    """
    import torch

    C = A.shape[-1]
    iu = torch.triu_indices(C, C, 1)
    upper = A[..., iu[0], iu[1]]
    diag = torch.diagonal(A, dim1=-2, dim2=-1).real
    return torch.cat([diag, 2 * upper.real, 2 * upper.imag], dim=-1)


@dataclass(frozen=True)
class CACGMMFit:
    """A cACGMM fitted by :func:`cacgmm_fit` (torch tensors; frequency-major layouts).

    Holds what both uses of the fit need: the posteriors of the frames EM ran on with their
    outer-product features (MVDR statistics, :meth:`covariances`), and the parameters for the
    posteriors of every frame (:meth:`masks`).
    """

    Z: Any  #: normalised observations of all frames ``[F, C, N]``
    activity: Any  #: ``[K, N]``
    fit_stride: int
    P: Any  #: :func:`_outer_features` of the EM frames ``[F, C*C, n]``
    power: Any  #: ``|y|^2`` of the EM frames ``[F, 1, n]``
    gamma: Any  #: posteriors of the EM frames ``[F, K, n]``
    log_pi: Any  #: ``[F, K, 1]``
    coef: Any  #: :func:`_quadratic_coefficients` of ``B^-1`` ``[F, K, C*C]``
    logdet: Any  #: ``log det B`` ``[F, K]``
    eps: float = 1e-10

    def masks(self, chunk_frames: int = 1024) -> np.ndarray:
        """Posteriors ``[K, F, N]`` of every frame (one E step, ``chunk_frames`` at a time)."""
        import torch

        if self.fit_stride == 1:
            gamma = self.gamma
        else:
            N = self.Z.shape[-1]
            gamma = torch.cat(
                [
                    _e_step(
                        _outer_features(self.Z[:, :, a : a + chunk_frames]),
                        self.activity[:, a : a + chunk_frames],
                        self.log_pi,
                        self.coef,
                        self.logdet,
                        self.eps,
                    )[0]
                    for a in range(0, N, chunk_frames)
                ],
                dim=-1,
            )
        return gamma.permute(1, 0, 2).numpy().astype(np.float32)

    def covariances(self, classes: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Spatial covariances ``(phi_s, phi_n)``, each ``[len(classes), F, C, C]``.

        ``phi_s`` of class ``k`` weights ``y y^H`` by its posterior, ``phi_n`` by one minus it.
        Both come from the EM frames, whose outer products are at hand (``y y^H = |y|^2 z z^H``),
        as one real matmul for all classes; neighbouring 8 ms frames add little to a covariance.
        """
        import torch

        C = self.Z.shape[1]
        g = self.gamma[:, classes]  # [F, K', n]
        W = torch.cat([g, 1.0 - g], dim=1) * self.power  # [F, 2K', n]
        acc = torch.bmm(W, self.P.transpose(1, 2))
        norm = torch.cat([g, 1.0 - g], dim=1).sum(dim=-1).clamp_min(self.eps)[..., None]
        phi = _from_features(acc / norm, C).permute(1, 0, 2, 3).numpy()
        return phi[: len(classes)], phi[len(classes) :]


def _e_step(P: Any, act: Any, log_pi: Any, coef: Any, logdet: Any, eps: float) -> Any:
    """Posteriors ``[F, K, n]`` and quadratic forms ``z^H B^-1 z`` of frames with features ``P``.

    In place on the ``[F, K, n]`` temporaries (the per-iteration cost that grows with frames).
    """
    import torch

    C = P.shape[1] ** 0.5  # P holds C*C features per frame
    q = torch.bmm(coef, P).clamp_min_(eps)  # [F, K, n]
    log_p = q.log().mul_(-C).add_(act.clamp_min(eps).log()).add_(log_pi - logdet[..., None])
    log_p -= log_p.max(dim=1, keepdim=True).values
    g = log_p.exp_().mul_((act > 0).float())
    return g.div_(g.sum(dim=1, keepdim=True).clamp_min_(eps)), q


def cacgmm_fit(
    Y: np.ndarray,
    activity: np.ndarray,
    iterations: int = 10,
    eps: float = 1e-10,
    fit_stride: int = 1,
) -> CACGMMFit:
    """Fit a cACGMM with time-varying, activity-gated priors to STFT ``Y [C, F, N]``.

    ``activity [K, N]`` (0/1 or soft) gates the time-varying prior of each class (the last class
    is usually noise, active everywhere); the per-frequency mixture weights are re-estimated
    (pb_bss ``CACGMMTrainer`` with ``source_activity_mask``, ``weight_constant_axis=-1``).
    With ``fit_stride`` > 1 EM runs on every ``fit_stride``-th frame (neighbouring 8 ms frames
    are nearly redundant).

    Both EM steps are one real batched matmul over frequencies for all classes at once, on the
    outer products ``z z^H`` of the normalised observations, computed once
    (:func:`_outer_features`): the M step sums them with weights ``gamma / q``, the E step's
    quadratic forms ``z^H B^-1 z`` are inner products with the inverse's coefficients.
    """
    import torch

    C, F, N = Y.shape
    K = activity.shape[0]
    Yt = torch.from_numpy(np.ascontiguousarray(Y.transpose(1, 0, 2))).to(torch.complex64)
    power_all = Yt.real.square().sum(dim=1, keepdim=True) + Yt.imag.square().sum(
        dim=1, keepdim=True
    )  # [F, 1, N]
    Z = Yt / power_all.sqrt().clamp_min(eps)  # [F, C, N]
    del Yt
    act_all = torch.from_numpy(np.ascontiguousarray(activity, dtype=np.float32))  # [K, N]
    P = _outer_features(Z[:, :, ::fit_stride])  # [F, C*C, n]
    power = power_all[:, :, ::fit_stride].contiguous()
    act = act_all[:, ::fit_stride]
    n = P.shape[-1]
    gamma = act.expand(F, K, n).clone()  # [F, K, n]
    gamma /= gamma.sum(dim=1, keepdim=True).clamp_min(eps)
    quad = torch.ones(F, K, n)
    eye = torch.eye(C, dtype=torch.complex64)
    log_pi = coef = logdet = None
    for _ in range(iterations):
        log_pi = gamma.mean(dim=-1, keepdim=True).clamp_min(eps).log()  # [F, K, 1]
        B = _from_features(torch.bmm(gamma / quad, P.transpose(1, 2)), C)  # [F, K, C, C]
        tr = torch.diagonal(B, dim1=-2, dim2=-1).real.sum(-1)[..., None, None]
        B = B / tr.clamp_min(eps) * C + 1e-4 * eye  # scale-free: fix trace, floor eigvals
        L = torch.linalg.cholesky(B)
        logdet = 2 * torch.diagonal(L, dim1=-2, dim2=-1).real.log().sum(-1)  # [F, K]
        coef = _quadratic_coefficients(torch.cholesky_inverse(L))  # [F, K, C*C]
        gamma, quad = _e_step(P, act, log_pi, coef, logdet, eps)
    return CACGMMFit(Z, act_all, fit_stride, P, power, gamma, log_pi, coef, logdet, eps)


def cacgmm_masks(
    Y: np.ndarray,
    activity: np.ndarray,
    iterations: int = 10,
    eps: float = 1e-10,
    fit_stride: int = 1,
) -> np.ndarray:
    """Class posteriors ``[K, F, N]`` of every frame of a cACGMM fitted by :func:`cacgmm_fit`."""
    return cacgmm_fit(Y, activity, iterations, eps, fit_stride).masks()


# --------------------------------------------------------------------------------------------
# MVDR


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
    diarization: Transcript,
    num_samples: int,
    sr: int,
    max_block_s: float,
    max_gap_s: float = float("inf"),
) -> list[tuple[int, int]]:
    """Cover all speech with blocks of at most ``max_block_s``, packing nearby turns together.

    Consecutive turns share a block while it stays within ``max_block_s`` and the silence
    between them is at most ``max_gap_s`` (short silences inside a block cost less than the
    context every extra block carries); a single longer stretch of speech is cut into equal parts.
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
        if packed and b - packed[-1][0] <= max_block_s and a - packed[-1][1] <= max_gap_s:
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


def overlapped_turns(diarization: Transcript, margin_s: float = 0.0) -> Transcript:
    """The turns that overlap another speaker's turn (each widened by ``margin_s``).

    >>> from notsofar.data import Segment
    >>> t = Transcript([Segment("m", "A", 0.0, 2.0, ""), Segment("m", "B", 1.5, 3.0, ""),
    ...                 Segment("m", "A", 5.0, 6.0, "")])
    >>> [(s.speaker, s.start_time) for s in overlapped_turns(t)]
    [('A', 0.0), ('B', 1.5)]
    """
    spans = sorted((s.start_time - margin_s, s.end_time + margin_s, s.speaker) for s in diarization)
    hit: set[tuple[float, float, str]] = set()
    for i, (a, b, spk) in enumerate(spans):  # sorted by start: scan forward while they can meet
        for a2, b2, spk2 in spans[i + 1 :]:
            if a2 >= b:
                break
            if spk2 != spk and b2 > a:
                hit.update({(a, b, spk), (a2, b2, spk2)})
    return diarization.filter(
        lambda s: (s.start_time - margin_s, s.end_time + margin_s, s.speaker) in hit
    )


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
    """Per-speaker enhanced audio by blockwise GSS (cACGMM) + Souden MVDR + mask postfilter.

    With ``cfg.single_speaker == "reference"`` GSS runs only around turns that overlap another
    speaker's (blocks do not bridge silences longer than the context on both sides); a turn
    no GSS block covers is cut from the (dereverberated) reference channel, as
    :func:`separate_reference` does: where one person talks there is nothing to separate.
    """
    num = audio.shape[-1]
    hop_s = stft_cfg.hop_length / sample_rate
    speakers = diarization.speakers
    margin = int(cfg.output_margin_s * sample_rate)
    pieces: dict[str, list[tuple[int, np.ndarray]]] = {s: [] for s in speakers}
    if cfg.single_speaker == "reference":
        blocks = _speech_blocks(
            overlapped_turns(diarization), num, sample_rate, cfg.max_block_s, 2 * cfg.context_s
        )

        def covered(seg: Segment) -> bool:  # its whole piece will come from a GSS block
            a = max(0, int(seg.start_time * sample_rate) - margin)
            b = min(num, int(seg.end_time * sample_rate) + margin)
            return any(b0 <= a and b <= b1 for b0, b1 in blocks)

        # the other turns from the reference channel, rendered first: GSS pieces written
        # after them win where a block covers part of such a turn
        alone = diarization.filter(lambda seg: not covered(seg))
        for s, p in separate_reference(
            audio, sample_rate, alone, cfg, stft_cfg, reference_channel
        ).items():
            pieces[s].extend(p.pieces)
    else:
        blocks = _speech_blocks(diarization, num, sample_rate, cfg.max_block_s)
    ctx = int(cfg.context_s * sample_rate)
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
        fit = cacgmm_fit(Y, act, cfg.iterations, fit_stride=cfg.fit_stride)
        classes = [here.index(s) for s in core]
        phi_s, phi_n = fit.covariances(classes)
        masks = fit.masks() if cfg.mask_floor < 1.0 else None  # the postfilter needs all frames
        del fit
        ref = None if cfg.select_reference else reference_channel
        for j, s in enumerate(core):
            w, _ = souden_mvdr(phi_s[j], phi_n[j], ref)
            S = np.einsum("fc,cfn->fn", np.conj(w), Y)
            if masks is not None:
                S = S * np.maximum(masks[classes[j]], cfg.mask_floor)
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


#: separation backends by name (``separation.backend``; the names are
#: :data:`notsofar.enhance.config.SEPARATION_BACKENDS`, which validates the config)
BACKENDS: dict[str, SeparateFn] = {"gss": separate_gss, "reference": separate_reference}
