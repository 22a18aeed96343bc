"""Simulated rooms: image-method impulse responses from each speaker seat to a table-top array.

pyroomacoustics' image source method (ShoeBox, absorption from the target RT60 by Sabine's
formula). The array (default NOTSOFAR's 7 mics) lies on a table near the room centre and the
speakers sit around it at mouth height, so every speaker has its own seat and direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from notsofar.arrays import BUILTIN, ArrayGeometry

#: Image-source order cap: beyond ~40 the ISM cost grows fast for little RT60 accuracy.
MAX_ORDER_CAP = 40


@dataclass(frozen=True)
class RoomSpec:
    """A shoebox room, the array centre and the speaker (source) positions, all in metres."""

    dims_m: tuple[float, float, float]
    rt60_s: float
    array_center_m: tuple[float, float, float]
    sources_m: tuple[tuple[float, float, float], ...]


def sample_room(
    rng: np.random.Generator,
    num_speakers: int,
    rt60_range_s: tuple[float, float] = (0.3, 0.7),
    size_range_m: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = (
        (4.0, 8.0),
        (3.5, 7.0),
        (2.6, 3.2),
    ),
    distance_range_m: tuple[float, float] = (0.8, 2.2),
    min_angle_deg: float = 35.0,
) -> RoomSpec:
    """Draw a room, a table-top array position and well-separated speaker seats.

    Seats are at least ``min_angle_deg`` apart as seen from the array (when that fits), so
    speakers differ in direction, as around a real meeting table.
    """
    dims = tuple(float(rng.uniform(lo, hi)) for lo, hi in size_range_m)
    rt60 = float(rng.uniform(*rt60_range_s))
    table_h = 0.75
    cx = dims[0] / 2 + rng.uniform(-0.3, 0.3)
    cy = dims[1] / 2 + rng.uniform(-0.3, 0.3)
    center = (float(cx), float(cy), table_h)
    # random sequential placement jams near 75 % coverage: keep the spacing below that
    sep = math.radians(min(min_angle_deg, 0.6 * 360.0 / max(1, num_speakers)))
    angles: list[float] = []
    tries = 0
    while len(angles) < num_speakers:
        a = float(rng.uniform(0, 2 * math.pi))
        tries += 1
        if tries % 1000 == 0:  # jammed after all: relax the spacing rather than loop forever
            sep *= 0.8
        if all(abs((a - b + math.pi) % (2 * math.pi) - math.pi) >= sep for b in angles):
            angles.append(a)
    sources = []
    for a in angles:
        d = float(rng.uniform(*distance_range_m))
        # keep 0.4 m from the walls: shrink the distance along the seat's direction if needed
        max_d = min(
            (dims[0] - 0.4 - cx) / math.cos(a) if math.cos(a) > 1e-6 else math.inf,
            (0.4 - cx) / math.cos(a) if math.cos(a) < -1e-6 else math.inf,
            (dims[1] - 0.4 - cy) / math.sin(a) if math.sin(a) > 1e-6 else math.inf,
            (0.4 - cy) / math.sin(a) if math.sin(a) < -1e-6 else math.inf,
        )
        d = min(d, max_d)
        z = float(rng.uniform(1.1, 1.3))  # seated mouth height
        sources.append((cx + d * math.cos(a), cy + d * math.sin(a), z))
    return RoomSpec(dims, rt60, center, tuple(sources))  # type: ignore[arg-type]


def compute_rirs(
    room: RoomSpec,
    array: ArrayGeometry = BUILTIN["notsofar_mc"],
    sample_rate: int = 16000,
    max_length_s: float | None = None,
) -> np.ndarray:
    """Impulse responses ``[sources, mics, taps]`` (float32) by the image source method.

    Args:
        room: the room and positions.
        array: microphone geometry, placed with its origin at ``room.array_center_m``.
        sample_rate: Hz.
        max_length_s: truncate the responses to this length (None keeps pyroomacoustics').
    """
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(room.rt60_s, list(room.dims_m))
    shoebox = pra.ShoeBox(
        list(room.dims_m),
        fs=sample_rate,
        materials=pra.Material(absorption),
        max_order=int(min(max_order, MAX_ORDER_CAP)),
        use_rand_ism=False,
    )
    for src in room.sources_m:
        shoebox.add_source(list(src))
    mics = array.as_array() + np.asarray(room.array_center_m)[None, :]
    shoebox.add_microphone_array(mics.T)
    shoebox.compute_rir()
    length = max(
        len(shoebox.rir[m][s]) for m in range(len(mics)) for s in range(len(room.sources_m))
    )
    if max_length_s is not None:
        length = min(length, int(max_length_s * sample_rate))
    out = np.zeros((len(room.sources_m), len(mics), length), dtype=np.float32)
    for m in range(len(mics)):
        for s in range(len(room.sources_m)):
            h = np.asarray(shoebox.rir[m][s][:length], dtype=np.float32)
            out[s, m, : len(h)] = h
    return out


def early_part(rirs: np.ndarray, early_ms: float = 50.0, sample_rate: int = 16000) -> np.ndarray:
    """Direct path plus early reflections: each response up to ``early_ms`` after its peak.

    The same cut is used across mics of a source (from the earliest peak) so the inter-channel
    delays of the direct path survive.
    """
    out = np.zeros_like(rirs)
    cut = int(early_ms * sample_rate / 1000)
    for s in range(rirs.shape[0]):
        peak = int(np.min(np.argmax(np.abs(rirs[s]), axis=-1)))
        end = min(rirs.shape[-1], peak + cut)
        out[s, :, :end] = rirs[s, :, :end]
    return out
