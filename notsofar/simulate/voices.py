"""Speech synthesis with espeak-ng: distinct, reproducible voices for synthetic meetings.

espeak-ng is a development-time tool here (fixtures, benchmark meetings); nothing at run time
needs it: the embedded speech of ``notsofar simulate`` is shipped as FLAC package data.
A :class:`Voice` is an espeak voice + variant with its own pitch and speed, so a speaker encoder
sees clearly different speakers.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from notsofar.audio import SAMPLE_RATE
from notsofar.errors import NotsofarError


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: espeak language voice, variant, pitch (0-99) and words per minute."""

    name: str
    language: str = "en-us"
    variant: str = "m3"
    pitch: int = 50
    speed_wpm: int = 160

    @property
    def espeak_voice(self) -> str:
        return f"{self.language}+{self.variant}"


#: Voices chosen to be far apart in pitch/timbre/accent (male and female variants, US/GB).
VOICES: tuple[Voice, ...] = (
    Voice("spk_m3_us", "en-us", "m3", 38, 150),
    Voice("spk_f2_us", "en-us", "f2", 62, 165),
    Voice("spk_m1_gb", "en-gb", "m1", 28, 140),
    Voice("spk_f4_gb", "en-gb", "f4", 72, 155),
    Voice("spk_m7_us", "en-us", "m7", 50, 170),
    Voice("spk_f1_us", "en-us", "f1", 55, 145),
    Voice("spk_m5_gb", "en-gb", "m5", 42, 160),
    Voice("spk_f5_us", "en-us", "f5", 80, 150),
    Voice("spk_m2_us", "en-us", "m2", 20, 155),
    Voice("spk_f3_gb", "en-gb", "f3", 66, 170),
    Voice("spk_m6_gb", "en-gb", "m6", 34, 165),
    Voice("spk_m4_us", "en-us", "m4", 60, 145),
)


def espeak_available() -> bool:
    """True when the ``espeak-ng`` binary is on PATH."""
    return shutil.which("espeak-ng") is not None


def trim_silence(x: np.ndarray, threshold_db: float = -45.0, pad_samples: int = 160) -> np.ndarray:
    """Cut leading/trailing near-silence so an utterance's samples start and end with speech.

    The reference times of a synthetic meeting are where the samples are placed, so the audio
    must not carry espeak's own silent margins.
    """
    if x.size == 0:
        return x
    frame = 160
    n = len(x) // frame
    if n == 0:
        return x
    energy = (x[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    ref = energy.max()
    if ref <= 0:
        return x[:0]
    active = np.nonzero(10 * np.log10(energy / ref + 1e-20) > threshold_db)[0]
    start = max(0, active[0] * frame - pad_samples)
    end = min(len(x), (active[-1] + 1) * frame + pad_samples)
    return x[start:end]


def synthesize(text: str, voice: Voice, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Speak ``text`` with ``voice``; returns trimmed float32 mono audio at ``sample_rate``.

    Write ``text`` as espeak speaks it (numbers spelled out) when it serves as a reference.
    """
    import soundfile as sf

    from notsofar.audio import resample

    if not espeak_available():
        raise NotsofarError("espeak-ng is not installed (needed only to synthesize new speech)")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "u.wav"
        cmd = [
            "espeak-ng",
            "-v",
            voice.espeak_voice,
            "-p",
            str(voice.pitch),
            "-s",
            str(voice.speed_wpm),
            "-w",
            str(wav),
            text,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not wav.exists():
            raise NotsofarError(f"espeak-ng failed for voice {voice.espeak_voice}: {proc.stderr}")
        x, sr = sf.read(str(wav), dtype="float32")
    x = resample(x, int(sr), sample_rate)
    return trim_silence(np.asarray(x, dtype=np.float32))
