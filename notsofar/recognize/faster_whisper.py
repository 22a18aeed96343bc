"""faster-whisper (CTranslate2 Whisper) with word timestamps, run chunk by chunk."""

from __future__ import annotations

from typing import Any

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.data import Word
from notsofar.recognize.config import RecognizeConfig


def prepare(cfg: RecognizeConfig, models: Any) -> None:
    """Load the model now, so a bad model path fails before any audio is processed."""
    models.whisper(cfg.model, cfg.compute_type)


def recognize_chunk(
    audio: np.ndarray, start_s: float, cfg: RecognizeConfig, models: Any
) -> list[list[Word]]:
    """Words of one chunk (times absolute: ``start_s`` is the chunk's offset), one list per
    Whisper segment. Empty audio gives no words."""
    if len(audio) < SAMPLE_RATE // 10:
        return []
    model = models.whisper(cfg.model, cfg.compute_type)
    if cfg.seed is not None:
        import ctranslate2

        # CTranslate2 seeds each decoding thread's sampler once, at its first sample: setting
        # the seed before every decode is cheap and takes effect at the first
        ctranslate2.set_random_seed(cfg.seed)
    options = dict(
        language=cfg.language,
        beam_size=cfg.beam_size,
        temperature=list(cfg.temperatures),
        best_of=cfg.best_of,
        log_prob_threshold=cfg.log_prob_threshold,
        word_timestamps=True,
        vad_filter=cfg.vad_filter,
    )
    if cfg.batch_size:
        from faster_whisper import BatchedInferencePipeline

        decoder = BatchedInferencePipeline(model).transcribe
        options["batch_size"] = cfg.batch_size
    else:
        decoder = model.transcribe
        options["condition_on_previous_text"] = cfg.condition_on_previous_text
    segments, _ = decoder(audio, **options)
    end_s = start_s + len(audio) / SAMPLE_RATE
    out: list[list[Word]] = []
    for seg in segments:
        words = []
        for w in seg.words or []:
            text = "".join(w.word.split())  # one token per word: SegLST word_timings align
            if not text:
                continue
            a = min(max(start_s + float(w.start), start_s), end_s)
            b = min(max(start_s + float(w.end), a), end_s)
            words.append(Word(text, round(a, 3), round(b, 3), round(float(w.probability), 4)))
        if words:
            out.append(words)
    return out
