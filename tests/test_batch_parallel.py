"""`transcribe --workers N` and `--executor dask`: the same outputs as a sequential run.

A small set in the NOTSOFAR-1 layout (three single-channel devices of three meetings, real
fixture audio: one reader, two espeak voices twice) goes through the real CLI and the real
default models, sequentially once (the reference), then on a process pool, on a Dask
LocalCluster, and on a pool one of whose workers is killed mid-session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CMD = [sys.executable, "-m", "notsofar.cli.main", "transcribe"]
MEETINGS = {
    "MTG_1": "clean_speech.wav",
    "MTG_2": "two_speakers.wav",
    "MTG_3": "mc_two_speakers.flac",
}


def make_dataset(root: Path) -> Path:
    """One single-channel device (``rockfall_1``) per meeting, channel 0 of each fixture."""
    for meeting, name in MEETINGS.items():
        x, sr = sf.read(FIXTURES / name, dtype="float32")
        mdir = root / "dev_set" / "MTG" / meeting
        (mdir / "sc_rockfall_1").mkdir(parents=True)
        sf.write(mdir / "sc_rockfall_1" / "ch0.wav", x if x.ndim == 1 else x[:, 0], sr)
        device = {"device_name": "rockfall_1", "is_mc": False, "is_close_talk": False}
        device["wav_file_names"] = "sc_rockfall_1/ch0.wav"
        (mdir / "devices.json").write_text(json.dumps([device]))
        (mdir / "gt_transcription.json").write_text("[]")
    return root / "dev_set"


#: every run, sequential or parallel, on one thread per process: CTranslate2's int8 kernels sum
#: in another order on another thread count (on AVX-512 CPUs the word confidences then differ in
#: the third decimal), which is not what these tests compare
THREADS = ("--threads-per-worker", "1")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CMD, *args, *THREADS], capture_output=True, text=True, cwd=ROOT, timeout=600
    )


def outputs(out: Path) -> dict[str, str]:
    """Every output file's text, the timing fields of ``.done.json`` and the thread counts of the
    resolved ``.config.yaml`` (what ran: 1 thread per pool worker) left out."""
    files = {}
    for p in sorted(out.rglob("*")):
        if not p.is_file():
            continue
        text = p.read_text()
        if p.name.endswith(".done.json"):
            text = json.dumps({k: v for k, v in json.loads(text).items() if k != "elapsed_s"})
        if p.name.endswith(".config.yaml"):
            text = "\n".join(ln for ln in text.splitlines() if "threads:" not in ln)
        files[p.relative_to(out).as_posix()] = text
    return files


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("notsofar"))


@pytest.fixture(scope="module")
def sequential(dataset, tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("sequential")
    proc = run(str(dataset), "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    files = outputs(out)
    assert len([f for f in files if f.endswith(".done.json")]) == len(MEETINGS)
    assert files["singlechannel/MTG_1_rockfall_1.txt"].strip(), "clean speech gave no words"
    return files


def test_process_pool_equals_sequential_run(dataset, sequential, tmp_path):
    proc = run(str(dataset), "-o", str(tmp_path), "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    assert outputs(tmp_path) == sequential
    # the same summary table as a sequential run (on stdout), sessions in input order
    rows = [line for line in proc.stdout.splitlines() if "MTG_" in line and " done " in line]
    assert [r.split("MTG_")[1][0] for r in rows] == ["1", "2", "3"]


def test_dask_local_cluster_transcribes_the_set_end_to_end(dataset, sequential, tmp_path):
    out = tmp_path / "out"
    proc = run(str(dataset), "-o", str(out), "--executor", "dask", "--workers", "2", "-q")
    assert proc.returncode == 0, proc.stderr
    assert outputs(out) == sequential
    # a re-run skips what is done; a bad input fails alone, with the sequential exit code
    corrupt = tmp_path / "in" / "corrupt.wav"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    rerun = run(str(dataset), str(corrupt), "-o", str(out), "--executor", "dask", "--workers", "2")
    assert rerun.returncode == 1, rerun.stderr
    assert rerun.stderr.count("(done)") == len(MEETINGS), "finished sessions are skipped"
    errors = [line for line in rerun.stderr.splitlines() if line.startswith("notsofar: error:")]
    assert len(errors) == 1 and str(corrupt) in errors[0], rerun.stderr
    assert "1 of 4 session(s) failed" in rerun.stderr and "Traceback" not in rerun.stderr


def pool_workers(pid: int) -> list[psutil.Process]:
    children = psutil.Process(pid).children(recursive=True)
    return [c for c in children if "spawn_main" in " ".join(c.cmdline())]


def test_killed_worker_leaves_nothing_half_written_and_rerun_matches(dataset, sequential, tmp_path):
    proc = subprocess.Popen(
        [*CMD, str(dataset), "-o", str(tmp_path), "--workers", "2", *THREADS],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 300
        # the first (5 s) session is done: the other worker is inside the 15 s one
        while not list(tmp_path.rglob("*.done.json")):
            assert proc.poll() is None, f"batch ended before a worker was killed: {proc.stderr}"
            assert time.time() < deadline, "no session ever finished"
            time.sleep(0.05)
        done_at_kill = {p.name for p in tmp_path.rglob("*.done.json")}
        victims = pool_workers(proc.pid)
        assert len(victims) == 2
        os.kill(victims[0].pid, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert len(done_at_kill) < len(MEETINGS), "killed too late to interrupt a session"
    # the sessions of the dead worker ran again in a fresh pool: the run itself completes
    assert proc.returncode == 0, stderr
    rerun = run(str(dataset), "-o", str(tmp_path), "--workers", "2")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count("(done)") == len(MEETINGS)
    leftovers = [p.name for p in tmp_path.rglob(".*")]
    assert outputs(tmp_path) == sequential, leftovers


@pytest.mark.slow  # the pool machinery is the one tested above; this checks restore's plumbing
def test_restore_pool_equals_sequential(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    x, sr = sf.read(FIXTURES / "two_speakers.wav", dtype="float32")
    for k in range(3):  # three different files: a shifted copy each
        sf.write(src / f"f{k}.wav", x[k * sr :], sr)
    cmd = [sys.executable, "-m", "notsofar.cli.main", "restore", str(src), "-q"]
    seq = subprocess.run([*cmd, "-o", str(tmp_path / "seq")], capture_output=True, text=True)
    assert seq.returncode == 0, seq.stderr
    pool = subprocess.run(
        [*cmd, "-o", str(tmp_path / "pool"), "--workers", "2"], capture_output=True, text=True
    )
    assert pool.returncode == 0, pool.stderr
    for k in range(3):
        a, b = (tmp_path / d / f"f{k}.wav" for d in ("seq", "pool"))
        assert a.read_bytes() == b.read_bytes(), a.name
    report = json.loads((tmp_path / "pool" / "restore.report.json").read_text())
    assert list(report) == [str(src / f"f{k}.wav") for k in range(3)]  # input order


def die_once(marker: str, value: int) -> int:
    """A task whose worker process dies the first time it runs (no exception: the process
    ends, as under the OOM killer)."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return value * 2


def always_die() -> None:
    os._exit(1)


def test_pool_reruns_the_task_of_a_dead_worker_and_fails_one_that_always_dies(tmp_path):
    from notsofar.parallel import MAX_ATTEMPTS, run_tasks

    got: dict[int, tuple] = {}
    tasks = [(str(tmp_path / "m0"), 1), (str(tmp_path / "m1"), 2), (str(tmp_path / "m2"), 3)]
    run_tasks(die_once, tasks, lambda i, r, e: got.setdefault(i, (r, e)), workers=2)
    assert got == {0: (2, None), 1: (4, None), 2: (6, None)}

    got.clear()
    run_tasks(always_die, [()], lambda i, r, e: got.setdefault(i, (r, e)), workers=2)
    assert got[0][0] is None and "died on every try" in got[0][1]
    assert MAX_ATTEMPTS == 3


def _trim_env() -> str | None:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _thread_env() -> tuple[str | None, ...]:
    return tuple(os.environ.get(k) for k in THREAD_VARS)


def test_local_cluster_workers_keep_glibc_adaptive_malloc(monkeypatch):
    """Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536 (its default config), which made a
    5-min transcribe take twice as long (a fresh mmap and page faults for every large array);
    our LocalCluster starts them without it, and a worker that has it says so."""
    from notsofar.parallel import dask_client, malloc_trim_notice

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    for k in THREAD_VARS:
        monkeypatch.delenv(k, raising=False)
    with dask_client(workers=1) as client:
        assert set(client.run(_trim_env).values()) == {None}
        # nor Dask's one-thread limits, which a process-pool worker does not have either (they
        # made the pool as slow as Dask on the batch benchmark)
        assert set(client.run(_thread_env).values()) == {(None, None, None)}
    assert malloc_trim_notice() is None
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert "MALLOC_TRIM_THRESHOLD_" in malloc_trim_notice()


def visible_device(seconds: float) -> str | None:
    time.sleep(seconds)  # long enough that both workers take a task
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def test_pool_gives_each_worker_its_own_gpu(monkeypatch):
    """``device=cuda`` on the pool: worker ``k`` sees GPU ``k mod count`` only. No GPU here, so
    the device count is the boundary mocked (``_gpu_count``); what each worker process sees in
    ``CUDA_VISIBLE_DEVICES`` is real."""
    import notsofar.parallel as parallel

    monkeypatch.setattr(parallel, "_gpu_count", lambda: 2)
    got: dict[int, tuple] = {}
    parallel.run_tasks(
        visible_device, [(1.0,)] * 4, lambda i, r, e: got.setdefault(i, (r, e)), workers=2, gpu=True
    )
    assert sorted({r for r, _ in got.values()}) == ["0", "1"]
    monkeypatch.setattr(parallel, "_gpu_count", lambda: 1)
    got.clear()
    parallel.run_tasks(
        visible_device, [(0.0,)] * 3, lambda i, r, e: got.setdefault(i, (r, e)), workers=2, gpu=True
    )
    assert {r for r, _ in got.values()} == {"0"}  # two workers share the one GPU


def test_dask_gpu_tasks_need_workers_that_offer_a_gpu():
    """``device=cuda`` on Dask: each task asks for the worker resource ``GPU=1``; a cluster
    whose workers offer none gets a clear error instead of tasks that never start, and one
    worker started with ``resources={"GPU": 1}`` runs them one at a time. (Scheduling only:
    no GPU on this machine.)"""
    import logging

    from dask.distributed import LocalCluster

    from notsofar.errors import NotsofarError
    from notsofar.parallel import run_tasks

    def collect(got):
        return lambda i, r, e: got.setdefault(i, (r, e))

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as plain,
        pytest.raises(NotsofarError, match="no worker offers the resource GPU"),
    ):
        run_tasks(
            visible_device,
            [(0.0,)],
            collect({}),
            executor="dask",
            scheduler=plain.scheduler_address,
            gpu=True,
        )
    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        dashboard_address=None,
        resources={"GPU": 1},
        silence_logs=logging.CRITICAL,
    ) as cluster:
        got: dict[int, tuple] = {}
        run_tasks(
            visible_device,
            [(0.0,)] * 3,
            collect(got),
            executor="dask",
            scheduler=cluster.scheduler_address,
            gpu=True,
        )
    assert sorted(got) == [0, 1, 2] and all(e is None for _, e in got.values())


def started(i: int) -> tuple[int, float]:
    return i, time.monotonic()


def test_largest_tasks_start_first_and_results_keep_their_index():
    """``sizes`` (a session's audio seconds): the longest session starts first, so it does not
    start last and keep one worker busy while the others idle; ``done`` still gets each
    task's input index."""
    from notsofar.parallel import run_tasks

    sizes = [30.0, 300.0, 60.0, 300.0, 10.0]
    got: dict[int, tuple] = {}
    run_tasks(
        started,
        [(i,) for i in range(len(sizes))],
        lambda i, r, e: got.setdefault(i, (r, e)),
        workers=1,
        sizes=sizes,
    )
    assert all(got[i][0][0] == i and got[i][1] is None for i in range(len(sizes)))
    first_to_last = sorted(range(len(sizes)), key=lambda i: got[i][0][1])
    assert first_to_last == [1, 3, 2, 0, 4]  # largest first, ties in input order
