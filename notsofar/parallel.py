"""Independent tasks (one per session or file) on a local process pool or a Dask cluster.

Used by the ``transcribe`` and ``restore`` batches (and :mod:`notsofar.simulate.executors`
shares the Dask client and the draining loop). Each task writes its own outputs atomically and
reports back a small picklable value; the calling process keeps the progress bar, the summary
and the exit code, so a parallel batch looks like a sequential one.

Workers are *spawned* (not forked): each starts clean, limits its thread pools (torch, BLAS,
OpenMP, CTranslate2) to its share of the cores before loading any model, and keeps its models
for every task it runs. A worker that dies (killed, out of memory) fails no finished work: its
session had written nothing but temporary files, and it is run again in a fresh pool (Dask
reschedules it by itself), up to :data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from notsofar.errors import NotsofarError

#: a task whose worker died this many times fails (Dask's own default for allowed-failures)
MAX_ATTEMPTS = 3
EXECUTORS = ("local", "dask")

Done = Callable[[int, Any, str | None], None]

_setup_lock = threading.Lock()
_threads_set: int | None = None


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads(workers: int, cores: int | None = None) -> int:
    """Threads per worker when not given: the usable cores shared out, at least one.

    >>> default_threads(2, cores=16), default_threads(4, cores=2)
    (8, 1)
    """
    cores = usable_cores() if cores is None else cores
    return max(1, cores // max(1, workers))


def thread_budget() -> int:
    """The threads this process may use: what :func:`limit_threads` set (a batch worker's
    share), else the usable cores."""
    return _threads_set or usable_cores()


def limit_threads(threads: int) -> None:
    """Limit this process's thread pools to ``threads`` (once; later calls are no-ops).

    Environment variables cover libraries not loaded yet, ``threadpoolctl`` the BLAS/OpenMP
    already loaded, ``torch.set_num_threads`` torch; CTranslate2 takes its count when a model
    is loaded (``ModelCache(cpu_threads=...)``).
    """
    global _threads_set
    with _setup_lock:
        if _threads_set == threads:
            return
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
        # torch only when something loaded it already: importing it here cost every worker
        # ~1.3 s and ~200 MB that the default (ONNX Runtime) diarizer never uses; a later
        # import reads OMP_NUM_THREADS, set above
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        _threads_set = threads


def error_text(e: BaseException) -> str:
    """One line for a failed task: the user-facing message, or the exception's type and text."""
    if isinstance(e, NotsofarError):
        return str(e)
    if type(e).__name__ == "KilledWorker":
        return "worker process died on every try (killed, or out of memory)"
    return f"{type(e).__name__}: {e}"[:300]


def drain(futures: dict[Any, int], as_completed: Callable[..., Any], done: Done) -> None:
    """Report each task as its future finishes (concurrent.futures or Dask): a failing task
    fails alone, the run goes on."""
    for fut in as_completed(futures):
        try:
            result = fut.result()
        except Exception as e:
            done(futures[fut], None, error_text(e))
        else:
            done(futures[fut], result, None)


#: the Dask setting that makes worker processes start with MALLOC_TRIM_THRESHOLD_ (set it to
#: null in the workers' Dask config, as :func:`dask_client` does for its LocalCluster)
TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
#: Dask also starts workers with OMP/MKL/OPENBLAS_NUM_THREADS=1; a process-pool worker has no
#: such limit. With them set, the pool took 76.1 / 73.9 s on the 8-session batch where it takes
#: 61.5-73.8 s without, the same as Dask's 72.8-74.9 s (bench_batch.py, 2026-12-06 11:09-11:19
#: UTC): that was the gap between the two. Our LocalCluster unsets them like the trim setting.
THREAD_KEYS = tuple(
    f"distributed.nanny.pre-spawn-environ.{k}"
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
)
#: Dask's per-worker statistical profiler (off in our LocalCluster: it samples every worker
#: thread's stack every 10 ms; no measurable change on its own)
PROFILE_KEY = "distributed.worker.profile.enabled"


def malloc_trim_notice() -> str | None:
    """A one-line notice when this (Dask worker) process runs with MALLOC_TRIM_THRESHOLD_ set."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return None
    return (
        "this Dask worker runs with MALLOC_TRIM_THRESHOLD_ set (Dask's default), which makes "
        f"transcription about 2x slower; start workers with {TRIM_KEY}: null in their Dask config"
    )


@contextlib.contextmanager
def dask_client(workers: int = 1, scheduler: str | None = None) -> Iterator[Any]:
    """A Dask client of the cluster at ``scheduler``, or of a LocalCluster of ``workers``
    single-threaded worker processes (closed on exit)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise NotsofarError("--executor dask needs dask[distributed] installed") from None
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="30s")
        else:
            import dask

            # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's
            # adaptive mmap threshold: every array over 128 KB is a fresh mmap, page-faulted in
            # and unmapped again. A 5-min transcribe took 47-50 s that way against 23-27 s
            # (sys time 21 s vs 3 s); our tasks hold no Dask-managed data to trim.
            # The thread limits Dask sets likewise (THREAD_KEYS); and no profiler.
            unset = {key: None for key in (TRIM_KEY, *THREAD_KEYS)}
            with dask.config.set({**unset, PROFILE_KEY: False}):
                cluster = LocalCluster(
                    n_workers=max(1, workers),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # shutdown and Ctrl-C log warnings and tracebacks of dask internals; the
                    # batch reports each failed session itself
                    silence_logs=logging.CRITICAL,
                )
            client = Client(cluster)
    except OSError as e:
        raise NotsofarError(f"cannot reach the dask scheduler {scheduler}: {e}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _gpu_count() -> int:
    from notsofar.pipeline.models import cuda_available

    if not cuda_available():
        raise NotsofarError("device=cuda requested but no CUDA device is available")
    import ctranslate2

    return ctranslate2.get_cuda_device_count()


_started: Any = None  # the queue a pool worker announces its tasks on


def _init_pool_worker(started: Any, devices: Any) -> None:
    """Pool initializer: take one GPU (when assigned) before anything loads CUDA."""
    global _started
    _started = started
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(devices.get())


def _pool_task(fn: Callable[..., Any], index: int, args: tuple) -> Any:
    if _started is not None:
        _started.put(index)
    return fn(*args)


def run_tasks(
    fn: Callable[..., Any],
    tasks: Sequence[tuple],
    done: Done,
    workers: int = 2,
    executor: str = "local",
    scheduler: str | None = None,
    gpu: bool = False,
    name: str = "task",
    sizes: Sequence[float] | None = None,
) -> None:
    """Run ``fn(*tasks[i])`` for every ``i`` on worker processes; ``done(i, result, error)``
    is called in this process as each one finishes, in completion order.

    Args:
        fn: a module-level function (it is pickled by reference).
        tasks: the arguments of each call (picklable).
        done: called with the task index and either its result or a one-line error.
        workers: pool size, or LocalCluster size for ``executor="dask"`` without ``scheduler``.
        executor: ``local`` (process pool) or ``dask``.
        scheduler: a Dask scheduler address (``tcp://host:8786``); its workers must see the
            same paths (shared storage).
        gpu: one GPU per worker: the pool gives worker ``k`` GPU ``k mod count``; on Dask every
            task asks for the worker resource ``GPU=1`` (start each worker with
            ``--resources GPU=1`` and its own ``CUDA_VISIBLE_DEVICES``).
        name: prefix of the Dask task keys.
        sizes: each task's expected cost (e.g. audio seconds): the largest are started first,
            so a long session does not start last and leave the other workers idle while it
            runs (longest-processing-time-first; ties keep the input order). ``done`` still
            gets the input index.
    """
    if executor not in EXECUTORS:
        raise NotsofarError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})")
    if sizes is not None:
        order = sorted(range(len(tasks)), key=lambda i: -sizes[i])
        tasks = [tasks[i] for i in order]
        report = done

        def done(k: int, result: Any, error: str | None) -> None:
            report(order[k], result, error)

    if executor == "dask":
        _run_dask(fn, tasks, done, workers, scheduler, gpu, name)
    else:
        _run_pool(fn, tasks, done, workers, gpu)


def _run_pool(
    fn: Callable[..., Any], tasks: Sequence[tuple], done: Done, workers: int, gpu: bool
) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")
    gpus = _gpu_count() if gpu else 0
    attempts = dict.fromkeys(range(len(tasks)), 0)
    pending = list(range(len(tasks)))
    while pending:
        started = ctx.SimpleQueue()  # put() writes at once: a worker may die right after it
        devices = None
        if gpus:
            devices = ctx.Queue()
            for k in range(workers):
                devices.put(k % gpus)
        broken: list[int] = []
        with ProcessPoolExecutor(
            max_workers=min(workers, len(pending)),
            mp_context=ctx,
            initializer=_init_pool_worker,
            initargs=(started, devices),
        ) as pool:
            futures = {pool.submit(_pool_task, fn, i, tasks[i]): i for i in pending}
            try:
                for fut in as_completed(futures):
                    i = futures[fut]
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        broken.append(i)
                    except Exception as e:
                        done(i, None, error_text(e))
                    else:
                        done(i, result, None)
            except BaseException:  # Ctrl-C: stop now, not after the queued sessions
                _stop(pool)
                raise
        ran = set()
        with contextlib.suppress(OSError, ValueError, EOFError):
            while not started.empty():
                ran.add(started.get())
        started.close()
        pending = []
        # a worker died: the tasks that were running count an attempt, the queued ones not
        # (all of them if none is known to have run, so that this loop always ends)
        running = ran.intersection(broken) or set(broken)
        for i in broken:
            attempts[i] += i in running
            if attempts[i] >= MAX_ATTEMPTS:
                done(i, None, "worker process died on every try (killed, or out of memory)")
            else:
                pending.append(i)


def _stop(pool: Any) -> None:
    """Cancel what is queued and end the workers (their sessions wrote only temporary files)."""
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()


def _run_dask(
    fn: Callable[..., Any],
    tasks: Sequence[tuple],
    done: Done,
    workers: int,
    scheduler: str | None,
    gpu: bool,
    name: str,
) -> None:
    from dask.distributed import as_completed

    with dask_client(workers, scheduler) as client:
        resources = None
        if gpu:
            have = client.scheduler_info().get("workers", {}).values()
            if not any(w.get("resources", {}).get("GPU", 0) >= 1 for w in have):
                raise NotsofarError(
                    "device=cuda on dask: no worker offers the resource GPU; start one worker "
                    "per GPU with `dask worker ADDRESS --nthreads 1 --resources GPU=1` "
                    "(and CUDA_VISIBLE_DEVICES set to its GPU)"
                )
            resources = {"GPU": 1}
        futures = {
            client.submit(fn, *args, pure=False, key=f"{name}-{i}", resources=resources): i
            for i, args in enumerate(tasks)
        }
        drain(futures, as_completed, done)


class BatchProgress:
    """One bar for a whole batch: sessions done, audio hours done, ETA (rich, on stderr).

    Args:
        console: the rich console (``--quiet`` makes it silent).
        durations_s: audio duration of every task to run.
        noun: what a task is (``sessions``, ``files``).
    """

    def __init__(self, console: Any, durations_s: Sequence[float], noun: str = "sessions"):
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.total_s = max(float(sum(durations_s)), 1e-3)
        self.count = len(durations_s)
        self.noun = noun
        self.done_n = 0
        self.done_s = 0.0
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task(self._text(), total=self.total_s)

    def _text(self) -> str:
        return (
            f"{self.done_n}/{self.count} {self.noun}, "
            f"{self.done_s / 3600:.2f}/{self.total_s / 3600:.2f} h audio"
        )

    def advance(self, duration_s: float) -> None:
        """One more task finished (``duration_s`` of audio, done or failed)."""
        self.done_n += 1
        self.done_s += duration_s
        self.progress.update(self.task, completed=self.done_s, description=self._text())

    def __enter__(self) -> BatchProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)
