"""Where audio comes from: a file read block by block, or an array already in memory.

The transcription stages only ever ask a source for consecutive blocks (VAD) or for one span
(embeddings and ASR over a group of speech regions), so a 60-minute file never has to be in
memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from notsofar.audio import SAMPLE_RATE


class AudioSource(Protocol):
    """Mono 16 kHz audio that can be streamed in blocks or read by span."""

    name: str

    @property
    def duration_s(self) -> float: ...

    def blocks(self, block_s: float) -> Iterator[tuple[float, np.ndarray]]:
        """Yield ``(start_s, samples)`` for consecutive blocks covering the whole audio."""
        ...

    def read(self, start_s: float, duration_s: float) -> np.ndarray:
        """The samples of ``[start_s, start_s + duration_s)`` (shorter at the end)."""
        ...


@dataclass
class ArraySource:
    """A mono array already in memory (the Python API's ``audio, sample_rate`` input)."""

    audio: np.ndarray
    name: str = "audio"

    @classmethod
    def from_array(
        cls, audio: np.ndarray, sample_rate: int, channel: int | str = 0, name: str = "audio"
    ) -> ArraySource:
        """Resample to 16 kHz and select ``channel`` (index or ``"mix"``) of ``[C, T]`` input."""
        from notsofar.audio import check_finite, resample, select_channel

        x = np.asarray(audio, dtype=np.float32)
        check_finite(x, name)
        x = select_channel(x, channel, name) if x.ndim == 2 else x
        if x.ndim == 2:  # a single remaining channel
            x = x[0]
        return cls(np.ascontiguousarray(resample(x, sample_rate, SAMPLE_RATE)), name)

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def blocks(self, block_s: float) -> Iterator[tuple[float, np.ndarray]]:
        step = max(1, int(block_s * SAMPLE_RATE))
        for i in range(0, len(self.audio), step):
            yield i / SAMPLE_RATE, self.audio[i : i + step]

    def read(self, start_s: float, duration_s: float) -> np.ndarray:
        a = max(0, int(round(start_s * SAMPLE_RATE)))
        return self.audio[a : a + int(round(duration_s * SAMPLE_RATE))]


@dataclass
class FileSource:
    """An audio file, read lazily; any rate (resampled) and channel choice (index or ``"mix"``)."""

    path: Path
    channel: int | str = 0
    name: str = ""

    def __post_init__(self) -> None:
        from notsofar.audio import info

        self.path = Path(self.path)
        self.info = info(self.path)  # one-line error for missing/unreadable files
        if not self.name:
            from notsofar.data import safe_id

            self.name = safe_id(self.path.name.split(".")[0])
        if self.info.num_channels > 1 and self.channel not in ("mix", "auto"):
            from notsofar.audio import select_channel

            # validate the index now, before any work is done
            select_channel(np.zeros((self.info.num_channels, 1)), self.channel, self.path)

    @property
    def duration_s(self) -> float:
        return self.info.duration_s

    def _channel(self) -> int | str | None:
        return self.channel if self.info.num_channels > 1 else None

    def blocks(self, block_s: float) -> Iterator[tuple[float, np.ndarray]]:
        from notsofar.audio import stream

        t = 0.0
        for x in stream(self.path, block_s=block_s, channel=self._channel()):
            yield t, x
            t += len(x) / SAMPLE_RATE

    def read(self, start_s: float, duration_s: float) -> np.ndarray:
        from notsofar.audio import read

        x, _ = read(self.path, channel=self._channel(), start_s=start_s, duration_s=duration_s)
        return x
