"""Typed config of ``notsofar simulate`` (see configs/simulate/{css,meeting}.yaml).

Structure (which speech source, which transfer functions, which noise, which mixing mode) is
apart from tunables (ranges). Every range is ``[low, high]`` and drawn uniformly per example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from notsofar.errors import NotsofarError


def _check_range(name: str, r: tuple[float, float], low: float | None = None) -> None:
    if r[0] > r[1]:
        raise NotsofarError(f"{name}: range [{r[0]}, {r[1]}] has low > high")
    if low is not None and r[0] < low:
        raise NotsofarError(f"{name}: values must be >= {low}, got {r[0]}")


@dataclass(frozen=True)
class SpeechConfig:
    """Where the dry speech comes from.

    ``source``: ``embedded`` (espeak-ng utterances shipped with notsofar), a LibriSpeech-layout
    folder (``*.trans.txt``), a lhotse manifest (``.jsonl``/``.jsonl.gz`` cuts), or a TSV
    (``path<TAB>speaker<TAB>text``). ``format: auto`` picks by path.
    """

    source: str = "embedded"
    format: Literal["auto", "embedded", "librispeech", "lhotse", "tsv"] = "auto"
    level_dbfs: tuple[float, float] = (-32.0, -22.0)
    min_utterance_s: float = 0.5

    def validate(self) -> None:
        _check_range("speech.level_dbfs", self.level_dbfs)


@dataclass(frozen=True)
class RirConfig:
    """Transfer functions: ``simulated`` image-method rooms, or ``measured`` IR wavs in ``path``.

    Measured: one wav per source position, all with the array's channel count and one sample
    rate (resampled to the output rate). Simulated: ``num_rooms`` rooms (seeded, cached on disk
    in ``cache_dir``, by default under the output folder), ``seats`` source positions each; a
    shard uses ``rooms_per_shard`` of them.
    """

    backend: Literal["simulated", "measured"] = "simulated"
    path: str | None = None
    array: str = "notsofar_mc"
    rt60_s: tuple[float, float] = (0.3, 0.7)
    room_x_m: tuple[float, float] = (4.0, 8.0)
    room_y_m: tuple[float, float] = (3.5, 7.0)
    room_z_m: tuple[float, float] = (2.6, 3.2)
    distance_m: tuple[float, float] = (0.8, 2.5)
    num_rooms: int = 200
    seats: int = 8
    rooms_per_shard: int = 2
    max_length_s: float = 0.5
    early_ms: float = 50.0
    #: where simulated rooms are cached (None: ``<output>/rir_cache``); share it between runs
    cache_dir: str | None = None

    def validate(self) -> None:
        for name in ("rt60_s", "room_x_m", "room_y_m", "room_z_m", "distance_m"):
            _check_range(f"rirs.{name}", getattr(self, name), 0.0)
        if self.backend == "measured" and not self.path:
            raise NotsofarError("rirs.path: measured transfer functions need a folder")
        if self.num_rooms < 1 or self.seats < 1 or self.rooms_per_shard < 1:
            raise NotsofarError("rirs.num_rooms, seats and rooms_per_shard must be >= 1")
        if self.max_length_s <= 0:
            raise NotsofarError("rirs.max_length_s must be > 0")


@dataclass(frozen=True)
class NoiseConfig:
    """Noise: ``diffuse`` (generated, with the array's diffuse-field coherence) or ``recorded``.

    Recorded: wav/flac files in ``path``; files with the array's channel count are used as they
    are, mono files get the diffuse coherence imposed (C independent excerpts mixed per frequency).
    """

    backend: Literal["diffuse", "recorded"] = "diffuse"
    path: str | None = None
    snr_db: tuple[float, float] = (5.0, 20.0)
    color: Literal["white", "pink", "brown"] = "pink"

    def validate(self) -> None:
        _check_range("noise.snr_db", self.snr_db)
        if self.backend == "recorded" and not self.path:
            raise NotsofarError("noise.path: recorded noise needs a folder or file")


@dataclass(frozen=True)
class MixConfig:
    """The mixing model: NOTSOFAR-CSS ``css`` segments or whole ``meeting`` s."""

    mode: Literal["css", "meeting"] = "css"
    # css: fixed-length segments with up to max_speakers
    segment_s: float = 10.0
    max_speakers: int = 3
    num_speakers_weights: tuple[float, ...] = (0.2, 0.4, 0.4)
    overlap_ratio: tuple[float, float] = (0.0, 0.4)
    silence_ratio: tuple[float, float] = (0.0, 0.2)
    # meeting: turn-taking with pauses, overlap and backchannels
    meeting_s: float = 120.0
    meeting_speakers: tuple[int, int] = (4, 8)
    pause_s: tuple[float, float] = (0.2, 1.0)
    overlap_prob: float = 0.2
    overlap_s: tuple[float, float] = (0.3, 1.2)
    backchannel_prob: float = 0.15

    def validate(self) -> None:
        if self.segment_s <= 0 or self.meeting_s <= 0:
            raise NotsofarError("mix.segment_s and mix.meeting_s must be > 0")
        if self.max_speakers < 1 or len(self.num_speakers_weights) != self.max_speakers:
            raise NotsofarError(
                "mix.num_speakers_weights needs one weight per speaker count 1..max_speakers"
            )
        _check_range("mix.overlap_ratio", self.overlap_ratio, 0.0)
        _check_range("mix.silence_ratio", self.silence_ratio, 0.0)
        if self.overlap_ratio[1] >= 1 or self.silence_ratio[1] >= 1:
            raise NotsofarError("mix.overlap_ratio and mix.silence_ratio must be < 1")
        _check_range("mix.meeting_speakers", self.meeting_speakers, 1)


#: Columns of the NOTSOFAR-1 CSS format that can be written.
ALL_COLUMNS = (
    "mixture",
    "gt_spk_direct_early_echoes",
    "gt_spk_reverb",
    "gt_noise",
    "gt_spk_activity_scores",
)


@dataclass(frozen=True)
class OutputConfig:
    """Shards: NOTSOFAR-1 CSS tar shards of ``examples_per_shard`` examples with ``columns``."""

    examples_per_shard: int = 50
    columns: tuple[str, ...] = ALL_COLUMNS

    def validate(self) -> None:
        if self.examples_per_shard < 1:
            raise NotsofarError("output.examples_per_shard must be >= 1")
        bad = [c for c in self.columns if c not in ALL_COLUMNS]
        if bad or "mixture" not in self.columns:
            raise NotsofarError(
                f"output.columns must include 'mixture' and only {', '.join(ALL_COLUMNS)}"
            )


@dataclass(frozen=True)
class SimulateConfig:
    """Everything ``notsofar simulate`` needs besides the output folder and the executor."""

    seed: int = 0
    sample_rate: int = 16000
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    rirs: RirConfig = field(default_factory=RirConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    mix: MixConfig = field(default_factory=MixConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
