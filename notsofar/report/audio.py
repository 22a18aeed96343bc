"""The report's audio: Opus in Ogg (PyAV's libopus), and a dense binary-to-text code for HTML.

An HTML file is UTF-8 text, so embedded audio must be spelled in characters. Base64 costs
4/3 of the bytes; :func:`bytes_to_text` costs about 1.18x: a prefix code whose 7-bit words
are spelled by one of 96 ASCII characters that may stand in a ``<script>`` data block (tab,
newline and printable ASCII except ``<``), and whose remaining 32 words take 5 or 6 more bits
and one two-byte character (U+00A0..U+07FF). The input is cut in 1024-byte chunks, encoded
side by side with numpy (a chunk's code ends on a whole character; its spare bits are zero), so
a 60-minute meeting encodes in well under a second; ``report.js`` decodes it with a table.

>>> data = bytes(range(256)) * 9
>>> text_to_bytes(bytes_to_text(data), len(data)) == data
True
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from notsofar.errors import NotsofarError

#: Bytes per independently coded chunk (``report.js`` must use the same).
CHUNK_BYTES = 1024
#: The 96 one-byte characters, in code order.
ASCII = "\t\n" + "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "<")
#: First two-byte code point (U+0080..U+009F are C1 controls, not allowed in HTML text).
TWO_BYTE_BASE = 0xA0
_SPAN = 59  # two-byte code points per leading 7-bit word: 5 five-bit + 54 six-bit tails

assert len(ASCII) == 96 and TWO_BYTE_BASE + 32 * _SPAN - 1 == 0x7FF


def _encode_table() -> tuple[np.ndarray, np.ndarray]:
    """For every 13-bit window (MSB first): the code point it starts with, and bits consumed."""
    w = np.arange(1 << 13)
    v = w >> 6
    u = w & 63
    ascii_cp = np.frombuffer(ASCII.encode("ascii"), dtype=np.uint8).astype(np.int64)
    k = np.where(u < 10, u >> 1, u - 5)
    cp = np.where(v < 96, ascii_cp[np.minimum(v, 95)], TWO_BYTE_BASE + (v - 96) * _SPAN + k)
    n = np.where(v < 96, 7, np.where(u < 10, 12, 13))
    return cp.astype(np.uint32), n.astype(np.int64)


def bytes_to_text(data: bytes, chunk: int = CHUNK_BYTES) -> str:
    """Spell ``data`` in HTML-safe characters (about 1.18 UTF-8 bytes per byte for audio)."""
    if not data:
        return ""
    cp_table, n_table = _encode_table()
    raw = np.frombuffer(data, dtype=np.uint8)
    lanes = -(-len(raw) // chunk)
    padded = np.zeros((lanes, chunk + 4), dtype=np.int64)  # a window may start past the end
    flat = np.zeros(lanes * chunk, dtype=np.uint8)
    flat[: len(raw)] = raw
    padded[:, :chunk] = flat.reshape(lanes, chunk)
    nbits = np.full(lanes, chunk * 8, dtype=np.int64)
    nbits[-1] = (len(raw) - (lanes - 1) * chunk) * 8
    pos = np.zeros(lanes, dtype=np.int64)
    rows = np.arange(lanes)
    steps: list[np.ndarray] = []
    active_steps: list[np.ndarray] = []
    while True:
        active = pos < nbits
        if not active.any():
            break
        b = pos >> 3
        x = (padded[rows, b] << 16) | (padded[rows, b + 1] << 8) | padded[rows, b + 2]
        window = (x >> (11 - (pos & 7))) & 0x1FFF
        steps.append(cp_table[window])
        active_steps.append(active)
        pos = pos + np.where(active, n_table[window], 0)
    cps = np.stack(steps, axis=1)  # [lanes, steps], lane-major = chunk order
    keep = np.stack(active_steps, axis=1)
    return cps[keep].astype("<u4").tobytes().decode("utf-32-le")


def _decode_table() -> dict[str, tuple[int, int]]:
    table = {c: (i, 7) for i, c in enumerate(ASCII)}
    for j in range(32):
        for k in range(_SPAN):
            c = chr(TWO_BYTE_BASE + j * _SPAN + k)
            table[c] = (((96 + j) << 5) | k, 12) if k < 5 else (((96 + j) << 6) | (k + 5), 13)
    return table


def text_to_bytes(text: str, length: int, chunk: int = CHUNK_BYTES) -> bytes:
    """Invert :func:`bytes_to_text` (a slow reference for tests; browsers use ``report.js``)."""
    table = _decode_table()
    out = bytearray()
    acc = nb = 0
    end = min(chunk, length)
    for c in text:
        value, n = table[c]
        acc, nb = (acc << n) | value, nb + n
        while nb >= 8:
            nb -= 8
            out.append((acc >> nb) & 255)
            if len(out) == end:
                nb, end = 0, min(end + chunk, length)
                break
        acc &= (1 << nb) - 1
    if len(out) != length:
        raise ValueError(f"decoded {len(out)} bytes, expected {length}")
    return bytes(out)


#: MIME type of :func:`encode_audio`'s output.
AUDIO_MIME = "audio/ogg"


def _blocks(path: Path | tuple[Path, ...], sample_rate: int) -> Iterable[np.ndarray]:
    from notsofar.audio import stream

    if isinstance(path, tuple):
        yield from _mixed(path, sample_rate)
        return
    yield from stream(path, block_s=30.0, sample_rate=sample_rate, channel="auto")


def _mixed(
    paths: tuple[Path, ...], sample_rate: int, block_s: float = 30.0
) -> Iterable[np.ndarray]:
    """One file per speaker summed into one track (each file's channels averaged; the
    shorter ones end in silence), read at the same times so that the voices stay aligned."""
    from notsofar.audio import SAMPLE_RATE, resample
    from notsofar.pipeline.source import FileSource

    sources = [FileSource(p, "mix") for p in paths]
    end, t = max(s.duration_s for s in sources), 0.0
    while t < end:
        parts = [s.read(t, block_s) if t < s.duration_s else np.zeros(0) for s in sources]
        mix = np.zeros(max(len(x) for x in parts), dtype=np.float32)
        if not len(mix):
            break
        for x in parts:
            mix[: len(x)] += x
        yield resample(np.clip(mix, -1.0, 1.0), SAMPLE_RATE, sample_rate)
        t += block_s


def encode_audio(
    path: str | Path | tuple[Path, ...], bitrate: int = 24000, sample_rate: int = 16000
) -> bytes:
    """Channel 0 of ``path`` as mono Opus in Ogg (``bitrate`` bit/s, VoIP tuning); a tuple of
    files (one per speaker) as their sum.

    libsndfile (soundfile) can write Ogg/Opus too, but runs libopus at its highest complexity
    with no setting for it: about 4x slower here than PyAV's libopus at complexity 5, which
    faster-whisper already installs.
    """
    import av

    path = tuple(Path(p) for p in path) if isinstance(path, tuple) else Path(path)
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format="ogg") as container:
            s = container.add_stream(
                "libopus",
                rate=sample_rate,
                options={"application": "voip", "compression_level": "5"},
            )
            s.bit_rate = bitrate
            s.layout = "mono"
            for x in _blocks(path, sample_rate):
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(x[None, :], dtype=np.float32), format="flt", layout="mono"
                )
                frame.sample_rate = sample_rate
                for packet in s.encode(frame):
                    container.mux(packet)
            for packet in s.encode(None):
                container.mux(packet)
    except NotsofarError:
        raise
    except Exception as e:  # PyAV/libopus errors carry no file name
        raise NotsofarError(
            f"cannot encode audio for the report: {e}",
            path=path[0].parent if isinstance(path, tuple) else path,
        ) from None
    return buf.getvalue()
