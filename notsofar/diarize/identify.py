"""Speaker identification: name diarized speakers after people's voice samples.

``diarize.speaker_samples`` (``--speaker-samples DIR`` on ``transcribe`` and ``diarize``) is a
folder of recordings of the people who may take part: ``Alice.wav``, ``Bob Smith.m4a`` (one
file per person, named after them) or ``Alice/*.wav`` (a sub-folder per person, any number of
files). After diarization each speaker's voice (CAM++ over their speech where nobody else talks,
at most :data:`MAX_SPEECH_S`) is compared with every person's sample (CAM++ over the sample's
speech, Silero VAD); speakers and people are paired one to one (Hungarian assignment on cosine
similarity) and a pair is named only where the similarity reaches
``diarize.identify_threshold``. Everyone else keeps ``spk<k>``: a guest nobody recorded, or a
person whose voice matches nobody well enough. Naming never merges or splits speakers; it only
renames them, so the diarization's turns and counts are unchanged. On a telephone-band
recording the samples are compared through the same line (:func:`telephone_band`) and the
stricter ``diarize.identify_narrowband_threshold`` applies (voices sit closer together there).

The samples' embeddings are computed once per process and folder (kept while the files are
unchanged), so a batch pays for them once per worker.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.errors import NotsofarError

if TYPE_CHECKING:
    from notsofar.data import Transcript
    from notsofar.diarize.config import DiarizeConfig
    from notsofar.pipeline.source import AudioSource

#: speech embedded per speaker or sample at most (s): CAM++ statistics settle well before this
MAX_SPEECH_S = 60.0
#: the least speech (s) a sample must hold, and a speaker's solo speech must hold to be named
MIN_SPEECH_S = 1.0
#: pieces of a speaker's solo speech shorter than this (s) are not embedded
MIN_PIECE_S = 0.5


@dataclass(frozen=True)
class Voice:
    """A person's voice sample: name, L2-normalised CAM++ embedding, seconds of speech behind
    it, and the files it came from."""

    name: str
    embedding: np.ndarray
    speech_s: float
    files: tuple[Path, ...]


def sample_files(folder: str | Path) -> dict[str, list[Path]]:
    """Person name -> sample files in ``folder``: a file directly in it is one person (its name
    without the audio extension), a sub-folder is one person (its name) with every audio file
    below it. Whitespace in names becomes ``_`` (RTTM fields hold none); a one-line error for a
    missing folder, a file instead of a folder, or no audio in it."""
    from notsofar.audio import audio_files
    from notsofar.data import safe_id

    folder = Path(folder)
    if not folder.exists():
        raise NotsofarError("speaker samples folder not found", path=folder)
    if not folder.is_dir():
        raise NotsofarError(
            "speaker samples must be a folder (one file or sub-folder per person)", path=folder
        )
    people: dict[str, list[Path]] = {}
    for p in audio_files(folder):
        rel = p.relative_to(folder)
        name = rel.parts[0] if len(rel.parts) > 1 else rel.name.split(".")[0]
        people.setdefault(safe_id(name), []).append(p)
    if not people:
        raise NotsofarError("no audio files in the speaker samples folder", path=folder)
    return people


def check_samples(folder: str | Path) -> None:
    """A one-line error, before any work, for a samples folder that :func:`sample_files`
    rejects or holding a file that cannot be read as audio."""
    from notsofar.audio import info

    for files in sample_files(folder).values():
        for path in files:
            info(path)


def embed_spans(
    net: Any, audio: np.ndarray, spans: list[tuple[int, int]]
) -> tuple[np.ndarray, float]:
    """One L2-normalised CAM++ embedding of the samples ``audio[a:b]`` of every span (sample
    indices), pooled over all their frames (each span's features computed on its own, so no
    frame straddles two spans), and the spans' telephone-band measure
    (:func:`notsofar.features.band_gap_db`, dB)."""
    from notsofar.diarize.pyannote import campplus_frames, pooled_embeddings
    from notsofar.features import band_gap_db, kaldi_fbank

    fbanks = [kaldi_fbank(audio[a:b]) for a, b in spans if b - a > 400]
    frames = [campplus_frames(net, f) for f in fbanks]
    feats = np.concatenate([f for f in frames if f.size], axis=1)
    emb = pooled_embeddings(net, feats, np.ones((1, feats.shape[1]), bool))[0]
    return emb, band_gap_db(np.concatenate(fbanks))[0]


def telephone_band(x: np.ndarray) -> np.ndarray:
    """16 kHz audio through a telephone line's band, as a call's speakers sound: 300-3400 Hz
    and 8 kHz sampling (the resampler's steep edge at 4 kHz mattered: a reader's sample scored
    0.66 / 0.75 against their call with the band-pass alone, 0.75 / 0.85 with the 8 kHz step,
    0.77 / 0.85 through the full line with mu-law)."""
    from scipy.signal import butter, sosfilt

    from notsofar.audio import resample

    sos = butter(6, [300, 3400], btype="band", fs=SAMPLE_RATE, output="sos")
    y = sosfilt(sos, np.asarray(x, np.float64)).astype(np.float32)
    y = resample(resample(y, SAMPLE_RATE, 8000), 8000, SAMPLE_RATE)
    return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]


def _cap(spans: list[tuple[float, float]], limit_s: float) -> list[tuple[float, float]]:
    """The longest spans up to ``limit_s`` seconds in all (the last one cut), in time order."""
    out, total = [], 0.0
    for a, b in sorted(spans, key=lambda s: s[0] - s[1]):
        if total >= limit_s:
            break
        b = min(b, a + limit_s - total)
        out.append((a, b))
        total += b - a
    return sorted(out)


def _voice_of(
    source: AudioSource, spans: list[tuple[float, float]], net: Any, narrowband: bool = False
) -> tuple[np.ndarray, float]:
    """:func:`embed_spans` of ``spans`` of ``source`` (``narrowband``: each piece through
    :func:`telephone_band` first)."""
    pieces, parts, at = [], [], 0
    for a, b in spans:
        x = source.read(a, b - a)
        pieces.append(telephone_band(x) if narrowband else x)
        parts.append((at, at + len(x)))
        at += len(x)
    return embed_spans(net, np.concatenate(pieces), parts)


_CACHE: dict[tuple, list[Voice]] = {}
_LOCK = threading.Lock()


def load_voices(
    folder: str | Path, cfg: DiarizeConfig, models: Any, narrowband: bool = False
) -> list[Voice]:
    """The people of ``folder`` (see :func:`sample_files`) with their voices' embeddings
    (``narrowband``: of the samples through a telephone line's band, to compare with a call's
    speakers); cached per process while the folder's files are unchanged. A one-line error
    names a sample that cannot be read or holds under :data:`MIN_SPEECH_S` of speech."""
    from notsofar.audio import file_key
    from notsofar.pipeline.source import FileSource
    from notsofar.vad import source_regions

    people = sample_files(folder)
    files = tuple(file_key(p) for v in people.values() for p in v)
    key = (str(Path(folder).resolve()), cfg.runtime, narrowband, files)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    _, net = models.diarizer_networks(cfg.runtime, cfg.threads)
    voices = []
    for name, files in people.items():
        embs, weights = [], []
        for path in files:
            source = FileSource(path, "mix")
            spans = _cap(source_regions(source, cfg.vad), MAX_SPEECH_S)
            speech = sum(b - a for a, b in spans)
            if speech < MIN_SPEECH_S:
                raise NotsofarError(
                    f"speaker sample holds {speech:.1f} s of speech; at least "
                    f"{MIN_SPEECH_S:.0f} s is needed to recognise {name}",
                    path=path,
                )
            embs.append(_voice_of(source, spans, net, narrowband)[0])
            weights.append(speech)
        mean = np.average(np.stack(embs), axis=0, weights=weights)
        voices.append(Voice(name, mean / np.linalg.norm(mean), float(sum(weights)), tuple(files)))
    with _LOCK:
        _CACHE[key] = voices
    return voices


def solo_spans(turns: Transcript, speaker: str) -> list[tuple[float, float]]:
    """``speaker``'s turns minus every other speaker's (where nobody else talks), pieces of at
    least :data:`MIN_PIECE_S`."""
    from notsofar.vad import subtract_regions

    own = sorted((s.start_time, s.end_time) for s in turns if s.speaker == speaker)
    others = [(s.start_time, s.end_time) for s in turns if s.speaker != speaker]
    return subtract_regions(own, others, MIN_PIECE_S)


def speaker_voices(
    sources: dict[str, AudioSource] | AudioSource,
    turns: Transcript,
    cfg: DiarizeConfig,
    models: Any,
    only: list[str] | None = None,
) -> dict[str, tuple[np.ndarray, float, float]]:
    """Each speaker of ``turns`` (or of ``only``) -> (embedding, seconds of solo speech behind
    it, its telephone-band measure in dB), read from ``sources[speaker]`` (one source for all,
    or one per speaker: the multi-channel front end's enhanced streams). Speakers with under
    :data:`MIN_SPEECH_S` of solo speech are left out."""
    _, net = models.diarizer_networks(cfg.runtime, cfg.threads)
    speakers = turns.speakers if only is None else only
    if not isinstance(sources, dict):
        sources = dict.fromkeys(speakers, sources)
    out = {}
    for speaker in speakers:
        spans = _cap(solo_spans(turns, speaker), MAX_SPEECH_S)
        speech = sum(b - a for a, b in spans)
        if speech >= MIN_SPEECH_S:
            emb, gap = _voice_of(sources[speaker], spans, net)
            out[speaker] = (emb, speech, gap)
    return out


def match(
    voices: dict[str, tuple[np.ndarray, ...]], people: list[Voice], threshold: float
) -> dict[str, tuple[str, float]]:
    """Speaker -> (person, cosine similarity) for the one-to-one pairing of highest total
    similarity, keeping the pairs at or above ``threshold``.

    >>> e = np.eye(3)
    >>> people = [Voice("ann", e[0], 5.0, ()), Voice("bo", e[1], 5.0, ())]
    >>> v = {"spk0": (e[1], 9.0), "spk1": (np.array([0.8, 0.6, 0.0]), 9.0), "spk2": (e[2], 9.0)}
    >>> match(v, people, 0.5)
    {'spk0': ('bo', 1.0), 'spk1': ('ann', 0.8)}
    """
    from scipy.optimize import linear_sum_assignment

    speakers = list(voices)
    if not speakers or not people:
        return {}
    sim = np.stack([voices[s][0] for s in speakers]) @ np.stack([p.embedding for p in people]).T
    rows, cols = linear_sum_assignment(-sim)
    return {
        speakers[r]: (people[c].name, round(float(sim[r, c]), 3))
        for r, c in zip(rows, cols, strict=True)
        if sim[r, c] >= threshold
    }


def rename(transcript: Transcript, names: dict[str, str]) -> Transcript:
    """``transcript`` with speakers renamed by ``names`` (others unchanged)."""
    import dataclasses

    return transcript.map(lambda s: dataclasses.replace(s, speaker=names.get(s.speaker, s.speaker)))


def narrowband(voices: dict[str, tuple[np.ndarray, float, float]], cfg: DiarizeConfig) -> bool:
    """Whether the speakers' voices (:func:`speaker_voices`) are telephone-band, by their
    speech-weighted band measure against ``cfg.narrowband_gap_db``: then the samples are
    compared through the same band (a person's wideband sample scored 0.55-0.60 against their
    voice on a call, other people up to 0.57; bench_identify.py on telephone copies)."""
    speech = sum(v[1] for v in voices.values())
    gap = sum(v[1] * v[2] for v in voices.values()) / speech if speech else 0.0
    return cfg.narrowband_gap_db > 0 and gap >= cfg.narrowband_gap_db


def name_speakers(
    voices: dict[str, tuple[np.ndarray, float, float]],
    speakers: list[str],
    cfg: DiarizeConfig,
    models: Any,
) -> tuple[dict[str, str], str]:
    """Names for ``speakers`` (whose ``voices`` :func:`speaker_voices` gave) from
    ``cfg.speaker_samples``: (speaker -> person, a one-line notice saying who was recognised).
    A speaker left unnamed whose label equals a person's name becomes ``<label>_unknown``."""
    narrow = narrowband(voices, cfg)
    people = load_voices(cfg.speaker_samples, cfg, models, narrow)
    threshold = cfg.identify_narrowband_threshold if narrow else cfg.identify_threshold
    found = match(voices, people, threshold)
    names = {s: name for s, (name, _) in found.items()}
    said = ", ".join(f"{s} = {n} ({sim:.2f})" for s, (n, sim) in sorted(found.items()))
    rest = len(speakers) - len(found)
    notice = f"speakers recognised from {len(people)} voice samples: {said or 'none'}" + (
        f"; {rest} not matched (they keep their labels)" if rest else ""
    )
    taken = set(names.values())
    for s in speakers:
        if s not in names and s in taken:
            names[s] = f"{s}_unknown"
    return names, notice


def identify(
    source: dict[str, AudioSource] | AudioSource,
    turns: Transcript,
    cfg: DiarizeConfig,
    models: Any,
) -> tuple[dict[str, str], str]:
    """Names for the speakers of ``turns`` from ``cfg.speaker_samples`` where a voice matches
    (apply them with :func:`rename`), and the notice of :func:`name_speakers`; ``({}, "")``
    without samples or speakers. ``source``: the audio the turns are on, or one source per
    speaker."""
    if not cfg.speaker_samples or not turns.speakers:
        return {}, ""
    voices = speaker_voices(source, turns, cfg, models)
    return name_speakers(voices, turns.speakers, cfg, models)
