"""``transcribe`` on array recordings: WPE -> diarization (voice + space) -> GSS + MVDR -> ASR.

:func:`transcribe_multichannel` is the entry point :mod:`notsofar.pipeline` dispatches to when
the input has several channels and ``TranscribeConfig.array`` names a geometry. Each speaker's
enhanced stream is recognized on its own, so every word it yields belongs to that speaker.
A mono input, an unknown geometry or fewer than two healthy channels take the single-channel
path with a notice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from notsofar.data import Transcript
from notsofar.enhance.config import EnhanceConfig
from notsofar.errors import NotsofarError

#: the share of the work the front end (WPE, diarization, separation) stands for in progress
#: reports, recognizing the speakers' streams the rest: an estimate from the multi-channel path
#: taking 1.87x the single-channel path's time (README, "Measured"), not a measured split
FRONT_END_SHARE = 0.5


def _stderr(msg: str) -> None:
    print(f"notsofar: {msg}", file=sys.stderr)


def transcribe_multichannel(
    inputs: str | Path | Sequence[str | Path],
    cfg: Any = None,
    models: Any = None,
    session_id: str = "audio",
    enhance_cfg: EnhanceConfig | None = None,
    notice: Callable[[str], None] | None = None,
    audio_out: str | Path | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Any:
    """Transcribe a multi-channel recording with the array front end.

    Args:
        inputs: a multi-channel audio file, a folder of ``ch0.wav .. chN.wav`` or a list of
            channel files (channel order = the geometry's).
        cfg: a :class:`notsofar.pipeline.TranscribeConfig` (its ``array``, ``diarize`` and
            ``asr`` sections are used; an ``enhance`` section, if present, too).
        models: a :class:`notsofar.pipeline.models.ModelCache` to reuse.
        session_id: written into every segment.
        enhance_cfg: front-end settings (default: ``cfg.enhance`` or defaults, with
            ``array`` from ``cfg.array``).
        notice: receives one-line notices (dropped channels, fallbacks); default stderr.
        audio_out: if given, write each speaker's enhanced stream to ``<audio_out>/<spk>.wav``.
        on_progress: called with the progress in audio seconds (0 .. duration) after each
            stage: reading, the front end (:data:`FRONT_END_SHARE` of the work), then each
            speaker's recognition.

    Returns:
        A :class:`notsofar.pipeline.Result`.
    """
    audio, where = _read(inputs, _front_end_config(cfg, enhance_cfg))
    return transcribe_array(
        audio, cfg, models, session_id, enhance_cfg, notice, audio_out, on_progress, where
    )


def _read(inputs: str | Path | Sequence[str | Path], ecfg: EnhanceConfig) -> tuple[Any, Path]:
    """``[C, T]`` 16 kHz samples of the recording and the path its errors name."""
    from notsofar.enhance.channels import input_files, read_multichannel

    files = input_files(inputs)
    where = files[0] if len(files) == 1 else files[0].parent
    return read_multichannel(files, dtype=ecfg.storage), where


def _front_end_config(cfg: Any, enhance_cfg: EnhanceConfig | None) -> EnhanceConfig:
    """``enhance_cfg``, else ``cfg.enhance`` or the defaults with ``cfg.array``."""
    import dataclasses

    if enhance_cfg is not None:
        return enhance_cfg
    ecfg = getattr(cfg, "enhance", None) or EnhanceConfig()
    if getattr(cfg, "array", None) is not None:
        ecfg = dataclasses.replace(ecfg, array=cfg.array)
    return ecfg


def transcribe_array(
    audio: Any,
    cfg: Any = None,
    models: Any = None,
    session_id: str = "audio",
    enhance_cfg: EnhanceConfig | None = None,
    notice: Callable[[str], None] | None = None,
    audio_out: str | Path | None = None,
    on_progress: Callable[[float], None] | None = None,
    where: Path | None = None,
) -> Any:
    """:func:`transcribe_multichannel` on a recording already in memory: ``audio`` ``[C, T]``
    at 16 kHz, channels in the geometry's order (the Python API's path, ``notsofar.pipeline
    .transcribe`` with ``cfg.array``); ``where``: the file or folder errors name."""
    import dataclasses

    from notsofar.enhance import enhance
    from notsofar.pipeline.config import TranscribeConfig
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.single import Result
    from notsofar.pipeline.source import ArraySource
    from notsofar.recognize import recognize_source

    cfg = cfg or TranscribeConfig()
    notice = notice or _stderr
    models = models or ModelCache(cfg.device, cfg.asr.cpu_threads)
    ecfg = _front_end_config(cfg, enhance_cfg)
    duration = audio.shape[-1] / 16000

    def progress(share: float) -> None:
        if on_progress is not None:
            on_progress(share * duration)

    def single(x: Any) -> Any:
        return _single_channel(x, cfg, models, session_id, on_progress)

    progress(0.0)
    fallback = fallback_channel(audio, ecfg, cfg.channel, session_id, notice, where)
    if fallback is not None:
        return single(audio[fallback])
    result = enhance(
        audio,
        16000,
        ecfg,
        None,
        cfg.diarize,
        models,
        session_id,
        log=notice,
        inplace=True,
        diarizer_notes=True,
    )
    del audio
    progress(FRONT_END_SHARE)
    segments = []
    voices: dict = {}  # speaker -> its voice from its own enhanced stream (speaker_samples)
    asr = cfg.asr
    if asr.separated_temperatures is not None:
        asr = dataclasses.replace(asr, temperatures=asr.separated_temperatures)
    for i, speaker in enumerate(result.speakers, start=1):
        stream = result.speaker_audio(speaker)
        if audio_out is not None:
            from notsofar.audio import write

            write(Path(audio_out) / f"{speaker}.wav", stream, 16000)
        turns = result.diarization.filter(lambda s, spk=speaker: s.speaker == spk)
        words = recognize_source(ArraySource(stream, session_id), turns, asr, models)
        segments.extend(words)
        if cfg.diarize.speaker_samples:
            from notsofar.diarize.identify import speaker_voices

            own = {speaker: ArraySource(stream, session_id)}
            voices |= speaker_voices(own, result.diarization, cfg.diarize, models, [speaker])
        del stream
        progress(FRONT_END_SHARE + (1 - FRONT_END_SHARE) * i / len(result.speakers))
    transcript = Transcript(segments).sorted()
    diarization = result.diarization.with_session_id(session_id)
    if cfg.diarize.speaker_samples and result.speakers:
        from notsofar.diarize.identify import name_speakers, rename

        names, note = name_speakers(voices, list(result.speakers), cfg.diarize, models)
        notice(note)
        transcript, diarization = rename(transcript, names), rename(diarization, names)
    regions = tuple((s.start_time, s.end_time) for s in diarization.sorted())
    progress(1.0)
    return Result(transcript, diarization, duration, regions, array=ecfg.array)


def fallback_channel(
    audio: Any,
    ecfg: EnhanceConfig,
    channel: int | str,
    session_id: str,
    notice: Callable[[str], None],
    where: Path | None = None,
) -> int | None:
    """None when the front end can run on ``[C, T]`` 16 kHz ``audio``; else, with a notice
    saying why (one channel, an unknown geometry, fewer than two healthy channels), the channel
    the single-channel path takes instead.

    Raises:
        NotsofarError: ``audio`` does not fit the geometry (named after ``where``), or no
            channel is healthy.
    """
    from notsofar.arrays import load_array
    from notsofar.enhance import prepare_array

    if audio.shape[0] < 2:
        notice(f"{session_id}: mono input; using the single-channel path")
        return 0
    try:
        load_array(ecfg.array)
    except NotsofarError as e:
        notice(f"{session_id}: {e}; using the single-channel path")
        return _index(channel, audio.shape[0])
    try:
        prepare_array(audio, 16000, ecfg, session_id)  # errors before any heavy work
    except NotsofarError as e:
        if "healthy channel" not in e.message:
            raise NotsofarError(e.message, path=where) from None
        from notsofar.enhance.channels import check_channels

        kept = check_channels(audio, 16000, ecfg.channels).kept
        if not kept:
            raise
        notice(f"{session_id}: {e.message}; using the single-channel path on channel {kept[0]}")
        return kept[0]
    return None


def diarize_multichannel(
    inputs: str | Path | Sequence[str | Path],
    cfg: Any = None,
    models: Any = None,
    session_id: str = "audio",
    notice: Callable[[str], None] | None = None,
) -> Transcript:
    """``notsofar diarize`` on an array recording: the turns :func:`transcribe_multichannel`
    separates by (:func:`notsofar.enhance.diarize_array`: WPE, the voice diarizer on the
    dereverberated reference channel, split and merged by direction), or where the front end
    cannot run the single-channel diarizer on the channel :func:`fallback_channel` gives.
    ``inputs`` and ``cfg`` as :func:`transcribe_multichannel`'s."""
    from notsofar.diarize import diarize_source
    from notsofar.enhance import diarize_array
    from notsofar.pipeline.config import TranscribeConfig
    from notsofar.pipeline.models import ModelCache
    from notsofar.pipeline.source import ArraySource

    cfg = cfg or TranscribeConfig()
    notice = notice or _stderr
    models = models or ModelCache(cfg.device)
    ecfg = _front_end_config(cfg, None)
    audio, where = _read(inputs, ecfg)
    fallback = fallback_channel(audio, ecfg, cfg.channel, session_id, notice, where)
    if fallback is not None:
        source = ArraySource(audio[fallback], session_id)
        return diarize_source(
            source, cfg.diarize, models, notice=lambda m: notice(f"{session_id}: {m}")
        )
    turns = diarize_array(audio, 16000, ecfg, cfg.diarize, models, session_id, log=notice)[0]
    turns = turns.with_session_id(session_id)
    if cfg.diarize.speaker_samples:
        from notsofar.diarize.identify import identify, rename

        ref = ecfg.reference_channel if 0 <= ecfg.reference_channel < len(audio) else 0
        names, note = identify(ArraySource(audio[ref], session_id), turns, cfg.diarize, models)
        notice(f"{session_id}: {note}")
        turns = rename(turns, names)
    return turns


def _index(channel: int | str, num_channels: int) -> int:
    return channel if isinstance(channel, int) and -num_channels <= channel < num_channels else 0


def _single_channel(
    x: Any,
    cfg: Any,
    models: Any,
    session_id: str,
    on_progress: Callable[[float], None] | None = None,
) -> Any:
    import numpy as np

    from notsofar.pipeline.single import transcribe_source
    from notsofar.pipeline.source import ArraySource

    source = ArraySource(np.asarray(x, np.float32), session_id)
    return transcribe_source(source, cfg, models, on_progress)
