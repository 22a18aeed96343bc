"""Speech, transfer-function and noise sources for ``notsofar simulate``, chosen by name.

Speech corpora are indexed up front (paths, speakers, texts: cheap) and their audio is read
lazily by the worker that needs it, so a worker's memory does not grow with the corpus.
Readers register in :data:`SPEECH_FORMATS`; a new corpus layout is one function.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from notsofar.audio import AUDIO_SUFFIXES, audio_files
from notsofar.errors import NotsofarError

EMBEDDED_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class SpeechItem:
    """One utterance of a corpus: where its audio is, who speaks, what is said.

    ``word_timings`` ([[start, end], ...] seconds, relative to the item) when the corpus has them.
    """

    path: str
    speaker: str
    text: str
    start_s: float = 0.0
    duration_s: float | None = None
    word_timings: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True)
class SpeechCorpus:
    """An indexed corpus: items grouped by speaker (sorted, so indexing is deterministic)."""

    name: str
    items: tuple[SpeechItem, ...]

    @property
    def speakers(self) -> list[str]:
        return sorted({i.speaker for i in self.items})

    def by_speaker(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for k, item in enumerate(self.items):
            out.setdefault(item.speaker, []).append(k)
        return out


def words_in(
    item: SpeechItem, start_s: float, duration_s: float, whole: bool
) -> tuple[str | None, tuple[tuple[float, float], ...] | None]:
    """Text and word timings (relative to ``start_s``) of an excerpt of ``item``.

    Without word alignments only a ``whole`` utterance has a known text (None otherwise); with
    them, the words lying inside the excerpt are kept.

    >>> it = SpeechItem("a.wav", "s", "hello big world", word_timings=((0, .4), (.5, .8), (.9, 1.3)))
    >>> words_in(it, 0.45, 0.9, whole=False)
    ('big world', ((0.05, 0.35), (0.45, 0.85)))
    """
    words = item.text.split()
    if item.word_timings is None or len(item.word_timings) != len(words):
        return (item.text if whole else None), None
    keep = [
        (w, (round(a - start_s, 4), round(b - start_s, 4)))
        for w, (a, b) in zip(words, item.word_timings, strict=True)
        if a >= start_s - 1e-3 and b <= start_s + duration_s + 1e-3
    ]
    return " ".join(w for w, _ in keep), tuple(t for _, t in keep)


def _librispeech(path: Path) -> list[SpeechItem]:
    items = []
    for trans in sorted(path.rglob("*.trans.txt")):
        try:
            lines = trans.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise NotsofarError(f"cannot read transcript: {e}", path=trans) from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            utt_id, _, text = line.strip().partition(" ")
            audio = next(
                (
                    trans.parent / f"{utt_id}{s}"
                    for s in AUDIO_SUFFIXES
                    if (trans.parent / f"{utt_id}{s}").exists()
                ),
                None,
            )
            if audio is None:
                raise NotsofarError(
                    f"transcript line for '{utt_id}' has no audio file next to it",
                    path=trans,
                    line=n,
                )
            items.append(SpeechItem(str(audio), utt_id.split("-")[0], text.lower()))
    return items


def _tsv(path: Path) -> list[SpeechItem]:
    items = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise NotsofarError(f"cannot read TSV: {e}", path=path) from None
    for n, row in enumerate(csv.reader(text.splitlines(), delimiter="\t"), 1):
        if not row or row[0].startswith("#"):
            continue
        if len(row) < 3:
            raise NotsofarError("expected path<TAB>speaker<TAB>text", path=path, line=n)
        audio = Path(row[0]) if Path(row[0]).is_absolute() else path.parent / row[0]
        if not audio.exists():
            raise NotsofarError(f"audio file {row[0]} not found", path=path, line=n)
        items.append(SpeechItem(str(audio), row[1], row[2]))
    return items


def _lhotse(path: Path) -> list[SpeechItem]:
    """Cuts (or recordings+supervisions as cuts) from a lhotse manifest; word alignments kept."""
    from lhotse import CutSet

    try:
        cuts = CutSet.from_file(path)
    except Exception as e:  # lhotse raises many types for a bad manifest
        raise NotsofarError(f"not a readable lhotse cut manifest: {e}", path=path) from None
    items = []
    for cut in cuts:
        sup = cut.supervisions[0] if cut.supervisions else None
        sources = cut.recording.sources if cut.has_recording else []
        if not sources or sources[0].type != "file":
            raise NotsofarError(f"cut {cut.id}: only file audio sources are supported", path=path)
        words = None
        if sup is not None and sup.alignment and "word" in sup.alignment:
            words = tuple((a.start - cut.start, a.end - cut.start) for a in sup.alignment["word"])
        items.append(
            SpeechItem(
                str(sources[0].source),
                (sup.speaker if sup and sup.speaker else cut.recording_id),
                (sup.text or "") if sup else "",
                float(cut.start),
                float(cut.duration),
                words,
            )
        )
    return items


def _embedded(path: Path) -> list[SpeechItem]:
    return _tsv(EMBEDDED_DIR / "index.tsv")


#: Speech corpus readers by format name.
SPEECH_FORMATS: dict[str, Callable[[Path], list[SpeechItem]]] = {
    "embedded": _embedded,
    "librispeech": _librispeech,
    "lhotse": _lhotse,
    "tsv": _tsv,
}


def detect_format(source: str) -> str:
    """``embedded``, ``tsv``, ``lhotse`` (``.jsonl``/``.jsonl.gz``) or ``librispeech`` (folder)."""
    if source == "embedded":
        return "embedded"
    p = Path(source)
    name = p.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".json")):
        return "lhotse"
    if name.endswith((".tsv", ".txt")):
        return "tsv"
    if p.is_dir():
        return "librispeech"
    raise NotsofarError("speech source is not a folder, a .tsv or a lhotse manifest", path=p)


def load_corpus(source: str, fmt: str = "auto") -> SpeechCorpus:
    """Index a speech corpus; an empty or unreadable one is a one-line error."""
    if source != "embedded" and not Path(source).exists():
        raise NotsofarError("speech source not found", path=source)
    if fmt == "auto":
        fmt = detect_format(source)
    items = SPEECH_FORMATS[fmt](Path(source))
    if not items:
        raise NotsofarError(f"no utterances found ({fmt} layout)", path=source)
    return SpeechCorpus(source, tuple(items))


@lru_cache(maxsize=256)
def _read_cached(path: str, start_s: float, duration_s: float | None, sr: int) -> np.ndarray:
    from notsofar.audio import read

    x, _ = read(path, sample_rate=sr, channel="mix", start_s=start_s, duration_s=duration_s)
    if x.size == 0 or not np.any(x):
        raise NotsofarError("speech file is empty or silent", path=path)
    return x


def load_speech(item: SpeechItem, sample_rate: int) -> np.ndarray:
    """Mono float32 audio of ``item`` at ``sample_rate`` (a small per-process cache)."""
    return _read_cached(item.path, item.start_s, item.duration_s, sample_rate)


# ---- transfer functions -------------------------------------------------------------------


def index_measured_rirs(folder: str | Path, num_channels: int) -> list[str]:
    """Validate a folder of measured multichannel IRs (headers only) and list them sorted.

    Every file must have ``num_channels`` channels and all one sample rate.
    """
    from notsofar.audio import info

    folder = Path(folder)
    if not folder.is_dir():
        raise NotsofarError("transfer-function folder not found", path=folder)
    files = audio_files(folder)
    if not files:
        raise NotsofarError("no impulse-response audio files (wav/flac) in folder", path=folder)
    first = info(files[0])
    for f in files:
        i = info(f)
        if i.num_channels != num_channels:
            raise NotsofarError(
                f"impulse response has {i.num_channels} channel(s), the array has {num_channels}",
                path=f,
            )
        if i.sample_rate != first.sample_rate:
            raise NotsofarError(
                f"impulse response sample rate {i.sample_rate} Hz differs from "
                f"{first.sample_rate} Hz of {files[0].name}",
                path=f,
            )
        if i.num_samples == 0:
            raise NotsofarError("impulse response is empty", path=f)
    return [str(f) for f in files]


@lru_cache(maxsize=512)
def load_measured_rir(path: str, sample_rate: int, max_length_s: float) -> np.ndarray:
    """One measured IR as ``[C, L]`` at ``sample_rate``, checked finite and non-silent."""
    from notsofar.audio import read

    x, _ = read(path, sample_rate=sample_rate)
    x = np.atleast_2d(x)
    if not np.any(x):
        raise NotsofarError("impulse response is silent (all zeros)", path=path)
    return np.ascontiguousarray(x[:, : int(max_length_s * sample_rate)], dtype=np.float32)


# ---- noise --------------------------------------------------------------------------------


def index_noise(path: str | Path) -> list[str]:
    """Recorded noise files (a file, or every audio file under a folder)."""
    p = Path(path)
    if p.is_file():
        return [str(p)]
    if not p.is_dir():
        raise NotsofarError("noise path not found", path=p)
    files = [str(f) for f in audio_files(p)]
    if not files:
        raise NotsofarError("no noise audio files (wav/flac) in folder", path=p)
    return files


def read_manifest(path: str | Path) -> list[dict]:
    """Our loader for a simulation manifest (lhotse cut JSONL, gzipped or not)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, json.JSONDecodeError) as e:
        raise NotsofarError(f"cannot read manifest: {e}", path=path) from None
