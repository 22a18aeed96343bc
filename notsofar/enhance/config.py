"""Typed config of the multi-channel front end (``configs/enhance/*.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from notsofar.errors import NotsofarError
from notsofar.features import FeatureConfig

#: separation backends by name (``separation.backend``);
#: :data:`notsofar.enhance.separation.BACKENDS` maps each to its function
SEPARATION_BACKENDS = ("gss", "reference")


@dataclass(frozen=True)
class ChannelCheckConfig:
    """When a channel counts as dead or as a copy of another one (NOTSOFAR has both)."""

    #: absolute level (dBFS RMS) under which a channel is dead
    dead_dbfs: float = -70.0
    #: a channel this far (dB) below the median channel level is dead too
    dead_relative_db: float = -30.0
    #: energy of the difference to another channel (dB re. the channel) under which it is a copy;
    #: real mics 4 cm apart differ by a few dB only at -20 dB, so -40 dB means "the same signal"
    duplicate_db: float = -40.0
    #: seconds analysed for the duplicate test (spread over the file), keeps it cheap on long files
    duplicate_probe_s: float = 60.0

    def validate(self) -> None:
        if self.duplicate_probe_s <= 0:
            raise NotsofarError("channels.duplicate_probe_s must be > 0")


@dataclass(frozen=True)
class WPEConfig:
    """Blockwise multi-channel WPE (nara-wpe). Blocks bound memory on long meetings."""

    enabled: bool = True
    taps: int = 6
    delay: int = 3
    #: two: one (power from the observation itself) halves WPE's cost, but on the 7-channel
    #: fixture it split a speaker and garbled a turn (tests/test_multichannel.py)
    iterations: int = 2
    #: the prediction filter's statistics from every n-th STFT frame; the filter still applies
    #: to every frame. 3 makes WPE 2.4x faster (a 30 s 7-channel block 2.2 -> 0.9 s) and
    #: dereverberates a simulated room as well, but moved the multi-channel diarization of the
    #: 21 far-field tuning meetings from DER c0.5 7.03 to 7.92 % (19 -> 18 exact counts): 1,
    #: nara-wpe's statistics, stays the default; a speed option for slow machines
    stats_stride: int = 1
    #: block length and crossfaded overlap in seconds
    block_s: float = 30.0
    overlap_s: float = 1.0

    def validate(self) -> None:
        if self.taps < 1 or self.delay < 0 or self.iterations < 1 or self.stats_stride < 1:
            raise NotsofarError(
                "wpe: taps >= 1, delay >= 0, iterations >= 1 and stats_stride >= 1 are required"
            )
        if not 0 <= 2 * self.overlap_s < self.block_s:
            raise NotsofarError("wpe: need 0 <= 2 * overlap_s < block_s")


@dataclass(frozen=True)
class SpatialConfig:
    """SRP-PHAT direction of arrival and how it refines the embedding diarization."""

    enabled: bool = True
    #: DOA analysis window inside diarization segments (the diarizer's window scale)
    window_s: float = 1.0
    #: band used for SRP-PHAT; above c / (2 d) the 8.5 cm aperture aliases
    fmin_hz: float = 200.0
    fmax_hz: float = 4000.0
    azimuth_step_deg: float = 5.0
    #: assumed source elevation (a talker's mouth above a table-top device)
    elevation_deg: float = 0.0
    #: SRP-PHAT from the time-frequency bins at least this far (dB) above the analysed
    #: segment's floor only (None: every bin). On the 21 real-voice far-field tuning meetings
    #: (WPE audio, reference turns) the share of a talker's clean 1-s windows within 15 degrees
    #: of their seat's direction rose from 0.88 to 0.97 on average (every bin / 15 dB), and
    #: talkers with fewer than half their windows there from 7 of 74 to none
    bin_snr_db: float | None = 15.0
    #: split a speaker cluster whose windows come from two seats: it catches two people the
    #: voice diarizer merged (on the 21 far-field tuning meetings two such clusters, both split
    #: right); the voice diarizer also splits similar voices itself (``diarize.split_distance``)
    split: bool = True
    #: ... whose windows come from two directions this far apart (the seats of a table are
    #: rarely closer as seen from its centre) ...
    split_min_separation_deg: float = 35.0
    #: ... when the smaller direction holds at least this share of the cluster's windows ...
    split_min_share: float = 0.15
    #: ... and at least this many seconds ...
    split_min_s: float = 4.0
    #: ... and each direction is a seat: at least this share of the windows nearest to it lie
    #: within :data:`notsofar.enhance.spatial.SEAT_WIDTH_DEG` of it (one talker's windows do,
    #: reflections and the noise field scatter). On the 21 far-field tuning meetings any value
    #: from 0.6 to 0.9 gives the same diarization (DER c0.5 6.98 %; 0.5: 7.15 %, a meeting 4
    #: speakers off); 0.7 (was 0.9) on a fresh bench set: a far-field talker merged with
    #: another by the voice diarizer held 0.74 of their windows at their seat, and the split
    #: now finds them (its 10 far-field meetings 9.82 -> 8.17 %; a third fresh set, held out,
    #: 6.13 -> 6.07 %; bench, long and check sets unchanged)
    split_min_tight: float = 0.7
    #: merge two clusters whose dominant directions are this close (0 disables merging): the
    #: embedding diarizer tends to split one voice; two people rarely sit this close in angle
    merge_max_separation_deg: float = 15.0
    #: after the split and merge, a window its speaker talks alone in that points within
    #: :data:`~notsofar.enhance.spatial.SEAT_WIDTH_DEG` of another speaker's seat and at least
    #: ``split_min_separation_deg`` away from its own speaker's seat goes to that other
    #: speaker: the voice diarizer's confusions between people at different seats. Chosen on
    #: the 21 far-field real-voice tuning meetings (DER c0.5 7.45 -> 6.98 %; requiring both
    #: seats tight, as the split does, kept less: 7.22 %)
    reseat: bool = True

    def validate(self) -> None:
        if self.window_s <= 0 or self.azimuth_step_deg <= 0:
            raise NotsofarError("spatial: window_s and azimuth_step_deg must be > 0")
        if not 0 <= self.fmin_hz < self.fmax_hz:
            raise NotsofarError("spatial: need 0 <= fmin_hz < fmax_hz")
        if not 0 <= self.split_min_tight <= 1:
            raise NotsofarError(
                f"spatial: need 0 <= split_min_tight <= 1, got {self.split_min_tight}"
            )


@dataclass(frozen=True)
class SeparationConfig:
    """Guided source separation: cACGMM with diarization priors, then MVDR per speaker."""

    #: registered backend: ``gss`` (cACGMM + MVDR) or ``reference`` (reference channel as is)
    backend: str = "gss"
    #: EM iterations; the activity-based initialisation is already close (CPU budget)
    iterations: int = 5
    #: EM (and the MVDR statistics) on every n-th STFT frame: 8 ms frames of a 32 ms window
    #: are nearly redundant (CPU time / n)
    fit_stride: int = 3
    #: speech is cut into blocks of at most this length; statistics use ``context_s`` around them
    max_block_s: float = 20.0
    context_s: float = 2.0
    #: diarization segments are widened by this much for the activity prior (boundaries are soft)
    activity_margin_s: float = 0.2
    #: postfilter: multiply the beamformer output by max(mask, mask_floor); 1.0 (default) turns
    #: it off: masking artefacts cost Whisper more words than the residual interference does
    mask_floor: float = 1.0
    #: choose the MVDR reference microphone per block by the largest output SNR (else the
    #: configured reference channel, the centre mic of a compact array)
    select_reference: bool = False
    #: speaker pieces handed to ASR keep this much audio around each segment
    output_margin_s: float = 0.2
    #: what turns that overlap no other speaker's get: ``gss`` (the same as overlapped ones) or
    #: ``reference`` (the dereverberated reference channel; GSS only runs around overlap)
    single_speaker: Literal["gss", "reference"] = "gss"

    def validate(self) -> None:
        if (
            self.iterations < 1
            or self.fit_stride < 1
            or self.max_block_s <= 0
            or self.context_s < 0
        ):
            raise NotsofarError("separation: iterations >= 1, max_block_s > 0, context_s >= 0")
        if not 0 <= self.mask_floor <= 1:
            raise NotsofarError("separation.mask_floor must be in [0, 1]")
        if self.single_speaker not in ("gss", "reference"):
            raise NotsofarError(
                f"separation.single_speaker must be gss or reference, got '{self.single_speaker}'"
            )


@dataclass(frozen=True)
class EnhanceConfig:
    """The multi-channel front end: channel check -> WPE -> spatial diarization -> GSS + MVDR."""

    #: built-in array name (``notsofar_mc``) or a geometry YAML path (configs/arrays/)
    array: str = "notsofar_mc"
    #: preferred reference microphone (0 = centre of the NOTSOFAR device)
    reference_channel: int = 0
    #: how files are held in memory: float16 halves a long meeting's footprint (60 min x 7 ch:
    #: 0.8 GB instead of 1.6 GB); every block is processed in float32
    storage: Literal["float32", "float16"] = "float32"
    #: the STFT all blocks share (512-point window, 8 ms hop: finer than ASR's 10 ms for WPE/GSS)
    stft: FeatureConfig = field(
        default_factory=lambda: FeatureConfig(n_fft=512, win_length=512, hop_length=128)
    )
    channels: ChannelCheckConfig = field(default_factory=ChannelCheckConfig)
    wpe: WPEConfig = field(default_factory=WPEConfig)
    spatial: SpatialConfig = field(default_factory=SpatialConfig)
    separation: SeparationConfig = field(default_factory=SeparationConfig)

    def validate(self) -> None:
        if self.separation.backend not in SEPARATION_BACKENDS:
            raise NotsofarError(
                f"separation.backend: unknown backend '{self.separation.backend}' "
                f"(known: {', '.join(sorted(SEPARATION_BACKENDS))})"
            )
