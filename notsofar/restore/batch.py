"""Files in, files out: restore (or only analyze) one file or a folder of files.

Every output is written atomically, so a file that exists is complete: a re-run skips it
(resumable batches). One failing file does not stop a batch; its error is kept in the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from notsofar.errors import NotsofarError
from notsofar.restore.analyze import Degradation, analyze, check_signal
from notsofar.restore.config import RestoreConfig

#: suffixes treated as audio when a folder is given (libsndfile formats).
AUDIO_SUFFIXES = (
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".aiff",
    ".aif",
    ".au",
    ".caf",
    ".w64",
    ".rf64",
    ".mp3",
    ".opus",
)


@dataclass(frozen=True)
class FileResult:
    """What happened to one input file.

    ``status`` is ``restored``, ``analyzed`` (``--analyze`` without output), ``skipped`` (output
    already there) or ``failed`` (``error`` says why).
    """

    input: str
    output: str | None
    status: str
    error: str | None = None
    analysis: tuple[Degradation, ...] = ()
    steps: tuple[tuple[str, ...], ...] = ()
    duration_s: float = 0.0
    elapsed_s: float = 0.0
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def rtf(self) -> float:
        """Real-time factor of the restoration (processing time / audio duration)."""
        return self.elapsed_s / self.duration_s if self.duration_s else 0.0


def find_inputs(path: str | Path) -> list[Path]:
    """The audio files under ``path`` (recursively, sorted) or ``[path]`` for a file."""
    path = Path(path)
    if not path.exists():
        raise NotsofarError("input not found", path=path)
    if path.is_file():
        return [path]
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise NotsofarError(
            f"no audio files ({', '.join(AUDIO_SUFFIXES[:4])}, ...) in folder", path=path
        )
    return files


def output_paths(inputs: list[Path], input_root: Path, output: Path | None) -> list[Path | None]:
    """Where each input is written: ``output`` itself for one file, mirrored under a folder."""
    if output is None:
        return [None] * len(inputs)
    if input_root.is_file():
        if output.is_dir() or str(output).endswith(("/", "\\")):
            return [output / input_root.name]
        return [output]
    if output.exists() and output.is_file():
        raise NotsofarError("input is a folder, so -o must be a folder, not a file", path=output)
    return [output / p.relative_to(input_root) for p in inputs]


def _plan_steps(d: Degradation, cfg: RestoreConfig) -> tuple[str, ...]:
    if cfg.backend != "dsp":
        return (cfg.backend,)
    from notsofar.restore.dsp import plan

    return tuple(plan(d, cfg.dsp))


def restore_file(
    input_path: str | Path,
    output_path: str | Path | None,
    cfg: RestoreConfig,
    overwrite: bool = False,
    analyze_only: bool = False,
    reference: str | Path | None = None,
) -> FileResult:
    """Restore (or with ``analyze_only`` just analyze) one file; errors become a failed result.

    Args:
        input_path: audio file in any libsndfile format; mono or multi-channel.
        output_path: where to write; the format follows the suffix. None: do not write.
        cfg: restore config (``cfg.sample_rate`` sets the output rate; None keeps the input's).
        overwrite: rewrite an existing output instead of skipping it.
        analyze_only: only analyze (no restoration).
        reference: clean reference file: adds ``metrics`` (input and output vs reference).
    """
    from notsofar import audio

    src = str(input_path)
    dst = None if output_path is None else str(output_path)
    if dst is not None and not overwrite and not analyze_only and Path(dst).exists():
        return FileResult(src, dst, "skipped")
    t0 = time.perf_counter()
    try:
        x, sr = audio.read(input_path, sample_rate=None)
        check_signal(x, sr, input_path)
        chans = x[None] if x.ndim == 1 else x
        analysis = tuple(analyze(c, sr, cfg.analysis) for c in chans if np.any(np.abs(c) > 1e-7))
        steps = tuple(_plan_steps(d, cfg) for d in analysis)
        if analyze_only:
            return FileResult(
                src, None, "analyzed", analysis=analysis, steps=steps, duration_s=x.shape[-1] / sr
            )
        from notsofar.restore import restore_array

        t1 = time.perf_counter()
        y = restore_array(x, sr, cfg, path=input_path)
        elapsed = time.perf_counter() - t1
        out_sr = cfg.sample_rate or sr
        if out_sr != sr:
            y = audio.resample(y, sr, out_sr)
            y = _ceiling(y)
        metrics = {}
        if reference is not None:
            metrics = evaluate(x, y, sr, out_sr, reference)
        if dst is not None:
            audio.write(dst, y, out_sr, subtype=_subtype(input_path, dst))
        return FileResult(
            src,
            dst,
            "restored",
            analysis=analysis,
            steps=steps,
            duration_s=x.shape[-1] / sr,
            elapsed_s=elapsed,
            metrics=metrics,
        )
    except NotsofarError as e:
        return FileResult(src, dst, "failed", error=str(e), elapsed_s=time.perf_counter() - t0)
    except MemoryError:
        return FileResult(src, dst, "failed", error=f"{src}: out of memory")


def _ceiling(y: np.ndarray, ceiling: float = 10 ** (-0.1 / 20)) -> np.ndarray:
    """Resampling can overshoot a peak-limited signal by a little: keep it below full scale."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return (y * (ceiling / peak)).astype(np.float32) if peak > ceiling else y


def _subtype(src: str | Path, dst: str | Path) -> str | None:
    """Keep the input's sample format when writing the same container (else the default)."""
    import soundfile as sf

    if Path(src).suffix.lower() != Path(dst).suffix.lower():
        return None
    try:
        return sf.info(str(src)).subtype
    except Exception:  # noqa: BLE001 (the default subtype is a safe fallback)
        return None


def evaluate(
    noisy: np.ndarray,
    restored: np.ndarray,
    sr: int,
    out_sr: int,
    reference: str | Path,
) -> dict[str, dict[str, float]]:
    """DNSMOS of input and output, and reference metrics of both against ``reference``.

    Multi-channel audio is evaluated on its first channel. The reference is read at its own
    rate, mixed down to mono, then resampled and aligned to each signal (cross-correlation).
    """
    from notsofar import audio
    from notsofar.metrics import dnsmos, reference_metrics

    ref, ref_sr = audio.read(reference, sample_rate=None, channel="mix")
    check_signal(ref, ref_sr, reference)
    first_in = noisy if noisy.ndim == 1 else noisy[0]
    first_out = restored if restored.ndim == 1 else restored[0]
    out: dict[str, dict[str, float]] = {}
    for name, sig, rate in (("input", first_in, sr), ("output", first_out, out_sr)):
        m = dict(dnsmos(sig, rate))
        m.update(reference_metrics(sig, ref, rate, ref_sr, path=reference))
        out[name] = m
    return out


def restore_paths(
    input_path: str | Path,
    output: str | Path | None,
    cfg: RestoreConfig,
    overwrite: bool = False,
    analyze_only: bool = False,
    reference: str | Path | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    threads: int | None = None,
) -> list[FileResult]:
    """Restore one file or every audio file of a folder (same parameters as ``notsofar restore``).

    ``reference`` is only allowed with a single input file. ``on_result`` is called after each
    file (progress reporting; in completion order when parallel). ``workers`` > 1 or
    ``executor="dask"`` (``scheduler``: a Dask scheduler address) restore one file per task on
    worker processes of ``threads`` threads each (default: the usable cores shared out); the
    results are still returned in input order.
    """
    from notsofar.restore import check_backend

    root = Path(input_path)
    inputs = find_inputs(root)
    if not analyze_only:
        check_backend(cfg)
    if reference is not None and len(inputs) != 1:
        raise NotsofarError("--eval takes one reference, so the input must be one file", path=root)
    outs = output_paths(inputs, root, None if output is None else Path(output))
    if (workers > 1 or executor != "local") and reference is None:
        return _restore_parallel(
            inputs,
            outs,
            cfg,
            overwrite,
            analyze_only,
            on_result,
            workers,
            executor,
            scheduler,
            threads,
        )
    results = []
    for src, dst in zip(inputs, outs, strict=True):
        r = restore_file(
            src, dst, cfg, overwrite=overwrite, analyze_only=analyze_only, reference=reference
        )
        results.append(r)
        if on_result is not None:
            on_result(r)
    return results


def _restore_task(
    src: Path,
    dst: Path | None,
    cfg: RestoreConfig,
    overwrite: bool,
    analyze_only: bool,
    threads: int | None,
) -> FileResult:
    """One file in a worker process (a model backend is loaded once per worker and kept)."""
    from notsofar.parallel import default_threads, limit_threads

    limit_threads(threads or default_threads(1))
    return restore_file(src, dst, cfg, overwrite=overwrite, analyze_only=analyze_only)


def _restore_parallel(
    inputs: list[Path],
    outs: list[Path | None],
    cfg: RestoreConfig,
    overwrite: bool,
    analyze_only: bool,
    on_result: Callable[[FileResult], None] | None,
    workers: int,
    executor: str,
    scheduler: str | None,
    threads: int | None,
) -> list[FileResult]:
    from notsofar.parallel import default_threads, run_tasks

    if threads is None and scheduler is None:
        threads = default_threads(workers)
    results: dict[int, FileResult] = {}

    def done(i: int, result: FileResult | None, error: str | None) -> None:
        if result is None:
            dst = None if outs[i] is None else str(outs[i])
            result = FileResult(str(inputs[i]), dst, "failed", error=f"{inputs[i]}: {error}")
        results[i] = result
        if on_result is not None:
            on_result(result)

    tasks = [
        (src, dst, cfg, overwrite, analyze_only, threads)
        for src, dst in zip(inputs, outs, strict=True)
    ]
    run_tasks(_restore_task, tasks, done, workers, executor, scheduler, gpu=False, name="restore")
    return [results[i] for i in range(len(inputs))]


def summarize(results: Iterable[FileResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts
