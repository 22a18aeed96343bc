"""Where shards run, chosen by name: ``local`` (a process pool) or ``dask`` (dask.distributed).

An executor takes the list of pending ``(shard index, size)`` and a callback per finished shard;
each shard is independent (own seed, own atomic files), so any scheduling order gives the same
output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from notsofar.parallel import dask_client, drain, error_text
from notsofar.simulate.config import SimulateConfig
from notsofar.simulate.sources import SpeechCorpus

Done = Callable[[int, dict | None, str | None], None]


def _one(cfg: SimulateConfig, out_dir: Path, corpus: SpeechCorpus, index: int, size: int) -> dict:
    from notsofar.simulate.engine import run_shard

    return run_shard(cfg, out_dir, corpus, index, size)


def _preload() -> None:
    """Import what every shard needs once, before the pool forks: each worker would otherwise
    spend ~0.3 CPU s importing scipy.fft and the simulation modules on its first shard."""
    import scipy.fft  # noqa: F401

    from notsofar.simulate import convolve, css_format, engine, noise, sources  # noqa: F401


def run_local(
    cfg: SimulateConfig,
    out_dir: Path,
    corpus: SpeechCorpus,
    jobs: list[tuple[int, int]],
    done: Done,
    workers: int = 1,
    scheduler: str | None = None,
) -> None:
    """Run in this process (``workers == 1``) or a local process pool."""
    if workers <= 1:
        for index, size in jobs:
            try:
                summary = _one(cfg, out_dir, corpus, index, size)
            except Exception as e:  # as in the pool: a failing shard fails alone, the run goes on
                done(index, None, error_text(e))
            else:
                done(index, summary, None)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    _preload()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_one, cfg, out_dir, corpus, i, n): i for i, n in jobs}
        drain(futures, as_completed, done)


def run_dask(
    cfg: SimulateConfig,
    out_dir: Path,
    corpus: SpeechCorpus,
    jobs: list[tuple[int, int]],
    done: Done,
    workers: int = 1,
    scheduler: str | None = None,
) -> None:
    """Run on a dask.distributed cluster at ``scheduler`` (or a LocalCluster of ``workers``).

    The output folder must be visible to every worker (shared storage) under the same path.
    """
    from dask.distributed import as_completed

    with dask_client(workers, scheduler) as client:
        shared = client.scatter(corpus, broadcast=True)
        futures = {
            client.submit(_one, cfg, out_dir, shared, i, n, pure=False, key=f"shard-{i}"): i
            for i, n in jobs
        }
        drain(futures, as_completed, done)


#: Executors by ``--executor`` name.
EXECUTORS = {"local": run_local, "dask": run_dask}
