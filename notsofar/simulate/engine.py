"""The simulation engine: plan shards, make examples, write shards, resume, verify.

Reproducibility: example ``e`` of shard ``s`` draws everything from
``SeedSequence([seed, s, e])``, and simulated room ``r`` from ``SeedSequence([seed, ROOM_KEY, r])``,
so any shard can be (re)made alone, on any worker, byte-identically.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from notsofar.arrays import load_array
from notsofar.config import to_dict
from notsofar.errors import EXIT_PARTIAL, NotsofarError
from notsofar.simulate.config import SimulateConfig
from notsofar.simulate.sources import SpeechCorpus

ROOM_KEY = 1_000_003
SHARD_DIR = "shards"
MANIFEST = "manifest.jsonl.gz"
PLAN = "plan.json"


def shard_name(index: int) -> str:
    return f"shard-{index:06d}"


@dataclass(frozen=True)
class Plan:
    """How a run is split: ``num_examples`` of ``example_s`` seconds in ``num_shards`` shards."""

    hours: float
    example_s: float
    num_examples: int
    examples_per_shard: int
    num_shards: int
    bytes_per_example: int

    def shard_size(self, index: int) -> int:
        return min(self.examples_per_shard, self.num_examples - index * self.examples_per_shard)

    @property
    def total_bytes(self) -> int:
        return self.bytes_per_example * self.num_examples


def make_plan(cfg: SimulateConfig, hours: float, num_speakers_for_bytes: int | None = None) -> Plan:
    """Split ``hours`` of audio into examples and shards, and estimate the disk it takes."""
    if not (isinstance(hours, int | float) and math.isfinite(hours) and hours > 0):
        raise NotsofarError(f"--hours must be a positive number, got {hours}")
    example_s = cfg.mix.segment_s if cfg.mix.mode == "css" else cfg.mix.meeting_s
    n = max(1, math.ceil(hours * 3600 / example_s - 1e-9))
    eps = cfg.output.examples_per_shard
    chans = load_array(cfg.rirs.array).num_channels
    spk = num_speakers_for_bytes or (
        cfg.mix.max_speakers if cfg.mix.mode == "css" else cfg.mix.meeting_speakers[1]
    )
    t = int(example_s * cfg.sample_rate)
    per_sample = {
        "mixture": 2 * chans,
        "gt_spk_direct_early_echoes": 2 * chans * spk,
        "gt_spk_reverb": 2 * chans * spk,
        "gt_noise": 2 * chans,
        "gt_spk_activity_scores": spk,
    }
    per_ex = sum(per_sample[c] for c in cfg.output.columns) * t + 4096  # + json/tar headers
    return Plan(float(hours), example_s, n, eps, math.ceil(n / eps), per_ex)


# ---- per-worker state ---------------------------------------------------------------------


class Worker:
    """What one worker process keeps between shards: corpus index, RIR/noise caches."""

    def __init__(self, cfg: SimulateConfig, out_dir: Path, corpus: SpeechCorpus) -> None:
        from notsofar.simulate.sources import index_measured_rirs, index_noise

        self.cfg = cfg
        self.out_dir = out_dir
        self.corpus = corpus
        self.by_speaker = corpus.by_speaker()
        self.speakers = sorted(self.by_speaker)
        self.array = load_array(cfg.rirs.array)
        self.sr = cfg.sample_rate
        self.rir_files = (
            index_measured_rirs(cfg.rirs.path, self.array.num_channels)  # type: ignore[arg-type]
            if cfg.rirs.backend == "measured"
            else []
        )
        self.noise_files = index_noise(cfg.noise.path) if cfg.noise.backend == "recorded" else []
        self._rooms: OrderedDict[int, tuple[np.ndarray, dict]] = OrderedDict()
        c = cfg.rirs
        self.rir_cache_dir = Path(c.cache_dir) if c.cache_dir else out_dir / "rir_cache"
        # rooms depend on these only: the key lets runs with other settings share a cache dir
        room_def = [cfg.seed, cfg.sample_rate, self.array.positions, c.rt60_s, c.room_x_m]
        room_def += [c.room_y_m, c.room_z_m, c.distance_m, c.seats, c.max_length_s]
        self.room_key = hashlib.sha1(json.dumps(room_def).encode()).hexdigest()[:12]
        self._spectra: OrderedDict[tuple, np.ndarray] = OrderedDict()
        # per thread: dask workers may be threads of one process sharing this object
        self._local = threading.local()
        #: benchmark baseline switch: per-pair scipy.signal.fftconvolve instead of cached spectra
        self.naive_convolution = False

    @property
    def buffers(self) -> dict:
        """Arrays reused between examples (convolve_active's images), one set per thread:
        each example is written before the thread makes the next one."""
        held = getattr(self._local, "buffers", None)
        if held is None:
            held = self._local.buffers = {}
        return held

    # -- transfer functions
    def room(self, index: int) -> tuple[np.ndarray, dict]:
        """RIRs ``[seats, C, L]`` of simulated room ``index`` (disk-cached) and its description."""
        from notsofar.simulate.rooms import compute_rirs, sample_room

        if index in self._rooms:
            self._rooms.move_to_end(index)
            return self._rooms[index]
        c = self.cfg.rirs
        rng = np.random.default_rng(np.random.SeedSequence([self.cfg.seed, ROOM_KEY, index]))
        spec = sample_room(
            rng, c.seats, c.rt60_s, (c.room_x_m, c.room_y_m, c.room_z_m), c.distance_m
        )
        cache = self.rir_cache_dir / f"room-{self.room_key}-{index:05d}.npy"
        rirs = None
        if cache.exists():
            try:
                rirs = np.load(cache)
            except (OSError, ValueError):
                rirs = None  # a damaged cache entry is recomputed
        if rirs is None:
            rirs = compute_rirs(spec, self.array, self.sr, max_length_s=c.max_length_s)
            from notsofar.io.atomic import atomic_path

            with atomic_path(cache) as tmp:
                np.save(tmp, rirs)
        desc = {
            "room": index,
            "room_dims_m": [round(d, 3) for d in spec.dims_m],
            "rt60_s": round(spec.rt60_s, 3),
        }
        self._rooms[index] = (rirs, desc)
        if len(self._rooms) > 2 * c.rooms_per_shard:
            self._rooms.popitem(last=False)
        return rirs, desc

    def transfer_functions(
        self, rng: np.random.Generator, k: int, rooms: list[int]
    ) -> tuple[np.ndarray, list, dict]:
        """``[k, C, L]`` responses for ``k`` source positions, cache keys and a description."""
        from notsofar.simulate.sources import load_measured_rir

        if self.cfg.rirs.backend == "measured":
            idx = rng.choice(len(self.rir_files), size=k, replace=len(self.rir_files) < k)
            hs = [
                load_measured_rir(self.rir_files[int(i)], self.sr, self.cfg.rirs.max_length_s)
                for i in idx
            ]
            length = max(h.shape[-1] for h in hs)
            out = np.zeros((k, self.array.num_channels, length), dtype=np.float32)
            for j, h in enumerate(hs):
                out[j, :, : h.shape[-1]] = h
            keys = [("file", int(i)) for i in idx]
            return out, keys, {"rir_files": [Path(self.rir_files[int(i)]).name for i in idx]}
        room = int(rng.choice(rooms))
        rirs, desc = self.room(room)
        seats = rng.choice(rirs.shape[0], size=k, replace=rirs.shape[0] < k)
        keys = [("room", room, int(s)) for s in seats]
        return rirs[seats], keys, {**desc, "seats": [int(s) for s in seats]}

    def spectra(self, key: tuple, rir: np.ndarray, n: int) -> np.ndarray:
        """Full and early response spectra ``[2, C, F]`` of source position ``key`` at FFT
        size ``n``, LRU-cached: a shard reuses each of its rooms' seats many times."""
        from notsofar.simulate.convolve import rir_spectrum
        from notsofar.simulate.rooms import early_part

        ck = (*key, n)
        spec = self._spectra.get(ck)
        if spec is not None:
            with contextlib.suppress(KeyError):  # another thread may have just evicted it
                self._spectra.move_to_end(ck)
            return spec
        e = early_part(rir[None], self.cfg.rirs.early_ms, self.sr)[0]
        self._spectra[ck] = spec = rir_spectrum(np.stack([rir, e]), n)  # one batch
        # twice a shard's seats (~1 MB each at the block FFT size of a 0.5 s response)
        if len(self._spectra) > 2 * self.cfg.rirs.rooms_per_shard * self.cfg.rirs.seats:
            self._spectra.popitem(last=False)
        return spec

    # -- noise
    def noise(self, rng: np.random.Generator, num_samples: int) -> tuple[np.ndarray, dict]:
        from notsofar.simulate.noise import diffuse_noise

        if not self.noise_files:
            return diffuse_noise(self.array, num_samples, rng, self.sr, self.cfg.noise.color), {
                "noise": f"diffuse_{self.cfg.noise.color}"
            }
        from notsofar.audio import read

        path = self.noise_files[int(rng.integers(len(self.noise_files)))]
        x, _ = read(path, sample_rate=self.sr)
        x = np.atleast_2d(x)
        if not np.any(x):
            raise NotsofarError("noise file is silent", path=path)
        c = self.array.num_channels
        if x.shape[0] not in (1, c):
            raise NotsofarError(
                f"noise has {x.shape[0]} channels; expected 1 or the array's {c}", path=path
            )
        reps = math.ceil((num_samples * (c if x.shape[0] == 1 else 1)) / x.shape[1]) + 1
        x = np.tile(x, (1, reps))
        if x.shape[0] == c:
            off = int(rng.integers(x.shape[1] - num_samples + 1))
            return x[:, off : off + num_samples], {"noise": Path(path).name}
        # mono: C non-overlapping excerpts are near-independent; impose diffuse coherence
        span = x.shape[1] // c
        offs = [j * span + int(rng.integers(max(1, span - num_samples))) for j in range(c)]
        src = np.stack([x[0, o : o + num_samples] for o in offs])
        return diffuse_noise(self.array, num_samples, rng, self.sr, source=src), {
            "noise": Path(path).name
        }

    # -- speech
    def utterance(self, rng: np.random.Generator, speaker: str, max_samples: int) -> tuple:
        from notsofar.simulate.sources import load_speech

        items = self.by_speaker[speaker]
        k = int(items[int(rng.integers(len(items)))])
        item = self.corpus.items[k]
        x = load_speech(item, self.sr)
        off = 0
        if x.shape[-1] > max_samples:
            off = int(rng.integers(x.shape[-1] - max_samples + 1))
            x = x[off : off + max_samples]
        return x, item, off


_WORKER: dict[str, Worker] = {}


def _worker(cfg: SimulateConfig, out_dir: Path, corpus: SpeechCorpus) -> Worker:
    key = json.dumps(to_dict(cfg), sort_keys=True) + str(out_dir) + corpus.name
    if key not in _WORKER:
        from notsofar.simulate.system import keep_freed_memory

        keep_freed_memory()  # a worker process reuses its arrays' memory example after example
        _WORKER.clear()
        _WORKER[key] = Worker(cfg, out_dir, corpus)
    return _WORKER[key]


# ---- examples -----------------------------------------------------------------------------


def activity_scores(dry: np.ndarray, sr: int, num_slots: int) -> np.ndarray:
    """``[T, num_slots]`` int8: 1 speaking, 0 borderline, -1 silent, from 10 ms frame energy of
    each speaker's dry signal relative to its loudest frame (-30 dB / -40 dB thresholds)."""
    s, t = dry.shape
    out = np.full((t, num_slots), -1, dtype=np.int8)
    hop = sr // 100
    n = t // hop
    for k in range(s):
        e = (dry[k, : n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(axis=1)
        if not np.any(e > 0):
            continue
        db = 10 * np.log10(e / e.max() + 1e-20)
        frame = np.where(db > -30, 1, np.where(db > -40, 0, -1)).astype(np.int8)
        out[: n * hop, k] = np.repeat(frame, hop)
    return out


def _mix(
    w: Worker, dry: np.ndarray, rirs: np.ndarray, keys: list, noise: np.ndarray, snr_db: float
) -> dict[str, np.ndarray]:
    """Images, noise at ``snr_db`` and the mixture; scaled down together if it would clip.

    ``cols["peaks"]`` holds the largest absolute value of the image and mixture columns (as
    :func:`~notsofar.simulate.css_format.scale_for` would find it), taken while they were made:
    the writer quantizes with them instead of reading ~27 MB of images twice more.
    """
    from notsofar.simulate.convolve import block_fft_size, convolve_active
    from notsofar.simulate.css_format import peak_of

    t = dry.shape[-1]
    peaks = np.zeros(2, dtype=np.float32)  # reverb, early
    if w.naive_convolution:  # the benchmark's baseline: one fftconvolve per (speaker, mic)
        from notsofar.simulate.convolve import naive_convolve
        from notsofar.simulate.rooms import early_part

        k = rirs.shape[0]  # sources with a response; any further rows of dry are silent
        pad = ((0, dry.shape[0] - k), (0, 0), (0, 0))
        reverb = np.pad(naive_convolve(dry[:k], rirs, t), pad)
        early = np.pad(naive_convolve(dry[:k], early_part(rirs, w.cfg.rirs.early_ms, w.sr), t), pad)
        speech = reverb.sum(axis=0)
        peaks[:] = [peak_of(reverb), peak_of(early)]
    else:
        n = block_fft_size(rirs.shape[-1])
        speech = w.buffers.get("speech")
        if speech is None or speech.shape != (rirs.shape[1], t):
            speech = w.buffers["speech"] = np.empty((rirs.shape[1], t), dtype=np.float32)
        reverb, early = convolve_active(
            dry,
            lambda j: w.spectra(keys[j], rirs[j], n),
            n,
            rirs.shape[-1],
            t,
            w.buffers,
            peaks=peaks,
            total=speech,
        )
    active = np.any(dry != 0, axis=0)
    p_s = float(np.mean(speech[0, active] ** 2)) if active.any() else 0.0
    p_n = float(np.mean(noise[0] ** 2)) + 1e-20
    noise = np.multiply(noise, math.sqrt(p_s / p_n / 10 ** (snr_db / 10)), dtype=np.float32)
    mixture = speech + noise
    peak = peak_of(mixture)
    cols = {"mixture": mixture, "early": early, "reverb": reverb, "noise": noise}
    if peak > 0.95:  # would clip in a 16-bit file: scale every column together
        g = np.float32(0.95 / peak)
        for v in cols.values():
            v *= g  # in place: every column is this function's own buffer
        # rounding is monotonic, so the largest |g x| is g times the largest |x|, rounded
        peak, peaks = float(np.float32(peak) * g), peaks * g
    cols["peaks"] = {"mixture": peak, "reverb": float(peaks[0]), "early": float(peaks[1])}
    return cols


def make_css_example(w: Worker, rng: np.random.Generator, rooms: list[int]) -> tuple[dict, dict]:
    """One NOTSOFAR-CSS-style segment: up to ``max_speakers`` speakers placed with a drawn
    overlap ratio and leading/trailing silence. Returns (float columns, params)."""
    from notsofar.simulate.sources import load_speech, words_in

    m = w.cfg.mix
    sr = w.sr
    t = int(m.segment_s * sr)
    p = np.asarray(m.num_speakers_weights, dtype=np.float64)
    k = int(rng.choice(np.arange(1, m.max_speakers + 1), p=p / p.sum()))
    k = min(k, len(w.speakers))
    spk = [w.speakers[int(i)] for i in rng.choice(len(w.speakers), size=k, replace=False)]
    ov = float(rng.uniform(*m.overlap_ratio))
    sil = float(rng.uniform(*m.silence_ratio))
    span = int(t * (1 - sil))
    utts = [w.utterance(rng, s, span) for s in spk]
    lens = [u[0].shape[-1] for u in utts]
    # sequential turns; each starts ov * (shorter of the two) before the previous one ends
    overlaps = [int(ov * min(lens[i], lens[i - 1])) for i in range(1, k)]
    total = sum(lens) - sum(overlaps)
    if total > span:  # crop every utterance by the same factor so the turns fit the span
        f = span / total
        lens = [max(1, int(n * f)) for n in lens]
        overlaps = [int(ov * min(lens[i], lens[i - 1])) for i in range(1, k)]
        total = sum(lens) - sum(overlaps)
    start = int(rng.integers(max(1, t - total + 1)))
    # the official format keeps max_speakers slots: absent speakers are silent rows, whose
    # images convolve_active leaves zero without transforming them
    dry = np.zeros((m.max_speakers, t), dtype=np.float32)
    levels = rng.uniform(*w.cfg.speech.level_dbfs, size=k)
    segs = []
    pos = start
    for j, ((x, item, off), n) in enumerate(zip(utts, lens, strict=True)):
        if j:
            pos -= overlaps[j - 1]
        x = x[: min(n, t - pos)]
        rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) + 1e-12
        dry[j, pos : pos + len(x)] = x * np.float32(10 ** (levels[j] / 20) / rms)
        whole = off == 0 and len(x) == load_speech(item, sr).shape[-1]
        text, timings = words_in(item, off / sr, len(x) / sr, whole)
        seg = {
            "speaker": spk[j],
            "start": round(pos / sr, 4),
            "duration": round(len(x) / sr, 4),
            "source": item.path,
            "source_offset_s": round(off / sr + item.start_s, 4),
            "text": text,
        }
        if timings is not None:
            seg["word_timings"] = [
                [round(pos / sr + a, 4), round(pos / sr + b, 4)] for a, b in timings
            ]
        segs.append(seg)
        pos += len(x)
    rirs, keys, rir_desc = w.transfer_functions(rng, k, rooms)
    noise, noise_desc = w.noise(rng, t)
    snr = float(rng.uniform(*w.cfg.noise.snr_db))
    cols = _mix(w, dry, rirs, keys, noise, snr)
    act = (dry != 0).astype(np.int32)
    both = int(np.count_nonzero(act.sum(0) >= 2))
    any_ = int(np.count_nonzero(act.sum(0) >= 1))
    params = {
        "mode": "css",
        "num_speakers": k,
        "segments": segs,
        "snr_db": round(snr, 2),
        "levels_dbfs": [round(float(v), 2) for v in levels],
        "overlap_ratio": round(both / any_, 4) if any_ else 0.0,
        "silence_ratio": round(1 - any_ / t, 4),
        **rir_desc,
        **noise_desc,
    }
    cols["activity"] = activity_scores(dry, sr, m.max_speakers)
    return cols, params


class _CorpusUtterances:
    """A meeting's :class:`~notsofar.simulate.meeting.UtteranceSource` over a speech corpus."""

    def __init__(self, w: Worker, speakers: list[str]) -> None:
        self.w = w
        self.speakers = speakers

    def draw(self, speaker_index: int, rng: np.random.Generator) -> Any:
        from notsofar.simulate.meeting import Utterance
        from notsofar.simulate.sources import load_speech, words_in

        sr = self.w.sr
        x, item, off = self.w.utterance(rng, self.speakers[speaker_index], 30 * sr)
        whole = off == 0 and x.shape[-1] == load_speech(item, sr).shape[-1]
        text, timings = words_in(item, off / sr, x.shape[-1] / sr, whole)
        if text is None:  # a cropped excerpt without alignments: its words are unknown
            text = ""
        return Utterance(item.speaker, text, x, timings)

    def draw_backchannel(self, speaker_index: int, rng: np.random.Generator) -> Any:
        return None  # corpora have no labelled backchannels; short turns come from the layout


def make_meeting_example(
    w: Worker, rng: np.random.Generator, rooms: list[int]
) -> tuple[dict, dict]:
    """One whole meeting (turn-taking layout) with its reference SegLST/RTTM."""
    from notsofar.simulate.meeting import LayoutConfig, layout_meeting, render_meeting

    m = w.cfg.mix
    k = int(rng.integers(m.meeting_speakers[0], m.meeting_speakers[1] + 1))
    k = min(k, len(w.speakers))
    spk = [w.speakers[int(i)] for i in rng.choice(len(w.speakers), size=k, replace=False)]
    layout = LayoutConfig(
        duration_s=m.meeting_s,
        pause_s=m.pause_s,
        overlap_prob=m.overlap_prob,
        overlap_s=m.overlap_s,
        backchannel_prob=m.backchannel_prob,
        sample_rate=w.sr,
    )
    placements = layout_meeting(_CorpusUtterances(w, spk), k, rng, layout)
    rirs, _, rir_desc = w.transfer_functions(rng, k, rooms)
    t = int(m.meeting_s * w.sr)
    noise, noise_desc = w.noise(rng, t)
    snr = float(rng.uniform(*w.cfg.noise.snr_db))
    r = render_meeting(
        placements,
        spk,
        rirs,
        rng,
        snr,
        "meeting",
        t,
        w.array,
        w.cfg.rirs.early_ms,
        noise=noise,
        sample_rate=w.sr,
    )
    cols = {"mixture": r.mixture, "early": r.early, "reverb": r.images, "noise": r.noise}
    cols["activity"] = activity_scores(r.dry, w.sr, k)
    params = {
        "mode": "meeting",
        "num_speakers": k,
        "speakers": spk,
        **r.params,
        **rir_desc,
        **noise_desc,
    }
    params["transcript"] = r.transcript
    return cols, params


EXAMPLE_MAKERS = {"css": make_css_example, "meeting": make_meeting_example}


# ---- shards -------------------------------------------------------------------------------


def _gzip_bytes(text: str) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as f:
        f.write(text.encode("utf-8"))
    return buf.getvalue()


def _cut(ex_id: str, shard_path: Path, num_samples: int, sr: int, chans: int, params: dict) -> dict:
    """A lhotse MultiCut dict; its audio is a ``command`` source that extracts the mixture."""
    dur = num_samples / sr
    ch = list(range(chans))
    sups = []
    for j, s in enumerate(params.get("segments", [])):
        sup = {
            "id": f"{ex_id}-{j}",
            "recording_id": ex_id,
            "start": s["start"],
            "duration": s["duration"],
            "channel": ch,
            "speaker": s["speaker"],
        }
        if s.get("text"):
            sup["text"] = s["text"]
        if s.get("word_timings") and s.get("text"):
            sup["alignment"] = {
                "word": [
                    [w, a, round(b - a, 4)]
                    for w, (a, b) in zip(s["text"].split(), s["word_timings"], strict=True)
                ]
            }
        sups.append(sup)
    # relative to the output folder, and ``python`` from PATH: the set can move (a cluster's
    # storage, another machine) and the same seed gives the same bytes in any folder; lhotse
    # runs it from the folder, or anywhere after notsofar.simulate.load_cuts
    cmd = f"python -m notsofar.simulate.extract {SHARD_DIR}/{shard_path.name} {ex_id} mixture {sr}"
    return {
        "id": ex_id,
        "start": 0.0,
        "duration": dur,
        "channel": ch,
        "supervisions": sups,
        "recording": {
            "id": ex_id,
            "sources": [{"type": "command", "channels": ch, "source": cmd}],
            "sampling_rate": sr,
            "num_samples": num_samples,
            "duration": dur,
            "channel_ids": ch,
        },
        "custom": {"shard": f"{SHARD_DIR}/{shard_path.name}", "params": params},
        "type": "MultiCut",
    }


def shard_rooms(cfg: SimulateConfig, index: int) -> list[int]:
    """The simulated rooms shard ``index`` draws its transfer functions from."""
    shard_rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, index]))
    return [int(r) for r in shard_rng.choice(cfg.rirs.num_rooms, size=cfg.rirs.rooms_per_shard)]


def run_shard(
    cfg: SimulateConfig, out_dir: Path, corpus: SpeechCorpus, index: int, size: int
) -> dict:
    """Make shard ``index`` (``size`` examples) and write its tar and manifest atomically.

    Returns a summary dict: ``shard``, ``examples``, ``seconds`` (of audio), ``bytes``.
    """
    import time

    from notsofar.simulate.css_format import write_shard
    from notsofar.simulate.meeting import to_rttm

    t0 = time.process_time()
    w = _worker(cfg, Path(out_dir), corpus)
    rooms = shard_rooms(cfg, index)
    make = EXAMPLE_MAKERS[cfg.mix.mode]
    cuts = []
    seconds = 0.0
    wanted = set(cfg.output.columns)
    shard_path = Path(out_dir) / SHARD_DIR / f"{shard_name(index)}.tar"

    names = {"mixture": "mixture", "early": "gt_spk_direct_early_echoes", "reverb": "gt_spk_reverb"}

    def examples() -> Iterator[tuple[str, dict, dict, dict]]:
        # a generator: each example is made, streamed into the tar and dropped, so a worker's
        # memory does not grow with the shard size
        nonlocal seconds
        for e in range(size):
            rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, index, e]))
            ex_id = f"{shard_name(index)}_{e:05d}"
            f, params = make(w, rng, rooms)
            columns = {
                "mixture": f["mixture"].T,
                "gt_spk_direct_early_echoes": f["early"].transpose(2, 1, 0),
                "gt_spk_reverb": f["reverb"].transpose(2, 1, 0),
                "gt_noise": f["noise"].T,
                "gt_spk_activity_scores": f["activity"],
            }
            extra: dict[str, bytes] = {}
            transcript = params.pop("transcript", None)
            if transcript is not None:
                tr = transcript.with_session_id(ex_id)
                extra = {"seglst.json": tr.to_json().encode(), "rttm": to_rttm(tr).encode()}
                params["segments"] = [
                    {
                        "speaker": s.speaker,
                        "start": s.start_time,
                        "duration": round(s.duration, 4),
                        "text": s.words,
                        **(
                            {"word_timings": [[w.start_time, w.end_time] for w in s.word_details]}
                            if s.word_details
                            else {}
                        ),
                    }
                    for s in tr
                ]
            n = f["mixture"].shape[-1]
            seconds += n / cfg.sample_rate
            cuts.append(_cut(ex_id, shard_path, n, cfg.sample_rate, f["mixture"].shape[0], params))
            peaks = {names[k]: v for k, v in f.get("peaks", {}).items()}
            yield ex_id, {c: a for c, a in columns.items() if c in wanted}, extra, peaks

    from notsofar.io.atomic import remove_stale_temps, write_bytes

    # what a killed run left half-written of this shard (only this worker makes it)
    remove_stale_temps(shard_path)
    remove_stale_temps(shard_path.with_suffix(".jsonl.gz"))
    write_shard(shard_path, examples())

    lines = "".join(json.dumps(c, sort_keys=True) + "\n" for c in cuts)
    # the manifest is written after the tar: its presence marks the shard complete
    write_bytes(shard_path.with_suffix(".jsonl.gz"), _gzip_bytes(lines))
    import resource

    return {
        "shard": index,
        "examples": size,
        "seconds": seconds,
        "bytes": shard_path.stat().st_size,
        "cpu_s": time.process_time() - t0,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def shard_done(out_dir: Path, index: int, size: int) -> bool:
    """A shard is done when its manifest (written last) lists ``size`` examples and its tar is
    whole (:func:`tar_intact`): a tar cut short (a full disk, a partial copy) is made again."""
    base = Path(out_dir) / SHARD_DIR / shard_name(index)
    manifest = base.with_suffix(".jsonl.gz")
    if not (base.with_suffix(".tar").exists() and manifest.exists()):
        return False
    try:
        if gzip.decompress(manifest.read_bytes()).count(b"\n") != size:
            return False
    except (OSError, EOFError, gzip.BadGzipFile):
        return False
    return tar_intact(base.with_suffix(".tar"), size)


def tar_intact(path: Path, size: int) -> bool:
    """A cheap structural check of a shard: whole tar records, every member's data inside the
    file (headers only are read), and ``utterances.map`` last, listing ``size`` examples."""
    import tarfile

    from notsofar.simulate.css_format import MAP_NAME

    try:
        length = path.stat().st_size
        if length == 0 or length % tarfile.RECORDSIZE:
            return False
        with tarfile.open(path, "r:") as tar:
            last = None
            for member in tar:
                if member.offset_data + member.size > length:
                    return False
                last = member
            if last is None or last.name != MAP_NAME:
                return False
            f = tar.extractfile(last)
            return f is not None and len(json.loads(f.read())) == size
    except (OSError, tarfile.TarError, ValueError):
        return False


@dataclass
class RunReport:
    """What a run did: shards made / skipped / failed (with reasons), audio hours, wall time."""

    plan: Plan
    made: list[dict] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.failed else 0

    @property
    def hours_made(self) -> float:
        return sum(m["seconds"] for m in self.made) / 3600


def write_manifest(out_dir: Path, plan: Plan) -> Path:
    """Concatenate the shard manifests, in shard order, into ``manifest.jsonl.gz``."""
    from notsofar.io.atomic import write_bytes

    parts = []
    for i in range(plan.num_shards):
        p = Path(out_dir) / SHARD_DIR / f"{shard_name(i)}.jsonl.gz"
        if p.exists():
            parts.append(gzip.decompress(p.read_bytes()).decode("utf-8"))
    return write_bytes(Path(out_dir) / MANIFEST, _gzip_bytes("".join(parts)))
