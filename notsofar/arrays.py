"""Microphone array geometries (metres, array-centred), shared by simulation and the MC front end.

Built-in: ``notsofar_mc`` — the NOTSOFAR-1 meeting device: one microphone at the centre and six
on a 4.25 cm radius circle at 60° steps (channel 0 = centre, channels 1-6 counter-clockwise from
the x axis; this channel order is our convention, documented in configs/arrays/notsofar_mc.yaml).
Any other array is a YAML file with ``name`` and ``positions: [[x, y, z], ...]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from notsofar.errors import NotsofarError

SPEED_OF_SOUND = 343.0  # m/s, room temperature


@dataclass(frozen=True)
class ArrayGeometry:
    """A named microphone array: one ``(x, y, z)`` position in metres per channel."""

    name: str
    positions: tuple[tuple[float, float, float], ...]

    @property
    def num_channels(self) -> int:
        return len(self.positions)

    def as_array(self) -> np.ndarray:
        """Positions as a ``[channels, 3]`` float array."""
        return np.asarray(self.positions, dtype=np.float64)

    @property
    def max_distance_m(self) -> float:
        """The largest distance between two microphones (sets the spatial aliasing limit)."""
        p = self.as_array()
        return float(np.max(np.linalg.norm(p[:, None] - p[None], axis=-1)))

    def check_channels(self, num_channels: int, path: str | Path = "") -> None:
        """Raise a one-line error if audio with ``num_channels`` does not fit this array."""
        if num_channels != self.num_channels:
            raise NotsofarError(
                f"audio has {num_channels} channel(s) but array '{self.name}' has {self.num_channels} microphones",
                path=path or None,
            )


def circular_array(name: str, radius_m: float, num_ring: int, centre: bool = True) -> ArrayGeometry:
    """A ring of ``num_ring`` mics (optionally plus one at the centre) in the z=0 plane.

    >>> g = circular_array("x", 0.0425, 6)
    >>> g.num_channels, round(g.max_distance_m, 4)
    (7, 0.085)
    """
    pos: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] if centre else []
    for k in range(num_ring):
        a = 2 * math.pi * k / num_ring
        pos.append((round(radius_m * math.cos(a), 9), round(radius_m * math.sin(a), 9), 0.0))
    return ArrayGeometry(name, tuple(pos))


BUILTIN = {"notsofar_mc": circular_array("notsofar_mc", 0.0425, 6)}


def load_array(spec: str | Path) -> ArrayGeometry:
    """An array by built-in name (``notsofar_mc``) or from a YAML file path."""
    if str(spec) in BUILTIN:
        return BUILTIN[str(spec)]
    path = Path(spec)
    if not path.exists():
        raise NotsofarError(
            f"unknown array '{spec}': not a built-in ({', '.join(BUILTIN)}) and no such file"
        )
    from notsofar.config import read_yaml

    data = read_yaml(path)
    unknown = set(data) - {"name", "positions", "description"}
    if unknown:
        raise NotsofarError(f"unknown config key '{sorted(unknown)[0]}'", path=path)
    try:
        positions = tuple(tuple(float(c) for c in p) for p in data["positions"])
    except (KeyError, TypeError, ValueError):
        raise NotsofarError(
            "'positions' must be a list of [x, y, z] in metres", path=path
        ) from None
    if not positions or any(len(p) != 3 for p in positions):
        raise NotsofarError(
            "'positions' must be a non-empty list of [x, y, z] in metres", path=path
        )
    return ArrayGeometry(str(data.get("name", path.stem)), positions)  # type: ignore[arg-type]


def mono_array_note(array: str) -> str:
    """The notice for a one-channel recording given an array geometry (``transcribe`` and
    ``diarize`` then take the single-channel path)."""
    return f"mono input; array={array} needs several channels, using the single-channel path"
