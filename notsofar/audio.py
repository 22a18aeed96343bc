"""Audio in and out: read any soundfile format, resample, pick channels, stream, write atomically.

What libsndfile cannot open (AAC/M4A from phones and video calls, MP4/MOV/WebM/MKV audio, WMA)
is read through FFmpeg (PyAV, installed with faster-whisper): its header from the container,
its samples decoded once into a temporary 16-bit WAV (:func:`decoded`), removed when the
process ends.

Arrays are float32. Multi-channel audio is ``[channels, samples]``; mono is ``[samples]``.
Sample counts are named ``*_samples``/``num_samples``; seconds ``*_s``/``*_time``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from notsofar.errors import NotsofarError
from notsofar.io.atomic import atomic_path

#: Sample rate every speech stage works at.
SAMPLE_RATE = 16000

#: file name suffixes taken for audio when a folder is searched (any file given by name is tried)
AUDIO_SUFFIXES = (
    ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".au", ".caf", ".w64",
    ".rf64", ".sph",  # libsndfile
    ".m4a", ".aac", ".webm", ".mka", ".wma",  # FFmpeg
)  # fmt: skip
#: at most this many FFmpeg-decoded files are kept at once (the oldest is deleted first)
MAX_DECODED = 16


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sample_rate: int
    num_channels: int
    num_samples: int

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate if self.sample_rate else 0.0


def audio_files(folder: str | Path, recursive: bool = True) -> list[Path]:
    """The audio files in ``folder`` (and below it when ``recursive``), sorted by path.

    A file counts by its suffix (:data:`AUDIO_SUFFIXES`). Hidden names *below* ``folder`` are
    left out (``.DS_Store``-style files, ``.ipynb_checkpoints/``, ``.Trash/``), but a folder that
    itself lies under a hidden directory (``~/.cache/meetings``) is searched like any other.
    """
    folder = Path(folder)
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p
        for p in found
        if p.suffix.lower() in AUDIO_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )


def info(path: str | Path) -> AudioInfo:
    """Header information of an audio file, with a one-line error for unreadable files."""
    return _header(path)[0]


def _header(path: str | Path) -> tuple[AudioInfo, bool]:
    """:func:`info`, and whether libsndfile opens the file itself (False: FFmpeg reads it,
    through :func:`decoded`)."""
    import soundfile as sf

    path = Path(path)
    if not path.exists():
        raise NotsofarError("audio file not found", path=path)
    if path.is_dir():
        raise NotsofarError("is a directory, expected an audio file", path=path)
    try:
        i = sf.info(str(path))
    except Exception as e:  # soundfile raises LibsndfileError / RuntimeError with libsndfile text
        found = _ffmpeg_info(path)
        if found is None:
            raise NotsofarError(f"cannot read audio: {_sf_reason(e)}", path=path) from None
        return found, False
    return AudioInfo(str(path), int(i.samplerate), int(i.channels), int(i.frames)), True


#: (resolved path, size, mtime) -> the temporary WAV its audio was decoded into
_DECODED: dict[tuple[str, int, int], Path] = {}
_DECODED_DIR: list[Path] = []  # this process's temporary folder, made on first use


def file_key(path: Path) -> tuple[str, int, int]:
    """A file's identity for caches: resolved path, size and modification time (ns)."""
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def _ffmpeg_info(path: Path) -> AudioInfo | None:
    """Header information from the container (no decoding) for a file that FFmpeg reads and
    libsndfile does not; None when FFmpeg cannot read it either or it holds no audio."""
    done = _DECODED.get(file_key(path))
    if done is not None and done.is_file():
        i = _sf_info(done)
        return AudioInfo(str(path), i.sample_rate, i.num_channels, i.num_samples)
    try:
        import av

        with av.open(str(path)) as c:
            if not c.streams.audio:
                return None
            st = c.streams.audio[0]
            rate, channels = int(st.rate or 0), int(st.channels or 0)
            if st.duration is not None and st.time_base is not None:
                seconds = float(st.duration * st.time_base)
            else:
                seconds = (c.duration or 0) / 1e6  # av.time_base: microseconds
    except Exception:  # noqa: BLE001 (not a media file FFmpeg knows)
        return None
    if rate <= 0 or channels <= 0:
        return None
    return AudioInfo(str(path), rate, channels, int(round(seconds * rate)))


def _sf_info(path: Path) -> AudioInfo:
    import soundfile as sf

    i = sf.info(str(path))
    return AudioInfo(str(path), int(i.samplerate), int(i.channels), int(i.frames))


def decoded(path: str | Path) -> Path:
    """What libsndfile should open for ``path``: the file itself, or for a file only FFmpeg
    reads a temporary 16-bit WAV of its first audio stream (native rate and channels; the
    lossy source holds no more than 16 bits, and half the size of float keeps a long recording
    small in a RAM-backed /tmp: ``TMPDIR`` chooses the folder), decoded on first use and kept
    for the next reads (at most :data:`MAX_DECODED` files). A stream that breaks off (a
    recording cut short) keeps the audio decoded before the break."""
    return _source(path)[1]


def _source(path: str | Path) -> tuple[AudioInfo, Path]:
    """``path``'s header (:func:`info`) and what libsndfile should open for it
    (:func:`decoded`), the header read once."""
    meta, native = _header(path)
    path = Path(path)
    if native:
        return meta, path
    key = file_key(path)
    if key in _DECODED and _DECODED[key].is_file():
        return meta, _DECODED[key]
    import av
    import soundfile as sf

    out = _decoded_dir() / f"{len(_DECODED)}-{abs(hash(key))}.wav"
    written = 0
    try:
        with (
            av.open(str(path)) as c,
            sf.SoundFile(
                str(out), "w", meta.sample_rate, meta.num_channels, "PCM_16", format="WAV"
            ) as f,
        ):
            st = c.streams.audio[0]
            to_float = av.AudioResampler(format="flt", layout=st.layout.name, rate=st.rate)
            try:
                for frame in c.decode(st):
                    for piece in to_float.resample(frame):
                        x = piece.to_ndarray().reshape(-1, meta.num_channels)
                        f.write(np.clip(x, -1.0, 1.0))  # AAC may overshoot full scale
                        written += len(x)
            except av.FFmpegError:
                if not written:
                    raise
            for piece in to_float.resample(None):
                f.write(np.clip(piece.to_ndarray().reshape(-1, meta.num_channels), -1.0, 1.0))
    except Exception as e:  # noqa: BLE001 (FFmpeg's messages vary; one line names the file)
        out.unlink(missing_ok=True)
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise NotsofarError(f"cannot decode audio: {reason}", path=path) from None
    while len(_DECODED) >= MAX_DECODED:
        _DECODED.pop(next(iter(_DECODED))).unlink(missing_ok=True)
    _DECODED[key] = out
    return meta, out


def _decoded_dir() -> Path:
    if not _DECODED_DIR:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="notsofar-decoded-"))
        atexit.register(shutil.rmtree, folder, True)
        _DECODED_DIR.append(folder)
    return _DECODED_DIR[0]


def durations_s(paths: Iterable[str | Path]) -> list[float]:
    """Each file's duration (s) from its header; 0.0 for a file that cannot be read (sizes and
    progress of a batch, known before its work, which reports the unreadable file itself)."""
    out = []
    for path in paths:
        try:
            out.append(info(path).duration_s)
        except Exception:  # noqa: BLE001
            out.append(0.0)
    return out


def _sf_reason(e: Exception) -> str:
    text = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    return text.split(": ", 1)[-1] if "Error opening" in text else text


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample along the last axis with soxr (high quality, fast)."""
    if sr_in == sr_out:
        return x
    import soxr

    if x.ndim == 1:
        return soxr.resample(x, sr_in, sr_out).astype(np.float32)
    return soxr.resample(x.T, sr_in, sr_out).T.astype(np.float32).copy()


def resolve_channel(channel: int | str, num_channels: int) -> int | str:
    """``"auto"`` made concrete for a file of ``num_channels``: a stereo file's two channels
    are averaged (a call recorded one party per channel, or a stereo pair, keeps every voice);
    a file of more channels (a microphone array without its geometry) uses channel 0, where
    averaging distant microphones would blur the speech. Anything else is returned as given.

    >>> resolve_channel("auto", 2), resolve_channel("auto", 7), resolve_channel(3, 7)
    ('mix', 0, 3)
    """
    if channel == "auto":
        return "mix" if num_channels == 2 else 0
    return channel


def select_channel(x: np.ndarray, channel: int | str | None, path: str | Path = "") -> np.ndarray:
    """Pick one channel of ``[C, T]`` audio: an index, ``"mix"`` (mean), ``"auto"``
    (:func:`resolve_channel`) or None (keep all)."""
    if x.ndim == 1 or channel is None:
        return x
    channel = resolve_channel(channel, x.shape[0])
    if channel == "mix":
        return x.mean(axis=0)
    if channel == "speakers":
        raise NotsofarError(
            "channel=speakers (one speaker per channel) is for files given to transcribe or "
            "diarize; here pick a channel index or 'mix'",
            path=path,
        )
    try:
        idx = int(channel)
    except (TypeError, ValueError):
        raise NotsofarError(
            f"channel must be an index, 'mix', 'auto' or 'speakers', got {channel!r}", path=path
        ) from None
    if not -x.shape[0] <= idx < x.shape[0]:
        raise NotsofarError(
            f"channel {idx} out of range: the file has {x.shape[0]} channel(s)", path=path
        )
    return x[idx]


def check_finite(x: np.ndarray, path: str | Path) -> None:
    if not np.all(np.isfinite(x)):
        raise NotsofarError("audio contains NaN or infinite samples", path=path)


def read(
    path: str | Path,
    sample_rate: int | None = SAMPLE_RATE,
    channel: int | str | None = None,
    start_s: float = 0.0,
    duration_s: float | None = None,
) -> tuple[np.ndarray, int]:
    """Read audio as float32 ``[C, T]`` (or ``[T]`` if mono or one channel is selected).

    Args:
        path: any file soundfile/libsndfile reads (wav, flac, ogg, ...) or FFmpeg does (m4a,
            mp4, webm, ...: :func:`decoded`).
        sample_rate: resample to this rate; None keeps the file's rate.
        channel: None keeps all channels, an int selects one, ``"mix"`` averages them.
        start_s, duration_s: read only part of the file.

    Returns:
        ``(audio, sample_rate)``.
    """
    import soundfile as sf

    meta, src = _source(path)
    start = int(round(start_s * meta.sample_rate))
    frames = -1 if duration_s is None else int(round(duration_s * meta.sample_rate))
    try:
        data, sr = sf.read(str(src), start=start, frames=frames, dtype="float32", always_2d=True)
    except Exception as e:
        raise NotsofarError(f"cannot decode audio: {_sf_reason(e)}", path=path) from None
    x = data.T  # [C, T]
    check_finite(x, path)
    x = select_channel(x, channel, path)
    if x.ndim == 2 and x.shape[0] == 1:
        x = x[0]
    if sample_rate is not None and sr != sample_rate:
        x = resample(x, sr, sample_rate)
        sr = sample_rate
    return np.ascontiguousarray(x, dtype=np.float32), int(sr)


def stream(
    path: str | Path,
    block_s: float = 30.0,
    sample_rate: int = SAMPLE_RATE,
    channel: int | str | None = None,
) -> Iterator[np.ndarray]:
    """Yield consecutive blocks of a long file, resampled, so memory does not grow with duration."""
    import soundfile as sf

    meta, src = _source(path)
    block = max(1, int(block_s * meta.sample_rate))
    try:
        f = sf.SoundFile(str(src))
    except Exception as e:
        raise NotsofarError(f"cannot read audio: {_sf_reason(e)}", path=path) from None
    with f:
        resampler = None
        if meta.sample_rate != sample_rate:
            import soxr

            resampler = soxr.ResampleStream(
                meta.sample_rate,
                sample_rate,
                meta.num_channels if channel is None else 1,
                dtype="float32",
            )
        while True:
            data = f.read(block, dtype="float32", always_2d=True)
            last = len(data) < block
            x = select_channel(data.T, channel, path)
            check_finite(x, path)
            if resampler is not None:
                y = resampler.resample_chunk(x.T if x.ndim == 2 else x, last=last)
                x = y.T if y.ndim == 2 else y
            if x.ndim == 2 and x.shape[0] == 1:
                x = x[0]
            if x.shape[-1]:
                yield np.ascontiguousarray(x, dtype=np.float32)
            if last:
                break


def write(
    path: str | Path,
    audio: np.ndarray,
    sample_rate: int,
    subtype: str | None = None,
    comment: str | None = None,
) -> Path:
    """Write ``[C, T]`` or ``[T]`` audio atomically; the format follows the suffix. ``comment``
    goes into the file's comment tag where the format has one (WAV, FLAC, OGG, AIFF)."""
    import soundfile as sf

    path = Path(path)
    data = audio.T if audio.ndim == 2 else audio
    channels = 1 if data.ndim == 1 else data.shape[1]
    with atomic_path(path) as tmp:
        try:
            with sf.SoundFile(
                str(tmp), "w", sample_rate, channels, subtype=subtype, format=_format_for(path)
            ) as f:
                if comment:
                    with contextlib.suppress(RuntimeError):  # a format without string tags
                        f.comment = comment
                f.write(data)
        except Exception as e:
            raise NotsofarError(f"cannot write audio: {e}", path=path) from None
    return path


def comment_of(path: str | Path) -> str:
    """The comment tag :func:`write` put in ``path`` (``""`` if none or unreadable)."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            return f.comment or ""
    except Exception:  # noqa: BLE001 (an unreadable file has no usable comment)
        return ""


def writable_name(path: Path) -> Path:
    """``path``, or with a ``.wav`` suffix when soundfile cannot write its format (an M4A
    input mirrored into an output folder).

    >>> writable_name(Path("out/a.flac")), writable_name(Path("out/call.m4a"))
    (PosixPath('out/a.flac'), PosixPath('out/call.wav'))
    """
    import soundfile as sf

    fmt = _format_for(path) or path.suffix.lstrip(".").upper()
    return path if fmt and fmt in sf.available_formats() else path.with_suffix(".wav")


def check_output_format(path: str | Path) -> None:
    """A one-line error unless soundfile can write audio named ``path`` (by its suffix)."""
    import soundfile as sf

    path = Path(path)
    fmt = _format_for(path) or path.suffix.lstrip(".").upper()
    if not fmt or fmt not in sf.available_formats():
        raise NotsofarError(
            f"unknown audio format {path.suffix or '(no suffix)'!r} for output "
            "(use .wav, .flac, .ogg, ...)",
            path=path,
        )


def wav_truncation(path: str | Path) -> tuple[float, float] | None:
    """``(seconds present, seconds the header promises)`` for a RIFF/WAVE file whose data
    chunk is shorter than its header says (a copy or download cut short); None otherwise.
    libsndfile reads such a file without a word, so callers warn."""
    import struct

    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            byte_rate = 0
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"fmt ":
                    fmt = f.read(size + size % 2)
                    if len(fmt) >= 12:
                        byte_rate = struct.unpack("<I", fmt[8:12])[0]
                    continue
                if cid == b"data":
                    present = path.stat().st_size - f.tell()
                    # 0 and 0xFFFFFFFF: writers that stream without knowing the length
                    if size in (0, 0xFFFFFFFF) or present >= size or not byte_rate:
                        return None
                    return present / byte_rate, size / byte_rate
                f.seek(size + size % 2, 1)
    except OSError:
        return None


def _format_for(path: Path) -> str | None:
    ext = path.suffix.lower().lstrip(".")
    return {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "aiff": "AIFF", "aif": "AIFF"}.get(ext)
