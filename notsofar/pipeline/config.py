"""Settings of ``notsofar transcribe``: input handling, the stages, and what is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notsofar.diarize.config import DiarizeConfig
from notsofar.enhance.config import EnhanceConfig
from notsofar.errors import NotsofarError
from notsofar.recognize.config import RecognizeConfig
from notsofar.restore.config import RestoreConfig

#: every output a session can have; ``<name>.done.json`` is written after all of them
OUTPUTS = (".seglst.json", ".rttm", ".srt", ".vtt", ".txt", ".words.json")


@dataclass(frozen=True)
class TranscribeConfig:
    """Who said what, when: (restore) -> VAD -> diarize -> recognize -> files."""

    #: single-channel path on multi-channel input: a channel index, ``mix`` (their average),
    #: ``speakers`` (one close microphone per speaker: a call recorded one party per channel,
    #: headset or per-guest tracks; speaker k is channel k, see notsofar.diarize.tracks) or
    #: ``auto``: ``speakers`` for a stereo file whose channels take turns being much louder
    #: than each other, the average of other stereo files, channel 0 of more channels
    #: (averaging an array's distant microphones blurs the speech)
    channel: int | str = "auto"
    #: ``channel: speakers``: a channel's speech counts where the channel is at least this many
    #: dB louder than the other channels' voices leak into it (the leak measured where one
    #: speaker talks alone), so a voice leaking into another speaker's microphone is not taken
    #: for that speaker while two people talking at once are both kept. Chosen on close-talk
    #: versions of the 42 real-voice tuning meetings (15-25 dB crosstalk): 3 / 6 / 10 / 12 / 15
    #: dB gave DER 36.4 / 12.6 / 9.3 / 9.7 / 11.0 % (pooled), every speaker count exact
    crosstalk_db: float = 10.0
    #: array geometry (built-in name such as notsofar_mc, or a YAML path): multi-channel input then
    #: goes to the multi-channel front end (notsofar.enhance). null = from the layout (NOTSOFAR MC
    #: sessions and 7-file mc_<device>/ folders use notsofar_mc; other multi-channel files take
    #: the single-channel path); "none" = always the single-channel path
    array: str | None = None
    #: auto (CUDA when available), cpu or cuda, for every model
    device: str = "auto"
    #: which files to write per session (suffixes from OUTPUTS)
    outputs: tuple[str, ...] = OUTPUTS
    diarize: DiarizeConfig = field(default_factory=DiarizeConfig)
    asr: RecognizeConfig = field(default_factory=RecognizeConfig)
    restore: RestoreConfig = field(default_factory=RestoreConfig)
    #: with restore.enabled: false = VAD and speaker embeddings read the original audio and only
    #: Whisper the restored one; true = every stage reads the restored audio
    restore_diarization: bool = False
    #: diarize each chunk in a background thread while Whisper recognizes it (the speaker models
    #: also load while Whisper loads): wall time near max(ASR, diarization) instead of the sum
    parallel_stages: bool = True
    #: the multi-channel front end's settings (used only with ``array`` on multi-channel input)
    enhance: EnhanceConfig = field(default_factory=EnhanceConfig)

    def validate(self) -> None:
        if self.device not in ("auto", "cpu", "cuda"):
            raise NotsofarError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if isinstance(self.channel, str) and self.channel not in ("mix", "auto", "speakers"):
            raise NotsofarError(
                f"channel must be an index, 'mix', 'auto' or 'speakers', got {self.channel!r}"
            )
        if not self.crosstalk_db > 0:
            raise NotsofarError(f"crosstalk_db must be > 0, got {self.crosstalk_db}")
        unknown = [o for o in self.outputs if o not in OUTPUTS]
        if unknown:
            raise NotsofarError(
                f"outputs: unknown {', '.join(unknown)} (known: {', '.join(OUTPUTS)})"
            )
        if ".seglst.json" not in self.outputs:
            raise NotsofarError("outputs must include .seglst.json (resuming relies on it)")


def with_speakers(
    cfg: Any,
    num_speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    speaker_samples: str | Path | None = None,
) -> Any:
    """A :class:`~notsofar.diarize.config.DiarizeConfig` with the given speaker counts (those
    not None) put in, as ``--num-speakers``/``--min-speakers``/``--max-speakers`` do, and the
    voice samples folder of ``--speaker-samples`` (checked: a one-line error before any work).

    >>> from notsofar.diarize.config import DiarizeConfig
    >>> c = with_speakers(DiarizeConfig(), min_speakers=2, max_speakers=4)
    >>> c.num_speakers, c.min_speakers, c.max_speakers
    (None, 2, 4)
    """
    import dataclasses

    counts = {"num_speakers": num_speakers, "min_speakers": min_speakers}
    counts["max_speakers"] = max_speakers
    given: dict[str, Any] = {k: v for k, v in counts.items() if v is not None}
    if speaker_samples is not None:
        from notsofar.diarize.identify import check_samples

        check_samples(speaker_samples)
        given["speaker_samples"] = str(Path(speaker_samples).resolve())
    return dataclasses.replace(cfg, **given) if given else cfg


def stage_settings(
    cfg: Any, section: str, channel: int | str | None, device: str | None, models: Any
) -> tuple[Any, int | str, Any]:
    """A stage's (section's) config, channel and model cache from what the stage API was given:
    a :class:`TranscribeConfig` (the config ``notsofar diarize``/``recognize`` read), the
    section's own config, or None (defaults). Explicit ``channel``/``device`` win."""
    full = cfg if isinstance(cfg, TranscribeConfig) else TranscribeConfig()
    stage = cfg if cfg is not None and not isinstance(cfg, TranscribeConfig) else None
    stage = stage or getattr(full, section)
    channel = full.channel if channel is None else channel
    if models is None:
        from notsofar.pipeline.models import ModelCache

        asr = stage if section == "asr" else full.asr
        models = ModelCache(device or full.device, asr.cpu_threads)
    return stage, channel, models
