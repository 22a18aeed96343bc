"""Simulation: synthetic meetings (espeak-ng voices, image-method rooms, diffuse noise) and
NOTSOFAR-style training mixtures (``notsofar simulate``).

Building blocks: :mod:`.voices` (espeak-ng), :mod:`.rooms` (RIRs), :mod:`.noise` (diffuse
multichannel noise), :mod:`.convolve` (batched FFT convolution), :mod:`.meeting` (layout,
rendering, reference), :mod:`.synthetic` (whole espeak meetings). The training-set stage:
:func:`simulate` (this module) over :mod:`.engine` (plan, examples, shards), :mod:`.sources`
(corpora, measured IRs, noise), :mod:`.css_format` (the official NOTSOFAR-1 shard format),
:mod:`.executors` (local pool, dask) and :mod:`.verify`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notsofar.errors import NotsofarError

if TYPE_CHECKING:
    from notsofar.simulate.config import SimulateConfig
    from notsofar.simulate.engine import Plan, RunReport

__all__ = ["DryRun", "dry_run", "load_cuts", "make_plan_only", "simulate", "with_sources"]


def make_plan_only(cfg: SimulateConfig, hours: float) -> Plan:
    """The shard plan for ``hours`` (no corpus access, no files)."""
    from notsofar.simulate.engine import make_plan

    return make_plan(cfg, hours)


def _check_out_dir(cfg: SimulateConfig, out_dir: Path, plan: Plan) -> None:
    """Refuse to mix two different simulations in one folder; write plan.json for a new one."""
    from notsofar.config import to_dict
    from notsofar.io.atomic import write_text
    from notsofar.simulate.engine import PLAN

    record = {
        "config": to_dict(cfg),
        "hours": plan.hours,
        "num_examples": plan.num_examples,
        "examples_per_shard": plan.examples_per_shard,
        "num_shards": plan.num_shards,
    }
    path = out_dir / PLAN
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            raise NotsofarError(
                "unreadable plan.json; use a new output folder", path=path
            ) from None
        same = ("config", "examples_per_shard")
        if any(old.get(k) != record[k] for k in same):
            raise NotsofarError(
                "this folder holds a different simulation (config or seed differ); "
                "use a new output folder",
                path=path,
            )
        if old == record:
            return
        # same simulation, other --hours: shard i does not depend on the total, so the folder
        # grows (or its plan shrinks) in place; a partial last shard is remade at its new size
    write_text(path, json.dumps(record, indent=1) + "\n")


def simulate(
    cfg: SimulateConfig,
    out_dir: str | Path,
    hours: float,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    on_shard: Callable[[int, dict | None, str | None], None] | None = None,
) -> RunReport:
    """Make ``hours`` of simulated multichannel audio into ``out_dir`` as NOTSOFAR-1 CSS shards.

    Resumable: shards already complete are skipped, so re-running after a kill makes only the
    missing ones; the result is byte-identical to an uninterrupted run. Shards are written with
    direct I/O where the file system allows it, and each process that makes shards (this one
    with ``workers=1``) keeps freed memory for reuse (glibc ``mallopt``, see
    :func:`notsofar.simulate.system.keep_freed_memory`).

    Args:
        cfg: the simulation config (speech, transfer functions, noise, mixing, output).
        out_dir: output folder (``plan.json``, ``shards/``, ``manifest.jsonl.gz``).
        hours: hours of mixture audio to make.
        workers: worker processes (local pool or LocalCluster size).
        executor: ``local`` or ``dask``.
        scheduler: a dask scheduler address (``tcp://host:8786``); None starts a LocalCluster.
        on_shard: called as ``(shard, summary or None, error or None)`` when a shard finishes.

    Returns:
        A :class:`~notsofar.simulate.engine.RunReport` (``exit_code`` 1 if a shard failed).
    """
    from notsofar.simulate.engine import RunReport, make_plan, shard_done, write_manifest
    from notsofar.simulate.executors import EXECUTORS
    from notsofar.simulate.sources import load_corpus

    if executor not in EXECUTORS:
        raise NotsofarError(f"unknown executor '{executor}' (known: {', '.join(EXECUTORS)})")
    if workers < 1:
        raise NotsofarError(f"--workers must be >= 1, got {workers}")
    out = Path(out_dir)
    plan = make_plan(cfg, hours)
    corpus = load_corpus(cfg.speech.source, cfg.speech.format)
    _validate_sources(cfg)
    _check_out_dir(cfg, out, plan)
    report = RunReport(plan)
    jobs = []
    for i in range(plan.num_shards):
        if shard_done(out, i, plan.shard_size(i)):
            report.skipped.append(i)
        else:
            jobs.append((i, plan.shard_size(i)))

    def done(index: int, summary: dict | None, error: str | None) -> None:
        if summary is not None:
            report.made.append(summary)
        else:
            report.failed.append((index, error or "failed"))
        if on_shard is not None:
            on_shard(index, summary, error)

    t0 = time.perf_counter()
    EXECUTORS[executor](cfg, out, corpus, jobs, done, workers, scheduler)
    write_manifest(out, plan)
    report.wall_s = time.perf_counter() - t0
    report.made.sort(key=lambda m: m["shard"])
    return report


def _validate_sources(cfg: SimulateConfig) -> None:
    """Fail early (before any shard) on bad transfer functions or noise paths."""
    from notsofar.arrays import load_array
    from notsofar.simulate.sources import index_measured_rirs, index_noise

    array = load_array(cfg.rirs.array)
    if cfg.rirs.backend == "measured":
        index_measured_rirs(cfg.rirs.path or "", array.num_channels)
    if cfg.noise.backend == "recorded":
        index_noise(cfg.noise.path or "")


@dataclass(frozen=True)
class DryRun:
    """The plan, with disk and compute estimated from examples made (not written) just now."""

    plan: Plan
    sec_per_example: float
    measured_bytes_per_example: int

    @property
    def core_hours(self) -> float:
        return self.plan.num_examples * self.sec_per_example / 3600

    @property
    def total_bytes(self) -> int:
        return self.measured_bytes_per_example * self.plan.num_examples


def dry_run(cfg: SimulateConfig, hours: float, probe_examples: int = 3) -> DryRun:
    """Plan a run and time ``probe_examples`` examples (in a scratch folder) to estimate cost."""
    import tempfile

    from notsofar.simulate.engine import make_plan, run_shard
    from notsofar.simulate.sources import load_corpus

    plan = make_plan(cfg, hours)
    corpus = load_corpus(cfg.speech.source, cfg.speech.format)
    _validate_sources(cfg)
    n = max(1, min(probe_examples, plan.num_examples))
    with tempfile.TemporaryDirectory() as tmp:
        # warm-up (rooms, caches, imports), then time the same shard's examples again: the
        # steady state of a long run, where each room is computed once per worker and reused
        run_shard(cfg, Path(tmp), corpus, 0, n)
        t0 = time.process_time()
        s = run_shard(cfg, Path(tmp), corpus, 0, n)
        cpu = time.process_time() - t0
    return DryRun(plan, cpu / n, int(s["bytes"] / n))


def with_sources(
    cfg: SimulateConfig,
    speech: str | None = None,
    rirs: str | None = None,
    noise: str | None = None,
    mode: str | None = None,
    seed: int | None = None,
) -> SimulateConfig:
    """Apply the CLI's shortcuts: ``rirs`` is ``simulated`` or a folder of measured IRs, ``noise``
    is ``diffuse`` or recorded noise (file/folder); None leaves the config's value."""
    import dataclasses

    if speech is not None:
        cfg = dataclasses.replace(cfg, speech=dataclasses.replace(cfg.speech, source=str(speech)))
    if rirs is not None:
        r = (
            dataclasses.replace(cfg.rirs, backend="simulated", path=None)
            if str(rirs) == "simulated"
            else dataclasses.replace(cfg.rirs, backend="measured", path=str(rirs))
        )
        cfg = dataclasses.replace(cfg, rirs=r)
    if noise is not None:
        n = (
            dataclasses.replace(cfg.noise, backend="diffuse", path=None)
            if str(noise) == "diffuse"
            else dataclasses.replace(cfg.noise, backend="recorded", path=str(noise))
        )
        cfg = dataclasses.replace(cfg, noise=n)
    if mode is not None:
        from notsofar.simulate.config import MixConfig

        if mode not in ("css", "meeting"):
            raise NotsofarError(f"--mode must be css or meeting, got {mode!r}")
        cfg = dataclasses.replace(cfg, mix=dataclasses.replace(cfg.mix, mode=mode))
        MixConfig.validate(cfg.mix)
    if seed is not None:
        cfg = dataclasses.replace(cfg, seed=int(seed))
    return cfg


def load_cuts(folder: str | Path) -> Any:
    """The lhotse ``CutSet`` of a simulation folder, wherever it now lies, loadable from any
    working directory.

    The manifest refers to shards relative to its folder (so a set can be moved, and a seed
    gives the same bytes in any folder); this anchors each cut's audio command at ``folder``
    and runs it with this Python, as ``Recording.with_path_prefix`` does for file sources.
    Plain ``CutSet.from_file(MANIFEST)`` works too, when run from the folder.
    """
    import shlex
    import sys

    from lhotse import CutSet
    from lhotse.utils import fastcopy

    from notsofar.simulate.engine import MANIFEST

    root = Path(folder).resolve()
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise NotsofarError("no manifest.jsonl.gz: not a simulation folder", path=folder)

    def anchor(cut: Any) -> Any:
        sources = []
        for src in cut.recording.sources:
            if src.type == "command":
                argv = shlex.split(src.source)
                if argv[:3] == ["python", "-m", "notsofar.simulate.extract"]:
                    argv = [sys.executable, *argv[1:3], str(root / argv[3]), *argv[4:]]
                    src = fastcopy(src, source=shlex.join(argv))
            sources.append(src)
        return fastcopy(cut, recording=fastcopy(cut.recording, sources=sources))

    return CutSet.from_file(manifest).map(anchor)
