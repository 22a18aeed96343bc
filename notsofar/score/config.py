"""Configuration of ``notsofar score``: which metrics, which normalizer, which collars.

Collar conventions differ between tools, so every collar here is explicit:

* **tcpWER / tcORC-WER** (meeteval): ``collar`` is added on *each side* of every reference
  word's time span before a hypothesis word may match it. NOTSOFAR-1 and CHiME-8 use 5 s.
* **DER / JER** (pyannote.metrics): ``collar`` is the *total* width of the no-score zone centred
  on every reference speaker boundary, i.e. ``collar / 2`` on each side. NIST's md-eval
  ``-c`` (and dscore's ``--collar``) is the half width: md-eval ``-c 0.25`` equals
  pyannote ``collar=0.5`` here, the value DIHARD/CHiME use. ``collar=0`` scores every frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from notsofar.errors import NotsofarError

METRICS = ("tcpwer", "cpwer", "tcorcwer", "der", "jer")
PseudoTiming = Literal[
    "character_based",
    "character_based_points",
    "equidistant_intervals",
    "equidistant_points",
    "full_segment",
    "none",
]


@dataclass(frozen=True)
class TcpwerConfig:
    """tcpWER (meeteval): collar in seconds on each side of a reference word (NOTSOFAR-1: 5)."""

    collar: float = 5.0
    hyp_pseudo_word_timing: PseudoTiming = "character_based_points"
    ref_pseudo_word_timing: PseudoTiming = "character_based"


@dataclass(frozen=True)
class TcorcwerConfig:
    """tcORC-WER (meeteval): same collar convention as tcpWER."""

    collar: float = 5.0
    hyp_pseudo_word_timing: PseudoTiming = "character_based_points"
    ref_pseudo_word_timing: PseudoTiming = "character_based"


@dataclass(frozen=True)
class DiarizationMetricConfig:
    """DER/JER (pyannote.metrics): ``collar`` is the TOTAL no-score width around each boundary
    (md-eval's ``-c`` is half of it); ``skip_overlap`` ignores overlapped speech."""

    collar: float = 0.5
    skip_overlap: bool = False


@dataclass(frozen=True)
class ScoreConfig:
    """What ``notsofar score`` computes.

    Attributes:
        metrics: any of ``tcpwer, cpwer, tcorcwer, der, jer``.
        normalizer: text normalization applied to reference and hypothesis words before WER
            (``notsofar``: the official NOTSOFAR-1 normalizer, ``notsofar-words``: this project's
            earlier rules, ``whisper``: Whisper's English normalizer, ``none``).
        partial: score only the hypothesis sessions that have a reference, instead of failing
            on a hypothesis session without reference.
        uem: optional UEM file restricting the scored time per session.
        exact_times: hand times to meeteval as decimals, as ``meeteval-wer`` reads them from
            files, so a word exactly at a collar edge is judged exactly as meeteval-wer judges
            it. ``false`` uses binary floats: faster, identical except at such edges.
    """

    metrics: tuple[str, ...] = ("tcpwer",)
    normalizer: Literal["notsofar", "notsofar-words", "whisper", "none"] = "notsofar"
    partial: bool = False
    uem: str | None = None
    exact_times: bool = True
    tcpwer: TcpwerConfig = field(default_factory=TcpwerConfig)
    tcorcwer: TcorcwerConfig = field(default_factory=TcorcwerConfig)
    der: DiarizationMetricConfig = field(default_factory=DiarizationMetricConfig)
    jer: DiarizationMetricConfig = field(default_factory=DiarizationMetricConfig)

    def validate(self) -> None:
        """Reject unknown metrics and negative collars (called by :func:`load_config`)."""
        if not self.metrics:
            raise NotsofarError("metrics: at least one metric is required")
        for m in self.metrics:
            if m not in METRICS:
                raise NotsofarError(f"metrics: unknown metric {m!r} (known: {', '.join(METRICS)})")
        for name in ("tcpwer", "tcorcwer", "der", "jer"):
            if getattr(self, name).collar < 0:
                raise NotsofarError(f"{name}.collar must be >= 0")
