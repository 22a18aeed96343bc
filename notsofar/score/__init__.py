"""Scoring: ``score(ref, hyp, cfg) -> ScoreReport`` with meeteval and pyannote.metrics as engines.

WER-type metrics (tcpWER, cpWER, tcORC-WER) are computed by meeteval's own per-session functions,
called through ``meeteval.io.seglst.apply_multi_file`` exactly as ``meeteval-wer`` does, so the
numbers are meeteval's. DER and JER come from pyannote.metrics. notsofar adds what a challenge
participant needs around them: text normalization, explicit session bookkeeping (a reference
session missing from the hypothesis is scored as all deletions and reported; a hypothesis
session without reference is an error unless ``partial``), per-session rows and macro/micro
averages, JSON/CSV output.

>>> from notsofar.data import Segment, Transcript
>>> ref = Transcript([Segment("S", "A", 0, 3, "a b c")])
>>> hyp = Transcript([Segment("S", "X", 10, 13, "a b c")])
>>> score(ref, hyp, ScoreConfig()).summary[0].micro   # 10 s away: beyond the 5 s collar
2.0
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

from notsofar.data import Transcript
from notsofar.errors import NotsofarError
from notsofar.io.uem import Uem
from notsofar.normalize import get_normalizer
from notsofar.score.config import METRICS, ScoreConfig

__all__ = ["METRICS", "MetricSummary", "ScoreConfig", "ScoreReport", "SessionScore", "score"]


@dataclass(frozen=True)
class SessionScore:
    """One metric on one session. WER metrics count words, DER/JER count seconds/speakers."""

    session_id: str
    metric: str
    error_rate: float | None
    errors: float
    length: float
    insertions: int | None = None
    deletions: int | None = None
    substitutions: int | None = None
    missed_speaker: int | None = None
    falarm_speaker: int | None = None
    scored_speaker: int | None = None
    missed_detection: float | None = None
    false_alarm: float | None = None
    confusion: float | None = None
    hyp_missing: bool = False


@dataclass(frozen=True)
class MetricSummary:
    """Averages of one metric over sessions: ``macro`` = mean of session rates, ``micro`` =
    errors and lengths pooled over sessions (what meeteval reports as the average)."""

    metric: str
    num_sessions: int
    macro: float | None
    micro: float | None
    errors: float
    length: float
    insertions: int | None = None
    deletions: int | None = None
    substitutions: int | None = None
    missed_speaker: int | None = None
    falarm_speaker: int | None = None
    scored_speaker: int | None = None
    missed_detection: float | None = None
    false_alarm: float | None = None
    confusion: float | None = None


CSV_FIELDS = [f.name for f in fields(SessionScore)]

#: significant digits kept in ``.score.json`` / ``.score.csv``: sums of seconds (DER, JER)
#: carry float noise in the last digits (``1.2319999999999975``); 12 digits drop it and keep
#: every digit that means anything, so the files still agree with meeteval to 1e-12
DIGITS = 12


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: float(f"{v:.{DIGITS}g}") if isinstance(v, float) else v for k, v in row.items()}


@dataclass(frozen=True)
class ScoreReport:
    """Per-session rows, per-metric summaries and the warnings raised while scoring."""

    sessions: tuple[SessionScore, ...]
    summary: tuple[MetricSummary, ...]
    warnings: tuple[str, ...] = ()

    def metric(self, name: str) -> MetricSummary:
        """The summary of metric ``name``."""
        for s in self.summary:
            if s.metric == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"summary": {}, "sessions": {}, "warnings": list(self.warnings)}
        for s in self.summary:
            out["summary"][s.metric] = {
                k: v for k, v in _rounded(asdict(s)).items() if v is not None
            }
        for row in self.sessions:
            d = {k: v for k, v in _rounded(asdict(row)).items() if v is not None}
            out["sessions"].setdefault(row.metric, {})[row.session_id] = d
        return out

    def to_json(self) -> str:
        """The report as JSON text (summary per metric, then per-session rows)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_csv(self) -> str:
        """One CSV row per (session, metric), then ``macro`` and ``micro`` rows per metric."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in self.sessions:
            writer.writerow(_rounded(asdict(row)))
        for s in self.summary:
            base = {k: v for k, v in asdict(s).items() if k in CSV_FIELDS}
            for avg in ("macro", "micro"):
                row = {**base, "session_id": f"<{avg}>", "error_rate": getattr(s, avg)}
                writer.writerow(_rounded(row))
        return buf.getvalue()


# ----------------------------------------------------------------------------- WER via meeteval


def _wer_fn(metric: str, cfg: ScoreConfig) -> Callable[[Any, Any], Any]:
    """The meeteval per-session function for ``metric``, configured as ``meeteval-wer`` does."""
    # with decimal times the collar must be a decimal too (meeteval-wer itself fails on a
    # fractional collar with times read from a file: Decimal - float)
    collar: Callable[[float], Any] = _decimal if cfg.exact_times else float
    if metric == "tcpwer":
        from meeteval.wer.wer.time_constrained import (
            time_constrained_minimum_permutation_word_error_rate as fn,
        )

        c = cfg.tcpwer
        return lambda r, h: fn(
            r,
            h,
            collar=collar(c.collar),
            reference_pseudo_word_level_timing=c.ref_pseudo_word_timing,
            hypothesis_pseudo_word_level_timing=c.hyp_pseudo_word_timing,
            reference_sort="segment",
            hypothesis_sort="segment",
        )
    if metric == "tcorcwer":
        from meeteval.wer.wer.time_constrained_orc import time_constrained_orc_wer as fn

        c2 = cfg.tcorcwer
        return lambda r, h: fn(
            r,
            h,
            collar=collar(c2.collar),
            reference_pseudo_word_level_timing=c2.ref_pseudo_word_timing,
            hypothesis_pseudo_word_level_timing=c2.hyp_pseudo_word_timing,
            reference_sort="segment",
            hypothesis_sort="segment",
        )
    from meeteval.wer.wer.cp import cp_word_error_rate as fn

    return lambda r, h: fn(
        r, h, reference_sort="segment_if_available", hypothesis_sort="segment_if_available"
    )


def _decimal(x: float) -> Any:
    """A time as ``meeteval-wer`` reads it from a file: the Decimal of its shortest text, so
    collar comparisons are exact decimal arithmetic (ints too, so no float creeps in)."""
    return Decimal(x) if isinstance(x, int) else Decimal(repr(float(x)))


def _to_meeteval(t: Transcript, normalizer: Callable[[str], str], exact: bool = True) -> Any:
    from meeteval.io import SegLST

    conv: Callable[[float], Any] = _decimal if exact else float
    return SegLST(
        [
            {
                "session_id": s.session_id,
                "speaker": s.speaker,
                "start_time": conv(s.start_time),
                "end_time": conv(s.end_time),
                "words": normalizer(s.words),
            }
            for s in t
        ]
    )


def _meeteval_uem(uem: Uem) -> Any:
    from meeteval.io.uem import UEM, UEMLine

    return UEM([UEMLine(r.session_id, r.channel, r.start_time, r.end_time) for r in uem.regions])


def _wer_metric(
    metric: str, ref: Any, hyp: Any, missing: set[str], cfg: ScoreConfig, tick: Callable[[], Any]
) -> list[SessionScore]:
    from meeteval.io.seglst import apply_multi_file

    fn = _wer_fn(metric, cfg)

    def scored(r: Any, h: Any) -> Any:
        er = fn(r, h)
        tick()
        return er

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # missing sessions are reported by score() itself
    try:
        results = apply_multi_file(
            scored, ref, hyp, allowed_empty_examples_ratio=1.0, partial=False
        )
    except ValueError as e:  # meeteval's checks on the input (e.g. inconsistent times)
        raise NotsofarError(f"{metric}: {e}") from None
    finally:
        root.setLevel(level)
    rows = []
    for session_id, er in results.items():
        rows.append(
            SessionScore(
                session_id=session_id,
                metric=metric,
                error_rate=None if er.error_rate is None else float(er.error_rate),
                errors=er.errors,
                length=er.length,
                insertions=er.insertions,
                deletions=er.deletions,
                substitutions=er.substitutions,
                missed_speaker=getattr(er, "missed_speaker", None),
                falarm_speaker=getattr(er, "falarm_speaker", None),
                scored_speaker=getattr(er, "scored_speaker", None),
                hyp_missing=session_id in missing,
            )
        )
    return rows


# ------------------------------------------------------------------- DER / JER via pyannote


def _annotation(t: Transcript) -> Any:
    from pyannote.core import Annotation
    from pyannote.core import Segment as PSegment

    ann = Annotation()
    for i, s in enumerate(t):
        if s.end_time > s.start_time:
            ann[PSegment(s.start_time, s.end_time), i] = s.speaker
    return ann


def _diar_metric(
    metric: str,
    ref: Transcript,
    hyp: Transcript,
    missing: set[str],
    cfg: ScoreConfig,
    uem: Uem | None,
    tick: Callable[[], Any],
) -> list[SessionScore]:
    from pyannote.core import Segment as PSegment
    from pyannote.core import Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    c = cfg.der if metric == "der" else cfg.jer
    cls = DiarizationErrorRate if metric == "der" else JaccardErrorRate
    engine = cls(collar=c.collar, skip_overlap=c.skip_overlap)
    regions = uem.as_dict() if uem is not None else {}
    hyp_by = hyp.groupby("session_id")
    rows = []
    for session_id, r in ref.groupby("session_id").items():
        h = hyp_by.get(session_id, Transcript())
        both = list(r) + list(h)
        # Without a UEM, score the extent of reference and hypothesis (pyannote's own default).
        start, end = regions.get(
            session_id,
            (min(s.start_time for s in both), max(s.end_time for s in both)),
        )
        extent = Timeline([PSegment(start, end)])
        comp = engine.compute_components(_annotation(r), _annotation(h), uem=extent)
        tick()
        if metric == "der":
            errors = comp["missed detection"] + comp["false alarm"] + comp["confusion"]
            length = comp["total"]
            extra: dict[str, Any] = {
                "missed_detection": comp["missed detection"],
                "false_alarm": comp["false alarm"],
                "confusion": comp["confusion"],
            }
        else:
            errors, length = comp["speaker error"], comp["speaker count"]
            extra = {}
        rate = engine.compute_metric(comp) if length > 0 else None
        rows.append(
            SessionScore(
                session_id, metric, rate, errors, length, hyp_missing=session_id in missing, **extra
            )
        )
    return rows


# ------------------------------------------------------------------------------- the stage


def _summarize(metric: str, rows: list[SessionScore]) -> MetricSummary:
    rates = [r.error_rate for r in rows if r.error_rate is not None]
    errors = sum(r.errors for r in rows)
    length = sum(r.length for r in rows)

    def total(name: str) -> Any:
        values = [getattr(r, name) for r in rows]
        return None if any(v is None for v in values) or not values else sum(values)

    if metric in ("der", "jer") and length == 0:
        micro = None
    else:
        # errors with zero reference length (insertions only) make the pooled rate infinite
        micro = errors / length if length else (None if errors == 0 else float("inf"))
    return MetricSummary(
        metric=metric,
        num_sessions=len(rows),
        macro=sum(rates) / len(rates) if rates else None,
        micro=micro,
        errors=errors,
        length=length,
        **{
            name: total(name)
            for name in (
                "insertions",
                "deletions",
                "substitutions",
                "missed_speaker",
                "falarm_speaker",
                "scored_speaker",
                "missed_detection",
                "false_alarm",
                "confusion",
            )
        },
    )


def score(
    ref: Transcript,
    hyp: Transcript,
    cfg: ScoreConfig | None = None,
    uem: Uem | None = None,
    on_session: Callable[[], Any] | None = None,
) -> ScoreReport:
    """Score a hypothesis against a reference.

    Args:
        ref: reference transcript (all sessions).
        hyp: hypothesis transcript.
        cfg: metrics, normalizer, collars (default: the official NOTSOFAR-1 settings).
        uem: optional scoring regions; overrides ``cfg.uem``.
        on_session: called after each (session, metric) is scored (progress bars).

    Returns:
        A :class:`ScoreReport` with one row per (session, metric) and per-metric averages.

    Raises:
        NotsofarError: a hypothesis session has no reference (and ``cfg.partial`` is false),
            or the reference is empty.
    """
    cfg = cfg or ScoreConfig()
    cfg.validate()
    tick = on_session or (lambda: None)
    if uem is None and cfg.uem is not None:
        from notsofar.io import uem as uem_io

        uem = uem_io.load(cfg.uem)
    warnings: list[str] = []
    ref_ids = ref.session_ids
    if not ref_ids:
        raise NotsofarError("the reference has no segments")
    hyp_ids = set(hyp.session_ids)
    extra = [s for s in hyp.session_ids if s not in set(ref_ids)]
    if extra:
        listing = ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else "")
        if not cfg.partial:
            raise NotsofarError(
                f"{len(extra)} hypothesis session(s) have no reference: {listing} "
                "(use --partial to score only sessions with a reference)"
            )
        warnings.append(f"ignored {len(extra)} hypothesis session(s) without reference: {listing}")
        keep = set(ref_ids)
        hyp = hyp.filter(lambda s: s.session_id in keep)
    missing = {s for s in ref_ids if s not in hyp_ids}
    if missing:
        names = [s for s in ref_ids if s in missing]
        listing = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        warnings.append(
            f"{len(missing)} reference session(s) missing from the hypothesis, "
            f"scored as all deletions: {listing}"
        )
    if uem is not None:
        covered = uem.as_dict()
        unscored = [s for s in ref_ids if s not in covered]
        if unscored:
            raise NotsofarError(f"UEM has no region for session(s): {', '.join(unscored[:5])}")

    rows: list[SessionScore] = []
    summary = []
    wer_metrics = [m for m in cfg.metrics if m in ("tcpwer", "cpwer", "tcorcwer")]
    if wer_metrics and ref.num_words == 0:
        raise NotsofarError(
            f"the reference has no words, so {', '.join(wer_metrics)} cannot be computed "
            "(an RTTM reference supports --metric der,jer only)"
        )
    if wer_metrics:
        normalizer = get_normalizer(cfg.normalizer)
        ref_s = _to_meeteval(ref, normalizer, cfg.exact_times)
        hyp_s = _to_meeteval(hyp, normalizer, cfg.exact_times)
        if uem is not None:
            meeteval_uem = _meeteval_uem(uem)
            ref_s, hyp_s = ref_s.filter_by_uem(meeteval_uem), hyp_s.filter_by_uem(meeteval_uem)
    for metric in dict.fromkeys(cfg.metrics):
        if metric in wer_metrics:
            got = _wer_metric(metric, ref_s, hyp_s, missing, cfg, tick)
        else:
            got = _diar_metric(metric, ref, hyp, missing, cfg, uem, tick)
        order = {s: i for i, s in enumerate(ref_ids)}
        got.sort(key=lambda r: order.get(r.session_id, len(order)))
        rows.extend(got)
        summary.append(_summarize(metric, got))
    return ScoreReport(tuple(rows), tuple(summary), tuple(warnings))
